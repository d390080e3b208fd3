"""Proof that a caller holds the phone they call from: a short code sent by SMS, entered on the keypad.

Caller ID can be forged, so a destructive step by voice (delete my data, cancel reminders, "already
filed") first sends a code to the number by SMS; only someone holding that phone can read it. It
works where the person cannot send SMS (no credit, or a network without two-way SMS): they only
receive one. A code lives 10 minutes, allows 3 tries, and is stored only as a keyed hash.
"""
from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

CODE_DIGITS = 6
CODE_SECONDS = 600
MAX_TRIES = 3


def _tag(hl: "Hotline", h: str, action: str, code: str) -> str:
    return hl.vault.tag(f"verify|{h}|{action}|{code}")


def issue(hl: "Hotline", h: str, action: str) -> str:
    """A new code for `action` (replacing any earlier one of this person)."""
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    key = store.verify_code(h)
    pipe = hl.redis.pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(key, mapping={"action": action, "tag": _tag(hl, h, action, code), "tries": 0})
    pipe.expire(key, CODE_SECONDS)
    pipe.execute()
    return code


def check(hl: "Hotline", h: str, action: str, entered: str) -> str:
    """'ok' (and the code is used up), 'wrong' (tries left), or 'gone' (none, expired, used, too many tries)."""
    key = store.verify_code(h)
    rec = hl.redis.hgetall(key)
    if not rec or rec.get("action") != action or int(rec.get("tries") or 0) >= MAX_TRIES:
        return "gone"
    if hmac.compare_digest(rec.get("tag", ""), _tag(hl, h, action, entered)):
        hl.redis.delete(key)
        return "ok"
    if hl.redis.hincrby(key, "tries", 1) >= MAX_TRIES:
        hl.redis.delete(key)
        return "gone"
    return "wrong"
