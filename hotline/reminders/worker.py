"""The worker that sends each due reminder once.

Due reminders are data in sharded sorted sets (score = send time), not delayed queue jobs. A worker
claims a batch atomically (a Lua script moves ids from `due` to `inflight` with a lease), marks
each 'sending' just before the HTTP request, and removes it once Twilio answered. A worker that
dies leaves leases that expire: ids never marked 'sending' are claimed again (sent once); an id
that died *during* its request is not resent but counted as 'uncertain' (at most once there,
because a duplicate deadline SMS to a frightened person is worse than reporting one unknown).
"""
from __future__ import annotations

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

from hotline.content import render as P
from hotline.messaging import callbacks, recordings, whatsapp
from hotline.rules import deadlines as dl
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store.schedule import BATCH, LEASE_SECONDS, MARK, claim, finish, requeue

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)
_tally_lock = threading.Lock()


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

    def body(self, lang: str, rule: str, deadline: str, via: str = "sms") -> str:
        key = (lang, rule, deadline, via)
        if key not in self.bodies:
            self.bodies[key] = reminder_text(self.content, lang, rule, deadline, via)
        return self.bodies[key]


def reminder_text(content, lang: str, rule: str, deadline: str, via: str = "sms") -> str:
    """The free-form text of a reminder (SMS, or WhatsApp inside the 24-hour window)."""
    return P.text(content, lang, f"sms.reminder.{rule}", via=via,
                  deadline=P.short_date(content, lang, date.fromisoformat(deadline)))


def _tally(report: RunReport, field: str) -> None:
    with _tally_lock:  # many send threads update one report
        setattr(report, field, getattr(report, field) + 1)


def _send(hl: "Hotline", number: str, body: str, job: dict, rid: str, via: str, template, outside: bool):
    """`outside`: a WhatsApp reminder outside the 24-hour window, which only `template` may carry."""
    from hotline.messaging.sender import SendResult, send
    if outside and template is None:
        log.warning("reminder %s: outside the WhatsApp window and no template for %s/%s", rid, job["rule"], job["lang"])
        return SendResult(False, "no_whatsapp_template")
    return send(hl, number, body, purpose=f"reminder.{job['rule']}", reminder_id=rid, via=via, template=template)


def process(hl: "Hotline", shard: int, rid: str, report: RunReport, batch: Batch | None = None) -> None:
    """Send one claimed reminder, or decide why not; always leaves it finished or re-queued."""
    from hotline.messaging.sender import SendResult, already_sent
    r = hl.redis
    raw = batch.jobs.get(rid) if batch is not None else r.hget(store.jobs(shard), rid)
    if raw is None:  # cancelled (STOP, filed) after it was claimed
        finish(r, shard, rid, None)
        _tally(report, "dropped")
        return
    job = json.loads(raw)
    content = batch.content if batch is not None else hl.content
    policy = content.policy
    now = hl.now()
    end = datetime.fromtimestamp(job["deadline_end"], timezone.utc)
    if now >= end - LAST_USEFUL:
        log.info("reminder %s dropped: it could no longer arrive before the deadline", rid)
        finish(r, shard, rid, job["person"])
        stats.count("reminders.expired", hl)
        _tally(report, "dropped")
        return
    if dl.in_quiet_hours(now, policy):  # e.g. a worker back after an outage at night
        later = dl.fit_outside_quiet(now, end - LAST_USEFUL, policy)
        if later is None or later <= now:
            finish(r, shard, rid, job["person"])
            _tally(report, "dropped")
        else:
            requeue(r, shard, rid, job, later)
            _tally(report, "deferred")
        return
    sub = batch.subs.get(job["person"]) if batch is not None else r.hgetall(store.subscriber(job["person"]))
    number = hl.vault.decrypt(sub.get("phone", "")) if sub else None
    if not number:  # data deleted (STOP, delete, retention)
        finish(r, shard, rid, job["person"])
        _tally(report, "dropped")
        return
    lang = job["lang"] if job["lang"] in content.prompts else content.settings.default_language
    via = job.get("via", "sms")
    if batch is not None:
        body = batch.body(lang, job["rule"], job["deadline"], via)
    else:
        body = reminder_text(content, lang, job["rule"], job["deadline"], via)
    # Outside WhatsApp's 24-hour window only an approved template may go (hotline check makes sure
    # every rule and language has one).
    outside = via == "whatsapp" and not whatsapp.window_open(hl, job["person"])
    template = whatsapp.template(hl, job["rule"], lang, P.short_date(content, lang, date.fromisoformat(job["deadline"]))) \
        if outside else None
    lease = repr(batch.lease) if batch is not None else ""
    if not r.eval(MARK, 3, store.jobs(shard), store.state(shard), store.inflight(shard), rid, lease):
        if batch is not None and r.hexists(store.jobs(shard), rid):
            log.warning("reminder %s: lease ran out before it was sent; left to the worker that holds it", rid)
            _tally(report, "deferred")
            return
        finish(r, shard, rid, None)  # cancelled since it was read
        _tally(report, "dropped")
        return
    if job.get("unanswered_since"):  # an earlier try got no answer: it may have gone already
        gone = already_sent(hl, number, body, datetime.fromisoformat(job["unanswered_since"]), via, bool(template))
        if gone is None:
            result = SendResult(False, "unreachable", transient=True)
        elif gone:
            result = SendResult(True, sid="found-at-twilio")
            stats.count("reminders.found_sent", hl)
        else:
            job.pop("unanswered_since")
            result = _send(hl, number, body, job, rid, via, template, outside)
    else:
        result = _send(hl, number, body, job, rid, via, template, outside)
    if result.ok:
        finish(r, shard, rid, job["person"])
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
            requeue(r, shard, rid, job, fitted)
            stats.count("reminders.retry", hl)
            _tally(report, "retried")
            return
    finish(r, shard, rid, job["person"])
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
            if hl.content.handoff is not None:  # automatic call-backs after missed calls (issue 12)
                placed = callbacks.run_once(hl)
                if placed.placed or placed.failed or placed.uncertain:
                    log.info("worker: call-backs %s", placed)
                if swept := recordings.sweep(hl):
                    log.info("worker: %d voice message(s) fetched or deleted at Twilio after a missed callback", swept)
        except redis.RedisError as exc:
            log.warning("worker: Redis unavailable (%s); retrying", type(exc).__name__)
        time.sleep(poll_seconds)
