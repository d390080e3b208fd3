"""Aggregate counters for the dashboard: per day and per event, never per caller."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import redis
from flask import current_app, has_app_context

from . import store
from .deadlines import ALMATY

if TYPE_CHECKING:
    from .runtime import Hotline

KEEP_DAYS = 400


def today(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(ALMATY).date().isoformat()


def count(name: str, hl: "Hotline | None" = None, n: int = 1) -> None:
    """Add `n` to today's counter `name` (today by the hotline's clock); never breaks a request."""
    if hl is None:
        if not has_app_context():
            return
        hl = current_app.extensions["hotline"]
    try:
        pipe = hl.redis.pipeline(transaction=False)
        add(pipe, hl, name, n)
        pipe.execute()
    except redis.RedisError:
        pass


def add(pipe, hl: "Hotline", name: str, n: int = 1) -> None:
    """Queue a counter increment on a pipeline the caller is sending anyway (saves a round trip)."""
    key = store.stats(today(hl.now()))
    pipe.hincrby(key, name, n)
    pipe.expire(key, KEEP_DAYS * 86400)


def read(r: redis.Redis, days: int, end: date | None = None) -> dict[str, dict[str, int]]:
    """{day: {counter: value}} for the last `days` days, oldest first."""
    end = end or datetime.now(timezone.utc).astimezone(ALMATY).date()
    out: dict[str, dict[str, int]] = {}
    for i in range(days - 1, -1, -1):
        day = (end - timedelta(days=i)).isoformat()
        out[day] = {k: int(v) for k, v in (r.hgetall(store.stats(day)) or {}).items()}
    return out
