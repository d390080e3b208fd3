"""Deadline reminders: subscriptions, the schedule in Redis, and the worker that sends each once.

Due reminders are data in sharded sorted sets (score = send time), not delayed queue jobs. A worker
claims a batch atomically (a Lua script moves ids from `due` to `inflight` with a lease), marks
each 'sending' just before the HTTP request, and removes it once Twilio answered. A worker that
dies leaves leases that expire: ids never marked 'sending' are claimed again (sent once); an id
that died *during* its request is not resent but counted as 'uncertain' (at most once there,
because a duplicate deadline SMS to a frightened person is worse than reporting one unknown).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import redis

from . import deadlines as dl
from . import prompts as P
from . import stats, store
from .privacy import calling_code, mask, normalise

if TYPE_CHECKING:
    from .runtime import Hotline

log = logging.getLogger(__name__)
LEASE_SECONDS = 120
BATCH = 100
MAX_ATTEMPTS = 8
# A reminder must arrive before the deadline ends; closer than this it is no use any more.
LAST_USEFUL = timedelta(minutes=30)


class NotAllowed(Exception):
    """This number cannot subscribe (not a possible number, or a country we do not send to)."""


@dataclass(frozen=True)
class Schedule:
    rule: str
    start: date
    deadline: date
    times: list[datetime]


# KEYS: due, inflight, state ; ARGV: now, lease_until, limit
# Returns {claimed ids..., "|", uncertain ids...}: expired leases of ids not yet 'sending' are claimed
# again; those that were 'sending' are taken out and reported, never resent.
CLAIM = """
local out = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local uncertain = {}
for _, id in ipairs(expired) do
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
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, room)
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(out, id)
  end
