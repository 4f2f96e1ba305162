"""Secret --setEnv values stay out of the job store's options; file-mode helpers for private and exported files."""

from __future__ import annotations

import json
import os
import stat

import pytest

from toil.job import Job
from toil.runtime.batch.remote.hpc import submit_environment
from toil.runtime.config import Config, is_secret_name
from toil.runtime.jobstores.file.fsutil import current_umask, make_private, private_files, user_mode


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "GITHUB_TOKEN",
        "my_api_key",
        "DB_PASSWORD",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "TOIL_AWS_TOKEN",
        "Secret",
    ],
)
def test_secret_looking_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "TOIL_WORKDIR", "LANG", "OMP_NUM_THREADS"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_secret_setenv_values_are_kept_in_memory_but_not_in_the_stored_options(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "zz-from-the-leader")
    options = Job.Runner.getDefaultArgumentParser().parse_args(
        ["./js", "--setEnv", "GITHUB_TOKEN", "--setEnv", "DB_PASSWORD=zz-given", "--setEnv", "PLAIN=1"]
    )
    config = Config()
    config.setOptions(options)
    assert config.environment == {"GITHUB_TOKEN": "zz-from-the-leader", "DB_PASSWORD": "zz-given", "PLAIN": "1"}
    stored = json.dumps(config.to_json())
    assert "zz-" not in stored
    assert Config.from_json(json.loads(stored)).environment == {"GITHUB_TOKEN": None, "DB_PASSWORD": None, "PLAIN": "1"}


def test_hpc_jobs_are_submitted_with_the_setenv_values_the_job_store_does_not_keep(monkeypatch):
    monkeypatch.setenv("ALREADY_THERE", "x")
    config = Config()
    config.environment = {"DB_PASSWORD": "zz-given", "LEFT": None}
    env = submit_environment(config)
    assert env["DB_PASSWORD"] == "zz-given" and env["ALREADY_THERE"] == "x" and "LEFT" not in env


def test_private_files_and_user_modes(tmp_path):
    saved = os.umask(0o022)
    try:
        assert current_umask() == 0o022
        assert user_mode() == 0o644 and user_mode(executable=True) == 0o755 and user_mode(directory=True) == 0o755
        with private_files():
            assert current_umask() == 0o077
            (tmp_path / "d").mkdir()
            (tmp_path / "d" / "f").write_text("x")
        assert current_umask() == 0o022
        assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "d" / "f").stat().st_mode) == 0o600
    finally:
        os.umask(saved)


def test_make_private_leaves_links_and_other_peoples_files_alone(tmp_path):
    root = tmp_path / "out"
    (root / "sub").mkdir(parents=True)
    (root / "sub").chmod(0o755)
    (root / "kept.sh").write_text("#!/bin/sh\n")
    (root / "kept.sh").chmod(0o755)
    (root / "data").write_text("x")
    (root / "data").chmod(0o644)
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("mine")
    theirs.chmod(0o644)
    os.link(theirs, root / "hardlink")
    os.symlink(theirs, root / "symlink")
    make_private(str(root))
    modes = {p.name: stat.S_IMODE(p.lstat().st_mode) for p in root.iterdir() if not p.is_symlink()}
    assert modes == {"sub": 0o700, "kept.sh": 0o700, "data": 0o600, "hardlink": 0o644}
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o644


def test_hpc_submission_makes_private_files_and_passes_the_setenv_values(tmp_path, monkeypatch):
    import subprocess

    from tests.unit.runtime.batch.test_hpc_batch import job, system
    from toil.runtime.batch.remote import hpc
    from toil.runtime.batch.remote.base import Launch
    from toil.runtime.batch.remote.slurm import SlurmBatchSystem

    seen = {}

    def fake_run(argv, timeout=0, check=False, env=None):
        seen["argv"], seen["env"] = argv, env
        return subprocess.CompletedProcess(argv, 0, "123\n", "")

    monkeypatch.setattr(hpc, "run_command", fake_run)
    saved = os.umask(0o022)
    try:
        s = system(SlurmBatchSystem, slurm_allocate_mem=True, environment={"MY_API_TOKEN": "zz-given", "X": None})
        log_path = str(tmp_path / "job.log")
        assert s.submit(job(), Launch("job", "file:/js", "n.0.json", log_path)) == "123"
    finally:
        os.umask(saved)
    assert stat.S_IMODE(os.stat(log_path).st_mode) == 0o600
    assert seen["env"]["MY_API_TOKEN"] == "zz-given" and "X" not in seen["env"]
    assert "zz-given" not in " ".join(seen["argv"])
