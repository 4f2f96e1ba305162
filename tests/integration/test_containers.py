"""CWL DockerRequirement and WDL runtime containers, run in real containers with Podman (and the docker CLI
through Podman's Docker API). infra/podman-up.sh installs Podman and builds the images; no registry is
reachable, so images the tests pull come from a stand-in `pull` (see ``counting_podman``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.hpc import ensure_podman

pytestmark = pytest.mark.integration

CWL = [os.path.join(os.path.dirname(sys.executable), "toil-cwl-runner")]
WDL = [os.path.join(os.path.dirname(sys.executable), "toil-wdl-runner")]
BASE = "docker.io/library/debian:stable-slim"
MARKED = "localhost/toil-test/marked:1"  # BASE with /marker holding "toil-test-image"


@pytest.fixture(scope="module", autouse=True)
def podman() -> None:
    ensure_podman()
    if subprocess.run(["podman", "image", "exists", MARKED]).returncode != 0:
        c = subprocess.run(
            ["podman", "create", BASE, "true"], capture_output=True, text=True, check=True
        ).stdout.strip()
        try:
            marker = Path(f"/tmp/marker-{uuid.uuid4().hex}")
            marker.write_text("toil-test-image\n")
            subprocess.run(["podman", "cp", str(marker), f"{c}:/marker"], check=True)
            marker.unlink()
            subprocess.run(["podman", "commit", "-q", c, MARKED], check=True, capture_output=True)
        finally:
            subprocess.run(["podman", "rm", "-f", c], capture_output=True)


def run(
    cmd: list[str], *args: str, cwd: Path, env: dict | None = None, timeout: float = 240
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env={**os.environ, **(env or {})}
    )


def tool(tmp: Path, name: str, docker: str, command: str, extra: str = "", inputs: str = "inputs: []") -> Path:
    """A CWL tool running `sh -c COMMAND` with the given DockerRequirement body; stdout is its output `out`."""
    path = tmp / f"{name}.cwl"
    path.write_text(f"""cwlVersion: v1.2
class: CommandLineTool
requirements:
  {docker}
{extra}
{inputs}
baseCommand: [sh, -c]
arguments: [{json.dumps(command)}]
stdout: out.txt
outputs:
  out: {{type: File, outputBinding: {{glob: out.txt}}}}
