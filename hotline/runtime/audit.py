"""The audit log: who did what on the dashboard (logins, content changes, listening, callbacks).

One Redis stream, capped; every field a short string. Never a phone number (not even masked) and
never a message body: an item id, a slot or file name, a count.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import redis

from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)
MAX_ENTRIES = 100_000


def record(hl: "Hotline", actor: str, action: str, **detail: str) -> None:
    """Append one entry; an audit write that fails is logged, never silently dropped."""
    fields = {"at": hl.now().isoformat(timespec="seconds"), "actor": str(actor)[:64], "action": str(action)[:64]}
    fields.update({str(k)[:32]: str(v)[:200] for k, v in detail.items()})
    try:
        hl.redis.xadd(store.AUDIT, fields, maxlen=MAX_ENTRIES, approximate=True)
    except redis.RedisError as exc:
        log.error("audit entry not stored (%s): %s by %s", type(exc).__name__, action, actor)


def recent(hl: "Hotline", limit: int = 200) -> list[dict]:
    """Newest first."""
    return [dict(fields, id=entry_id) for entry_id, fields in hl.redis.xrevrange(store.AUDIT, count=limit)]
