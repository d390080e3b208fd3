"""The local outbox: in local mode (no Twilio credentials) every SMS the hotline would send lands here.

Two kinds arrive: messages the sender would have sent through Twilio's REST API (voice "send me
this", reminders), and replies to an incoming SMS, which Twilio would send from the webhook's TwiML
answer. Both are listed by `hotline outbox`, printed by `hotline run`, and shown by `hotline
simulate`. Numbers are kept masked (and encrypted, for tests that must know the recipient).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING

import redis

from hotline.rules.phones import mask
from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

KEEP = 1000  # the newest entries; older ones are dropped


def put(hl: "Hotline", number: str, body: str, purpose: str, reply: bool = False, **extra: object) -> None:
    """`extra`: what else the entry records (via="whatsapp", the content template), as the sender says."""
    entry = {"to": mask(number), "to_enc": hl.vault.encrypt(number), "body": body, "purpose": purpose,
             "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}
    if reply:
        entry["reply"] = True
    pipe = hl.redis.pipeline()
    pipe.rpush(store.OUTBOX, json.dumps(entry, ensure_ascii=False))
    pipe.ltrim(store.OUTBOX, -KEEP, -1)
    pipe.execute()


def read(r: redis.Redis, start: int = 0) -> list[dict]:
    """Entries from index `start` on, oldest first."""
    return [json.loads(raw) for raw in r.lrange(store.OUTBOX, start, -1)]


def size(r: redis.Redis) -> int:
    return int(r.llen(store.OUTBOX))


def clear(r: redis.Redis) -> None:
    r.delete(store.OUTBOX)


def when(entry: dict, tz: tzinfo) -> str:
    """The entry's time in the hotline's time zone (Almaty), as every other time operators see."""
    at = datetime.fromisoformat(entry["at"]).astimezone(tz)
    return at.strftime("%Y-%m-%d %H:%M:%S")


def describe(entry: dict) -> str:
    """'to +7******4567 (reply to an SMS: sms.help)' or 'to +7******4567 (voice.office.almaty)'."""
    what = f"reply to an SMS: {entry['purpose']}" if entry.get("reply") else entry["purpose"]
    return f"to {entry['to']} ({what})"