""")
    return path


def cwl_out(p: subprocess.CompletedProcess) -> str:
    assert p.returncode == 0, p.stderr[-3000:]
    return Path(json.loads(p.stdout)["out"]["path"]).read_text()


def stats_containers(job_store: Path) -> list[str]:
    p = subprocess.run(
        [sys.executable, "-m", "toil.cli.toil_main", "stats", "--raw", str(job_store)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(p.stdout)
    return sorted(c for t in report["job_types"].values() for c in t.get("containers", []))


# ------------------------------------------------------------------------------------------------ CWL
def test_cwl_docker_pull_runs_in_the_image_with_inputs_read_only_as_the_user(tmp_path: Path) -> None:
    given = tmp_path / "given.txt"
    given.write_text("data\n")
    doc = tool(
        tmp_path,
        "pull",
        f"DockerRequirement: {{dockerPull: {MARKED}}}",
        "cat /marker; cat $(inputs.given.path); (echo x >> $(inputs.given.path)) 2>/dev/null && echo writable "
        "|| echo read-only; id -u; pwd",
        extra="  InlineJavascriptRequirement: {}",
        inputs="inputs: {given: File}",
    )
    p = run(
        CWL,
        "--podman",
        "--outdir",
        str(tmp_path / "out"),
        "--jobStore",
        str(tmp_path / "js"),
        "--stats",
        str(doc),
        "--given",
        str(given),
        cwd=tmp_path,
    )
    marker, data, mode, uid, cwd = cwl_out(p).split("\n")[:5]
    assert (marker, data, mode, uid) == ("toil-test-image", "data", "read-only", str(os.getuid()))
    assert cwd != str(tmp_path)  # a container path, not the host's
    assert given.read_text() == "data\n"
    out = Path(json.loads(p.stdout)["out"]["path"])
    assert out.stat().st_uid == os.getuid()
    assert stats_containers(tmp_path / "js") == [f"podman {MARKED}"]


def test_cwl_docker_file_builds_the_image_and_docker_image_id_names_it(tmp_path: Path) -> None:
    image = f"localhost/toil-test/built:{uuid.uuid4().hex[:8]}"
    dockerfile = json.dumps(f"FROM {MARKED}\nRUN echo built-here > /built\n")
    doc = tool(
        tmp_path,
        "built",
        f"DockerRequirement: {{dockerFile: {dockerfile}, dockerImageId: '{image}'}}",
        "cat /marker /built",
    )
    try:
        p = run(CWL, "--podman", "--outdir", str(tmp_path / "out"), str(doc), cwd=tmp_path)
        assert cwl_out(p) == "toil-test-image\nbuilt-here\n"
    finally:
        subprocess.run(["podman", "rmi", "-f", image], capture_output=True)


def test_cwl_docker_load_and_docker_import_bring_images_from_files(tmp_path: Path) -> None:
    loaded = f"localhost/toil-test/loaded:{uuid.uuid4().hex[:8]}"
    imported = f"localhost/toil-test/imported:{uuid.uuid4().hex[:8]}"
    archive, rootfs = tmp_path / "image.tar", tmp_path / "rootfs.tar"
    subprocess.run(["podman", "tag", MARKED, loaded], check=True)
    subprocess.run(["podman", "save", "-q", "--format", "docker-archive", "-o", str(archive), loaded], check=True)
    subprocess.run(["podman", "rmi", loaded], check=True, capture_output=True)
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "sh")
    (root / "imported").write_text("from-a-rootfs\n")
    subprocess.run(["tar", "-C", str(root), "-cf", str(rootfs), "."], check=True)
    try:
        load = tool(
            tmp_path,
            "load",
            f"DockerRequirement: {{dockerLoad: '{archive}', dockerImageId: '{loaded}'}}",
            "cat /marker",
        )
        assert (
            cwl_out(run(CWL, "--podman", "--outdir", str(tmp_path / "o1"), str(load), cwd=tmp_path))
            == "toil-test-image\n"
        )
        imp = tool(
            tmp_path,
            "import",
            f"DockerRequirement: {{dockerImport: '{rootfs}', dockerImageId: '{imported}'}}",
            "read line < /imported; echo $line",
        )
        assert (
            cwl_out(run(CWL, "--podman", "--outdir", str(tmp_path / "o2"), str(imp), cwd=tmp_path)) == "from-a-rootfs\n"
        )
    finally:
        subprocess.run(["podman", "rmi", "-f", loaded, imported], capture_output=True)


def test_cwl_strict_limits_reach_the_container(tmp_path: Path) -> None:
    doc = tool(
        tmp_path,
        "limits",
        f"DockerRequirement: {{dockerPull: {BASE}}}",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; "
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max",
        extra="  ResourceRequirement: {ramMin: 300, coresMin: 1}",
    )
    p = run(
        CWL,
        "--podman",
        "--strict-memory-limit",
        "--strict-cpu-limit",
        "--outdir",
        str(tmp_path / "out"),
        str(doc),
        cwd=tmp_path,
    )
    memory, quota = cwl_out(p).split()[:2]
    assert int(memory) == 300 * 2**20
    assert int(quota) == 100000  # one core: a full period of the default 100 ms


def test_cwl_missing_image_is_one_line_naming_it(tmp_path: Path) -> None:
    doc = tool(tmp_path, "missing", "DockerRequirement: {dockerPull: 'quay.io/nobody/nothing-here:1.0'}", "true")
    p = run(CWL, "--podman", "--outdir", str(tmp_path / "out"), str(doc), cwd=tmp_path)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("toil-cwl-runner: error:") and "'quay.io/nobody/nothing-here:1.0'" in last, last
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cwl_default_container_and_no_container(tmp_path: Path) -> None:
    plain = tmp_path / "plain.cwl"
    plain.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\ninputs: []\nbaseCommand: [sh, -c]\n"
        "arguments: ['cat /marker 2>/dev/null || echo on-host']\nstdout: out.txt\n"
        "outputs: {out: {type: File, outputBinding: {glob: out.txt}}}\n"
    )
    p = run(CWL, "--podman", "--default-container", MARKED, "--outdir", str(tmp_path / "o1"), str(plain), cwd=tmp_path)
    assert cwl_out(p) == "toil-test-image\n"
    hinted = tool(
        tmp_path,
        "hinted",
        "{}",
        "cat /marker 2>/dev/null || echo on-host",
        extra=f"hints:\n  DockerRequirement: {{dockerPull: {MARKED}}}",
    )
    assert (
        cwl_out(run(CWL, "--no-container", "--outdir", str(tmp_path / "o2"), str(hinted), cwd=tmp_path)) == "on-host\n"
    )
    assert (
        cwl_out(run(CWL, "--podman", "--outdir", str(tmp_path / "o3"), str(hinted), cwd=tmp_path))
        == "toil-test-image\n"
    )


def test_cwl_through_the_docker_cli_keeps_the_tools_exit_code(tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker command line here (the Podman tests cover the engine)")
    ok = tool(tmp_path, "ok", f"DockerRequirement: {{dockerPull: {MARKED}}}", "cat /marker")
    p = run(CWL, "--outdir", str(tmp_path / "o1"), "--jobStore", str(tmp_path / "js"), "--stats", str(ok), cwd=tmp_path)
    assert cwl_out(p) == "toil-test-image\n"
    assert stats_containers(tmp_path / "js") == [f"docker {MARKED}"]  # the automatic choice: docker first
    failing = tool(tmp_path, "failing", f"DockerRequirement: {{dockerPull: {MARKED}}}", "exit 3")
    p = run(CWL, "--outdir", str(tmp_path / "o2"), str(failing), cwd=tmp_path)
    assert p.returncode != 0, "docker run --rm through Podman's API reports 0 for a failed tool"
    assert (
        subprocess.run(
            ["podman", "ps", "-a", "-q", "--filter", f"ancestor={MARKED}"], capture_output=True, text=True
        ).stdout.strip()
        == ""
    )  # containers removed after the run


@pytest.fixture
def counting_podman(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A `podman` that logs each pull and serves it from BASE (a stand-in registry), else runs the real one."""
    bindir, log = tmp_path / "bin", tmp_path / "pulls.log"
    bindir.mkdir()
    real = shutil.which("podman")
    (bindir / "podman").write_text(f"""#!/bin/sh
if [ "$1" = pull ]; then echo "$2" >> {log}; sleep 1; exec {real} tag {MARKED} "$2"; fi
exec {real} "$@"
""")
    (bindir / "podman").chmod(0o755)
    return {"PATH": f"{bindir}:{os.environ['PATH']}"}, log


