"""Automatic call-backs after a missed call: at most one per number per day, at an allowed time,
placed exactly once by whichever worker claims it (the same lease pattern as reminders)."""
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
from hotline.store import keys, optout_filter

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)

# KEYS: due, inflight, state ; ARGV: now, lease_until, limit. Same contract as the reminder claim:
# expired leases not yet 'sending' are claimed again; those that were 'sending' become 'uncertain'.
CLAIM = """
local out = {}
local uncertain = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  if redis.call('HGET', KEYS[3], id) == 'sending' then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', KEYS[3], id, 'uncertain')
    table.insert(uncertain, id)
  else
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(out, id)
  end
end
local room = tonumber(ARGV[3]) - #out
if room > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, room)) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(out, id)
  end
end
table.insert(out, '|')
for _, id in ipairs(uncertain) do table.insert(out, id) end
return out
"""

# KEYS: jobs, state, inflight ; ARGV: id, lease. 'sending' only if the job still exists (STOP/DELETE
# removed nothing since it was read) and this worker's lease still holds.
MARK = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '-1') ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'sending')
return 1
"""

FINISH = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
"""


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


def _finish(r, jid: str) -> None:
    r.eval(FINISH, 3, keys.CB_INFLIGHT, keys.CB_JOBS, keys.CB_STATE, jid)


def _requeue(r, jid: str, job: dict, at: datetime) -> None:
    pipe = r.pipeline(transaction=True)
    pipe.hset(keys.CB_JOBS, jid, json.dumps(job))
    pipe.hdel(keys.CB_STATE, jid)
    pipe.zrem(keys.CB_INFLIGHT, jid)
    pipe.zadd(keys.CB_DUE, {jid: at.timestamp()})
    pipe.execute()


def run_once(hl: "Hotline", limit: int = 50) -> Report:
    r = hl.redis
    report = Report()
    now = hl.now()
    lease = now.timestamp() + calls.LEASE_SECONDS
    raw = r.eval(CLAIM, 3, keys.CB_DUE, keys.CB_INFLIGHT, keys.CB_STATE, now.timestamp(), lease, limit)
    cut = raw.index("|")
    for jid in raw[cut + 1:]:
        log.error("automatic call-back %s was being placed when its worker died: not placed again", jid[:8])
        stats.count("callback.auto.uncertain", hl)
        report.uncertain += 1
    for jid in raw[:cut]:
        job_raw = r.hget(keys.CB_JOBS, jid)
        if job_raw is None:  # cancelled (STOP, DELETE) after it was claimed
            _finish(r, jid)
            report.dropped += 1
            continue
        job = json.loads(job_raw)
        later = next_allowed(hl, now)
        if later is None or later > now:  # an outage or a config change moved us out of the allowed time
            if later is None:
                _finish(r, jid)
                report.dropped += 1
            else:
                _requeue(r, jid, job, later)
                report.deferred += 1
            continue
        number = hl.vault.decrypt(job.get("phone", ""))
        if not number:
            _finish(r, jid)
            report.dropped += 1
            continue
        if not r.eval(MARK, 3, keys.CB_JOBS, keys.CB_STATE, keys.CB_INFLIGHT, jid, repr(lease)):
            if r.hexists(keys.CB_JOBS, jid):
                report.deferred += 1  # another worker holds it now
                continue
            _finish(r, jid)
            report.dropped += 1
            continue
        if job.get("unanswered_since"):
            gone = calls.already_placed(hl, number, datetime.fromisoformat(job["unanswered_since"]))
            if gone:
                _finish(r, jid)
                report.placed += 1
                continue
            if gone is None:
                job["attempts"] = job.get("attempts", 0) + 1
                _requeue(r, jid, job, now + _backoff(job))
                report.deferred += 1
                continue
        result = calls.place(hl, number, "callback.auto", f"/voice?cb=auto&l={job.get('lang', '')}")
        if result.ok:
            _finish(r, jid)
            stats.count("callback.auto.placed", hl)
            report.placed += 1
            continue
        if result.ambiguous:
            job.setdefault("unanswered_since", datetime.now(timezone.utc).isoformat())
        job["attempts"] = job.get("attempts", 0) + 1
        if (result.transient or result.ambiguous) and job["attempts"] < calls.MAX_ATTEMPTS:
            _requeue(r, jid, job, now + _backoff(job))
            report.deferred += 1
            continue
        _finish(r, jid)
        log.warning("automatic call-back not placed: %s", result.reason)
        stats.count(f"callback.auto.failed.{result.reason}", hl)
        report.failed += 1
    return report


def _backoff(job: dict) -> timedelta:
    return timedelta(minutes=5 * 2 ** min(job.get("attempts", 0), 4))
