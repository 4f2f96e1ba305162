"""The stats log: parsing (torn tail, damage) and the summaries `toil stats` prints."""

from __future__ import annotations

import json

import pytest

from toil.exceptions import ToilUserError
from toil.runtime.observe.statsdata import Category, Summary, parse_stats


def job(i: int, name: str = "work", wall: float = 1.0, cpu: float = 0.5, pid: int = 1, **extra) -> bytes:
    d = {
        "id": f"n{i}",
        "name": name,
        "start": 100.0 + i,
        "wall": wall,
        "cpu": cpu,
        "maxrss": 1024,
        "ok": True,
        "pid": pid,
        "host": "h",
        "next": [],
        **extra,
    }
    return json.dumps(d).encode() + b"\n"


def test_summary_median_of_even_and_odd_counts():
    assert Summary.of([3.0, 1.0, 2.0]) == Summary(1.0, 2.0, 2.0, 3.0, 6.0)
    assert Summary.of([4.0, 1.0, 2.0, 3.0]).med == 2.5
    assert Summary.of([]) == Summary(0.0, 0.0, 0.0, 0.0, 0.0)


def test_parse_groups_by_name_and_worker_and_skips_a_torn_tail():
    run = json.dumps({"t": "run", "attempt": 0, "start": 99.0, "batchSystem": "single_machine"}).encode() + b"\n"
    end = json.dumps({"t": "end", "attempt": 0, "end": 110.0}).encode() + b"\n"
    data = run + job(1) + job(2, pid=2) + job(3, name="other", wall=4.0, cpu=1.0) + end + job(4)[:20]
    stats = parse_stats([data])
    assert len(stats.jobs) == 3 and stats.settings["batchSystem"] == "single_machine"
    assert sorted(stats.by_name()) == ["other", "work"]
    assert sorted(len(v) for v in stats.workers().values()) == [1, 2]
    assert stats.total_runtime() == 11.0
    cat = Category.of("other", stats.by_name()["other"])
    assert cat.summaries["time"].max == 4.0 and cat.summaries["wait"].total == 3.0
    assert cat.summaries["memory"].min == 1024 * 1024
    workers = stats.worker_category()
    assert workers.count == 2 and workers.summaries["time"].total == 6.0


def test_display_name_defaults_to_the_job_name():
    stats = parse_stats([job(1) + job(2, display="work[2]")])
    assert [j.display for j in stats.jobs] == ["work", "work[2]"]


@pytest.mark.parametrize(
    "damage",
    [
        b"not json\n",
        json.dumps({"id": "x"}).encode() + b"\n",
        json.dumps({"id": "x", "start": "a", "wall": 1, "cpu": 1}).encode() + b"\n",
    ],
)
def test_damage_in_the_middle_is_a_clear_error(damage):
    with pytest.raises(ToilUserError, match="stats log is damaged"):
        parse_stats([job(1) + damage + job(2)], source="js stats")