def test_cwl_parallel_jobs_pull_an_image_once(tmp_path: Path, counting_podman: tuple[dict[str, str], Path]) -> None:
    env, log = counting_podman
    image = f"localhost/toil-test/pulled:{uuid.uuid4().hex[:8]}"
    step = tool(
        tmp_path,
        "step",
        f"DockerRequirement: {{dockerPull: '{image}'}}",
        "cat /marker; echo $(inputs.num)",
        extra="  InlineJavascriptRequirement: {}",
        inputs="inputs: {num: int}",
    )
    wf = tmp_path / "wf.cwl"
    wf.write_text(f"""cwlVersion: v1.2
class: Workflow
requirements: {{ScatterFeatureRequirement: {{}}}}
inputs: {{ns: 'int[]'}}
steps:
  s: {{run: {step.name}, scatter: num, in: {{num: ns}}, out: [out]}}
outputs: {{outs: {{type: 'File[]', outputSource: s/out}}}}
""")
    try:
        p = run(
            CWL,
            "--podman",
            "--outdir",
            str(tmp_path / "out"),
            str(wf),
            "--ns",
            "1",
            "--ns",
            "2",
            "--ns",
            "3",
            "--ns",
            "4",
            cwd=tmp_path,
            env=env,
        )
        assert p.returncode == 0, p.stderr[-3000:]
        outs = [Path(f["path"]).read_text() for f in json.loads(p.stdout)["outs"]]
        assert outs == [f"toil-test-image\n{n}\n" for n in (1, 2, 3, 4)]
        assert log.read_text().split() == [image]  # four jobs, one pull
    finally:
        subprocess.run(["podman", "rmi", "-f", image], capture_output=True)


# ------------------------------------------------------------------------------------------------ WDL
WDL_TASK = """version 1.1
task probe {{
  input {{ File f }}
  command <<<
    cat /marker 2>/dev/null || echo on-host
    cat ~{{f}}
    (echo x >> ~{{f}}) 2>/dev/null && echo writable || echo read-only
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max
  >>>
  output {{ File out = stdout() }}
  runtime {{ container: {image}  memory: "200 MiB"  cpu: 1 }}
}}
workflow w {{
  input {{ File f  Array[Int] ns = [1, 2, 3] }}
  scatter (n in ns) {{ call probe {{ input: f = f }} }}
  output {{ Array[File] outs = probe.out }}
}}
"""


