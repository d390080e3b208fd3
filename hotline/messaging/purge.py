"""After STOP or DELETE: ask Twilio to delete that number's message records, once they are final.

Twilio keeps every message (number, body, status) in the account's log until it is deleted, and
refuses to delete one that is still queued or sending. So people/optout.schedule_purge leaves a
job (the number, encrypted, for at most 3 days); the worker lists the messages to and from the
number, deletes each final one, and comes back later for the rest.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis
from twilio.base.exceptions import TwilioException

from hotline.messaging.sender import twilio_client
from hotline.rules.phones import mask
from hotline.runtime import stats
from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)
FINAL = {"delivered", "undelivered", "failed", "received", "read", "canceled"}
RETRY_SECONDS = 15 * 60
MAX_TRIES = 12


def run_due(hl: "Hotline", limit: int = 50) -> int:
    """Purge the records of every number whose job is due; returns how many messages were deleted."""
    r = hl.redis
    deleted = 0
    now = hl.now().timestamp()
    for job in r.zrangebyscore(store.PURGE, "-inf", now, start=0, num=limit):
        data = r.hgetall(store.purge_job(job))
        number = hl.vault.decrypt(data.get("to", "")) if data else None
        if not number:
            r.zrem(store.PURGE, job)
            continue
        client = twilio_client(hl.config)
        if client is None:  # local mode: Twilio holds nothing
            _done(r, job)
            continue
        try:
            found = client.messages.list(to=number, limit=200) + client.messages.list(from_=number, limit=200)
            left = 0
            for message in found:
                if (message.status or "") in FINAL:
                    client.messages(message.sid).delete()
                    deleted += 1
                else:
                    left += 1
        except (TwilioException, OSError) as exc:
            log.warning("Twilio records of %s not deleted yet: %s", mask(number), type(exc).__name__)
            left = 1
        tries = int(data.get("tries") or 0) + 1
        if left and tries < MAX_TRIES:
            pipe = r.pipeline(transaction=False)
            pipe.hset(store.purge_job(job), "tries", tries)
            pipe.zadd(store.PURGE, {job: now + RETRY_SECONDS})
            pipe.execute()
        else:
            if left:
                log.error("gave up deleting %d Twilio message record(s) of %s", left, mask(number))
                stats.count("privacy.purge_gave_up", hl)
            _done(r, job)
    if deleted:
        stats.count("privacy.twilio_deleted", hl, deleted)
    return deleted


def _done(r: redis.Redis, job: str) -> None:
    pipe = r.pipeline(transaction=False)
    pipe.delete(store.purge_job(job))
    pipe.zrem(store.PURGE, job)
    pipe.execute()
