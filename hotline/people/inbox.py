"""Voice messages and call-back requests: what caseworkers see, claim, play and close.

One item per request. A claim is one Lua script on the item's hash, so two caseworkers clicking at
the same moment (two web processes) get exactly one winner; everyone sees who holds it (yap #1375:
nothing there marked a voicemail as taken, so people called back twice). A voice message's item
exists before the recording does: until Twilio's signed callback delivers it, the item says
"recording not yet received" instead of being lost (verboice #900: calls stuck "active").

Retention: an open item lives `keep_days_open`, a closed one `keep_days_after_closed` (relative
TTLs on every key, on the hotline's clock), and STOP or DELETE from the number removes all of it at
once (`forget_items`). Nothing here holds a number in clear: the caller's number is encrypted,
looked up by its keyed hash, and masked for display.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import redis

from hotline.rules.phones import mask
from hotline.store import keys

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

OUTCOMES = ("reached", "no_answer", "try_later")
KINDS = ("voicemail", "callback")

# KEYS: item ; ARGV: who, now. 1 = claimed now, 2 = already yours, 0 = someone else has it, -1 = gone.
CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'open' then
  redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimed_by', ARGV[1], 'claimed_at', ARGV[2])
  return 1
end
if redis.call('HGET', KEYS[1], 'claimed_by') == ARGV[1] then return 2 end
return 0
"""


