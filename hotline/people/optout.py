"""STOP and START, and forgetting a person: the promises that must hold on every path.

STOP stops sending at once (the opt-out filter first, so a reminder a worker already holds is
refused by the sender) and takes the person's data away: what an undo needs is kept for the grace
period (people/grace.py), everything else that links the number to the hotline goes now:
message-status records, a pending opt-in, a verification code, voice messages and call-back
requests; and Twilio is asked (messaging/purge) to delete the number's message records once they
are final. The opt-out itself is kept in a
filter that can answer "this number?" but cannot be listed (store/optout_filter.py).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline.people import grace, inbox
from hotline.rules.phones import mask, normalise
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import optout_filter

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)


def opt_out(hl: "Hotline", number: str, why: str) -> grace.Suspended:
    """Stop everything to this number, at once; its data goes (the undo part after the grace period)."""
    suspended = opt_out_hash(hl, hl.vault.hash(number), why, number)
    log.info("opt-out (%s) for %s", why, mask(number))
    return suspended


def opt_out_hash(hl: "Hotline", h: str, why: str, number: str | None = None) -> grace.Suspended:
    """The same, when only the keyed hash is known (a Twilio 21610 status callback)."""
    optout_filter.add(hl.redis, h)
    suspended = forget(hl, h, "stop", number)
    stats.count("optout", hl)
    stats.count(f"optout.{why}", hl)
    return suspended


def opt_in(hl: "Hotline", number: str) -> bool:
    """START: messages may go again; within the grace period a STOP's reminders come back. True if they did."""
    h = hl.vault.hash(number)
    optout_filter.remove(hl.redis, h)
    stats.count("optin.start", hl)
    return grace.restore(hl, h, None) == "restored"


def forget(hl: "Hotline", h: str, why: str = "delete", number: str | None = None) -> grace.Suspended:
    """Take away everything stored about one person except an opt-out; keep only what undoing needs,
    for the grace period. Returns the undo code to tell them."""
    if number is None:
        number = hl.vault.decrypt(hl.redis.hget(store.subscriber(h), "phone") or "")
    suspended = grace.suspend(hl, h, why)
    erase_links(hl, h)
    # Voice messages (their audio too) and call-back requests go at once, with the automatic call-back:
    # a caseworker must not call a number that said STOP (issue 12). Twilio's copies are deleted
    # when they are taken (messaging/recordings.py), and an item deleted here is never stored again.
    inbox.forget_items(hl.redis, h)
    if number:
        schedule_purge(hl, number)
    return suspended


def erase_links(hl: "Hotline", h: str) -> None:
    """Message-status records (which hold the person's hash, topic and delivery) go at once."""
    index = store.person_messages(h)
    sids = list(hl.redis.smembers(index))
    pipe = hl.redis.pipeline(transaction=False)  # each record is in its own slot
    for sid in sids:
        pipe.delete(store.message(sid))
    pipe.delete(index)
    pipe.execute()


PURGE_AFTER = 10 * 60  # Twilio deletes only messages whose status is final: ask after the last replies settle
PURGE_KEEP = 3 * 86400


def schedule_purge(hl: "Hotline", number: str) -> None:
    """Ask Twilio, soon, to delete every message record to or from this number (messaging/purge.py)."""
    e164 = normalise(number) or number
    job = hl.vault.tag(f"purge|{e164}")  # one job per number: a second STOP does not add another
    pipe = hl.redis.pipeline(transaction=False)
    pipe.hset(store.purge_job(job), mapping={"to": hl.vault.encrypt(e164), "tries": 0})
    pipe.expire(store.purge_job(job), PURGE_KEEP)
    pipe.zadd(store.PURGE, {job: hl.now().timestamp() + PURGE_AFTER})
    pipe.execute()
