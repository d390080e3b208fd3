"""Stopped, never destroyed at once: a person's reminders go into an undo record for a grace period.

Whoever stops or cancels a number's reminders (STOP, DELETE, "already filed", by SMS or by voice)
may not be the person who holds that phone: caller ID and SMS sender can be forged. So nothing is
destroyed at once. Sending stops at once (STOP sets the opt-out flag first; the jobs leave the
schedule), and what is needed to undo it (the subscriber's fields and the jobs) moves into one
record, `hl:undo:{h}`, that Redis deletes by itself after GRACE. The phone is told in one SMS how
to undo it: the code in that SMS, by SMS or on the keypad, or START after a STOP.

The grace period is 2 days (content/model.py UNDO_DAYS; prompts say it as {undo_days}): the SMS
reaches the real phone within minutes, and two days cover a night and a day without credit,
signal or a charged phone; longer would keep the data of someone who really asked for deletion for
days, and the shortest deadline a reminder serves (fingerprinting: 3 days) would pass unserved. Reminders that fell due while suspended are not lost: on undo the
latest one still before its deadline is sent at once.
"""
from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hotline.content.model import UNDO_DAYS
from hotline.store import keys as store
from hotline.store import schedule

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

GRACE_SECONDS = UNDO_DAYS * 86400
CODE_DIGITS = 6
MAX_TRIES = 5


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_tag(hl: "Hotline", h: str, code: str) -> str:
    """What is stored instead of a code: a keyed hash bound to the person."""
    return hl.vault.tag(f"undo|{h}|{code}")


@dataclass(frozen=True)
class Suspended:
    code: str
    reminders: int      # how many scheduled reminders were taken out
    rules: list[str]    # the rules whose consent moved into the undo record


def suspend(hl: "Hotline", h: str, why: str, rules: list[str] | None = None) -> Suspended:
    """Take the person's reminders (all, or those of `rules`) out of the schedule, keep them for GRACE.

    `rules=None` also takes the encrypted number and language (DELETE, STOP); with rules (FILED)
    only those consents move and the subscriber keeps the rest.
    """
    r = hl.redis
    now = hl.now().timestamp()
    taken: list[list] = []
    for prefix in ([""] if rules is None else [rule + ":" for rule in rules]):
        taken += schedule.take(r, h, prefix, now)
    sub_key, undo_key = store.subscriber(h), store.undo(h)
    sub = r.hgetall(sub_key)
    if rules is None:
        moved = sub
    else:
        moved = {k: v for k, v in sub.items() if k.removeprefix("rule:") in rules}
        if moved:
            moved.update({k: sub[k] for k in ("phone", "lang") if k in sub})  # what a restore needs
    old = r.hgetall(undo_key)
    fields = json.loads(old.get("sub") or "{}")
    fields.update(moved)
    jobs = json.loads(old.get("jobs") or "[]") + taken
    ttl = r.ttl(sub_key)
    keep = max(int(old.get("keep") or 0), ttl if ttl and ttl > 0 else 0)
    code = new_code()  # also when there is nothing to keep: the reply reads the same for every number
    pipe = r.pipeline(transaction=True)  # one person, one slot ({h})
    if fields or jobs:
        pipe.hset(undo_key, mapping={"sub": json.dumps(fields), "jobs": json.dumps(jobs), "why": why,
                                     "code": code_tag(hl, h, code), "tries": 0, "keep": keep, "at": int(now)})
        pipe.expire(undo_key, GRACE_SECONDS)
    if rules is None:
        pipe.delete(*store.person_keys(h))
    elif moved:
        pipe.hdel(sub_key, *[k for k in moved if k.startswith("rule:")])
    pipe.execute()
    return Suspended(code, len(taken), sorted(k.removeprefix("rule:") for k in fields if k.startswith("rule:")))


def restore(hl: "Hotline", h: str, code: str | None) -> str:
    """Undo a suspension: 'restored'; 'wrong' for a code that is wrong, used up or has nothing to undo;
    'nothing' for START without a code and nothing a STOP suspended.

    `code=None` is START after a STOP (Twilio's own keyword cannot carry a code).
    """
    r = hl.redis
    undo_key = store.undo(h)
    rec = r.hgetall(undo_key)
    if not rec:  # with a code: the same answer as a wrong one, so nobody learns that nothing was cancelled
        return "nothing" if code is None else "wrong"
    if code is not None:
        if int(rec.get("tries") or 0) >= MAX_TRIES:
            return "wrong"
        if not hmac.compare_digest(rec.get("code", ""), code_tag(hl, h, code)):
            r.hincrby(undo_key, "tries", 1)
            return "wrong"
    elif rec.get("why") != "stop":
        return "nothing"  # START restores only what a STOP suspended; the rest needs the code
    fields = json.loads(rec.get("sub") or "{}")
    now = hl.now().timestamp()
    keep = int(rec.get("keep") or 0) - int(now - int(rec.get("at") or now))
    if fields and keep > 0:
        pipe = r.pipeline(transaction=True)
        pipe.hset(store.subscriber(h), mapping=fields)
        pipe.expire(store.subscriber(h), keep)
        pipe.delete(undo_key)
        pipe.execute()
    else:
        r.delete(undo_key)
        return "restored"
    schedule.put_back(r, h, json.loads(rec.get("jobs") or "[]"), now, keep)
    return "restored"
