"""Aggregate counters for the dashboard: per day and per event, never per caller."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

import redis

from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

KEEP_DAYS = 400

# A day's counters get their TTL (KEEP_DAYS) again at most this often per process: an EXPIRE with every
# increment was half of a webhook's Redis commands, and the TTL only has to exist. Re-sent now and then
# rather than once, so a lost pipeline (Redis away, a flushed database) leaves a key without TTL for
# minutes, not for ever.
EXPIRE_EVERY = 600.0


def today(now: datetime, tz: tzinfo) -> str:
    """The day a moment falls on in the hotline's time zone (config/deadlines.yaml), as a key part."""
    return now.astimezone(tz).date().isoformat()


def count(name: str, hl: "Hotline", n: int = 1) -> None:
    """Add `n` to today's counter `name` (today by the hotline's clock); never breaks a request."""
    try:
        pipe = hl.redis.pipeline(transaction=False)
        add(pipe, hl, name, n)
        pipe.execute()
    except redis.RedisError:
        pass


def add(pipe, hl: "Hotline", name: str, n: int = 1) -> None:
    """Queue a counter increment on a pipeline the caller is sending anyway (saves a round trip), and
    the day's TTL when this process has not sent it lately (EXPIRE_EVERY)."""
    key = store.stats(today(hl.now(), hl.content.policy.tz))
    pipe.hincrby(key, name, n)
    now = time.monotonic()
    last = hl.ttl_sent.get(key)
    if last is None or now - last >= EXPIRE_EVERY:
        if len(hl.ttl_sent) > 64:  # one key a day: only a very long-running process gets here
            hl.ttl_sent.clear()
        hl.ttl_sent[key] = now
        pipe.expire(key, KEEP_DAYS * 86400)


def read(r: redis.Redis, days: int, end: date) -> dict[str, dict[str, int]]:
    """{day: {counter: value}} for the `days` days up to `end`, oldest first."""
    out: dict[str, dict[str, int]] = {}
    for i in range(days - 1, -1, -1):
        day = (end - timedelta(days=i)).isoformat()
        out[day] = {k: int(v) for k, v in (r.hgetall(store.stats(day)) or {}).items()}
    return out