def wdl_run(tmp: Path, image: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    doc, given = tmp / "w.wdl", tmp / "given.txt"
    doc.write_text(WDL_TASK.format(image=image))
    given.write_text("data\n")
    return run(WDL, str(doc), "-i", json.dumps({"w.f": str(given)}), "-o", str(tmp / "out"), *args, cwd=tmp, env=env)


def wdl_outs(p: subprocess.CompletedProcess) -> list[str]:
    assert p.returncode == 0, p.stderr[-3000:]
    return [Path(f).read_text() for f in json.loads(p.stdout)["w.outs"]]


def test_wdl_container_candidates_inputs_read_only_memory_limit_and_stats(tmp_path: Path) -> None:
    p = wdl_run(
        tmp_path,
        f'["quay.io/nobody/not-here:1", "{MARKED}"]',
        "--container",
        "podman",
        "--jobStore",
        str(tmp_path / "js"),
        "--stats",
    )
    outs = wdl_outs(p)
    assert outs == [f"toil-test-image\ndata\nread-only\n{200 * 2**20}\n"] * 3
    assert stats_containers(tmp_path / "js") == [f"podman {MARKED}"]


def test_wdl_container_none_runs_on_the_host_and_a_missing_image_is_one_line(tmp_path: Path) -> None:
    outs = wdl_outs(wdl_run(tmp_path, f'"{MARKED}"', "--container", "none"))
    assert all(o.startswith("on-host\ndata\n") for o in outs)
    p = wdl_run(tmp_path, '"quay.io/nobody/not-here:1"', "--container", "podman")
    assert p.returncode != 0 and "Traceback" not in p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("toil-wdl-runner: error:") and "quay.io/nobody/not-here:1" in last, last


def test_wdl_docker_cli(tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker command line here (the Podman tests cover the engine)")
    outs = wdl_outs(wdl_run(tmp_path, f'"{MARKED}"', "--container", "docker"))
    assert outs == [f"toil-test-image\ndata\nread-only\n{200 * 2**20}\n"] * 3


def test_wdl_parallel_tasks_pull_an_image_once(tmp_path: Path, counting_podman: tuple[dict[str, str], Path]) -> None:
    env, log = counting_podman
    image = f"localhost/toil-test/wdl-pulled:{uuid.uuid4().hex[:8]}"
    try:
        outs = wdl_outs(wdl_run(tmp_path, f'"{image}"', "--container", "podman", env=env))
        assert len(outs) == 3 and all(o.startswith("toil-test-image\n") for o in outs)
        assert log.read_text().split() == [image]
    finally:
        subprocess.run(["podman", "rmi", "-f", image], capture_output=True)


NET_PROBE = (
    "import socket,struct,urllib.request\n"
    "gw = [l.split()[2] for l in open('/proc/net/route').read().splitlines()[1:] if l.split()[1] == '00000000']\n"
    "try:\n"
    "    host = socket.inet_ntoa(struct.pack('<L', int(gw[0], 16)))\n"
    "    print(urllib.request.urlopen('http://%s:%d/' % (host, PORT), timeout=10).read().decode().strip())\n"
    "except Exception as e:\n"
    "    print('unreachable')\n"
)


def test_cwl_network_access_gives_the_network_and_its_absence_takes_it(tmp_path: Path) -> None:
    import http.server
    import threading

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello-from-the-host\n")

        def log_message(self, *a: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        script = NET_PROBE.replace("PORT", str(server.server_address[1]))
        results = {}
        for name, extra in (("with", "  NetworkAccess: {networkAccess: true}"), ("without", "")):
            doc = tmp_path / f"{name}.cwl"
            doc.write_text(
                f"cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  DockerRequirement: "
                f"{{dockerPull: {BASE}}}\n{extra}\ninputs: []\nbaseCommand: [python3, -c]\n"
                f"arguments: [{json.dumps(script)}]\nstdout: out.txt\n"
                f"outputs: {{out: {{type: File, outputBinding: {{glob: out.txt}}}}}}\n"
            )
            results[name] = cwl_out(run(CWL, "--podman", "--outdir", str(tmp_path / name), str(doc), cwd=tmp_path))
        assert results == {"with": "hello-from-the-host\n", "without": "unreachable\n"}
    finally:
        server.shutdown()


def test_a_killed_run_leaves_no_container_running(tmp_path: Path) -> None:
    import signal
    import time

    image = f"localhost/toil-test/sleeper:{uuid.uuid4().hex[:8]}"
    subprocess.run(["podman", "tag", MARKED, image], check=True)
    doc = tmp_path / "sleep.cwl"
    doc.write_text(
        f"cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  DockerRequirement: {{dockerPull: '{image}'}}\n"
        "inputs: []\nbaseCommand: [sleep, '300']\noutputs: []\n"
    )

    def containers() -> list[str]:
        return subprocess.run(
            ["podman", "ps", "-a", "-q", "--filter", f"ancestor={image}"], capture_output=True, text=True
        ).stdout.split()

    leader = subprocess.Popen(
        [*CWL, "--podman", "--jobStore", str(tmp_path / "js"), str(doc)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while not containers() and time.time() < deadline:
            time.sleep(0.5)
        assert containers(), "the tool's container never started"
        leader.send_signal(signal.SIGTERM)
        leader.wait(60)
        deadline = time.time() + 60
        while containers() and time.time() < deadline:
            time.sleep(0.5)
        assert containers() == []  # the job's deferred removal ran, though its process was killed
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
        subprocess.run(["podman", "rm", "-f", *containers()], capture_output=True)
        subprocess.run(["podman", "rmi", "-f", image], capture_output=True)


DOCKER_API_SCRIPT = """
import os, sys
from toil.common import Toil
from toil.job import Job
from toil.lib.docker import apiDockerCall

def run(job, image):
    work = job.tempDir
    with open(os.path.join(work, "in.txt"), "w") as f:
        f.write("hello there\\n")
    marker = apiDockerCall(job, image, ["cat", "/marker"], working_dir=work)
    piped = apiDockerCall(job, image, [["cat", "/data/in.txt"], ["tr", "a-z", "A-Z"]], working_dir=work)
    apiDockerCall(job, image, ["sh", "-c", "id -u > /data/uid.txt"], working_dir=work)
    uid = open(os.path.join(work, "uid.txt")).read().strip()
    try:
        apiDockerCall(job, image, ["sh", "-c", "exit 3"], working_dir=work)
        failed = "no error"
    except Exception as e:
        failed = type(e).__name__ + " " + str(getattr(e, "exit_status", ""))
    return [marker.decode(), piped.decode(), uid, failed]

if __name__ == "__main__":
    options = Job.Runner.getDefaultArgumentParser().parse_args(sys.argv[1:2] + ["--stats", "--logLevel", "WARNING"])
    with Toil(options) as toil:
        print(toil.start(Job.wrapJobFn(run, sys.argv[2])))
"""


def test_python_api_docker_call_through_the_docker_api(tmp_path: Path) -> None:
    pytest.importorskip("docker")
    script = tmp_path / "flow.py"
    script.write_text(DOCKER_API_SCRIPT)
    p = run([sys.executable], str(script), f"file:{tmp_path / 'js'}", MARKED, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    marker, piped, uid, failed = eval(p.stdout.strip().splitlines()[-1])
    assert (marker, piped, uid, failed) == ("toil-test-image\n", "HELLO THERE\n", str(os.getuid()), "ContainerError 3")
    assert stats_containers(tmp_path / "js") == [f"docker {MARKED}"]
    left = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True).stdout
    assert "toil-" not in left  # removed when the job ended (deferParam RM)


@pytest.mark.slurm
def test_cwl_container_job_on_slurm(tmp_path: Path) -> None:
    from tests.integration.hpc import ensure_slurm

    ensure_slurm()
    doc = tool(tmp_path, "onslurm", f"DockerRequirement: {{dockerPull: {MARKED}}}", "cat /marker")
    p = run(
        CWL,
        "--batchSystem",
        "slurm",
        "--jobStore",
        str(tmp_path / "js"),
        "--podman",
        "--stats",
        "--outdir",
        str(tmp_path / "out"),
        str(doc),
        cwd=tmp_path,
        timeout=600,
    )
    assert cwl_out(p) == "toil-test-image\n"
    assert stats_containers(tmp_path / "js") == [f"podman {MARKED}"]


def test_an_engine_that_is_not_here_is_refused_in_one_line(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    env = {"PATH": f"{bindir}:/usr/bin:/bin"}  # no singularity/apptainer on this machine's PATH either
    doc = tool(tmp_path, "t", f"DockerRequirement: {{dockerPull: {MARKED}}}", "cat /marker")
    p = run(CWL, "--singularity", "--outdir", str(tmp_path / "o"), str(doc), cwd=tmp_path, env=env)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert (
        p.stderr.strip().splitlines()[-1]
        == "toil-cwl-runner: error: --singularity: singularity is not installed or cannot run containers here"
    )
    p = wdl_run(tmp_path, f'"{MARKED}"', "--container", "singularity", env=env)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert (
        p.stderr.strip().splitlines()[-1]
        == "toil-wdl-runner: error: --container singularity: singularity is not installed or cannot run containers here"
    )
