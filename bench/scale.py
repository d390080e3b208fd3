"""Part 3: what scheduling costs as it grows. At each size (scheduled reminders; two per subscriber,
as the filing rule gives): Redis memory per subscriber and per reminder (INFO used_memory before and
after), the cost of one worker poll with nothing due (`reminders.run_once`) and of claiming 100 due
reminders (`schedule.claim_jobs`, which reads their data in the same script, then the subscriber and opt-out
reads the worker's mark step adds for them), medians of many runs.
"""
from __future__ import annotations

import json
import shutil
import statistics
import time
from datetime import date, datetime

from hotline import create_app, reminders
from hotline.store import keys as store
from hotline.store import optout_filter, schedule

from .common import OUT, ROOT, SECRET, TOKEN, RedisServer
from .dispatch import START, Clock
from .populate import bulk_subscribe, numbers

NOTHING_DUE = "2026-12-05T11:00:00+05:00"   # subscribed now; first reminders at 7 Dec 10:00
ALL_DUE = "2026-12-07T11:00:00+05:00"       # one reminder of everyone is due
PAST = date(2026, 11, 20)                    # a deadline already gone: a subscriber with no reminder left


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def measure(size: int, reps: int, log=print) -> dict:
    workdir = OUT / "redis-scale"
    shutil.rmtree(workdir, ignore_errors=True)
    redis = RedisServer(workdir, aof=False)
    clock = Clock(NOTHING_DUE)
    try:
        app = create_app({"REDIS_URL": redis.url, "CLOCK": clock, "HOTLINE_SECRET_KEY": SECRET, "TWILIO_AUTH_TOKEN": TOKEN,
                          "HOTLINE_CONTENT_DIR": str(ROOT), "HOTLINE_DATA_DIR": str(OUT / "var-scale")})
        hl = app.extensions["hotline"]
        r = redis.client
        people = size // 2
        nums = numbers(people, "+7708")
        tokens = [hl.vault.encrypt(n) for n in nums[:1000]]  # real tokens, reused: same size, nothing is sent
        m0 = redis.used_memory()
        t0 = time.perf_counter()
        bulk_subscribe(hl, nums, "ru", "filing", PAST, backend="resp", tokens=tokens)  # subscribers, no reminders
        m1 = redis.used_memory()
        _, scheduled = bulk_subscribe(hl, nums, "ru", "filing", START, backend="resp", tokens=tokens)  # + 2 each
        m2 = redis.used_memory()
        populate_s = time.perf_counter() - t0
        assert scheduled == size, (scheduled, size)
        assert sum(r.zcard(store.due(s)) for s in range(store.SHARDS)) == size
        res = {"size": size, "subscribers": people, "populate_s": populate_s,
               "bytes_per_subscriber": (m1 - m0) / people, "bytes_per_reminder": (m2 - m1) / size,
               "bytes_per_subscriber_with_reminders": (m2 - m0) / people, "used_memory_mb": m2 / 2**20}
        # A poll with nothing due: what every idle worker does every few seconds.
        reminders.run_once(hl)
        polls = []
        for _ in range(reps):
            t = time.perf_counter()
            rep = reminders.run_once(hl)
            polls.append(time.perf_counter() - t)
            assert rep.sent == 0
        res["poll_ms"] = _median_ms(polls)
        # Claiming 100 due reminders (then putting them back, untimed, so every repetition is the same).
        clock.now = datetime.fromisoformat(ALL_DUE)
        now = clock.now.timestamp()
        claims, reads = [], []
        for i in range(reps):
            shard = i % store.SHARDS
            t = time.perf_counter()
            ids, jobs, _ = schedule.claim_jobs(r, shard, now, schedule.BATCH)  # the claim reads their data too
            claims.append(time.perf_counter() - t)
            t = time.perf_counter()
            pipe = r.pipeline(transaction=False)  # what the mark step reads for them: subscriber and permit
            for raw in jobs:
                h = json.loads(raw)["person"]
                pipe.hgetall(store.subscriber(h))
                optout_filter.queue_test(pipe, h)
            pipe.execute()
            reads.append(time.perf_counter() - t)
            assert ids
            due_at = datetime.fromisoformat("2026-12-07T10:00:00+05:00").timestamp()
            pipe = r.pipeline(transaction=False)
            pipe.zrem(store.inflight(shard), *ids)
            pipe.zadd(store.due(shard), {rid: due_at for rid in ids})
            pipe.execute()
        res["claim100_ms"] = _median_ms(claims)
        res["batch_read100_ms"] = _median_ms(reads)
        res["reps"] = reps
        hl.redis.close()
        log(f"  {size:>9,} reminders ({people:,} subscribers, written in {populate_s:.1f} s): "
            f"{res['bytes_per_subscriber']:.0f} B/subscriber, {res['bytes_per_reminder']:.0f} B/reminder, "
            f"poll {res['poll_ms']:.2f} ms, claim 100 {res['claim100_ms']:.2f} ms, read 100 {res['batch_read100_ms']:.2f} ms")
        return res
    finally:
        redis.stop()


def run(sizes: list[int], reps: int, log=print) -> dict:
    return {"sizes": [measure(s, reps, log) for s in sizes]}