# KEYS: item ; ARGV: field, value, ... Only on an item that still exists (STOP may have deleted it).
UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    person: str
    lang: str
    topic: str
    created: float
    state: str                  # open, claimed, closed
    claimed_by: str
    recording: str              # "" (no message), pending, received, failed, absent
    duration: int
    callback: bool              # the caller asked to be called back
    outcome: str
    outcome_by: str
    attempts: int
    masked: str
    call_sid: str = ""
    recording_sid: str = ""
    twilio_copy: str = ""       # a recording we stored but could not yet delete at Twilio

    def age_minutes(self, now: datetime) -> int:
        return max(0, int((now.timestamp() - self.created) // 60))


def _ttl_days(hl: "Hotline", closed: bool) -> int:
    h = hl.content.handoff
    return (h.keep_days_after_closed if closed else h.keep_days_open) * 86400


def create(hl: "Hotline", kind: str, number: str, lang: str, topic: str, call_sid: str = "",
           recording: str = "", callback: bool = False) -> str:
    """A new item (a voice message about to be recorded, or a call-back request); returns its id."""
    iid = ("vm" if kind == "voicemail" else "cb") + secrets.token_hex(8)
    h = hl.vault.hash(number)
    now = hl.now().timestamp()
    ttl = _ttl_days(hl, closed=False)
    pipe = hl.redis.pipeline(transaction=False)  # item, inbox and person index are in different slots
    pipe.hset(keys.item(iid), mapping={"kind": kind, "person": h, "phone": hl.vault.encrypt(number),
                                        "masked": mask(number), "lang": lang, "topic": topic, "created": now,
                                        "state": "open", "call": call_sid, "recording": recording,
                                        "callback": "1" if callback else "0"})
    pipe.expire(keys.item(iid), ttl)
    pipe.zadd(keys.INBOX, {iid: now})
    pipe.sadd(keys.person_items(h), iid)
    pipe.expire(keys.person_items(h), ttl)
    pipe.execute()
    return iid


def get(hl: "Hotline", iid: str) -> Item | None:
    raw = hl.redis.hgetall(keys.item(iid))
    return _item(iid, raw) if raw else None


def _item(iid: str, raw: dict) -> Item:
    return Item(iid, raw.get("kind", ""), raw.get("person", ""), raw.get("lang", ""), raw.get("topic", ""),
                float(raw.get("created") or 0), raw.get("state", "open"), raw.get("claimed_by", ""),
                raw.get("recording", ""), int(raw.get("duration") or 0), raw.get("callback") == "1",
                raw.get("outcome", ""), raw.get("outcome_by", ""), int(raw.get("attempts") or 0),
                raw.get("masked", "***"), raw.get("call", ""), raw.get("recording_sid", ""), raw.get("twilio_copy", ""))


def phone(hl: "Hotline", iid: str) -> str | None:
    return hl.vault.decrypt(hl.redis.hget(keys.item(iid), "phone") or "")


def listing(hl: "Hotline", limit: int = 200) -> list[Item]:
    """Newest first; items whose keys expired (retention) are dropped from the index on the way."""
    ids = hl.redis.zrevrange(keys.INBOX, 0, limit - 1)
    pipe = hl.redis.pipeline(transaction=False)
    for iid in ids:
        pipe.hgetall(keys.item(iid))
    out, gone = [], []
    for iid, raw in zip(ids, pipe.execute()):
        (out.append(_item(iid, raw)) if raw else gone.append(iid))
    if gone:
        hl.redis.zrem(keys.INBOX, *gone)
    return out


def claim(hl: "Hotline", iid: str, who: str) -> int:
    return int(hl.redis.eval(CLAIM, 1, keys.item(iid), who, hl.now().timestamp()))


def update(hl: "Hotline", iid: str, **fields: object) -> bool:
    """Set fields on an item that still exists (never resurrect one STOP deleted)."""
    return bool(hl.redis.eval(UPDATE, 1, keys.item(iid), *[x for kv in fields.items() for x in (kv[0], str(kv[1]))]))


def set_outcome(hl: "Hotline", iid: str, who: str, outcome: str) -> bool:
    """Record the call-back's outcome; reached closes the item (retention starts), others keep it claimed."""
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    key = keys.item(iid)
    raw = hl.redis.hgetall(key)
    if not raw:
        return False
    closed = outcome == "reached"
    mapping = {"outcome": outcome, "outcome_by": who, "outcome_at": hl.now().timestamp()}
    if closed:
        mapping["state"] = "closed"
    pipe = hl.redis.pipeline(transaction=False)
    pipe.hset(key, mapping=mapping)
    if closed:
        ttl = _ttl_days(hl, closed=True)
        pipe.expire(key, ttl)
        pipe.expire(keys.recording(iid), ttl)
    pipe.execute()
    return True


def release(hl: "Hotline", iid: str) -> None:
    """Give a claimed item back to the inbox (try again later, by anyone)."""
    update(hl, iid, state="open", claimed_by="")


def store_recording(hl: "Hotline", iid: str, audio: bytes, duration: int) -> bool:
    """Keep the audio encrypted with the item's remaining lifetime; False if the item is gone (STOP)."""
    key = keys.item(iid)
    ttl = hl.redis.ttl(key)
    if ttl is None or ttl == -2:
        return False
    hl.redis.set(keys.recording(iid), hl.vault.encrypt_bytes(audio), ex=ttl if ttl > 0 else _ttl_days(hl, closed=False))
    if not update(hl, iid, recording="received", duration=duration):  # STOP arrived meanwhile: keep nothing
        hl.redis.delete(keys.recording(iid))
        return False
    return True


def recording(hl: "Hotline", iid: str) -> bytes | None:
    token = hl.redis.get(keys.recording(iid))
    return hl.vault.decrypt_bytes(token) if token else None


def forget_items(r: redis.Redis, h: str) -> int:
    """Everything about one person's voice messages and call-back requests, at once (STOP, DELETE)."""
    ids = list(r.smembers(keys.person_items(h)))
    pipe = r.pipeline(transaction=False)
    for iid in ids:
        pipe.delete(keys.item(iid), keys.recording(iid))
    if ids:
        pipe.zrem(keys.INBOX, *ids)
    pipe.delete(keys.person_items(h))
    pipe.execute()
    pipe = r.pipeline(transaction=True)  # and no automatic call-back ({cb} slot)
    pipe.zrem(keys.CB_DUE, h)
    pipe.hdel(keys.CB_JOBS, h)
    pipe.execute()
    return len(ids)

