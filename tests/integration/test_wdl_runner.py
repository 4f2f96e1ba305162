"""toil-wdl-runner on real WDL documents: constructs, outputs, failures, restart, parallel scatters."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
WDL_DIR = Path(__file__).parent / "wdl"
RUNNER = str(Path(sys.executable).parent / "toil-wdl-runner")


def wdl_run(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RUNNER, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**os.environ, "TOIL_RETRY_BACKOFF_SECONDS": "0.05"},
    )


def test_constructs_compute_the_right_outputs_and_export_files(tmp_path):
    out = tmp_path / "out"
    p = wdl_run(
        str(WDL_DIR / "constructs.wdl"),
        str(WDL_DIR / "constructs.json"),
        "-o",
        str(out),
        "--logLevel",
        "WARNING",
        "--container",
        "none",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert got["constructs.totals"] == [20, 10]
    assert got["constructs.lines"] == [["a0"], ["b0", "b1"]]
    assert got["constructs.yes"] == "default" and got["constructs.no"] is None
    assert got["constructs.joined"] == "part 1\npart 2\nthe end"
    assert got["constructs.pair"] == {"left": 2, "right": "done"}
    assert got["constructs.doubled"] == {"a": 2, "b": 4}
    assert [os.path.basename(n) for n in got["constructs.globbed"]] == ["p1.txt", "p2.txt"]
    reports = got["constructs.reports"]
    assert len(reports) == 2 and len(set(reports)) == 2  # same basename: kept apart, not overwritten
    assert sorted(Path(r).read_text() for r in reports) == ["s1 20\n", "s2 10\n"]
    assert all(r.startswith(str(out)) for r in reports)
    assert Path(got["constructs.make_err"]).read_text() == "warned\n"
    assert p.stderr.count("are ignored (ubuntu:22.04)") == 1  # the image, said once


def test_a_task_document_with_inline_inputs_and_miniwdl_dialect(tmp_path):
    outfile = tmp_path / "outputs.json"
    p = wdl_run(
        str(WDL_DIR / "task_only.wdl"),
        "-i",
        json.dumps({"greet.who": "you", "greet.times": 3}),
        "-o",
        str(tmp_path / "out"),
        "--outputDialect",
        "miniwdl",
        "-m",
        str(outfile),
        "--logLevel",
        "WARNING",
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert json.loads(outfile.read_text()) == got
    assert got["dir"] == str(tmp_path / "out")
    assert got["outputs"]["greet.lines"] == ["hello you"] * 3
    data = Path(got["outputs"]["greet.out"]).read_bytes()
    assert hashlib.md5(data).hexdigest() == hashlib.md5(b"hello you\n" * 3).hexdigest()


def test_a_failing_task_shows_command_exit_code_and_stderr_and_restart_continues(tmp_path):
    marker = tmp_path / "marker"
    js = tmp_path / "js"
    args = [
        str(WDL_DIR / "failing.wdl"),
        "-i",
        json.dumps({"failing.marker": str(marker)}),
        "-o",
        str(tmp_path / "out"),
        "--jobStore",
        str(js),
        "--retryCount",
        "0",
        "--logLevel",
        "WARNING",
    ]
    p = wdl_run(*args, cwd=tmp_path)
    assert p.returncode != 0
    assert "exit code 7" in p.stderr and "step 2 is not ready" in p.stderr
    assert "if [ 2 -eq 2 ]" in p.stderr  # the command as it ran
    assert p.stderr.strip().splitlines()[-1].startswith("toil-wdl-runner: error:")
    ran_first = Path(f"{marker}.log").read_text().split("\n")
    assert sorted(x for x in ran_first if x) == ["ran 1", "ran 2", "ran 3"]
    Path(f"{marker}.ok").write_text("")
    p = wdl_run(*args, "--restart", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"failing.done": [1, 2, 3]}
    ran = [x for x in Path(f"{marker}.log").read_text().split("\n") if x]
    assert ran.count("ran 1") == 1 and ran.count("ran 3") == 1 and ran.count("ran 2") == 2  # only the failed one again


def test_max_retries_retries_the_task(tmp_path):
    wdl = tmp_path / "retry.wdl"
    count = tmp_path / "count"
    wdl.write_text(f"""version 1.0
