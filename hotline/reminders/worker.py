"""The worker that sends each due reminder once.

Due reminders are data in sharded sorted sets (score = send time), not delayed queue jobs. A worker
claims a batch atomically (a Lua script moves ids from `due` to `inflight` with a lease and reads
their data), marks each 'sending' just before its HTTP request, and removes it once Twilio answered;
each of those steps is one script call for many reminders (hotline/store/schedule.py). A worker that
dies leaves leases that expire (on the Redis server's clock): ids never marked 'sending' are claimed
again (sent once); an id that died *during* its request is counted 'uncertain' and tried again only
after Twilio was asked whether it left (a duplicate deadline SMS to a frightened person is worse
than a late one). A reminder that cannot be sent goes to the failed list with its reason; a bad one
never stops the worker. A reminder refused by its own daily budget waits for the next day.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING

import redis

from hotline.messaging import callbacks, purge, recordings
from hotline.reminders.sending import Item, Run, RunReport
from hotline.store import keys as store
from hotline.store.schedule import BATCH

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)

__all__ = ["RunReport", "failed_list", "in_flight_bound", "process_claimed", "run_forever", "run_once"]


def failed_list(hl: "Hotline", limit: int = 200) -> list[dict]:
    """The failed reminders of the last 30 days, newest first (for the dashboard)."""
    r = hl.redis
    ids = r.zrevrange(store.REMINDERS_FAILED, 0, limit - 1)
    infos = r.hmget(store.REMINDERS_FAILED_INFO, ids) if ids else []
    return [dict(json.loads(raw), id=rid) for rid, raw in zip(ids, infos) if raw]


def in_flight_bound() -> int:
    """HOTLINE_WORKER_IN_FLIGHT (or the older HOTLINE_WORKER_THREADS), default 32."""
    return max(1, int(os.environ.get("HOTLINE_WORKER_IN_FLIGHT") or os.environ.get("HOTLINE_WORKER_THREADS") or 32))


def process_claimed(hl: "Hotline", shard: int, ids: list[str], jobs: list[str] | None = None,
                    lease: str | None = None) -> RunReport:
    """Send reminders already claimed from `shard` (with their data as the claim read it, else read
    now), as run_once does after each claim; `lease` checked at the mark when given."""
    run = Run(hl, in_flight_bound(), BATCH)
    if jobs is None:
        jobs = [raw or "" for raw in hl.redis.hmget(store.jobs(shard), ids)] if ids else []
    run.queue.extend(Item(shard, rid, raw, lease, hl.content) for rid, raw in zip(ids, jobs))
    run.shard = store.SHARDS  # nothing more to claim
    return run.run()


def run_once(hl: "Hotline", threads: int | None = None, limit: int = BATCH) -> RunReport:
    """Claim and send everything due now across all shards; returns what happened.

    At most `threads` requests are in flight at once (default: in_flight_bound()). Against a real
    API (a tenth of a second or more per message) this sets a worker's pace: bound / latency, e.g.
    32 at 150 ms is about 200 a second. It is also the most reminders a worker killed mid-request can
    leave 'uncertain' (never resent, counted): a higher bound is faster and risks more of those.
    """
    # The twilio library logs each API request and response at INFO, about ten lines per SMS, all
    # through one handler lock and the masking filter (bench/RESULTS.md). Its warnings still show.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    report = Run(hl, threads or in_flight_bound(), limit).run()
    purge.run_due(hl)  # Twilio's records of numbers that said STOP or DELETE
    return report


def run_forever(hl: "Hotline", poll_seconds: float = 5.0, stop=lambda: False, in_flight: int | None = None) -> None:
    """The worker loop: poll, send, sleep; survives Redis and Twilio outages."""
    while not stop():
        try:
            report = run_once(hl, in_flight)
            if report.sent or report.failed or report.retried:
                log.info("worker: %s", report)
            if hl.content.handoff is not None:  # automatic call-backs after missed calls (issue 12)
                placed = callbacks.run_once(hl)
                if placed.placed or placed.failed or placed.uncertain:
                    log.info("worker: call-backs %s", placed)
                if swept := recordings.sweep(hl):
                    log.info("worker: %d voice message(s) fetched or deleted at Twilio after a missed callback", swept)
        except redis.RedisError as exc:
            log.warning("worker: Redis unavailable (%s); retrying", type(exc).__name__)
        deadline = time.monotonic() + poll_seconds
        while not stop() and time.monotonic() < deadline:  # a stop request is seen within 0.2 s
            time.sleep(min(0.2, poll_seconds))
