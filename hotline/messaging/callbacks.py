"""Automatic call-backs after a missed call: at most one per number per day, at an allowed time,
placed exactly once by whichever worker claims it (the reminders' lease queue, store/schedule.py)."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from hotline.messaging import calls
from hotline.rules.hours import after_quiet
from hotline.rules.phones import mask, normalise
from hotline.runtime import stats
from hotline.store import keys, optout_filter, schedule

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)

# The call-back queue: the reminders' lease scripts (store/schedule.py) over its own keys. A call-back
# whose worker died while placing it stays 'uncertain' (`hold`): never placed a second time.
QUEUE = schedule.LeaseQueue(keys.CB_DUE, keys.CB_INFLIGHT, keys.CB_STATE, keys.CB_JOBS)


def next_allowed(hl: "Hotline", now: datetime) -> datetime | None:
    h = hl.content.handoff
    if h.auto_when == "office_hours":
        return h.hours.next_open(now)
    return after_quiet(now, h.hours.tz, h.quiet_start, h.quiet_end)


def enqueue(hl: "Hotline", number: str, lang: str = "") -> str:
    """A missed call: schedule the one automatic call-back of its day. Returns what happened:
    queued, already_today, opted_out, disabled, invalid_number, no_time."""
    handoff = hl.content.handoff
    e164 = normalise(number)
    if not handoff.auto_enabled:
        return "disabled"
    if e164 is None:
        return "invalid_number"
    h = hl.vault.hash(e164)
    if optout_filter.contains(hl.redis, h):
        log.info("missed call from %s: on STOP, not called back", mask(e164))
        return "opted_out"
    due = next_allowed(hl, hl.now())
    if due is None:
        return "no_time"
    day = due.astimezone(handoff.hours.tz).date().isoformat()
    if not hl.redis.set(keys.auto_callback_day(h, day), "1", nx=True, ex=3 * 86400):
        stats.count("callback.auto.already_today", hl)
        return "already_today"
    job = {"person": h, "phone": hl.vault.encrypt(e164), "lang": lang, "day": day, "attempts": 0}
    pipe = hl.redis.pipeline(transaction=True)  # one slot ({cb})
    pipe.hset(keys.CB_JOBS, h, json.dumps(job))
    pipe.zadd(keys.CB_DUE, {h: due.timestamp()})
    pipe.execute()
    stats.count("callback.auto.queued", hl)
    log.info("missed call from %s: call-back at %s", mask(e164), due.isoformat(timespec="minutes"))
    return "queued"


@dataclass
class Report:
    placed: int = 0
    deferred: int = 0
    dropped: int = 0
    uncertain: int = 0
    failed: int = 0


def run_once(hl: "Hotline", limit: int = 50) -> Report:
    """Place the call-backs due now: claim them with a lease, then each in turn (_place_one)."""
    report = Report()
    now = hl.now()
    lease, ids, jobs, uncertain = schedule.claim_from(hl.redis, QUEUE, now.timestamp(), limit, calls.LEASE_SECONDS,
                                                      hold=True)
    for jid in uncertain:
        log.error("automatic call-back %s was being placed when its worker died: not placed again", jid[:8])
        stats.count("callback.auto.uncertain", hl)
        report.uncertain += 1
    for jid, raw in zip(ids, jobs):
        outcome = _place_one(hl, jid, raw, lease, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _place_one(hl: "Hotline", jid: str, raw: str, lease: str, now: datetime) -> str:
    """One claimed call-back, settled in the queue; returns the Report field it counts in."""
    r = hl.redis
    if not raw:  # cancelled (STOP, DELETE) after it was claimed
        return _finish(r, jid, "dropped")
    job = json.loads(raw)
    later = next_allowed(hl, now)
    if later is None or later > now:  # an outage or a config change moved us out of the allowed time
        return _finish(r, jid, "dropped") if later is None else _requeue(r, jid, job, later)
    number = hl.vault.decrypt(job.get("phone", ""))
    if not number:
        return _finish(r, jid, "dropped")
    mark = schedule.mark_in(r, QUEUE, lease, [jid])[0]
    if mark == schedule.LEASE_LOST:
        return "deferred"  # another worker holds it now
    if mark != schedule.MARKED:
        return _finish(r, jid, "dropped")
    if job.get("unanswered_since"):
        gone = calls.already_placed(hl, number, datetime.fromisoformat(job["unanswered_since"]))
        if gone:
            return _finish(r, jid, "placed")
        if gone is None:
            job["attempts"] = job.get("attempts", 0) + 1
            return _requeue(r, jid, job, now + _backoff(job))
    result = calls.place(hl, number, "callback.auto", f"/voice?cb=auto&l={job.get('lang', '')}")
    if result.ok:
        stats.count("callback.auto.placed", hl)
        return _finish(r, jid, "placed")
    if result.ambiguous:
        job.setdefault("unanswered_since", datetime.now(timezone.utc).isoformat())
    job["attempts"] = job.get("attempts", 0) + 1
    if (result.transient or result.ambiguous) and job["attempts"] < calls.MAX_ATTEMPTS:
        return _requeue(r, jid, job, now + _backoff(job))
    log.warning("automatic call-back not placed: %s", result.reason)
    stats.count(f"callback.auto.failed.{result.reason}", hl)
    return _finish(r, jid, "failed")


def _finish(r, jid: str, outcome: str) -> str:
    schedule.finish_in(r, QUEUE, jid)
    return outcome


def _requeue(r, jid: str, job: dict, at: datetime) -> str:
    schedule.requeue_in(r, QUEUE, jid, json.dumps(job), at.timestamp())
    return "deferred"


def _backoff(job: dict) -> timedelta:
    return timedelta(minutes=5 * 2 ** min(job.get("attempts", 0), 4))
