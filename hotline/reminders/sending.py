"""One pass of the reminder worker over every shard: claim due reminders, mark each 'sending', send,
and settle (finish, re-queue or fail), in as few Redis round trips as the sends allow.

The why of each step (leases on the Redis server's clock, 'uncertain' after a death mid-request, the
failed list, the next day for a reminder refused by its own budget) is in hotline/reminders/worker.py.
"""
from __future__ import annotations

import json
import logging
import os
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import redis

from hotline.content import render as P
from hotline.messaging import sender, whatsapp
from hotline.people.optout import opt_out_hash
from hotline.rules import deadlines as dl
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import schedule
from hotline.store.schedule import LEASE_SECONDS

if TYPE_CHECKING:
    from hotline.content.model import Content
    from hotline.messaging.sender import SendResult
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)


MAX_ATTEMPTS = 8


# A reminder must arrive before the deadline ends; closer than this it is no use any more.
LAST_USEFUL = timedelta(minutes=30)


@dataclass
class RunReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    uncertain: int = 0
    deferred: int = 0


@dataclass
class Item:
    """One claimed reminder on its way through the worker."""

    shard: int
    rid: str
    raw: str
    lease: str | None  # the inflight score the claim gave it (Redis server ms); None: not checked
    content: "Content"
    job: dict = field(default_factory=dict)
    number: str = ""
    day_key: str = ""
    body: str = ""
    via: str = "sms"
    template: tuple | None = None  # a WhatsApp template, outside the 24-hour window
    outside: bool = False


