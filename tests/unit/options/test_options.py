"""Workflow options: Toil's names and defaults, env vars, config files, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from toil.job import Job
from toil.options.common import write_config
from toil.runtime.config import Config


def parse(*args):
    return Job.Runner.getDefaultArgumentParser().parse_args(list(args))


def test_toil_defaults():
    o = parse("./js")
    assert o.batchSystem == "single_machine" and o.retryCount == 1 and o.clean == "onSuccess"
    assert o.cleanWorkDir == "always" and o.logLevel == "INFO" and o.maxNodes == [10] and o.targetTime == 1800
    assert o.defaultMemory == 2 * 2**30 and o.defaultDisk == 2 * 2**30 and o.defaultCores == 1
    assert o.defaultPreemptible is False and o.restart is False and o.stats is False


def test_sizes_and_flags():
    o = parse(
        "file:/x/js",
        "--maxCores",
        "2",
        "--defaultMemory",
        "100Mi",
        "--logDebug",
        "--disableChaining",
        "--defaultPreemptible",
        "--retryCount",
        "3",
        "--clean",
        "never",
        "--setEnv",
        "A=1",
        "-e",
        "B",
    )
    assert o.maxCores == 2 and o.defaultMemory == 100 * 2**20 and o.logLevel == "Debug"
    assert o.disableChaining is True and o.defaultPreemptible is True and o.retryCount == 3
    assert o.environment == {"A": "1", "B": None}


def test_environment_variable_fills_an_unset_option(monkeypatch, tmp_path):
    monkeypatch.setenv("TOIL_WORKDIR", str(tmp_path))
    assert parse("./js").workDir == str(tmp_path)


def test_config_file_then_command_line_precedence(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("retryCount: 5\nmaxCores: 3\nclean: always\n")
    o = parse("./js", "--config", str(cfg), "--maxCores", "1")
    assert o.retryCount == 5 and o.maxCores == 1 and o.clean == "always"


def test_written_config_round_trips(tmp_path):
    path = tmp_path / "all.yaml"
    write_config(str(path))
    text = path.read_text()
    assert "retryCount: 1" in text and "# " in text
    o = parse("./js", "--config", str(path))
    assert o.retryCount == 1 and o.defaultMemory == 2 * 2**30
    # every option written comes back as its default, whatever its type (lists, sizes, dicts, None)
    from toil.options.common import defaults

    plain = parse("./js")
    for dest in defaults():
        assert getattr(o, dest) == getattr(plain, dest), dest


def test_config_with_every_option_changed_reads_back(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "defaultAccelerators: ['cuda:2']\nnodeTypes: [t2.micro, m5.large]\nmaxNodes: [3, 4]\n"
        "environment: {A: b}\nstats: true\n"
    )
    o = parse("./js", "--config", str(path))
    assert o.defaultAccelerators[0]["count"] == 2 and o.nodeTypes == ["t2.micro", "m5.large"]
    assert o.maxNodes == [3, 4] and o.environment == {"A": "b"} and o.stats is True


def test_config_object_is_plain_data():
    c = Config()
    c.setOptions(parse("./js", "--stats"))
    assert c.jobStore.startswith("file:/") and c.clean == "never"  # --stats keeps the job store
    again = Config.from_json(c.to_json())
    assert again.jobStore == c.jobStore and again.maxCores == c.maxCores


@pytest.mark.parametrize(
    "args,needle",
    [
        (["./js", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["./js", "--defaultMemory", "lots"], "--defaultMemory"),
        (["./js", "--clean", "sometimes"], "--clean"),
        ([], "jobStore"),
    ],
)
def test_bad_options_give_one_line(args, needle, tmp_path):
    script = tmp_path / "wf.py"
    script.write_text("from toil.job import Job\nJob.Runner.getDefaultArgumentParser().parse_args()\n")
    p = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], p.stderr


def test_bad_config_file_names_file_and_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("retryCount: 1\nmaxCores: [\n")
    script = tmp_path / "wf.py"
    script.write_text("from toil.job import Job\nJob.Runner.getDefaultArgumentParser().parse_args()\n")
    p = subprocess.run([sys.executable, str(script), "./js", "--config", str(cfg)], capture_output=True, text=True)
    assert p.returncode == 2 and f"{cfg}:" in p.stderr and len(p.stderr.strip().splitlines()) == 1
