"""Who said STOP, stored so that it cannot be listed: a counting Bloom filter in one Redis string.

A per-number key (`hl:optout:{hash}`) is a list of everyone who ever wrote to the hotline and
stopped: SCAN prints it, its count and TTL say how many and since when. Here a STOP only raises 8
small counters picked from the person's keyed hash; asking "did this number say STOP?" needs that
number (and the key); nothing can be enumerated. START lowers the same counters.
2^21 one-byte counters (2 MiB): for 10 000 opt-outs the chance that a number which never said STOP
looks opted out is about 4 in 10^12 (50 000: about 1 in a million); the safe side (we do not send).
"""
from __future__ import annotations

import hashlib

import redis

from hotline.store import keys as store

COUNTERS = 1 << 21
K = 8

# ARGV[1]: +1 (add) or -1 (remove); then positions. Adds only a non-member, removes only a member,
# so repeated STOPs or STARTs do not drift the counters.
CHANGE = """
local member = 1
for i = 2, #ARGV do
  if redis.call('BITFIELD_RO', KEYS[1], 'GET', 'u8', '#' .. ARGV[i])[1] == 0 then member = 0 break end
end
if (ARGV[1] == '1' and member == 1) or (ARGV[1] == '-1' and member == 0) then return 0 end
for i = 2, #ARGV do
  redis.call('BITFIELD', KEYS[1], 'OVERFLOW', 'SAT', 'INCRBY', 'u8', '#' .. ARGV[i], ARGV[1])
end
return 1
"""


def positions(h: str) -> list[int]:
    digest = hashlib.sha256(f"optout|{h}".encode()).digest()
    return [int.from_bytes(digest[4 * i:4 * i + 4], "big") % COUNTERS for i in range(K)]


def add(r: redis.Redis, h: str) -> bool:
    return bool(r.eval(CHANGE, 1, store.OPTOUT_FILTER, 1, *positions(h)))


def remove(r: redis.Redis, h: str) -> bool:
    return bool(r.eval(CHANGE, 1, store.OPTOUT_FILTER, -1, *positions(h)))


def _read_args(h: str) -> list:
    args: list = [store.OPTOUT_FILTER]
    for p in positions(h):
        args += ["GET", "u8", f"#{p}"]
    return args


def contains(r: redis.Redis, h: str) -> bool:
    return member(r.execute_command("BITFIELD_RO", *_read_args(h)))


def queue_test(pipe, h: str) -> None:
    """The same read inside a pipeline (sender.permit reads it with the day's count; a plain command,
    so it also works in a Cluster pipeline, which cannot run scripts). Read the reply with member()."""
    pipe.execute_command("BITFIELD_RO", *_read_args(h))


def member(counters: list | None) -> bool:
    return bool(counters) and all(int(c) > 0 for c in counters)
