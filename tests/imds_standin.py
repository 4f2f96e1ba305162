"""A stand-in for EC2's instance metadata service, for one stand-in machine: run inside that machine's network
namespace on 169.254.169.254:80, as EC2 serves it to an instance.

    python tests/imds_standin.py --instance-id i-0abc --instance-type t2.large --notice FILE [--bind ADDR --port N]

IMDSv2 as EC2 answers it: ``PUT /latest/api/token`` (with ``X-aws-ec2-metadata-token-ttl-seconds``) gives a
token every other request must carry in ``X-aws-ec2-metadata-token`` (401 without it). ``instance-id``,
``instance-type`` and ``instance-life-cycle`` (spot) are served; ``spot/instance-action`` is 404 until the
test writes the notice (``{"action": "terminate", "time": "..."}``) to FILE, then that JSON, as EC2 serves it
two minutes before it reclaims a spot instance.
"""

from __future__ import annotations

import argparse
import http.server
import secrets
from pathlib import Path


def serve(instance_id: str, instance_type: str, notice: Path, bind: str, port: int) -> None:
    tokens: set[str] = set()
    static = {
        "/latest/meta-data/instance-id": instance_id,
        "/latest/meta-data/instance-type": instance_type,
        "/latest/meta-data/instance-life-cycle": "spot",
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: str = "") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:
            if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                self._send(400)
                return
            token = secrets.token_urlsafe(24)
            tokens.add(token)
            self._send(200, token)

        def do_GET(self) -> None:
            if self.headers.get("X-aws-ec2-metadata-token") not in tokens:
                self._send(401)
                return
            if self.path in static:
                self._send(200, static[self.path])
            elif self.path == "/latest/meta-data/spot/instance-action" and notice.exists():
                self._send(200, notice.read_text())
            else:
                self._send(404)

    http.server.ThreadingHTTPServer((bind, port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--instance-type", required=True)
    parser.add_argument("--notice", type=Path, required=True)
    parser.add_argument("--bind", default="169.254.169.254")
    parser.add_argument("--port", type=int, default=80)
    args = parser.parse_args()
    serve(args.instance_id, args.instance_type, args.notice, args.bind, args.port)


if __name__ == "__main__":
    main()
