"""Writing many subscribers fast: `reminders.subscribe` for new people, in bulk.

`reminders.subscribe` makes several round trips per person (it first replaces any earlier
subscription); for a benchmark with a million reminders that alone would take longer than the
whole budget. `bulk_subscribe` writes what `subscribe` writes for a person who has no earlier
data: the same keys, fields, JSON, scores and TTLs (reusing its `plan`, `job_id`, the key names of
`store` and the Vault), as a stream of commands sent either through a redis-py pipeline
(`backend="pipeline"`, works on Redis Cluster too) or as raw RESP over one socket
(`backend="resp"`, ~10x faster, a single Redis only). `snapshot` is how the tests prove that
both write exactly what `subscribe` writes (bench/test_populate.py, run by `make bench`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from hotline import reminders
from hotline.rules import deadlines as dl
from hotline.rules.phones import in_regions, normalise
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import optout_filter

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

_E164_KZ = re.compile(r"^\+7\d{10}$")


def numbers(count: int, prefix: str = "+7707", first: int = 0) -> list[str]:
    """`count` (at most 10 million) distinct Kazakh mobile numbers: `prefix` (+7 and 3 digits) and 7 digits."""
    return [f"{prefix}{i:07d}" for i in range(first, first + count)]


def _commands(hl: "Hotline", batch: Sequence[str], lang: str, rule_id: str, start: date, channel: str,
              tokens: Sequence[str] | None) -> Iterator[tuple]:
    """The commands `subscribe` would run for each (new) person of `batch`, per-shard writes merged."""
    policy = hl.content.policy
    rule = policy.rules[rule_id]
    schedule = reminders.plan(hl, rule_id, start)  # the same for everyone with this rule and start date
    now = hl.now()
    consent = json.dumps({"at": now.isoformat(timespec="seconds"), "channel": channel, "lang": lang, "rule": rule_id,
                          "start": start.isoformat(), "deadline": schedule.deadline.isoformat(), "via": "sms"})
    keep = max(int((dl.purge_after(rule, start, policy) - now).total_seconds()), 1)
    end = dl.deadline_end(rule, start, policy).timestamp()
    deadline = schedule.deadline.isoformat()
    hash_key = hl.vault._hash_key  # Vault.hash without re-parsing numbers we know are E.164 (checked below)
    jobs: dict[int, list[str]] = defaultdict(list)
    due: dict[int, list[str]] = defaultdict(list)
    for i, e164 in enumerate(batch):
        if not _E164_KZ.match(e164):
            raise reminders.NotAllowed(e164)
        h = hmac.new(hash_key, e164.encode(), hashlib.sha256).hexdigest()[:32]
        if i == 0 and h != hl.vault.hash(e164):
            raise AssertionError("bench hashing no longer matches Vault.hash")
        shard = store.shard_of(h)
        phone = tokens[i % len(tokens)] if tokens else hl.vault.encrypt(e164)
        yield ("EVAL", optout_filter.CHANGE, 1, store.OPTOUT_FILTER, -1, *optout_filter.positions(h))  # lifts a STOP
        yield ("HSET", store.subscriber(h), "phone", phone, "lang", lang, f"rule:{rule_id}", consent)
        yield ("EXPIRE", store.subscriber(h), keep)
        ids = []
        for at in schedule.times:
            rid = reminders.job_id(h, rule_id, start, at)
            job = {"person": h, "rule": rule_id, "lang": lang, "deadline": deadline, "deadline_end": end, "attempts": 0}
            jobs[shard] += (rid, json.dumps(job))
            due[shard] += (repr(at.timestamp()), rid)
            ids.append(rid)
        if ids:
            yield ("SADD", store.person_jobs(shard, h), *ids)
        yield ("EXPIRE", store.person_jobs(shard, h), keep)
    for shard, fields in jobs.items():
        yield ("HSET", store.jobs(shard), *fields)
    for shard, pairs in due.items():
        yield ("ZADD", store.due(shard), *pairs)


def bulk_subscribe(hl: "Hotline", numbers: Iterable[str], lang: str, rule_id: str, start: date, channel: str = "sms",
                   chunk: int = 2000, backend: str = "pipeline", tokens: Sequence[str] | None = None) -> tuple[int, int]:
    """Subscribe every number (E.164, none subscribed before) to `rule_id` from `start`.

    `tokens`: the encrypted numbers, one per number (encrypted beforehand, e.g. in parallel), or a
    few to reuse in turn (same size; for memory measurements where nothing is sent).
    Returns (people, reminders scheduled).
    """
    numbers = list(numbers)
    if numbers and (normalise(numbers[0]) != numbers[0]
                    or not in_regions(numbers[0], hl.content.settings.allowed_regions)):
        raise reminders.NotAllowed(numbers[0])
    per_person = len(reminders.plan(hl, rule_id, start).times)
    sink = _RespSink(hl.redis) if backend == "resp" else _PipelineSink(hl.redis)
    try:
        for i in range(0, len(numbers), chunk):
            own = tokens[i:i + chunk] if tokens and len(tokens) == len(numbers) else tokens
            for cmd in _commands(hl, numbers[i:i + chunk], lang, rule_id, start, channel, own):
                sink.add(cmd)
            sink.flush()
    finally:
        sink.close()
    stats.count("reminders.optin", hl, len(numbers))
    stats.count(f"reminders.optin.{channel}", hl, len(numbers))
    return len(numbers), len(numbers) * per_person


class _PipelineSink:
    def __init__(self, r) -> None:
        self.pipe = r.pipeline(transaction=False)

    def add(self, cmd: tuple) -> None:
        self.pipe.execute_command(*cmd)

    def flush(self) -> None:
        self.pipe.execute()

    def close(self) -> None:
        pass


class _RespSink:
    """Raw RESP over one socket to the same server as `r` (every reply here is one line: :n or -ERR)."""

    def __init__(self, r) -> None:
        kw = r.connection_pool.connection_kwargs
        if kw.get("path"):
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(kw["path"])
        else:
            self.sock = socket.create_connection((kw.get("host", "127.0.0.1"), kw.get("port", 6379)))
        self.buf: list[bytes] = []
        self.n = 0      # commands in the chunk being built
        self.sent = 0   # replies owed for everything sent
        self.got = 0    # replies read
        self.rest = b""
        if kw.get("db"):
            self.add(("SELECT", kw["db"]))
            self.flush()

    @staticmethod
    def _encode(cmd: tuple) -> bytes:
        parts = [b"*%d\r\n" % len(cmd)]
        for a in cmd:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(parts)

    def add(self, cmd: tuple) -> None:
        self.buf.append(self._encode(cmd))
        self.n += 1

    def _read_until(self, total: int) -> None:
        errors: list[bytes] = []
        while self.got < total:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            self.rest += chunk
            *done, self.rest = self.rest.split(b"\r\n")
            self.got += len(done)
            errors += [line for line in done if line.startswith(b"-")]
        if errors:
            raise RuntimeError(f"Redis refused {len(errors)} bulk write(s): {errors[0][:200]!r}")

    def flush(self) -> None:
        """Send this chunk, then read the replies to the chunks before it (Redis works while we encode)."""
        owed_before = self.sent
        if self.n:
            self.sock.sendall(b"".join(self.buf))
            self.sent += self.n
        self._read_until(owed_before)
        self.buf, self.n = [], 0

    def close(self) -> None:
        try:
            self.flush()
            self._read_until(self.sent)
        finally:
            self.sock.close()


def snapshot(hl: "Hotline", number: str) -> dict:
    """Everything stored for one subscriber and their reminders, comparable across two writes
    (the encrypted number decrypted, since Fernet tokens differ each time; TTLs to the minute)."""
    r = hl.redis
    h = hl.vault.hash(number)
    shard = store.shard_of(h)
    sub = r.hgetall(store.subscriber(h))
    if "phone" in sub:
        sub["phone"] = hl.vault.decrypt(sub["phone"])
    ids = sorted(r.smembers(store.person_jobs(shard, h)))
    return {
        "optout": optout_filter.contains(r, h),
        "sub": sub,
        "sub_ttl_min": round(r.ttl(store.subscriber(h)) / 60),
        "pjobs": ids,
        "pjobs_ttl_min": round(r.ttl(store.person_jobs(shard, h)) / 60),
        "job_raw": {rid: r.hget(store.jobs(shard), rid) for rid in ids},
        "due": {rid: r.zscore(store.due(shard), rid) for rid in ids},
        "types": [r.type(k) for k in (store.subscriber(h), store.jobs(shard), store.due(shard),
                                      store.person_jobs(shard, h))],
    }
