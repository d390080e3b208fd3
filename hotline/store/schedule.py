"""Lease queues' storage: atomic Lua scripts over due/in-flight sets, for the reminders (sharded)
and the automatic call-backs (one queue).

Kept in the store layer (not with the worker) because STOP and DELETE (people/) must cancel a
person's reminders atomically, and the worker (reminders/) claims and finishes them: both sides
use these primitives, and neither imports the other. messaging/callbacks.py claims, marks and
settles its call-backs with the same scripts (`LeaseQueue`).

Every script is registered once per client (`register_script`: sent as EVALSHA by its digest, the
source only again after a NOSCRIPT, e.g. a restarted or failed-over Redis), and each works on a
whole batch, so a reminder takes part in three round trips (claim, mark, settle) shared with many.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import redis

from hotline.store import keys as store

LEASE_SECONDS = 120


BATCH = 100


# KEYS: due, inflight, state, jobs ; ARGV: now (the hotline's clock, for what is due), lease seconds, limit,
# unanswered_since (ISO time), 'hold' or ''.
# Leases are counted on the Redis server's clock (TIME, in ms), the one clock every worker shares: a
# worker whose own clock is minutes off can neither steal a live lease nor keep a dead one.
# Returns {lease, n, id1, job1, ..., idn, jobn, uncertain ids...}: the claimed ids with their data, read in
# the same round trip ('' for one cancelled meanwhile). An expired lease of an id not yet 'sending' is
# claimed again; one that was 'sending' (its worker died during the request) goes back to `due` now,
# marked 'unanswered_since', so the next try first asks Twilio whether it left: it finishes, sent once,
# instead of staying 'uncertain' for ever. Those ids are reported too. With 'hold' such an id stays
# 'uncertain' and is never tried again (a call-back: a second call is worse than none).
CLAIM = """
local t = redis.call('TIME')
local server_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = server_ms + tonumber(ARGV[2]) * 1000
local ids = {}
local uncertain = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', server_ms, 'LIMIT', 0, ARGV[3])) do
  if redis.call('HGET', KEYS[3], id) == 'sending' and ARGV[5] == 'hold' then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', KEYS[3], id, 'uncertain')
    table.insert(uncertain, id)
  elseif redis.call('HGET', KEYS[3], id) == 'sending' then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    local raw = redis.call('HGET', KEYS[4], id)
    if raw then
      local job = cjson.decode(raw)
      if not job['unanswered_since'] then job['unanswered_since'] = ARGV[4] end
      redis.call('HSET', KEYS[4], id, cjson.encode(job))
      redis.call('ZADD', KEYS[1], ARGV[1], id)
    end
    table.insert(uncertain, id)
  else
    redis.call('ZADD', KEYS[2], lease, id)
    table.insert(ids, id)
  end
end
local room = tonumber(ARGV[3]) - #ids
if room > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, room)) do
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', KEYS[2], lease, id)
    table.insert(ids, id)
  end
