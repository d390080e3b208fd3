"""Soak: a steady mixed load of calls, texts and reminders on the real servers for SOAK_SECONDS (600).

gunicorn (2 workers x 4 threads) and a `hotline worker` process on a Redis of our own, Twilio played
by FakeTwilio. Every sample interval (30 s) we record request latency, errors, the RSS of the web
processes and of the worker, and Redis used_memory and key count. After a warm-up, memory must not
keep growing (last third against first third) and nothing may fail; a report goes to
bench/out/soak.txt. Run with `make soak` (pytest -m soak --run-soak); skipped otherwise.
"""
from __future__ import annotations

import itertools
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import redis
import requests
from twilio.request_validator import RequestValidator

from support import FIXTURE, ROOT, SECRET, SUMMARY, FakeTwilio, full_numbers, start_redis
from support.server import free_port

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
SAMPLE = min(30.0, max(2.0, SECONDS / 12))
THREADS = 4
NUMBERS = [f"+7705{i:07d}" for i in range(3000)]  # enough people that few reach the daily cap
RSS_GROWTH = 0.25        # last third may be at most 25% above the first third (after warm-up)
PER_KEY_GROWTH = 0.25    # Redis bytes per key likewise: data grows with people, not per key
LATENCY_LIMIT = 5.0      # seconds, any single webhook
# Keys that may live without a TTL: one opt-out flag per person who said STOP (a keyed hash, kept so
# STOP holds), the 16 reminder shards (entries leave when sent or dropped), the capped outbox.
BOUNDED = {"optout", "due", "jobs", "inflight", "state", "outbox", "content"}
REPORT = ROOT / "bench" / "out" / "soak.txt"
TOKEN = "soak-auth-token-0123456789abcdef"


