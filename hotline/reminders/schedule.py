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
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import redis

from hotline.people import grace
from hotline.rules import deadlines as dl
from hotline.rules.phones import in_regions, mask, normalise
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import optout_filter
from hotline.store.schedule import cancel

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)


class NotAllowed(Exception):
    """This number cannot subscribe (not a possible number, or a country we do not send to)."""


@dataclass(frozen=True)
class Schedule:
    rule: str
    start: date
    deadline: date
    times: list[datetime]




def job_id(h: str, rule: str, start: date, at: datetime) -> str:
    """Stable: scheduling the same reminder twice yields the same id, so it cannot be doubled."""
    digest = hashlib.sha1(f"{h}|{rule}|{start}|{int(at.timestamp())}".encode()).hexdigest()[:16]
    return f"{rule}:{digest}"


def plan(hl: "Hotline", rule_id: str, start: date) -> Schedule:
    """What the person would get: the deadline and the reminder times still ahead."""
    policy = hl.content.policy
    rule = policy.rules[rule_id]
    return Schedule(rule_id, start, dl.deadline(rule, start), dl.reminder_times(rule, start, hl.now(), policy))


def subscribe(hl: "Hotline", number: str, lang: str, rule_id: str, start: date, channel: str,
              via: str = "sms") -> Schedule:
    """Record consent and schedule the rule's reminders (replacing an earlier date for the same rule).

    Confirming reminders is an explicit request, so it also lifts an earlier STOP. `channel` is where
    the person asked (voice, sms, whatsapp); `via` where the reminders go (sms or whatsapp).
    """
    e164 = normalise(number)
    settings = hl.content.settings
    if via == "whatsapp":
        allowed = settings.whatsapp.enabled and e164 is not None and in_regions(e164, settings.whatsapp.allowed_regions)
    else:
        allowed = e164 is not None and in_regions(e164, settings.allowed_regions)
    if not allowed or e164 is None:
        raise NotAllowed("number not allowed")
    h = hl.vault.hash(e164)
    policy = hl.content.policy
    rule = policy.rules[rule_id]
    schedule = plan(hl, rule_id, start)
    now = hl.now()
    consent = {"at": now.isoformat(timespec="seconds"), "channel": channel, "lang": lang, "rule": rule_id,
               "start": start.isoformat(), "deadline": schedule.deadline.isoformat(), "via": via}
    sub = store.subscriber(h)
    purge = dl.purge_after(rule, start, policy)
    pipe = hl.redis.pipeline(transaction=True)  # one person, one slot ({h}): atomic on a Cluster too
    pipe.hset(sub, mapping={"phone": hl.vault.encrypt(e164), "lang": lang, f"rule:{rule_id}": json.dumps(consent)})
    pipe.execute()
    optout_filter.remove(hl.redis, h)  # confirming reminders is an explicit request: it lifts a STOP
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
        if via != "sms":
            job["via"] = via
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


def mark_filed(hl: "Hotline", number: str) -> "grace.Suspended":
    """'Already filed': no more reminders about filing (either filing rule), undoable for the grace period."""
    h = hl.vault.hash(number)
    rules = [r.id for r in hl.content.policy.rules.values() if r.ended_by_filing]  # config/deadlines.yaml
    suspended = grace.suspend(hl, h, "filed", rules=rules)
    stats.count("reminders.filed", hl)
    return suspended



# ---- the worker --------------------------------------------------------------------------------


_tally_lock = threading.Lock()


