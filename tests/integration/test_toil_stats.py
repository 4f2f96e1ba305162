"""`--stats` and `toil stats` (table, JSON, sorting, HTML) on real runs; `toil config` read back by --config."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_script
from tests.integration.test_toil_status import toil

pytestmark = pytest.mark.integration
SCRIPTS = Path(__file__).parent / "scripts"
SCRIPT = SCRIPTS / "utils_workflow.py"
QUIET = ["--logLevel", "WARNING", "--retryCount", "0"]


@pytest.fixture(scope="module")
def stats_store(tmp_path_factory) -> Path:
    """A finished run with --stats and --clean always: --stats keeps the job store anyway."""
    js = tmp_path_factory.mktemp("stats") / "js"
    p = run_script(SCRIPT, str(js), "--n", "5", "--sleep", "0.2", "--stats", "--clean", "always", *QUIET)
    assert p.returncode == 0 and "RESULT 10" in p.stdout, p.stderr
    assert js.exists(), "--stats must keep the job store whatever --clean says"
    return js


def test_table_has_toils_layout_and_counts(stats_store):
    p = toil("stats", str(stats_store))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "Batch System: single_machine"
    assert re.match(r"Default Cores: 1  Default Memory: 2\.00G$", lines[1]), lines[1]
    assert lines[2] == "Max Cores: unlimited"
    assert re.match(r"Total Clock: [\d.]+  Total Runtime: [\d.]+$", lines[3]), lines[3]
    assert lines[4] == "Worker" and "Job" in lines and " Worker Jobs  |     min    med    ave    max" in lines
    header = next(line for line in lines if "Count" in line)
    for column in ("Time*", "Clock", "Wait", "Memory"):
        assert column in header
    assert "med*" in lines[lines.index(header) + 1]
    # one block per job name, with its count: fan 1, work 5, total 1
    for name, count in (("fan", 1), ("work", 5), ("total", 1)):
        i = lines.index(f" {name}")
        assert int(lines[i + 3].split("|")[0]) == count
    job_block = lines.index("Job") + 3
    assert int(lines[job_block + 2].split("|")[0]) == 7
    work = lines.index(" work")
    med_time = float(lines[work + 3].split("|")[1].split()[1])
    assert 0.2 <= med_time < 5, "each work job slept 0.2 s"


def test_raw_json_and_sorting(stats_store):
    raw = json.loads(toil("stats", str(stats_store), "--raw").stdout)
    assert raw["jobs"]["total_number"] == 7 and raw["job_types"]["work"]["total_number"] == 5
    assert raw["job_types"]["work"]["min_time"] >= 0.2
    assert raw["batch_system"] == "single_machine" and raw["total_run_time"] > 0

    def order(*args):
        out = toil("stats", str(stats_store), *args).stdout.splitlines()
        return [line.strip() for line in out if line.startswith(" ") and not line.startswith("  ") and "|" not in line]

    assert order("--sortCategory", "alpha") == ["fan", "total", "work"]
    assert order("--sortCategory", "alpha", "--sortReverse") == ["work", "total", "fan"]
    assert order("--sortCategory", "count", "--sortReverse")[0] == "work"
    assert order("--sortCategory", "time", "--sortField", "max", "--sortReverse")[0] == "work"
    pretty = toil("stats", str(stats_store), "--pretty").stdout
    assert "Default Memory: 2.00GiB" in pretty and "MiB" in pretty


def test_html_report_is_written_by_the_command(stats_store, tmp_path):
    report = tmp_path / "report.html"
    p = toil("stats", str(stats_store), "--html", str(report))
    assert p.returncode == 0 and report.exists(), p.stderr
    text = report.read_text()
    for section in ("summary", "timeline", "graph", "slowest", "per-name"):
        assert f'id="{section}"' in text
    assert text.count('class="job"') == 7


def test_write_logs_keeps_every_jobs_log(tmp_path):
    logs, gz = tmp_path / "logs", tmp_path / "gz"
    p = run_script(SCRIPT, str(tmp_path / "js"), "--n", "3", "--writeLogs", str(logs), *QUIET)
    assert p.returncode == 0, p.stderr
    work_logs = sorted(logs.glob("work_*.log"))
    assert len(work_logs) == 3 and len(list(logs.glob("*.log"))) == 5
    assert {f"work {i} is running" for i in range(3)} == {f.read_text().strip().splitlines()[0] for f in work_logs}
    p = run_script(SCRIPT, str(tmp_path / "js2"), "--n", "2", "--fail-at", "1", "--writeLogsGzip", str(gz), *QUIET)
    assert p.returncode == 1
    import gzip

    failed = list(gz.glob("failed_work_*.log.gz"))
    assert len(failed) == 1 and b"work 1 was told to fail" in gzip.decompress(failed[0].read_bytes())


def test_config_file_round_trip(tmp_path):
    path = tmp_path / "config.yaml"
    p = toil("config", str(path))
    assert p.returncode == 0 and path.exists()
    text = path.read_text()
    assert text.startswith("#") and "\nretryCount: 1\n" in text and "\n# " in text
    edited = text.replace("\nretryCount: 1\n", "\nretryCount: 0\n").replace("\nstats: false\n", "\nstats: true\n")
    path.write_text(edited)
    js = tmp_path / "js"
    p = run_script(SCRIPT, str(js), "--n", "2", "--fail-at", "0", "--config", str(path), "--logLevel", "WARNING")
    assert p.returncode == 1
    assert p.stderr.count("failed: RuntimeError") == 1, "retryCount 0 from the config file: a single try"
    assert toil("stats", str(js)).returncode == 0, "stats: true from the config file"
    bad = tmp_path / "bad.yaml"
    bad.write_text("retryCount: [unclosed\n")
    p = run_script(SCRIPT, str(tmp_path / "js3"), "--config", str(bad))
    assert p.returncode != 0 and "Traceback" not in p.stderr and str(bad) in p.stderr.strip().splitlines()[-1]