@dataclass
class Window:
    """What happened between two samples."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Load:
    """Client threads playing Twilio: signed webhooks over HTTP, as fast as the servers answer."""

    def __init__(self, base: str, fake: FakeTwilio) -> None:
        self.base, self.fake = base, fake
        self.validator = RequestValidator(TOKEN)
        self.window = Window()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.people = itertools.cycle(random.Random(7).sample(NUMBERS, len(NUMBERS)))
        self.calls = itertools.count()

    def post(self, http: requests.Session, path: str, form: dict) -> requests.Response | None:
        sig = self.validator.compute_signature(self.base + path, form)
        start = time.monotonic()
        try:
            resp = http.post(self.base + path, data=form, headers={"X-Twilio-Signature": sig}, timeout=20)
        except requests.RequestException as exc:
            self.record(time.monotonic() - start, f"{path}: {type(exc).__name__}")
            return None
        ok = resp.status_code in (200, 204) and (resp.status_code == 204 or resp.content.startswith(b"<?xml"))
        self.record(time.monotonic() - start, "" if ok else f"{path}: HTTP {resp.status_code}")
        return resp if ok else None

    def record(self, seconds: float, error: str) -> None:
        with self.lock:
            self.window.latencies.append(seconds)
            if error:
                self.window.errors.append(error)

    def take(self) -> Window:
        with self.lock:
            window, self.window = self.window, Window()
        return window

    def call(self, http: requests.Session, number: str, keys: list[str]) -> None:
        form = {"CallSid": f"CA{next(self.calls):032d}", "From": number, "To": "+77000000000"}
        resp = self.post(http, "/voice", form)
        for digits in keys:
            if resp is None:
                return
            gather = ET.fromstring(resp.content).find("Gather")
            if gather is None:
                break
            resp = self.post(http, gather.get("action"), {**form, "Digits": digits})
        self.post(http, "/voice/status", {**form, "CallStatus": "completed"})

    def sms(self, http: requests.Session, number: str, body: str) -> None:
        self.post(http, "/sms", {"From": number, "To": "+77000000000", "Body": body, "MessageSid": "SM" + "0" * 32})

    def scenario(self, http: requests.Session, i: int) -> None:
        number = next(self.people)
        kind = i % 6
        if kind == 0:  # information by phone, and "send me this"
            self.call(http, number, ["3", "1", "2", "8", "0", "5", "#"])
        elif kind == 1:  # a Kazakh caller (synthesised speech) opting in to reminders by phone
            self.call(http, number, ["1", "7", "1", "0312", "1"])
        elif kind == 2:  # opting in by SMS
            self.sms(http, number, "НАПОМНИ 3.12")
            self.sms(http, number, "ДА")
        elif kind == 3:  # information by SMS
            self.sms(http, number, random.choice(["HELP", "АДРЕС Алматы", "МЕРЗІМ", "RIGHTS"]))
        elif kind == 4:  # STOP, and back
            self.sms(http, number, "СТОП")
            self.sms(http, number, "СТАРТ")
        else:  # delivery receipts for what was sent
            for req in self.fake.requests[-3:]:
                self.post(http, "/sms/status", {"MessageSid": req["sid"], "MessageStatus": "delivered"})

    def run(self) -> None:
        http = requests.Session()
        for i in itertools.count(random.randrange(6)):
            if self.stop.is_set():
                return
            self.scenario(http, i)


def rss(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def thirds(values: list[float]) -> tuple[float, float]:
    n = max(len(values) // 3, 1)
    return statistics.mean(values[:n]), statistics.mean(values[-n:])


def test_soak(tmp_path: Path) -> None:
    rproc, sock = start_redis(tmp_path / "redis", "--appendonly", "yes")
    fake = FakeTwilio(token=TOKEN)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "REDIS_URL": f"unix://{sock}", "TWILIO_ACCOUNT_SID": fake.account_sid,
           "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_API_URL": fake.url, "TWILIO_FROM_NUMBER": "+77000000000",
           "PUBLIC_URL": base, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_CONTENT_DIR": str(FIXTURE),
           "HOTLINE_DATA_DIR": str(tmp_path / "var")}
    logs = {name: open(tmp_path / f"{name}.log", "w+") for name in ("web", "worker")}
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--bind",
                            f"127.0.0.1:{port}", "--timeout", "15", "hotline:create_app()"],
                           env={**env, "HOTLINE_CLOCK_START": "2026-12-05T11:00:00+05:00"}, cwd=tmp_path,
                           stdout=logs["web"], stderr=subprocess.STDOUT)
    # The worker lives two days later, at 10:00, when the first reminder of every opt-in is due.
    worker = subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker", "--poll", "1"],
                              env={**env, "HOTLINE_CLOCK_START": "2026-12-07T10:00:00+05:00"}, cwd=tmp_path,
                              stdout=logs["worker"], stderr=subprocess.STDOUT)
    r = redis.Redis(unix_socket_path=sock, decode_responses=True)
    load = Load(base, fake)
    threads = [threading.Thread(target=load.run, daemon=True) for _ in range(THREADS)]
    samples: list[dict] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        web_procs = [psutil.Process(web.pid), *psutil.Process(web.pid).children(recursive=True)]
        worker_proc = psutil.Process(worker.pid)
        for t in threads:
            t.start()
        started = time.monotonic()
        while time.monotonic() - started < SECONDS:
            time.sleep(SAMPLE)
            window = load.take()
            lat = sorted(window.latencies) or [0.0]
            info = r.info("memory")
            samples.append({"t": round(time.monotonic() - started), "requests": len(window.latencies),
                            "errors": window.errors, "p50": lat[len(lat) // 2], "p95": lat[int(len(lat) * 0.95)],
                            "max": lat[-1], "web_rss": rss(web_procs), "worker_rss": rss([worker_proc]),
                            "redis": info["used_memory"], "keys": r.dbsize(), "sent": len(fake.requests)})
            assert web.poll() is None and worker.poll() is None, "a server died"
        forever = sorted({key.split(":")[1] for key in r.scan_iter(count=1000) if r.ttl(key) == -1})
    finally:
        load.stop.set()
        for t in threads:
            t.join(30)
        for p in (web, worker):
            p.send_signal(signal.SIGTERM)
        for p in (web, worker):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        fake.stop()
        rproc.terminate()
        rproc.wait(10)
    server_logs = {name: (f.seek(0), f.read())[1] for name, f in logs.items()}

    steady = samples[1:] if len(samples) > 3 else samples  # the first interval warms caches and pools
    web_first, web_last = thirds([s["web_rss"] for s in steady])
    wrk_first, wrk_last = thirds([s["worker_rss"] for s in steady])
    per_key = [s["redis"] / max(s["keys"], 1) for s in steady]
    key_first, key_last = thirds(per_key)
    errors = [e for s in samples for e in s["errors"]]
    total = sum(s["requests"] for s in samples)
    worst = max(s["max"] for s in samples)
    bad_lines = [line for text in server_logs.values() for line in text.splitlines()
                 if re.search(r"Traceback| ERROR |CRITICAL", line)]
    leaked = [line for text in server_logs.values() for line in text.splitlines() if full_numbers(line)]
    verdicts = {
        f"web RSS: last third {web_last / 2**20:.1f} MB vs first {web_first / 2**20:.1f} MB "
        f"(limit +{RSS_GROWTH:.0%})": web_last <= web_first * (1 + RSS_GROWTH),
        f"worker RSS: last third {wrk_last / 2**20:.1f} MB vs first {wrk_first / 2**20:.1f} MB "
        f"(limit +{RSS_GROWTH:.0%})": wrk_last <= wrk_first * (1 + RSS_GROWTH),
        f"Redis bytes per key: last third {key_last:.0f} vs first {key_first:.0f} "
        f"(limit +{PER_KEY_GROWTH:.0%})": key_last <= key_first * (1 + PER_KEY_GROWTH),
        f"keys kept without a TTL are of bounded kinds only: {', '.join(forever)}": set(forever) <= BOUNDED,
        f"requests: {total}, errors: {len(errors)}": not errors,
        f"slowest webhook: {worst:.2f} s (limit {LATENCY_LIMIT:.0f} s)": worst < LATENCY_LIMIT,
        f"server log lines with a traceback or ERROR: {len(bad_lines)}": not bad_lines,
        f"server log lines with a full phone number: {len(leaked)}": not leaked,
        f"reminders and other SMS sent through Twilio: {samples[-1]['sent'] if samples else 0}":
            bool(samples) and samples[-1]["sent"] > 0,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    rows = ["   t  requests  err    p50 ms   p95 ms   max ms   web MB  worker MB  redis MB     keys  sent"]
    rows += [f"{s['t']:4d}  {s['requests']:8d}  {len(s['errors']):3d}  {s['p50'] * 1000:8.1f} {s['p95'] * 1000:8.1f} "
             f"{s['max'] * 1000:8.1f} {s['web_rss'] / 2**20:8.1f} {s['worker_rss'] / 2**20:10.1f} "
             f"{s['redis'] / 2**20:9.2f} {s['keys']:8d} {s['sent']:5d}" for s in samples]
    REPORT.write_text(
        f"Soak: {SECONDS:.0f} s of calls, texts and reminders; {THREADS} client threads; gunicorn 2x4; "
        f"sampled every {SAMPLE:.0f} s (first sample is warm-up)\n\n" + "\n".join(rows) + "\n\n"
        + "\n".join(f"{'ok  ' if ok else 'FAIL'} {text}" for text, ok in verdicts.items()) + "\n"
        + "".join(f"  error: {e}\n" for e in errors[:20])
        + "".join(f"  log: {line[:200]}\n" for line in bad_lines[:20]))
    SUMMARY.append(f"soak: {total} requests in {SECONDS:.0f} s, {len(errors)} errors, slowest {worst:.2f} s; "
                   f"report in {REPORT.relative_to(ROOT)}")
    assert all(verdicts.values()), REPORT.read_text()