class Run:
    """One pass over every shard: claim, mark 'sending', send with at most `bound` requests in flight,
    settle. Every Redis command of a step goes out in one pipeline per loop turn, whatever it is for:
    the settling of the requests that just finished (finish or re-queue, status records, counters),
    the marking and reading of the next ones (subscriber, opt-out, cap) and, when the queue of
    claimed reminders runs low, the next claim. Each reminder so takes part in three round trips
    (claim, mark, settle), each shared with many others.
    """

    def __init__(self, hl: "Hotline", bound: int, limit: int) -> None:
        self.hl, self.r, self.bound, self.limit = hl, hl.redis, bound, limit
        self.s = schedule.scripts(hl.redis)
        self.report = RunReport()
        self.queue: deque[Item] = deque()
        self.shard = 0
        self.running: dict = {}
        self.ops: dict[int, list[tuple[str, str, str, str, str]]] = {}  # shard -> settle ops
        self.later: list = []           # callables(pipe) queued for the next pipeline
        self.counts: Counter = Counter()
        self.bodies: dict[tuple, str] = {}
        self.optouts: list[str] = []
        self.lease_seconds = lease_of(hl)

    # -- what the next pipeline carries --------------------------------------------------------
    def finish(self, item: Item, person: bool = True) -> None:
        self.ops.setdefault(item.shard, []).append(("f", item.rid, item.job.get("person", "") if person else "", "", ""))

    def requeue(self, item: Item, at: datetime) -> None:
        self.ops.setdefault(item.shard, []).append(("r", item.rid, "", json.dumps(item.job), repr(at.timestamp())))

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def refund(self, item: Item) -> None:
        self.later.append(lambda pipe, key=item.day_key: pipe.decr(key))

    def fail(self, item: Item, reason: str) -> None:
        """A reminder that will not be sent: out of the schedule, into the failed list with its reason
        (shown on the dashboard for 30 days: rule, deadline and why; no person), with the next writes."""
        job, now = item.job, self.hl.now()
        self.finish(item, person=bool(job.get("person")))
        info = {"rule": job.get("rule", item.rid.split(":")[0]), "deadline": job.get("deadline", ""),
                "lang": job.get("lang", ""), "reason": reason[:300], "at": now.isoformat(timespec="seconds")}

        def write(pipe, rid=item.rid, info=json.dumps(info, ensure_ascii=False), at=now.timestamp()) -> None:
            pipe.zadd(store.REMINDERS_FAILED, {rid: at})
            pipe.hset(store.REMINDERS_FAILED_INFO, rid, info)
            pipe.zremrangebyscore(store.REMINDERS_FAILED, "-inf", at - store.FAILED_DAYS * 86400)

        self.later.append(write)
        self.count(f"reminders.failed.{reason.split(':')[0][:40]}")
        log.warning("reminder %s not sent: %s", item.rid, reason)
        self.report.failed += 1

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> RunReport:
        pool = ThreadPoolExecutor(max_workers=self.bound) if self.bound > 1 else None
        try:
            while True:
                starts = self._pick(self.bound - len(self.running))
                want_claim = self.shard < store.SHARDS and len(self.queue) < self.bound
                if starts or want_claim or self.ops or self.later or self.counts:
                    self._turn(starts, want_claim, pool)
                elif not self.running:
                    break  # nothing claimed, running or left to write
                if self.running:
                    done, _ = wait(self.running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        item = self.running.pop(fut)
                        try:
                            result = fut.result()
                        except redis.RedisError:
                            raise  # not the reminder's fault: its lease brings it back later
                        except Exception as exc:  # noqa: BLE001 - one reminder must never stop the worker
                            self.fail(item, f"{type(exc).__name__}: {exc}")
                            continue
                        self._outcome(item, result)
                    while self.optouts:  # Twilio says the number unsubscribed (21610): as a STOP, at once
                        opt_out_hash(self.hl, self.optouts.pop(), "twilio-21610")
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return self.report

    def _pick(self, room: int) -> list[Item]:
        """Up to `room` claimed reminders to send now; the ones that must not be sent are settled."""
        out = []
        hl = self.hl
        while self.queue and len(out) < room:
            item = self.queue.popleft()
            if not item.raw:  # cancelled (STOP, filed) after it was claimed
                self.finish(item, person=False)
                self.report.dropped += 1
                continue
            try:
                job = item.job = json.loads(item.raw)
                end = datetime.fromtimestamp(job["deadline_end"], timezone.utc)
                h = job["person"]
            except (ValueError, KeyError, TypeError) as exc:
                self.fail(item, f"unreadable reminder data: {type(exc).__name__}")
                continue
            policy = item.content.policy
            now = hl.now()
            if now >= end - LAST_USEFUL:
                log.info("reminder %s dropped: it could no longer arrive before the deadline", item.rid)
                self.finish(item)
                self.count("reminders.expired")
                self.report.dropped += 1
                continue
            if dl.in_quiet_hours(now, policy):  # e.g. a worker back after an outage at night
                later = dl.fit_outside_quiet(now, end - LAST_USEFUL, policy)
                if later is None or later <= now:
                    self.finish(item)
                    self.report.dropped += 1
                else:
                    self.requeue(item, later)
                    self.report.deferred += 1
                continue
            item.day_key = sender.cap_key(hl, h, sender.budget_of(f"reminder.{job.get('rule', '')}"))
            out.append(item)
        return out

    def _turn(self, starts: list[Item], want_claim: bool, pool: ThreadPoolExecutor | None) -> None:
        """One round trip: settle what finished, mark and read what starts, claim ahead."""
        hl = self.hl
        trip = schedule.RoundTrip(self.r)
        pipe = trip.pipe
        for shard, ops in self.ops.items():
            people = sorted({p for _, _, p, _, _ in ops if p})
            index = {h: i + 5 for i, h in enumerate(people)}  # KEYS[5...] in SETTLE
            args = [x for op, rid, p, job, at in ops for x in (op, rid, index.get(p, 0), job, at)]
            trip.script(self.s.settle, schedule.settle_keys(shard, people), args)
        for fn in self.later:
            fn(pipe)
        for name, n in self.counts.items():
            stats.add(pipe, hl, name, n)
        self.ops, self.later, self.counts = {}, [], Counter()
        groups: dict[tuple[int, float | None], list[Item]] = {}
        for item in starts:
            groups.setdefault((item.shard, item.lease), []).append(item)
        marks = []
        for (shard, lease), items in groups.items():
            args = ["" if lease is None else str(lease), *(i.rid for i in items)]
            marks.append((trip.script(self.s.mark, schedule.mark_keys(shard), args), items))
            for item in items:  # 4 replies each: the subscriber, then the permit's 3
                pipe.hgetall(store.subscriber(item.job["person"]))
                sender.permit_commands(pipe, item.job["person"], item.day_key)
        claim_at = None
        if want_claim:
            now = hl.now().timestamp()  # what is due, on the hotline's clock; leases are on the server's
            at = trip.script(self.s.claim, schedule.claim_keys(self.shard),
                             schedule.claim_args(now, self.limit, self.lease_seconds))
            claim_at = (at, self.shard, hl.content)
        results = trip.execute()
        for at, items in marks:
            verdicts = results[at]
            for k, (item, mark) in enumerate(zip(items, verdicts)):
                sub, optout_counters, sent_today, _ = results[at + 1 + 4 * k: at + 5 + 4 * k]
                try:
                    self._start(item, int(mark), sub, optout_counters, sent_today, pool)
                except redis.RedisError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a missing template, an unknown rule, any bug
                    self.refund(item)
                    self.fail(item, f"{type(exc).__name__}: {exc}")
        if claim_at is not None:
            at, shard, content = claim_at
            lease, ids, jobs, uncertain = schedule.claimed(results[at])
            for rid in uncertain:
                log.error("reminder %s was being sent when its worker died: Twilio is asked before any retry", rid)
            if uncertain:
                self.count("reminders.uncertain", len(uncertain))
                self.report.uncertain += len(uncertain)
            self.queue.extend(Item(shard, rid, raw, lease, content) for rid, raw in zip(ids, jobs))
            if len(ids) < self.limit:
                self.shard += 1

    def _start(self, item: Item, mark: int, sub: dict, optout_counters: list | None, sent_today: int,
               pool: ThreadPoolExecutor | None) -> None:
        hl, job = self.hl, item.job
        if mark != schedule.MARKED:
            self.refund(item)  # the permit counted it; it does not leave from here
            if mark == schedule.LEASE_LOST:
                log.warning("reminder %s: lease ran out before it was sent; left to the worker that holds it", item.rid)
                self.report.deferred += 1
            else:
                self.finish(item, person=False)  # cancelled since it was claimed
                self.report.dropped += 1
            return
        number = hl.vault.decrypt(sub.get("phone", "")) if sub else None
        if sub and sub.get("phone") and not number:
            self.refund(item)
            self.fail(item, "the number cannot be decrypted (HOTLINE_SECRET_KEY changed?)")
            return
        if not number:  # data deleted (STOP, delete, retention)
            self.refund(item)
            self.finish(item)
            self.report.dropped += 1
            return
        content = item.content
        lang = job["lang"] if job["lang"] in content.prompts else content.settings.default_language
        purpose = f"reminder.{job['rule']}"
        item.via = via = job.get("via", "sms")
        refused, item.number, _, _ = sender.pre_permit(hl, number, purpose, writes=None, count=self.count, via=via)
        if refused is None:
            refused = sender.verdict(hl, item.number, purpose, optout_counters, sent_today, count=self.count)
            if refused.ok:
                refused = None
        else:
            self.refund(item)  # refused before the cap was counted, as sender.permit does
        if refused is not None:
            self._outcome(item, refused, permit_refused=True)
            return
        key = (id(content), lang, job["rule"], job["deadline"], via)
        if key not in self.bodies:
            self.bodies[key] = reminder_text(content, lang, job["rule"], job["deadline"], via)
        item.body = self.bodies[key]
        # Outside WhatsApp's 24-hour window only an approved template may go (hotline check makes sure
        # every rule and language has one).
        item.outside = via == "whatsapp" and not whatsapp.window_open(hl, job["person"])
        if item.outside:
            item.template = whatsapp.template(hl, job["rule"], lang,
                                              P.short_date(content, lang, date.fromisoformat(job["deadline"])))
        if pool is None:  # one at a time: in this thread (profiles see all of it)
            self._outcome(item, self._send(item))
        else:
            self.running[pool.submit(self._send, item)] = item

    def _send(self, item: Item) -> "SendResult":
        """In a send thread: the request (after an unanswered one, first ask Twilio whether it went)."""
        hl, job = self.hl, item.job
        if job.get("unanswered_since"):
            gone = sender.already_sent(hl, item.number, item.body, datetime.fromisoformat(job["unanswered_since"]),
                                       item.via, bool(item.template))
            if gone is None:
                return sender.SendResult(False, "unreachable", transient=True)
            if gone:
                return sender.SendResult(True, sid="found-at-twilio")
            job.pop("unanswered_since")
        if item.outside and item.template is None:
            log.warning("reminder %s: outside the WhatsApp window and no template for %s/%s", item.rid, job["rule"],
                        job["lang"])
            return sender.SendResult(False, "no_whatsapp_template")
        return sender.deliver(hl, item.number, item.body, f"reminder.{job['rule']}", item.via, item.template)

    def _outcome(self, item: Item, result: "SendResult", permit_refused: bool = False) -> None:
        hl, job = self.hl, item.job
        if not permit_refused:
            self.later.append(lambda pipe, res=result, it=item: sender.after_delivery(
                pipe, hl, it.job["person"], it.day_key, res, f"reminder.{it.job['rule']}", it.rid, count=self.count,
                via=it.via))
            if result.reason == f"twilio_{sender.UNSUBSCRIBED}":
                self.optouts.append(job["person"])
        if result.ok:
            if result.sid == "found-at-twilio":
                self.count("reminders.found_sent")
            self.finish(item)
            self.count("reminders.sent")
            self.report.sent += 1
            return
        now = hl.now()
        end = datetime.fromtimestamp(job["deadline_end"], timezone.utc)
        policy = item.content.policy
        if result.reason == "daily_cap":  # the reminders' own budget is used up today: the next day, never dropped
            later = dl.fit_outside_quiet(_next_day(now, policy), end - LAST_USEFUL, policy)
            if later is not None:
                self.requeue(item, later)
                self.count("reminders.deferred_cap")
                self.report.deferred += 1
                return
        if result.ambiguous:  # no answer: ask Twilio before any retry (see _send)
            job.setdefault("unanswered_since", datetime.now(timezone.utc).isoformat())  # Twilio's clock is real
            log.warning("reminder %s: no answer from Twilio; it will be checked before any retry", item.rid)
        job["attempts"] = job.get("attempts", 0) + 1
        retry_at = now + timedelta(seconds=min(30 * 2 ** job["attempts"], 3600))
        if (result.transient or result.ambiguous) and job["attempts"] < MAX_ATTEMPTS and retry_at < end - LAST_USEFUL:
            fitted = dl.fit_outside_quiet(retry_at, end - LAST_USEFUL, policy)
            if fitted is not None:
                self.requeue(item, fitted)
                self.count("reminders.retry")
                self.report.retried += 1
                return
        if result.reason == "opted_out":  # STOP wins: nothing failed
            self.finish(item)
            self.report.dropped += 1
            return
        self.fail(item, result.reason)


def _next_day(now: datetime, policy) -> datetime:
    local = now.astimezone(policy.tz)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), policy.tz)


def lease_of(hl: "Hotline") -> float:
    """Seconds a worker holds a claimed reminder (config REMINDER_LEASE_SECONDS, env HOTLINE_LEASE_SECONDS)."""
    return float(hl.config.get("REMINDER_LEASE_SECONDS") or os.environ.get("HOTLINE_LEASE_SECONDS") or LEASE_SECONDS)


def reminder_text(content, lang: str, rule: str, deadline: str, via: str = "sms") -> str:
    """The free-form text of a reminder (SMS, or WhatsApp inside the 24-hour window)."""
    return P.text(content, lang, f"sms.reminder.{rule}", via=via,
                  deadline=P.short_date(content, lang, date.fromisoformat(deadline)))
