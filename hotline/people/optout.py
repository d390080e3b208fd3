"""STOP and START, and forgetting a person: the promises that must hold on every path."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hotline.people import inbox
from hotline.rules.phones import mask
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import schedule

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)


def opt_out(hl: "Hotline", number: str, why: str) -> None:
    """Stop everything to this number, at once, and keep only a keyed hash saying so.

    The flag is written first, so a reminder a worker already holds is refused by the sender.
    """
    opt_out_hash(hl, hl.vault.hash(number), why)
    log.info("opt-out (%s) for %s", why, mask(number))


def opt_out_hash(hl: "Hotline", h: str, why: str) -> None:
    """The same, when only the keyed hash is known (a Twilio 21610 status callback)."""
    hl.redis.set(store.optout(h), why)
    forget(hl, h)
    stats.count("optout", hl)
    stats.count(f"optout.{why}", hl)


def opt_in(hl: "Hotline", number: str) -> None:
    hl.redis.delete(store.optout(hl.vault.hash(number)))
    stats.count("optin.start", hl)


def forget(hl: "Hotline", h: str) -> None:
    """Delete everything stored about one person except an opt-out flag."""
    hl.redis.delete(*store.person_keys(h))
    schedule.cancel(hl.redis, h)
    inbox.forget_items(hl.redis, h)  # voice messages, recordings, call-back requests (issue 12)
