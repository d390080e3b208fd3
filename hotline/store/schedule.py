"""The reminder queue's storage: atomic Lua scripts over the sharded due/in-flight sets.

Kept in the store layer (not with the worker) because STOP and DELETE (people/) must cancel a
person's reminders atomically, and the worker (reminders/) claims and finishes them: both sides
use these primitives, and neither imports the other.

Every script is registered once per client (`register_script`: sent as EVALSHA by its digest, the
source only again after a NOSCRIPT, e.g. a restarted or failed-over Redis), and each works on a
whole batch, so a reminder takes part in three round trips (claim, mark, settle) shared with many.
"""
from __future__ import annotations

from typing import Any

import redis

from hotline.store import keys as store

LEASE_SECONDS = 120


BATCH = 100


# KEYS: due, inflight, state, jobs ; ARGV: now, lease_until, limit
# Returns {n, id1, job1, ..., idn, jobn, uncertain ids...}: the claimed ids with their data, read in the
# same round trip ('' for one cancelled meanwhile). Expired leases of ids not yet 'sending' are claimed
# again; those that were 'sending' are taken out and reported, never resent.
CLAIM = """
local ids = {}
local uncertain = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do
  if redis.call('HGET', KEYS[3], id) == 'sending' then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', KEYS[3], id, 'uncertain')
    table.insert(uncertain, id)
  else
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(ids, id)
  end
end
local room = tonumber(ARGV[3]) - #ids
if room > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, room)) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    table.insert(ids, id)
  end
end
local out = {#ids}
for _, id in ipairs(ids) do
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[4], id) or '')
end
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


# KEYS: jobs, state, inflight ; ARGV: lease ('' = not checked), ids... Marks each claimed id 'sending' just
# before its request, only if it still exists (a STOP or DELETE since the claim wins: not sent) and this
# worker's lease on it still holds (if the lease ran out while the id waited, another worker may have
# claimed it: that one sends it, this one must not). Returns per id: 1 marked, 0 gone, 2 lease lost.
MARK = """
local out = {}
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], id) == 0 then
    out[#out + 1] = 0
  elseif lease and tonumber(redis.call('ZSCORE', KEYS[3], id) or '-1') ~= lease then
    out[#out + 1] = 2
  else
    redis.call('HSET', KEYS[2], id, 'sending')
    out[#out + 1] = 1
  end
end
return out
"""


# KEYS: inflight, jobs, state, due, person_jobs... ; ARGV: groups of 5 (op, id, index in KEYS of its
# person_jobs key or 0, job, at). op 'f': the reminder is done (sent, dropped or failed); 'r': back in `due`
# at `at` with its data replaced by `job` (a retry, or a backlog found at night), unless it was cancelled
# meanwhile (a STOP while it was being tried: then it is done too, never resurrected).
SETTLE = """
for i = 1, #ARGV, 5 do
  local op, id, pk = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id)
  if op == 'r' and redis.call('HEXISTS', KEYS[2], id) == 1 then
    redis.call('HSET', KEYS[2], id, ARGV[i + 3])
    redis.call('ZADD', KEYS[4], ARGV[i + 4], id)
  else
    redis.call('HDEL', KEYS[2], id)
    if pk > 0 then redis.call('SREM', KEYS[pk], id) end
  end
end
return 1
"""

MARKED, GONE, LEASE_LOST = 1, 0, 2


class Scripts:
    """The reminder scripts of one client, registered once."""

    def __init__(self, r: redis.Redis) -> None:
        self.claim = r.register_script(CLAIM)
        self.cancel = r.register_script(CANCEL)
        self.mark = r.register_script(MARK)
        self.settle = r.register_script(SETTLE)


def scripts(r: redis.Redis) -> Scripts:
    found = getattr(r, "_hotline_scripts", None)
    if found is None:
        found = Scripts(r)
        r._hotline_scripts = found  # type: ignore[attr-defined]
    return found


def claim_keys(shard: int) -> list[str]:
    return [store.due(shard), store.inflight(shard), store.state(shard), store.jobs(shard)]


def mark_keys(shard: int) -> list[str]:
    return [store.jobs(shard), store.state(shard), store.inflight(shard)]


def settle_keys(shard: int, people: list[str]) -> list[str]:
    return [store.inflight(shard), store.jobs(shard), store.state(shard), store.due(shard),
            *(store.person_jobs(shard, h) for h in people)]


def claimed(raw: list) -> tuple[list[str], list[str], list[str]]:
    """CLAIM's reply as (ids, their data, uncertain ids)."""
    n = int(raw[0])
    return list(raw[1:2 * n + 1:2]), list(raw[2:2 * n + 2:2]), list(raw[2 * n + 1:])


def claim_jobs(r: redis.Redis, shard: int, now: float, limit: int = BATCH) -> tuple[list[str], list[str], list[str]]:
    """Claim up to `limit` due reminders of a shard with a lease until now + LEASE_SECONDS:
    (ids, their data ('' if cancelled meanwhile), uncertain ids)."""
    return claimed(scripts(r).claim(keys=claim_keys(shard), args=[now, now + LEASE_SECONDS, limit]))


def claim(r: redis.Redis, shard: int, now: float, limit: int = BATCH) -> tuple[list[str], list[str]]:
    ids, _, uncertain = claim_jobs(r, shard, now, limit)
    return ids, uncertain


def cancel(r: redis.Redis, h: str, prefix: str = "") -> int:
    """Cancel a person's scheduled reminders (all, or one rule's with prefix 'rule:')."""
    shard = store.shard_of(h)
    keys = [store.due(shard), store.jobs(shard), store.inflight(shard), store.state(shard), store.person_jobs(shard, h)]
    return int(scripts(r).cancel(keys=keys, args=[prefix]))


class RoundTrip:
    """One pipeline (one round trip) of script calls and plain commands, whatever they are for.

    redis-py's own `pipe.<script>(...)` asks SCRIPT EXISTS before every execute (a round trip more),
    and a RedisCluster pipeline refuses `evalsha`: here each script goes in as a plain EVALSHA, and a
    NOSCRIPT reply (a Redis that lost its scripts) runs that one call again through its Script, which
    loads it. The other commands' replies are unaffected (a script that did not run changed nothing).
    """

    def __init__(self, r: redis.Redis) -> None:
        self.r = r
        self.pipe = r.pipeline(transaction=False)  # each script's keys share its shard's slot
        self._scripted: dict[int, tuple[Any, list, list]] = {}

    def __len__(self) -> int:
        return len(self.pipe)

    def script(self, script: Any, keys: list, args: list) -> int:
        """Queue a script call; returns the index of its reply."""
        at = len(self.pipe)
        self._scripted[at] = (script, keys, args)
        self.pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        return at

    def execute(self) -> list:
        results = self.pipe.execute(raise_on_error=False)
        for i, res in enumerate(results):
            if isinstance(res, redis.exceptions.NoScriptError) and i in self._scripted:
                script, keys, args = self._scripted[i]
                results[i] = script(keys=keys, args=args)
            elif isinstance(res, Exception):
                raise res
        return results
