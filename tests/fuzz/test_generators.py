"""The fuzz suite's own checks: generators are deterministic and varied, the judge and the sandbox can fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fuzz import run
from tests.fuzz.core import Case, Outcome, judge
from tests.fuzz.sandbox import install

SMALL = 12


@pytest.mark.parametrize("kind", sorted(run.kinds()))
def test_generators_are_deterministic_and_varied(kind: str) -> None:
    gen = run.kinds()[kind]
    first, again, other = gen(SMALL, 7), gen(SMALL, 7), gen(SMALL, 8)
    assert [c.key() for c in first] == [c.key() for c in again]
    assert len({c.key() for c in first}) == SMALL
    assert {c.key() for c in first} != {c.key() for c in other}
    assert all(c.kind == kind for c in first)


def test_judge_wants_a_last_line_error_and_no_traceback() -> None:
    case = Case("k", "toil", ["status", "x"])
    good = judge(case, Outcome(1, "", "INFO starting\ntoil: error: no such job store\n"), "/tmp")
    assert good.one_line and not good.problems
    usage = judge(case, Outcome(2, "", "usage: toil [-h]\ntoil: error: bad\n"), "/tmp")
    assert "no one-line error message" in usage.problems
    tb = judge(case, Outcome(1, "", "Traceback (most recent call last):\n  x\nValueError: y\n"), "/tmp")
    assert tb.traceback
    crash = judge(case, Outcome(1, "", "toil-cwl-runner: error: Unhandled error: 'x'\n"), "/tmp")
    assert crash.traceback
    accepted = judge(Case("k", "toil", [], expect="fail"), Outcome(None, "", ""), "/tmp")
    assert "accepted an invalid input" in accepted.problems


def test_sandbox_refuses_and_reports_writes_outside(tmp_path: Path) -> None:
    guard = install()
    inside, outside = tmp_path / "case", tmp_path / "elsewhere"
    inside.mkdir()
    guard.begin([str(inside)])
    try:
        (inside / "ok.txt").write_text("fine")
        with pytest.raises(PermissionError):
            (outside).mkdir()
        with pytest.raises(PermissionError):
            open(tmp_path / "stray.txt", "w").close()
        with pytest.raises(PermissionError):
            os.kill(1, 15)
    finally:
        violations = guard.end()
    assert not outside.exists() and not (tmp_path / "stray.txt").exists()
    assert len(violations) == 3
    case = Case("k", "python", ["script.py"])
    verdict = judge(case, Outcome(1, "", "x: error: y\n", violations=violations), str(inside))
    assert verdict.outside


def test_generation_does_not_depend_on_what_the_process_imported() -> None:
    """Hypothesis draws constants from loaded modules' source; the suite keeps that out (see mutate.py)."""
    import hashlib
    import subprocess
    import sys

    from tests.fuzz.kinds_python import generate

    here = hashlib.sha1("".join(c.key() for c in generate(SMALL, 3)).encode()).hexdigest()
    code = (
        "import hashlib; from tests.fuzz.kinds_python import generate; "
        f"print(hashlib.sha1(''.join(c.key() for c in generate({SMALL}, 3)).encode()).hexdigest())"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.strip()
    assert here == fresh
