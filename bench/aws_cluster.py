"""launch-cluster then destroy-cluster on a moto_server of its own (real HTTP on 127.0.0.1).

    python bench/aws_cluster.py [--rounds 3] [--port 5056]

Each round launches a cluster of 1 leader, 2 on-demand and 2 spot workers (t2.medium leader,
--nodeTypes t2.large,m5.large:0.05 -w 2,2) and destroys it, through the provisioner the CLI uses: wall time
of each, the AWS API calls each made (by action), and what an inventory by tag and by name still finds after
destroy (target: nothing). Then the same through the `toil` command (fresh processes), wall time only.
Toil 9.6 is not run beside it: its launch-cluster waits for the leader by connecting to the leader's address
(Node.waitForNode: the SSH port, then ssh), an address moto invents and this machine must not reach.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def start_moto(port: int) -> subprocess.Popen[bytes]:
    """A moto_server of this benchmark's own on 127.0.0.1:port."""
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
            return server
        except OSError:
            time.sleep(0.25)
    server.kill()
    raise SystemExit(f"moto_server did not start on port {port}")


def one_round(
    zone: str,
) -> tuple[float, float, collections.Counter[str], collections.Counter[str], dict[str, list[str]]]:
    """Launch and destroy one cluster in-process: times, calls of each, leftovers."""
    from tests.aws_inventory import leftovers
    from toil.provision.aws.provisioner import AWSProvisioner
    from toil.provision.parsing import build_spec

    name = f"bench-{uuid.uuid4().hex[:8]}"
    spec = build_spec(
        name,
        zone,
        "bench",
        "t2.medium",
        node_types="t2.large,m5.large:0.05",
        workers="2,2",
        appliance="localhost/toil:bench",
        leader_wait=0,  # no machine behind moto's leader
        environ={},
    )
    launcher = AWSProvisioner(zone)
    start = time.perf_counter()
    launcher.launch(spec)
    launched = time.perf_counter() - start
    destroyer = AWSProvisioner(zone)
    start = time.perf_counter()
    destroyer.destroy(name)
    destroyed = time.perf_counter() - start
    return launched, destroyed, launcher.aws.calls, destroyer.aws.calls, leftovers(name, "us-west-2")


def cli_round(zone: str) -> tuple[float, float]:
    """The same through the toil command, as a user runs it."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    toil = os.path.join(os.path.dirname(sys.executable), "toil")
    launch = [
        toil,
        "launch-cluster",
        name,
        "-z",
        zone,
        "--leaderNodeType",
        "t2.medium",
        "--keyPairName",
        "bench",
        "--nodeTypes",
        "t2.large,m5.large:0.05",
        "-w",
        "2,2",
        "--leaderWait",
        "0",
        "--logLevel",
        "WARNING",
    ]
    start = time.perf_counter()
    subprocess.run(launch, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    launched = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([toil, "destroy-cluster", "-z", zone, name], check=True, stdout=subprocess.DEVNULL)
    return launched, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=5056)
    args = parser.parse_args()
    server = start_moto(args.port)
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{args.port}",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-west-2",
    )
    try:
        import boto3

        boto3.client("ec2").create_key_pair(KeyName="bench")
        for i in range(args.rounds):
            launched, destroyed, up, down, left = one_round("us-west-2a")
            print(
                f"round {i + 1}: launch {launched:.2f} s ({sum(up.values())} calls), destroy {destroyed:.2f} s "
                f"({sum(down.values())} calls), left after destroy: {sum(len(v) for v in left.values())} {left}"
            )
        print("launch calls:", dict(sorted(up.items())))
        print("destroy calls:", dict(sorted(down.items())))
        launched, destroyed = cli_round("us-west-2a")
        print(f"toil launch-cluster {launched:.2f} s, toil destroy-cluster {destroyed:.2f} s (fresh processes)")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
