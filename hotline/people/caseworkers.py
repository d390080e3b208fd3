"""Caseworkers: who can take a call, in which languages, in which order, and who is on shift now.

Their phone numbers are personal data: stored Fernet-encrypted in Redis (never in a file), shown
masked, decrypted only to place a call. Each web process keeps the last list it read, so a call
can still be connected for a while when Redis is down.
"""
from __future__ import annotations

import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from hotline.rules.phones import mask, normalise
from hotline.store import keys

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

CACHE_SECONDS = 15.0


@dataclass(frozen=True)
class Caseworker:
    id: str
    name: str
    phone_enc: str
    languages: tuple[str, ...]
    order: int
    on_shift: bool

    def phone(self, hl: "Hotline") -> str | None:
        return hl.vault.decrypt(self.phone_enc)

    def masked(self, hl: "Hotline") -> str:
        return mask(self.phone(hl))


class NotAPhone(ValueError):
    pass


def add(hl: "Hotline", name: str, phone: str, languages: list[str], order: int | None = None) -> Caseworker:
    e164 = normalise(phone)
    if e164 is None:
        raise NotAPhone("not a phone number")
    name = name.strip()[:60]
    if not name:
        raise ValueError("a caseworker needs a name")
    existing = next((c for c in load(hl.redis) if c.name == name), None)
    cid = existing.id if existing else "cw" + secrets.token_hex(4)
    if order is None:
        order = existing.order if existing else len(load(hl.redis)) + 1
    pipe = hl.redis.pipeline(transaction=True)
    pipe.hset(keys.caseworker(cid), mapping={"name": name, "phone": hl.vault.encrypt(e164),
                                              "langs": ",".join(languages), "order": order,
                                              "shift": "1" if existing and existing.on_shift else "0"})
    pipe.sadd(keys.CASEWORKERS, cid)
    pipe.execute()
    _cache.clear()
    return get(hl.redis, cid)  # type: ignore[return-value]


def remove(r: redis.Redis, cid: str) -> bool:
    pipe = r.pipeline(transaction=True)
    pipe.delete(keys.caseworker(cid))
    pipe.srem(keys.CASEWORKERS, cid)
    gone = pipe.execute()[0]
    _cache.clear()
    return bool(gone)


def set_shift(r: redis.Redis, cid: str, on: bool) -> bool:
    if not r.exists(keys.caseworker(cid)):
        return False
    r.hset(keys.caseworker(cid), "shift", "1" if on else "0")
    _cache.clear()
    return True


def get(r: redis.Redis, cid: str) -> Caseworker | None:
    raw = r.hgetall(keys.caseworker(cid))
    return _from(cid, raw) if raw else None


def _from(cid: str, raw: dict) -> Caseworker:
    return Caseworker(cid, raw.get("name", ""), raw.get("phone", ""),
                      tuple(l for l in raw.get("langs", "").split(",") if l), int(raw.get("order") or 0),
                      raw.get("shift") == "1")


def load(r: redis.Redis) -> list[Caseworker]:
    ids = sorted(r.smembers(keys.CASEWORKERS))
    pipe = r.pipeline(transaction=False)
    for cid in ids:
        pipe.hgetall(keys.caseworker(cid))
    out = [_from(cid, raw) for cid, raw in zip(ids, pipe.execute()) if raw]
    return sorted(out, key=lambda c: (c.order, c.name))


class _Cache:
    """The last list this process read: routing keeps working for a while when Redis is down."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._at = 0.0
        self._list: list[Caseworker] | None = None

    def clear(self) -> None:
        with self._lock:
            self._at = 0.0

    def get(self, r: redis.Redis) -> list[Caseworker]:
        now = time.monotonic()
        if self._list is not None and now - self._at < CACHE_SECONDS:
            return self._list
        try:
            fresh = load(r)
        except redis.RedisError:
            if self._list is None:
                raise
            return self._list  # Redis down: the list we had (numbers still encrypted in memory)
        with self._lock:
            self._list, self._at = fresh, now
        return fresh


class _Caches:
    """One cache per Redis client (per app), so two hotlines in one process never share a team."""

    def __init__(self) -> None:
        self._by_client: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def of(self, r: redis.Redis) -> _Cache:
        with self._lock:
            if r not in self._by_client:
                self._by_client[r] = _Cache()
            return self._by_client[r]

    def clear(self) -> None:
        with self._lock:
            for cache in self._by_client.values():
                cache.clear()


_cache = _Caches()


def on_shift(r: redis.Redis, lang: str) -> list[Caseworker]:
    """Caseworkers on shift who speak `lang`, in routing order (may raise RedisError with no cache)."""
    return [c for c in _cache.of(r).get(r) if c.on_shift and lang in c.languages]
