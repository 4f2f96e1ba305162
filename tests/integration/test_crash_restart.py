"""Crash safety: kill -9 the leader at many points; --restart finishes with the same result and no job
whose completion had been recorded runs again."""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_script
from toil.runtime.jobstores import open_job_store

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parent / "scripts" / "sidefx.py"
N = 12
EXPECTED = sum(range(N)) + 8 + len("payload") + len("svc")
ALL_NAMES = {f"leaf-{i}" for i in range(N)} | {f"chain-{i}" for i in range(9)} | {"root", "writer", "reader", "total"}


def recorded_runs(job_store: Path) -> set[str]:
    """Node ids whose completion is in the journal (what a restart must never run again)."""
    _, records = open_job_store(str(job_store)).journal().load()
    return {r["id"] for r in records if r.get("t") == "ran"}


def has_workflow(job_store: Path) -> bool:
    store = open_job_store(str(job_store))
    if not store.exists():
        return False
    snapshot, records = store.journal().load()
    return snapshot is not None or bool(records)


def side_counts(side: Path) -> collections.Counter:
    if not side.exists():
        return collections.Counter()
    return collections.Counter(line.split()[1] for line in side.read_text().splitlines() if line.strip())


def base_args(js: Path) -> list[str]:
    return [str(js), "--n", str(N), "--logLevel", "WARNING", "--maxCores", "2", "--clean", "never"]


def check_no_rerun_after_record(js: Path, side: Path, before_by_kill: list[tuple[set, collections.Counter]]):
    final = side_counts(side)
    for recorded, counts in before_by_kill:
        for node in recorded:
            assert final[node] == counts[node], f"node {node} ran again after its completion was recorded"
    names = {line.split()[0] for line in side.read_text().splitlines()}
    assert names == ALL_NAMES


def finish(js: Path, side: Path, env: dict) -> subprocess.CompletedProcess:
    p = run_script(SCRIPT, *base_args(js), "--restart", env=env)
    if p.returncode != 0 and "run again without --restart" in p.stderr:
        p = run_script(SCRIPT, *base_args(js), env=env)  # killed before the workflow was recorded
    assert p.returncode == 0, p.stderr[-3000:]
    return p


@pytest.mark.parametrize(
    "point",
    [
        "journal-before-write",
        "journal-torn-write",
        "journal-before-fsync",
        "journal-after-fsync",
        "leader-after-commit",
    ],
)
def test_kill_at_every_step_of_a_commit(tmp_path, point):
    """Kill the leader at the n-th pass of each crash point, for many n, restarting after each kill."""
    for n in (1, 2, 3, 5, 8, 13, 21):
        js, side = tmp_path / f"js-{n}", tmp_path / f"side-{n}"
        env = {"SIDE_FILE": str(side)}
        p = run_script(SCRIPT, *base_args(js), env={**env, "TOIL_TEST_CRASH_AT": f"{point}:{n}"})
        if p.returncode == 0:
            assert f"RESULT {EXPECTED}" in p.stdout  # the workflow finished before the n-th pass
            continue
        assert p.returncode == -signal.SIGKILL, p.stderr[-3000:]
        before = [(recorded_runs(js), side_counts(side))]
        done = finish(js, side, env)
        assert f"RESULT {EXPECTED}" in done.stdout
        check_no_rerun_after_record(js, side, before)


def test_repeated_random_kills_then_restart(tmp_path):
    """Kill the leader at random moments, over and over (seeded), restarting each time."""
    rng = random.Random(1234)
    js, side = tmp_path / "js", tmp_path / "side"
    env = dict(os.environ, SIDE_FILE=str(side), JOB_DELAY="0.15")
    before: list[tuple[set, collections.Counter]] = []
    restart: list[str] = []
    kills = 0
    for _attempt in range(40):
        proc = subprocess.Popen(
            [sys.executable, str(SCRIPT), *base_args(js), *restart],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = proc.communicate(timeout=rng.uniform(0.2, 1.2))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            kills += 1
            if has_workflow(js):
                before.append((recorded_runs(js), side_counts(side)))
                restart = ["--restart"]
            else:
                restart = []  # killed before anything was recorded: start again
            continue
        assert proc.returncode == 0, err[-3000:]
        assert f"RESULT {EXPECTED}" in out
        break
    else:
        pytest.fail("the workflow never finished")
    assert kills >= 3
    check_no_rerun_after_record(js, side, before)


def test_a_second_leader_is_refused(tmp_path):
    js, side = tmp_path / "js", tmp_path / "side"
    env = dict(os.environ, SIDE_FILE=str(side), JOB_DELAY="1.0")
    first = subprocess.Popen(
        [sys.executable, str(SCRIPT), *base_args(js)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 30
        while not (js / "leader.json").exists() and time.time() < deadline:
            time.sleep(0.05)
        second = run_script(SCRIPT, *base_args(js), "--restart", env={"SIDE_FILE": str(side)})
        assert second.returncode == 1
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "another leader" in lines[0] and str(first.pid) in lines[0]
    finally:
        first.kill()
        first.communicate()


def test_sigterm_stops_the_leader_kills_its_jobs_and_keeps_the_job_store(tmp_path):
    js, side = tmp_path / "js", tmp_path / "side"
    env = dict(os.environ, SIDE_FILE=str(side), JOB_DELAY="30")
    leader = subprocess.Popen(
        [sys.executable, str(SCRIPT), *base_args(js)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 30
    while side_counts(side).total() < 1 and time.time() < deadline:  # a job is running
        time.sleep(0.05)
    leader.send_signal(signal.SIGTERM)
    _, err = leader.communicate(timeout=30)
    assert leader.returncode == 130
    assert "stopped by SIGTERM" in err.strip().splitlines()[-1] and "Traceback" not in err
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", str(js)], capture_output=True, text=True).stdout.split()
    assert left == [], "job processes outlived the leader"
    done = finish(js, side, {"SIDE_FILE": str(side)})
    assert f"RESULT {EXPECTED}" in done.stdout


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {p.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


def test_disk_full_fails_clearly_and_restart_completes_after_space_is_freed(small_disk):
    script = Path(__file__).parent / "scripts" / "fill_disk.py"
    args = [str(small_disk / "js"), "--workDir", str(small_disk), "--logLevel", "CRITICAL"]
    p = run_script(script, *args, "--retryCount", "0")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    line = p.stderr.strip().splitlines()[-1]
    assert "No space left on device" in line and "--restart" in line
    subprocess.run(["mount", "-o", "remount,size=60m", str(small_disk)], check=True)
    done = run_script(script, *args, "--restart")
    assert done.returncode == 0 and "RESULT 20" in done.stdout, done.stderr[-2000:]
