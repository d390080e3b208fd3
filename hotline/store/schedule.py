"""The reminder queue's storage: atomic Lua scripts over the sharded due/in-flight sets.

Kept in the store layer (not with the worker) because STOP and DELETE (people/) must cancel a
person's reminders atomically, and the worker (reminders/) claims and finishes them: both sides
use these primitives, and neither imports the other.
"""
from __future__ import annotations

import json
from datetime import datetime

import redis

from hotline.store import keys as store

LEASE_SECONDS = 120


BATCH = 100


# KEYS: due, inflight, state ; ARGV: now, lease_until, limit
# Returns {claimed ids..., "|", uncertain ids...}: expired leases of ids not yet 'sending' are claimed
# again; those that were 'sending' are taken out and reported, never resent.
CLAIM = """
local out = {}
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
local uncertain = {}
for _, id in ipairs(expired) do
  if redis.call('HGET', KEYS[3], id) == 'sending' then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', KEYS[3], id, 'uncertain')
    table.insert(uncertain, id)
  else
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(out, id)
  end
end
local room = tonumber(ARGV[3]) - #out
if room > 0 then
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, room)
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(out, id)
  end
end
table.insert(out, '|')
for _, id in ipairs(uncertain) do table.insert(out, id) end
return out
"""


# KEYS: due, jobs, inflight, state, person_jobs ; ARGV: prefix ('' = all of this person's reminders)
CANCEL = """
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if ARGV[1] == '' or string.sub(id, 1, string.len(ARGV[1])) == ARGV[1] then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('SREM', KEYS[5], id)
    n = n + 1
  end
end
return n
"""


# KEYS: inflight, jobs, state[, person_jobs] ; ARGV: id. A reminder is done (sent, dropped or failed).
FINISH = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if KEYS[4] then redis.call('SREM', KEYS[4], ARGV[1]) end
return 1
"""


# KEYS: jobs, state, inflight ; ARGV: id, lease. Mark a claimed reminder 'sending' just before its request,
# only if it still exists (a STOP or DELETE that cancelled it after the worker read it, batches being
# read ahead, wins: not sent) and this worker's lease on it still holds (if the lease ran out while it
# waited, another worker may have claimed it: that one sends it, this one must not). lease '' = not checked.
MARK = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' and tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]) or '-1') ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], 'sending')
return 1
"""


def claim(r: redis.Redis, shard: int, now: float, limit: int = BATCH) -> tuple[list[str], list[str]]:
    raw = r.eval(CLAIM, 3, store.due(shard), store.inflight(shard), store.state(shard), now, now + LEASE_SECONDS, limit)
    cut = raw.index("|")
    return raw[:cut], raw[cut + 1:]


def cancel(r: redis.Redis, h: str, prefix: str = "") -> int:
    """Cancel a person's scheduled reminders (all, or one rule's with prefix 'rule:')."""
    shard = store.shard_of(h)
    return int(r.eval(CANCEL, 5, store.due(shard), store.jobs(shard), store.inflight(shard), store.state(shard),
                      store.person_jobs(shard, h), prefix))


def finish(r: redis.Redis, shard: int, rid: str, person: str | None) -> None:
    keys = [store.inflight(shard), store.jobs(shard), store.state(shard)]
    if person:
        keys.append(store.person_jobs(shard, person))
    r.eval(FINISH, len(keys), *keys, rid)  # one slot ({r<n>}), one round trip, atomic


def requeue(r: redis.Redis, shard: int, rid: str, job: dict, at: datetime) -> None:
    pipe = r.pipeline(transaction=True)  # one slot ({r<n>})
    pipe.hset(store.jobs(shard), rid, json.dumps(job))
    pipe.hdel(store.state(shard), rid)
    pipe.zrem(store.inflight(shard), rid)
    pipe.zadd(store.due(shard), {rid: at.timestamp()})
    pipe.execute()
