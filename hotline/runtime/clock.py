"""The hotline's clock: real time, or shifted to a chosen moment for rehearsals and tests."""
from __future__ import annotations

from datetime import datetime, timezone


def shifted_clock(start: str):
    """The real clock, or (HOTLINE_CLOCK_START=ISO time) one that starts there and runs at real speed.

    For rehearsals and tests of separate processes (workers) at a chosen moment; never set in production.
    """
    if not start:
        return lambda: datetime.now(timezone.utc)
    offset = datetime.fromisoformat(start) - datetime.now(timezone.utc)
    return lambda: datetime.now(timezone.utc) + offset
