"""launch-cluster then destroy-cluster on a moto_server of its own (real HTTP on 127.0.0.1).

    python bench/aws_cluster.py [--rounds 3] [--port 5056]

Each round launches a cluster of 1 leader, 2 on-demand and 2 spot workers (t2.medium leader,
--nodeTypes t2.large,m5.large:0.05 -w 2,2) and destroys it, through the provisioner the CLI uses: wall time
of each, the AWS API calls each made (by action), and what an inventory by tag and by name still finds after
destroy (target: nothing). Then the same through the `toil` command (fresh processes), wall time only.
Then Toil 9.6's own launch-cluster and destroy-cluster (bench/toil-venv) on a moto_server of their own, as far as
they get: its launch waits for the leader by connecting to the leader's address (Node.waitForNode: the SSH
port, with no time limit), an address moto invents and this machine must not reach, so it runs in a network
namespace of its own (``unshare --net``) whose only interface is loopback, with its moto_server and a
counting proxy inside: a connection to a moto address fails there at once and no packet can leave. After
TOIL96_WAIT seconds it is stopped; the line where it stopped, its AWS calls, then its destroy-cluster's calls
and what the inventory still finds are printed.
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
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


TOIL96 = os.path.join(HERE, "toil-venv", "bin", "toil")
TOIL96_WAIT = 30  # seconds Toil 9.6's launch-cluster is given; it then waits for the leader forever


def toil96_round(port: int) -> None:
    """Toil 9.6's launch-cluster then destroy-cluster, inside this (loopback-only) network namespace."""
    import boto3

    from tests.aws_inventory import leftovers
    from tests.faultproxy import ApiFaultProxy

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    server = start_moto(port)
    proxy = ApiFaultProxy(port).start()
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}", AWS_ACCESS_KEY_ID="testing")
    env.update(AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-west-2", PYTHONPATH="")
    os.environ.update(env)
    try:
        ec2 = boto3.client("ec2")
        ec2.create_key_pair(KeyName="bench")
        env["TOIL_AWS_AMI"] = ec2.describe_images()["Images"][0]["ImageId"]  # its Flatcar feed is not reachable
        proxy.seen.clear()  # the calls above were this benchmark's
        name = f"t96-{uuid.uuid4().hex[:6]}"
        launch = [TOIL96, "launch-cluster", name, "-T", "kubernetes", "-z", "us-west-2a", "--leaderNodeType"]
        launch += ["t2.medium", "--keyPairName", "bench", "--nodeTypes", "t2.large,m5.large:0.05", "-w", "2,2"]
        start = time.perf_counter()
        try:
            ran = subprocess.run(
                launch + ["--logLevel", "DEBUG"], env=env, capture_output=True, text=True, timeout=TOIL96_WAIT
            )
            last = (ran.stderr.strip().splitlines() or ["(no output)"])[-1]
            print(
                f"Toil 9.6 launch-cluster ended (exit {ran.returncode}) after "
                f"{time.perf_counter() - start:.1f} s: {last}"
            )
        except subprocess.TimeoutExpired as stopped:
            lines = (stopped.stderr or b"").decode(errors="replace").strip().splitlines()
            print(f"Toil 9.6 launch-cluster stopped after {TOIL96_WAIT} s at: {lines[-1] if lines else '(no output)'}")
        up = collections.Counter(proxy.seen)
        proxy.seen.clear()
        start = time.perf_counter()
        gone = subprocess.run(
            [TOIL96, "destroy-cluster", "-z", "us-west-2a", name], env=env, capture_output=True, text=True, timeout=600
        )
        destroyed = time.perf_counter() - start
        down = collections.Counter(proxy.seen)
        left = leftovers(name, "us-west-2")
        tail = (gone.stderr.strip().splitlines() or [""])[-1]
        print(
            f"Toil 9.6: launch {sum(up.values())} calls until it stopped; destroy-cluster exit {gone.returncode} in "
            f"{destroyed:.2f} s ({sum(down.values())} calls){': ' + tail if gone.returncode else ''}; "
            f"left after destroy: {sum(len(v) for v in left.values())} {left}"
        )
        print("Toil 9.6 launch calls:", dict(sorted(up.items())))
        print("Toil 9.6 destroy calls:", dict(sorted(down.items())))
    finally:
        proxy.stop()
        server.terminate()
        server.wait(timeout=30)


def run_toil96(port: int) -> None:
    """Run toil96_round in a new network namespace (root and unshare needed), its output on ours."""
    if not os.path.exists(TOIL96):
        print("Toil 9.6 not run: bench/toil-venv has no toil")
        return
    if os.geteuid() != 0 or not shutil.which("unshare"):
        print("Toil 9.6 not run: a network namespace of its own needs root and unshare")
        return
    inner = ["unshare", "--net", sys.executable, os.path.abspath(__file__), "--toil96-inside", "--port", str(port)]
    subprocess.run(inner, check=False, timeout=900)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=5056)
    parser.add_argument("--toil96-inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.toil96_inside:
        toil96_round(args.port)
        return
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
    run_toil96(args.port + 1)


if __name__ == "__main__":
    main()