end
local out = {tostring(lease), #ids}
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

# KEYS: due, jobs, inflight, state, person_jobs ; ARGV: prefix ('' = all), now.
# Takes a person's reminders out of the schedule and returns them: {id, send time, job JSON, ...}
# (people/grace.py keeps them for the undo period). One in flight is taken too: its worker's MARK then
# finds no job and does not send it.
TAKE = """
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if ARGV[1] == '' or string.sub(id, 1, string.len(ARGV[1])) == ARGV[1] then
    local job = redis.call('HGET', KEYS[2], id)
    local at = redis.call('ZSCORE', KEYS[1], id) or ARGV[2]
    if job then
      table.insert(out, id)
      table.insert(out, tostring(at))
      table.insert(out, job)
    end
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[4], id)
    redis.call('SREM', KEYS[5], id)
  end
end
return out
"""

MARKED, GONE, LEASE_LOST = 1, 0, 2


class Scripts:
    """The reminder scripts of one client, registered once."""

    def __init__(self, r: redis.Redis) -> None:
        self.claim = r.register_script(CLAIM)
        self.cancel = r.register_script(CANCEL)
        self.mark = r.register_script(MARK)
        self.settle = r.register_script(SETTLE)
        self.take = r.register_script(TAKE)


def scripts(r: redis.Redis) -> Scripts:
    found = getattr(r, "_hotline_scripts", None)
    if found is None:
        found = Scripts(r)
        r._hotline_scripts = found  # type: ignore[attr-defined]
    return found


@dataclass(frozen=True)
class LeaseQueue:
    """The four keys of one lease queue: due (sorted by send time), inflight (by lease end, on the Redis
    server's clock), state ('sending', 'uncertain') and jobs (each id's data)."""

    due: str
    inflight: str
    state: str
    jobs: str

    def claim_keys(self) -> list[str]:
        return [self.due, self.inflight, self.state, self.jobs]

    def mark_keys(self) -> list[str]:
        return [self.jobs, self.state, self.inflight]

    def settle_keys(self, person_sets: Sequence[str] = ()) -> list[str]:
        return [self.inflight, self.jobs, self.state, self.due, *person_sets]


def shard_queue(shard: int) -> LeaseQueue:
    """A shard of the reminder queue."""
    return LeaseQueue(store.due(shard), store.inflight(shard), store.state(shard), store.jobs(shard))


def claim_keys(shard: int) -> list[str]:
    return shard_queue(shard).claim_keys()


def mark_keys(shard: int) -> list[str]:
    return shard_queue(shard).mark_keys()


def settle_keys(shard: int, people: list[str]) -> list[str]:
    return shard_queue(shard).settle_keys([store.person_jobs(shard, h) for h in people])


def claim_args(now: float, limit: int, lease_seconds: float = LEASE_SECONDS, unanswered_since: str = "",
               hold: bool = False) -> list:
    """CLAIM's ARGV. `unanswered_since`: since when a reminder whose worker died mid-request may have
    left (default: a lease and a minute ago, on the real clock Twilio dates messages by). `hold`: such
    an id stays 'uncertain' instead."""
    since = unanswered_since or (datetime.now(timezone.utc) - timedelta(seconds=lease_seconds + 60)).isoformat()
    return [now, lease_seconds, limit, since, "hold" if hold else ""]


def claimed(raw: list) -> tuple[str, list[str], list[str], list[str]]:
    """CLAIM's reply as (lease, ids, their data, uncertain ids)."""
    n = int(raw[1])
    return raw[0], list(raw[2:2 * n + 2:2]), list(raw[3:2 * n + 3:2]), list(raw[2 * n + 2:])


def claim_leased(r: redis.Redis, shard: int, now: float, limit: int = BATCH, lease_seconds: float = LEASE_SECONDS,
                 unanswered_since: str = "") -> tuple[str, list[str], list[str]]:
    """Claim what is due at `now`; returns (lease, claimed ids, ids whose worker died mid-request)."""
    raw = scripts(r).claim(keys=claim_keys(shard), args=claim_args(now, limit, lease_seconds, unanswered_since))
    lease, ids, _, uncertain = claimed(raw)
    return lease, ids, uncertain


def claim_jobs(r: redis.Redis, shard: int, now: float, limit: int = BATCH) -> tuple[list[str], list[str], list[str]]:
    """Claim up to `limit` due reminders of a shard with a lease of LEASE_SECONDS:
    (ids, their data ('' if cancelled meanwhile), uncertain ids)."""
    _, ids, jobs, uncertain = claimed(scripts(r).claim(keys=claim_keys(shard), args=claim_args(now, limit)))
    return ids, jobs, uncertain


def claim(r: redis.Redis, shard: int, now: float, limit: int = BATCH) -> tuple[list[str], list[str]]:
    ids, _, uncertain = claim_jobs(r, shard, now, limit)
    return ids, uncertain


def claim_from(r: redis.Redis, q: LeaseQueue, now: float, limit: int, lease_seconds: float,
               hold: bool = False) -> tuple[str, list[str], list[str], list[str]]:
    """Claim up to `limit` ids due at `now` from `q`: (lease, ids, their data, uncertain ids)."""
    return claimed(scripts(r).claim(keys=q.claim_keys(), args=claim_args(now, limit, lease_seconds, hold=hold)))


def mark_in(r: redis.Redis, q: LeaseQueue, lease: str, ids: list[str]) -> list[int]:
    """Mark claimed ids 'sending' just before their request: MARKED, GONE or LEASE_LOST each."""
    return [int(v) for v in scripts(r).mark(keys=q.mark_keys(), args=[lease, *ids])]


def finish_in(r: redis.Redis, q: LeaseQueue, rid: str) -> None:
    """`rid` is done (sent, dropped or failed): out of the queue."""
    scripts(r).settle(keys=q.settle_keys(), args=["f", rid, 0, "", ""])


def requeue_in(r: redis.Redis, q: LeaseQueue, rid: str, job: str, at: float) -> None:
    """`rid` back in `due` at `at` with its data replaced by `job`, unless it was cancelled meanwhile."""
    scripts(r).settle(keys=q.settle_keys(), args=["r", rid, 0, job, repr(at)])


def cancel(r: redis.Redis, h: str, prefix: str = "") -> int:
    """Cancel a person's scheduled reminders (all, or one rule's with prefix 'rule:')."""
    return int(scripts(r).cancel(keys=person_keys(store.shard_of(h), h), args=[prefix]))


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


def person_keys(shard: int, h: str) -> list[str]:
    return [store.due(shard), store.jobs(shard), store.inflight(shard), store.state(shard), store.person_jobs(shard, h)]


def take(r: redis.Redis, h: str, prefix: str, now: float) -> list[list]:
    """Remove a person's reminders (all, or one rule's with prefix 'rule:'); return [id, at, job] each."""
    flat = scripts(r).take(keys=person_keys(store.shard_of(h), h), args=[prefix, now])
    return [[flat[i], float(flat[i + 1]), flat[i + 2]] for i in range(0, len(flat), 3)]


def put_back(r: redis.Redis, h: str, taken: list[list], now: float, keep: int, margin: float = 1800) -> int:
    """Schedule taken reminders again: those still ahead at their time; of those that fell due
    meanwhile, only the latest, now, if its deadline is still more than `margin` seconds away."""
    ahead = [t for t in taken if t[1] >= now]
    missed = [t for t in taken if t[1] < now and json.loads(t[2]).get("deadline_end", 0) - margin > now]
    if missed:
        latest = max(missed, key=lambda t: t[1])
        ahead.append([latest[0], now, latest[2]])
    if not ahead:
        return 0
    shard = store.shard_of(h)
    pipe = r.pipeline(transaction=True)  # one shard, one slot
    for rid, at, job in ahead:
        pipe.hset(store.jobs(shard), rid, job)
        pipe.zadd(store.due(shard), {rid: at})
        pipe.sadd(store.person_jobs(shard, h), rid)
    pipe.expire(store.person_jobs(shard, h), max(keep, 1))
    pipe.execute()
    return len(ahead)
