"""The benchmark's own check: bench/populate.py's bulk writer writes what reminders.subscribe writes
(keys, fields, JSON, scores, TTLs), for several people at once, so the benchmarks measure the real
layout. Run by `make bench` before it benchmarks, with the test suite's fixtures
(`python -m pytest -p conftest bench/test_populate.py`); the test suite itself never imports bench/.
"""
from __future__ import annotations

from datetime import date

import pytest

from bench import populate
from hotline import reminders


def _reminder_keys(r) -> list[str]:
    """Every key but counters and speech: the app's background renderer writes `hl:tts:` sounds
    at any moment, which have nothing to do with the layout compared here."""
    return sorted(k for k in r.keys("*") if not k.startswith(("hl:stats:", "hl:tts:")))


@pytest.mark.parametrize("backend", ["pipeline", "resp"])
def test_bench_bulk_layout_matches_subscribe(r, hl, backend: str) -> None:
    numbers = ["+77011234567", "+77017654321", "+77470000001"]
    expected = {}
    for n in numbers:
        reminders.subscribe(hl, n, "kk", "filing", date(2026, 12, 3), channel="sms")
        expected[n] = populate.snapshot(hl, n)
    keys = _reminder_keys(r)
    r.flushall()
    assert populate.bulk_subscribe(hl, numbers, "kk", "filing", date(2026, 12, 3), backend=backend, chunk=2) == (3, 6)
    assert _reminder_keys(r) == keys
    for n in numbers:
        assert populate.snapshot(hl, n) == expected[n]
