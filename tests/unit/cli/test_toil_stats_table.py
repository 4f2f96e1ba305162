"""`toil stats` formatting: Toil's table layout, sorting, human units and JSON."""

from __future__ import annotations

import json
from types import SimpleNamespace

from toil.cli.toil_stats import _bytes, _duration, raw_report, table
from toil.runtime.observe.statsdata import parse_stats


def lines(*jobs: tuple[str, float]) -> bytes:
    out = [
        json.dumps(
            {
                "t": "run",
                "attempt": 0,
                "start": 0.0,
                "batchSystem": "slurm",
                "defaultCores": 2,
                "defaultMemory": 1024**3,
                "maxCores": 8,
            }
        ).encode()
    ]
    for i, (name, wall) in enumerate(jobs):
        out.append(
            json.dumps(
                {
                    "id": str(i),
                    "name": name,
                    "start": float(i),
                    "wall": wall,
                    "cpu": wall / 2,
                    "maxrss": 2048,
                    "pid": i % 2,
                    "host": "h",
                }
            ).encode()
        )
    return b"\n".join(out) + b"\n"


def args(**kw):
    base = dict(sortCategory="time", sortField="med", sortReverse=False, pretty=False)
    return SimpleNamespace(**{**base, **kw})


STATS = parse_stats([lines(("b", 1.0), ("b", 3.0), ("a", 10.0), ("c", 0.5), ("c", 0.5), ("c", 0.5))])


def names(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if ln.startswith(" ") and not ln.startswith("  ") and "|" not in ln]


def test_header_and_blocks():
    text = table(STATS, args())
    first = text.splitlines()[:4]
    assert first == ["Batch System: slurm", "Default Cores: 2  Default Memory: 1.00G", "Max Cores: 8", first[3]]
    assert first[3].startswith("Total Clock: 7.75  Total Runtime:")
    assert text.count("Count |") == 5  # Worker, Job, and one per name


def test_sorting_by_each_category_and_field():
    assert names(table(STATS, args())) == ["c", "b", "a"]  # median time
    assert names(table(STATS, args(sortReverse=True))) == ["a", "b", "c"]
    assert names(table(STATS, args(sortCategory="alpha"))) == ["a", "b", "c"]
    assert names(table(STATS, args(sortCategory="count", sortReverse=True)))[0] == "c"
    assert names(table(STATS, args(sortField="total", sortReverse=True))) == ["a", "b", "c"]
    marked = table(STATS, args(sortCategory="clock", sortField="max"))
    assert "Clock*" in marked and "max*" in marked and "Time*" not in marked


def test_units():
    assert _bytes(2048 * 1024, False) == "2.00M" and _bytes(2048 * 1024, True) == "2.00MiB"
    assert _bytes(512, False) == "512B"
    assert _duration(5.5) == "5.50s" and _duration(125) == "2m05s" and _duration(7500) == "2h05m"
    assert "2.00MiB" in table(STATS, args(pretty=True))


def test_raw_report_counts():
    raw = raw_report(STATS)
    assert raw["jobs"]["total_number"] == 6 and raw["job_types"]["c"]["total_number"] == 3
    assert raw["job_types"]["b"]["median_time"] == 2.0 and raw["worker"]["total_number"] == 2
    assert raw["total_clock"] == 7.75


def test_reports_written_whole_and_devices_left_alone(tmp_path):
    import os
    import stat

    from toil.cli.toil_stats import _write

    target = tmp_path / "r.txt"
    _write(str(target), "one\n")
    _write(str(target), "two\n")
    assert target.read_text() == "two\n" and os.listdir(tmp_path) == ["r.txt"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    _write(str(fifo), "x\n")
    assert os.read(reader, 10) == b"x\n" and stat.S_ISFIFO(os.stat(fifo).st_mode)
    os.close(reader)


def test_the_container_a_job_ran_in_is_shown_per_job_type():
    records = [json.loads(x) for x in lines(("tool", 1.0), ("tool", 2.0), ("plain", 1.0)).splitlines()]
    records[1]["container"] = "podman debian:stable-slim"
    records[2]["container"] = "podman debian:stable-slim, docker python:3-slim"
    stats = parse_stats([b"\n".join(json.dumps(r).encode() for r in records) + b"\n"])
    text = table(stats, args(sortCategory="alpha"))
    assert " tool  (container: podman debian:stable-slim; docker python:3-slim)" in text.splitlines()
    assert " plain" in text.splitlines()
    raw = raw_report(stats)
    assert raw["job_types"]["tool"]["containers"] == ["podman debian:stable-slim", "docker python:3-slim"]
    assert "containers" not in raw["job_types"]["plain"]
    assert raw["containers"] == {"podman": 2, "docker": 1}
