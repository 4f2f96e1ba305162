"""A stand-in for the AWS Price List API's GetProducts on 127.0.0.1 (moto has none), answering from a table.

It speaks the API's wire protocol (JSON 1.1 over POST, ``X-Amz-Target: AWSPriceListService.GetProducts``) and
answers each TERM_MATCH query with one product document shaped as the real API's (its ``terms.OnDemand`` price
dimensions), so boto3's real client and parser run. Not emulated: paging, other actions, authentication.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def product(instance_type: str, region: str, usd: float) -> dict[str, Any]:
    """A Price List product document with one on-demand hourly price, as the API gives one."""
    sku = f"SKU{abs(hash((instance_type, region))) % 10**8:08d}"
    term = f"{sku}.JRTCKXETXF"
    return {
        "product": {
            "productFamily": "Compute Instance",
            "attributes": {"instanceType": instance_type, "regionCode": region, "operatingSystem": "Linux"},
            "sku": sku,
        },
        "serviceCode": "AmazonEC2",
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": {
                        f"{term}.6YS6EN2CT7": {
                            "unit": "Hrs",
                            "pricePerUnit": {"USD": f"{usd:.10f}"},
                            "description": f"${usd} per On Demand Linux {instance_type} Instance Hour",
                        }
                    },
                    "sku": sku,
                }
            }
        },
    }


@contextmanager
def pricing_standin(prices: dict[tuple[str, str], float]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Serve {(instance type, region): hourly USD}; yield its endpoint and the filters of each query made."""
    queries: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.headers.get("X-Amz-Target") != "AWSPriceListService.GetProducts":
                return self._answer(400, {"__type": "InvalidParameterException", "message": "unknown action"})
            filters = {f["Field"]: f["Value"] for f in body.get("Filters", []) if f.get("Type") == "TERM_MATCH"}
            queries.append(filters)
            usd = prices.get((filters.get("instanceType", ""), filters.get("regionCode", "")))
            found = [] if usd is None else [json.dumps(product(filters["instanceType"], filters["regionCode"], usd))]
            self._answer(200, {"FormatVersion": "aws_v1", "PriceList": found})

        def _answer(self, status: int, document: dict[str, Any]) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", queries
    finally:
        server.shutdown()
        server.server_close()