workflow r {{ call flaky }}
task flaky {{
  command <<<
    n=$(cat "{count}" 2>/dev/null || echo 0)
    echo $((n + 1)) > "{count}"
    [ $n -ge 2 ] && echo ok
    [ $n -ge 2 ]
  >>>
  output {{ String out = read_string(stdout()) }}
  runtime {{ maxRetries: 2 }}
}}
""")
    p = wdl_run(str(wdl), "--retryCount", "0", "--logLevel", "WARNING", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"r.flaky.out": "ok"}
    assert (tmp_path / "count").read_text().strip() == "3"


def test_scatter_runs_tasks_in_parallel(tmp_path):
    log = tmp_path / "naps.log"
    p = wdl_run(
        str(WDL_DIR / "parallel.wdl"),
        "-i",
        json.dumps({"parallel.log": str(log)}),
        "--maxCores",
        "2",
        "--logLevel",
        "WARNING",
        "-o",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"parallel.ids": [0, 1, 2, 3]}
    spans = sorted((float(a), float(b)) for _, a, b in (line.split() for line in log.read_text().splitlines()))
    assert len(spans) == 4
    overlapping = sum(1 for (s1, e1), (s2, e2) in zip(spans, spans[1:]) if s2 < e1)
    assert overlapping >= 1, spans  # at least two naps at once


@pytest.mark.parametrize(
    "args,needle",
    [
        (["broken.wdl", "-i", '{"broken.x": 1}'], "broken.wdl:5:"),
        (["constructs.wdl", "-i", '{"constructs.nope": 1}'], "unknown input"),
        (["constructs.wdl", "-i", "{}"], "missing required inputs"),
        (["task_only.wdl", "-i", "{not json"], "not valid JSON"),
        (["nonexistent.wdl"], "no such WDL file"),
    ],
)
def test_mistakes_end_in_one_line(tmp_path, args, needle):
    p = wdl_run(str(WDL_DIR / args[0]), *args[1:], "--logLevel", "WARNING", cwd=tmp_path)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr, p.stderr
    lines = [line for line in p.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("toil-wdl-runner: error:") and needle in lines[0], p.stderr


def test_a_killed_run_continues_with_restart_without_rerunning_finished_tasks(tmp_path):
    import signal
    import time

    log = tmp_path / "naps.log"
    args = [
        RUNNER,
        str(WDL_DIR / "parallel.wdl"),
        "-i",
        json.dumps({"parallel.log": str(log)}),
        "--jobStore",
        str(tmp_path / "js"),
        "--maxCores",
        "2",
        "--logLevel",
        "WARNING",
        "-o",
        str(tmp_path / "o"),
    ]
    leader = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not (log.exists() and log.read_text().strip()):
        time.sleep(0.05)
    # A task's line is written before its worker reports it: give the leader a moment to record the first
    # tasks (the next ones nap for a second) so "finished" means recorded, then kill it.
    time.sleep(0.5)
    os.kill(leader.pid, signal.SIGKILL)
    leader.wait()
    finished = {line.split()[0] for line in log.read_text().splitlines()}
    assert 0 < len(finished) < 4
    p = wdl_run(*args[1:], "--restart", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"parallel.ids": [0, 1, 2, 3]}
    ran = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(set(ran)) == ["0", "1", "2", "3"]
    assert all(ran.count(i) == 1 for i in finished)


def test_inputs_of_calls_and_subworkflows_set_from_the_inputs_file(tmp_path):
    p = wdl_run(
        str(WDL_DIR / "overrides.wdl"),
        "-i",
        json.dumps({"overrides.t.b": "set", "overrides.cs.scale": 5}),
        "--logLevel",
        "WARNING",
        "-o",
        str(tmp_path / "o"),
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"overrides.o": ["1-set", "2-set"], "overrides.tot": 15}
    p = wdl_run(str(WDL_DIR / "overrides.wdl"), "--logLevel", "WARNING", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert json.loads(p.stdout) == {"overrides.o": ["1-dflt", "2-dflt"], "overrides.tot": 3}


def test_relative_file_paths_in_the_workflow_are_taken_from_where_it_was_started(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rel.txt").write_text("relative content\n")
    wdl = tmp_path / "rel.wdl"
    wdl.write_text("""version 1.0
workflow rel {
  File f = "data/rel.txt"
  String first = read_string(f)
  call show { input: f = f }
  output { String s = first  String t = show.out }
}
task show {
  input { File f }
  command <<< cat ~{f} >>>
  output { String out = read_string(stdout()) }
}
""")
    p = wdl_run(str(wdl), "--logLevel", "WARNING", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"rel.s": "relative content", "rel.t": "relative content"}
