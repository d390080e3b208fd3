"""What is scheduled, for operators: upcoming reminders and one person's record, numbers masked."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from hotline.rules.phones import mask
from hotline.store import keys as store
from hotline.store import optout_filter

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline


def due_report(hl: "Hotline", until: datetime) -> list[dict]:
    """What would go out until `until`, with numbers masked (for `hotline reminders due`)."""
    rows = []
    for shard in range(store.SHARDS):
        for rid, score in hl.redis.zrangebyscore(store.due(shard), "-inf", until.timestamp(), withscores=True):
            raw = hl.redis.hget(store.jobs(shard), rid)
            if not raw:
                continue
            job = json.loads(raw)
            phone = hl.vault.decrypt(hl.redis.hget(store.subscriber(job["person"]), "phone") or "")
            rows.append({"at": datetime.fromtimestamp(score, timezone.utc).astimezone(hl.content.policy.tz),
                         "to": mask(phone), "rule": job["rule"], "lang": job["lang"], "deadline": job["deadline"]})
    return sorted(rows, key=lambda row: row["at"])


def person_report(hl: "Hotline", number: str) -> dict:
    """One person's stored data and scheduled reminders, for support staff (number masked)."""
    h = hl.vault.hash(number)
    shard = store.shard_of(h)
    sub = hl.redis.hgetall(store.subscriber(h))
    rules = {k.removeprefix("rule:"): json.loads(v) for k, v in sub.items() if k.startswith("rule:")}
    upcoming = []
    for rid in sorted(hl.redis.smembers(store.person_jobs(shard, h))):
        score = hl.redis.zscore(store.due(shard), rid)
        if score is not None:
            upcoming.append({"id": rid, "at": datetime.fromtimestamp(score, timezone.utc).astimezone(hl.content.policy.tz)})
    return {"number": mask(number), "opted_out": optout_filter.contains(hl.redis, h), "lang": sub.get("lang"),
            "rules": rules, "upcoming": sorted(upcoming, key=lambda u: u["at"])}