end
table.insert(out, '|')
for _, id in ipairs(uncertain) do table.insert(out, id) end
return out
"""

# KEYS: due, jobs, inflight, state, person_jobs ; ARGV: prefix ('' = all of this person's reminders)
CANCEL = """
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if ARGV[1] == '' or string.sub(id, 1, string.len(ARGV[1])) == ARGV[1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('SREM', KEYS[5], id)
    n = n + 1
  end
end
return n
"""

# KEYS: inflight, jobs, state[, person_jobs] ; ARGV: id. A reminder is done (sent, dropped or failed).
FINISH = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if KEYS[4] then redis.call('SREM', KEYS[4], ARGV[1]) end
return 1
"""

# KEYS: jobs, state, inflight ; ARGV: id, lease. Mark a claimed reminder 'sending' just before its request,
# only if it still exists (a STOP or DELETE that cancelled it after the worker read it, batches being
# read ahead, wins: not sent) and this worker's lease on it still holds (if the lease ran out while it
# waited, another worker may have claimed it: that one sends it, this one must not). lease '' = not checked.
MARK = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' and tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '-1') ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'sending')
return 1
"""


def _state(shard: int) -> str:
    return f"hl:state:{{r{shard}}}"


def job_id(h: str, rule: str, start: date, at: datetime) -> str:
    """Stable: scheduling the same reminder twice yields the same id, so it cannot be doubled."""
    digest = hashlib.sha1(f"{h}|{rule}|{start}|{int(at.timestamp())}".encode()).hexdigest()[:16]
    return f"{rule}:{digest}"


def plan(hl: "Hotline", rule_id: str, start: date) -> Schedule:
    """What the person would get: the deadline and the reminder times still ahead."""
    policy = hl.content.policy
    rule = policy.rules[rule_id]
    return Schedule(rule_id, start, dl.deadline(rule, start), dl.reminder_times(rule, start, hl.now(), policy))


def subscribe(hl: "Hotline", number: str, lang: str, rule_id: str, start: date, channel: str) -> Schedule:
    """Record consent and schedule the rule's reminders (replacing an earlier date for the same rule).

    Confirming reminders is an explicit request, so it also lifts an earlier STOP.
    """
    e164 = normalise(number)
    if e164 is None or calling_code(e164) not in hl.content.settings.allowed_calling_codes:
        raise NotAllowed("number not allowed")
    h = hl.vault.hash(e164)
    policy = hl.content.policy
    rule = policy.rules[rule_id]
    schedule = plan(hl, rule_id, start)
    now = hl.now()
    consent = {"at": now.isoformat(timespec="seconds"), "channel": channel, "lang": lang, "rule": rule_id,
               "start": start.isoformat(), "deadline": schedule.deadline.isoformat()}
    sub = store.subscriber(h)
    purge = dl.purge_after(rule, start, policy)
    pipe = hl.redis.pipeline(transaction=True)  # one person, one slot ({h}): atomic on a Cluster too
    pipe.delete(store.optout(h))
    pipe.hset(sub, mapping={"phone": hl.vault.encrypt(e164), "lang": lang, f"rule:{rule_id}": json.dumps(consent)})
    pipe.execute()
    keep = int((purge - now).total_seconds())
    _extend_retention(hl.redis, sub, keep)
    cancel(hl.redis, h, rule_id + ":")
    shard = store.shard_of(h)
    pipe = hl.redis.pipeline(transaction=True)  # one shard, one slot ({r<n>})
    end = dl.deadline_end(rule, start, policy)
    for at in schedule.times:
        rid = job_id(h, rule_id, start, at)
        job = {"person": h, "rule": rule_id, "lang": lang, "deadline": schedule.deadline.isoformat(),
               "deadline_end": end.timestamp(), "attempts": 0}
        pipe.hset(store.jobs(shard), rid, json.dumps(job))
        pipe.zadd(store.due(shard), {rid: at.timestamp()})
        pipe.sadd(store.person_jobs(shard, h), rid)
    pipe.expire(store.person_jobs(shard, h), max(keep, 1))
    pipe.execute()
    stats.count("reminders.optin", hl)
    stats.count(f"reminders.optin.{channel}", hl)
    log.info("reminders for %s: rule %s, %d scheduled", mask(e164), rule_id, len(schedule.times))
    return schedule


def _extend_retention(r: redis.Redis, key: str, seconds: int) -> None:
    """Data lives until the latest purge time of any of the person's rules, never shorter.

    Relative TTLs (not EXPIREAT) so retention follows the hotline's clock, which tests control.
    """
    ttl = r.ttl(key)
    if ttl is None or ttl < 0 or ttl < seconds:
        r.expire(key, max(seconds, 1))


def cancel(r: redis.Redis, h: str, prefix: str = "") -> int:
    """Cancel a person's scheduled reminders (all, or one rule's with prefix 'rule:')."""
    shard = store.shard_of(h)
    return int(r.eval(CANCEL, 5, store.due(shard), store.jobs(shard), store.inflight(shard), _state(shard),
                      store.person_jobs(shard, h), prefix))


def mark_filed(hl: "Hotline", number: str) -> None:
    """'Already filed': no more reminders about filing (either filing rule)."""
    h = hl.vault.hash(number)
    for rule in ("filing", "filing_irregular"):
        cancel(hl.redis, h, rule + ":")
        hl.redis.hdel(store.subscriber(h), f"rule:{rule}")
    stats.count("reminders.filed", hl)


# ---- the worker --------------------------------------------------------------------------------

@dataclass
class RunReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    uncertain: int = 0
    deferred: int = 0


def claim(r: redis.Redis, shard: int, now: float, limit: int = BATCH) -> tuple[list[str], list[str]]:
    raw = r.eval(CLAIM, 3, store.due(shard), store.inflight(shard), _state(shard), now, now + LEASE_SECONDS, limit)
    cut = raw.index("|")
    return raw[:cut], raw[cut + 1:]


def _finish(r: redis.Redis, shard: int, rid: str, person: str | None) -> None:
    keys = [store.inflight(shard), store.jobs(shard), _state(shard)]
    if person:
        keys.append(store.person_jobs(shard, person))
    r.eval(FINISH, len(keys), *keys, rid)  # one slot ({r<n>}), one round trip, atomic


def _requeue(r: redis.Redis, shard: int, rid: str, job: dict, at: datetime) -> None:
    pipe = r.pipeline(transaction=True)  # one slot ({r<n>})
    pipe.hset(store.jobs(shard), rid, json.dumps(job))
    pipe.hdel(_state(shard), rid)
    pipe.zrem(store.inflight(shard), rid)
    pipe.zadd(store.due(shard), {rid: at.timestamp()})
    pipe.execute()


class Batch:
    """What one claimed batch needs, read ahead in two pipelined round trips instead of two per reminder,
    and the message texts, rendered once per language, rule and deadline."""

    def __init__(self, hl: "Hotline", shard: int, ids: list[str], lease: float) -> None:
        r = hl.redis
        self.lease = lease  # the inflight score claim() gave these ids
        self.content = hl.content
        pipe = r.pipeline(transaction=False)
        for rid in ids:
            pipe.hget(store.jobs(shard), rid)
        self.jobs: dict[str, str | None] = dict(zip(ids, pipe.execute()))
        people = sorted({json.loads(raw)["person"] for raw in self.jobs.values() if raw})
        pipe = r.pipeline(transaction=False)  # one slot per person: fine on a Cluster without a transaction
        for h in people:
            pipe.hgetall(store.subscriber(h))
        self.subs: dict[str, dict] = dict(zip(people, pipe.execute()))
        self.bodies: dict[tuple[str, str, str], str] = {}
        self.sent = 0
        self._lock = threading.Lock()

    def count_sent(self) -> None:
        with self._lock:
            self.sent += 1

    def body(self, lang: str, rule: str, deadline: str) -> str:
        key = (lang, rule, deadline)
        if key not in self.bodies:
            c = self.content
            self.bodies[key] = P.text(c, lang, f"sms.reminder.{rule}",
                                      deadline=P.short_date(c, lang, date.fromisoformat(deadline)))
        return self.bodies[key]


_tally_lock = threading.Lock()


def _tally(report: RunReport, field: str) -> None:
    with _tally_lock:  # many send threads update one report
        setattr(report, field, getattr(report, field) + 1)


def process(hl: "Hotline", shard: int, rid: str, report: RunReport, batch: Batch | None = None) -> None:
    """Send one claimed reminder, or decide why not; always leaves it finished or re-queued."""
    from .sender import SendResult, already_sent, send
    r = hl.redis
    raw = batch.jobs.get(rid) if batch is not None else r.hget(store.jobs(shard), rid)
    if raw is None:  # cancelled (STOP, filed) after it was claimed
        _finish(r, shard, rid, None)
        _tally(report, "dropped")
        return
    job = json.loads(raw)
    content = batch.content if batch is not None else hl.content
    policy = content.policy
    now = hl.now()
    end = datetime.fromtimestamp(job["deadline_end"], timezone.utc)
    if now >= end - LAST_USEFUL:
        log.info("reminder %s dropped: it could no longer arrive before the deadline", rid)
        _finish(r, shard, rid, job["person"])
        stats.count("reminders.expired", hl)
        _tally(report, "dropped")
        return
    if dl.in_quiet_hours(now, policy):  # e.g. a worker back after an outage at night
        later = dl.fit_outside_quiet(now, end - LAST_USEFUL, policy)
        if later is None or later <= now:
            _finish(r, shard, rid, job["person"])
            _tally(report, "dropped")
        else:
            _requeue(r, shard, rid, job, later)
            _tally(report, "deferred")
        return
    sub = batch.subs.get(job["person"]) if batch is not None else r.hgetall(store.subscriber(job["person"]))
    number = hl.vault.decrypt(sub.get("phone", "")) if sub else None
    if not number:  # data deleted (STOP, delete, retention)
        _finish(r, shard, rid, job["person"])
        _tally(report, "dropped")
        return
    lang = job["lang"] if job["lang"] in content.prompts else content.settings.default_language
    if batch is not None:
        body = batch.body(lang, job["rule"], job["deadline"])
    else:
        body = P.text(content, lang, f"sms.reminder.{job['rule']}",
                      deadline=P.short_date(content, lang, date.fromisoformat(job["deadline"])))
    lease = repr(batch.lease) if batch is not None else ""
    if not r.eval(MARK, 3, store.jobs(shard), _state(shard), store.inflight(shard), rid, lease):
        if batch is not None and r.hexists(store.jobs(shard), rid):
            log.warning("reminder %s: lease ran out before it was sent; left to the worker that holds it", rid)
            _tally(report, "deferred")
            return
        _finish(r, shard, rid, None)  # cancelled since it was read
        _tally(report, "dropped")
        return
    if job.get("unanswered_since"):  # an earlier try got no answer: it may have gone already
        gone = already_sent(hl, number, body, datetime.fromisoformat(job["unanswered_since"]))
        if gone is None:
            result = SendResult(False, "unreachable", transient=True)
        elif gone:
            result = SendResult(True, sid="found-at-twilio")
            stats.count("reminders.found_sent", hl)
        else:
            job.pop("unanswered_since")
            result = send(hl, number, body, purpose=f"reminder.{job['rule']}", reminder_id=rid)
    else:
        result = send(hl, number, body, purpose=f"reminder.{job['rule']}", reminder_id=rid)
    if result.ok:
        _finish(r, shard, rid, job["person"])
        if batch is not None:
            batch.count_sent()  # counted once per batch (one round trip instead of one per message)
        else:
            stats.count("reminders.sent", hl)
        _tally(report, "sent")
        return
    if result.ambiguous:  # no answer: ask Twilio before any retry (see the check above the send)
        job.setdefault("unanswered_since", datetime.now(timezone.utc).isoformat())  # Twilio's clock is real
        log.warning("reminder %s: no answer from Twilio; it will be checked before any retry", rid)
    job["attempts"] = job.get("attempts", 0) + 1
    retry_at = now + timedelta(seconds=min(30 * 2 ** job["attempts"], 3600))
    if (result.transient or result.ambiguous) and job["attempts"] < MAX_ATTEMPTS and retry_at < end - LAST_USEFUL:
        fitted = dl.fit_outside_quiet(retry_at, end - LAST_USEFUL, policy)
        if fitted is not None:
            _requeue(r, shard, rid, job, fitted)
            stats.count("reminders.retry", hl)
            _tally(report, "retried")
            return
    _finish(r, shard, rid, job["person"])
    stats.count(f"reminders.failed.{result.reason}", hl)
    log.warning("reminder %s not sent: %s", rid, result.reason)
    _tally(report, "failed")


def run_once(hl: "Hotline", threads: int | None = None, limit: int = BATCH) -> RunReport:
    """Claim and send everything due now across all shards; returns what happened.

    `threads` requests are in flight at once (default HOTLINE_WORKER_THREADS, else 8). Twilio's API
    takes a tenth of a second or more per message, so this sets a worker's pace (8 threads at 150 ms:
    about 50 a second; bench/RESULTS.md); it is also how many reminders a worker killed mid-request
    can leave 'uncertain'. The next batch is claimed and read while the last one is still sending, at
    most two batches ahead, well inside their lease.
    """
    threads = threads or int(os.environ.get("HOTLINE_WORKER_THREADS") or 8)
    # The twilio library logs each API request and response at INFO, about ten lines per SMS, all
    # through one handler lock and the masking filter: in a worker sending hundreds a second that was
    # a third of its time (bench/RESULTS.md). Its warnings and errors still show; ours say what was sent.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    report = RunReport()
    pending: deque[tuple[Batch, list]] = deque()

    def settle(keep: int) -> None:
        while len(pending) > keep:
            batch, futures = pending.popleft()
            try:
                for f in futures:
                    f.result()
            finally:
                if batch.sent:
                    stats.count("reminders.sent", hl, batch.sent)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        try:
            for shard in range(store.SHARDS):
                while True:
                    # The clock is read at each claim: a run can outlast a lease (120 s), and a lease
                    # counted from the run's start would have run out before its batch was sent.
                    now = hl.now().timestamp()
                    ids, uncertain = claim(hl.redis, shard, now, limit)
                    for rid in uncertain:
                        log.error("reminder %s was being sent when its worker died: not resent", rid)
                        stats.count("reminders.uncertain", hl)
                        report.uncertain += 1
                    if not ids:
                        break
                    batch = Batch(hl, shard, ids, now + LEASE_SECONDS)
                    pending.append((batch, [pool.submit(process, hl, shard, rid, report, batch) for rid in ids]))
                    settle(keep=1)
                    if len(ids) < limit:
                        break
        finally:
            settle(keep=0)
    return report


def run_forever(hl: "Hotline", poll_seconds: float = 5.0, stop=lambda: False) -> None:
    """The worker loop: poll, send, sleep; survives Redis and Twilio outages."""
    while not stop():
        try:
            report = run_once(hl)
            if report.sent or report.failed or report.retried:
                log.info("worker: %s", report)
        except redis.RedisError as exc:
            log.warning("worker: Redis unavailable (%s); retrying", type(exc).__name__)
        time.sleep(poll_seconds)


def due_report(hl: "Hotline", until: datetime) -> list[dict]:
    """What would go out until `until`, with numbers masked (for `hotline reminders due`)."""
    rows = []
    for shard in range(store.SHARDS):
        for rid, score in hl.redis.zrangebyscore(store.due(shard), "-inf", until.timestamp(), withscores=True):
            raw = hl.redis.hget(store.jobs(shard), rid)
            if not raw:
                continue
            job = json.loads(raw)
            phone = hl.vault.decrypt(hl.redis.hget(store.subscriber(job["person"]), "phone") or "")
            rows.append({"at": datetime.fromtimestamp(score, timezone.utc).astimezone(hl.content.policy.tz),
                         "to": mask(phone), "rule": job["rule"], "lang": job["lang"], "deadline": job["deadline"]})
    return sorted(rows, key=lambda row: row["at"])


def person_report(hl: "Hotline", number: str) -> dict:
    """One person's stored data and scheduled reminders, for support staff (number masked)."""
    h = hl.vault.hash(number)
    shard = store.shard_of(h)
    sub = hl.redis.hgetall(store.subscriber(h))
    rules = {k.removeprefix("rule:"): json.loads(v) for k, v in sub.items() if k.startswith("rule:")}
    upcoming = []
    for rid in sorted(hl.redis.smembers(store.person_jobs(shard, h))):
        score = hl.redis.zscore(store.due(shard), rid)
        if score is not None:
            upcoming.append({"id": rid, "at": datetime.fromtimestamp(score, timezone.utc).astimezone(hl.content.policy.tz)})
    return {"number": mask(number), "opted_out": bool(hl.redis.exists(store.optout(h))), "lang": sub.get("lang"),
            "rules": rules, "upcoming": sorted(upcoming, key=lambda u: u["at"])}
