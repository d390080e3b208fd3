"""Part 2: reminder dispatch. N reminders due at once, sent by 1 and by 2 `hotline worker --once`
processes against a fake Twilio on loopback; every reminder must reach the fake exactly once.

Also measured: each fake's own ceiling (a trivial client posting valid messages as fast as it can),
so it is clear which limit a dispatch figure hit, and dispatch against a fake that takes as long as
the real API does (BENCH_TWILIO_LATENCY_MS), where the requests in flight, not the worker's CPU, set the pace.
"""
from __future__ import annotations

import base64
import multiprocessing as mp
import selectors
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from .common import (
    DAYTIME,
    FROM_NUMBER,
    OUT,
    PUBLIC,
    ROOT,
    SECRET,
    SID,
    TOKEN,
    RedisServer,
    hotline_env,
    stop_process,
    total_cpu_seconds,
)

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

POPULATE_AT = "2026-12-05T11:00:00+05:00"  # subscribe then: reminders at 7 Dec 10:00 and 8 Dec 10:00
START = date(2026, 12, 3)                   # arrival 3 Dec: filing deadline 8 Dec


@contextmanager
def fake_twilio(kind: str = "fast", procs: int = 1, delay: float = 0.0, out: Path | None = None):
    """Run a fake (bench/fakes.py) in its own process(es); yields (url, out_dir, pids)."""
    out = out or OUT / f"fake-{kind}-{time.time_ns()}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "bench.fakes", "--kind", kind, "--procs", str(procs), "--out", str(out)]
    if delay:
        cmd += ["--delay", str(delay)]
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "fakes.log", "ab") as errlog:  # broken pipes when the ceiling client stops are noise
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=errlog, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("READY"):
        stop_process(proc)
        raise RuntimeError("fake Twilio did not start")
    url = line.split()[1]
    info = {"proc": proc, "out": out}
    try:
        yield url, info
    finally:
        stop_process(proc)


def fake_cpu(info: dict) -> float:
    return total_cpu_seconds([info["proc"].pid] + _children(info["proc"].pid))


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def received(out: Path) -> tuple[list[str], float, float]:
    """Every To number the fake accepted, and the times of its first and last message."""
    numbers: list[str] = []
    first, last = float("inf"), 0.0
    for f in sorted(out.glob("to-*.txt")):
        lines = f.read_text().splitlines()
        if lines and lines[0].startswith("#"):
            a, b = (float(x) for x in lines[0][1:].split())
            if b:
                first, last = min(first, a), max(last, b)
            lines = lines[1:]
        numbers += lines
    return numbers, first, last


# ---- the fake's own ceiling -----------------------------------------------------------------------

def ceiling(url: str, seconds: float = 4.0, conns: int = 16) -> dict:
    """Closed loop with `conns` connections posting valid messages (keep-alive when the fake allows)."""
    u = urlsplit(url)
    path = f"/2010-04-01/Accounts/{SID}/Messages.json"
    auth = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    body = urlencode({"To": "+77011234567", "From": FROM_NUMBER, "Body": "Reminder: your deadline is 8 December."})
    req = (f"POST {path} HTTP/1.1\r\nHost: {u.netloc}\r\nAuthorization: Basic {auth}\r\n"
           f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()
    sel = selectors.DefaultSelector()
    state: dict[socket.socket, bytearray] = {}
    done = 0
    errors = 0

    def open_one() -> None:
        s = socket.create_connection((u.hostname, u.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel.register(s, selectors.EVENT_READ)
        state[s] = bytearray()
        s.sendall(req)

    for _ in range(conns):
        open_one()
    t0 = time.perf_counter()
    c0 = time.process_time()
    end = t0 + seconds
    while time.perf_counter() < end:
        for key, _ in sel.select(0.1):
            s = key.fileobj
            chunk = s.recv(65536)
            buf = state[s]
            buf += chunk
            head_end = buf.find(b"\r\n\r\n")
            if not chunk or head_end < 0:
                if not chunk:
                    sel.unregister(s)
                    s.close()
                    del state[s]
                    open_one()
                continue
            head = bytes(buf[:head_end]).lower()
            length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            if len(buf) < head_end + 4 + length:
                continue
            done += 1
            if not head.startswith(b"http/1.1 201") and not head.startswith(b"http/1.0 201"):
                errors += 1
            if b"connection: close" in head or head.startswith(b"http/1.0"):
                sel.unregister(s)
                s.close()
                del state[s]
                open_one()
            else:
                buf.clear()
                s.sendall(req)
    elapsed = time.perf_counter() - t0
    client_cpu = time.process_time() - c0
    for s in list(state):
        s.close()
    return {"msgs_per_s": done / elapsed, "errors": errors, "client_cpu_share": client_cpu / elapsed, "conns": conns}


# ---- populating ---------------------------------------------------------------------------------

_VAULT = None


def _encrypt(numbers: list[str]) -> list[str]:
    return [_VAULT.encrypt(n) for n in numbers]  # type: ignore[union-attr]


class Clock:
    """A hotline CLOCK the bench sets by hand."""

    def __init__(self, iso: str = POPULATE_AT) -> None:
        self.now = datetime.fromisoformat(iso)

    def __call__(self) -> datetime:
        return self.now


def due_hotline(redis_url: str, twilio_url: str, n: int, prefix: str, data_dir: Path) -> Hotline:
    """A hotline on `redis_url` sending to the fake at `twilio_url`, with N subscribers (filing, arrived
    3 Dec) whose first reminder is due now (its clock at 7 Dec 11:00)."""
    from hotline import create_app

    from .populate import bulk_subscribe, numbers

    clock = Clock()
    app = create_app({"REDIS_URL": redis_url, "CLOCK": clock, "HOTLINE_SECRET_KEY": SECRET,
                      "HOTLINE_CONTENT_DIR": str(ROOT), "HOTLINE_DATA_DIR": str(data_dir),
                      "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_API_URL": twilio_url,
                      "TWILIO_FROM_NUMBER": FROM_NUMBER, "PUBLIC_URL": PUBLIC})
    hl = app.extensions["hotline"]
    bulk_subscribe(hl, numbers(n, prefix), "ru", "filing", START, backend="resp")
    clock.now = datetime.fromisoformat("2026-12-07T11:00:00+05:00")
    return hl


def populate_due(redis_url: str, n: int, prefix: str = "+7707") -> tuple[list[str], float]:
    """N new subscribers (filing, arrived 3 Dec), each with one reminder due at DAYTIME; returns (numbers, seconds).

    Numbers are encrypted in two processes, then written as raw RESP (bench/populate.py)."""
    global _VAULT
    from hotline import create_app

    from .populate import bulk_subscribe, numbers

    t0 = time.perf_counter()
    app = create_app({"REDIS_URL": redis_url, "CLOCK": Clock(), "HOTLINE_SECRET_KEY": SECRET,
                      "HOTLINE_CONTENT_DIR": str(ROOT), "HOTLINE_DATA_DIR": str(OUT / "var"), "TWILIO_AUTH_TOKEN": TOKEN})
    hl = app.extensions["hotline"]
    nums = numbers(n, prefix)
    _VAULT = hl.vault
    step = max(1, len(nums) // 8)
    with mp.get_context("fork").Pool(2) as pool:
        tokens = [t for part in pool.map(_encrypt, [nums[i:i + step] for i in range(0, len(nums), step)]) for t in part]
    bulk_subscribe(hl, nums, "ru", "filing", START, backend="resp", tokens=tokens)
    hl.redis.close()
    return nums, time.perf_counter() - t0


# ---- dispatch -------------------------------------------------------------------------------------

def dispatch(redis: RedisServer, n: int, workers: int, fake_kind: str = "fast", delay: float = 0.0,
             threads: int | None = None, log=print) -> dict:
    """Fresh data, N due reminders, `workers` worker processes; times them and checks exactly-once at the fake."""
    redis.client.flushall()
    nums, populate_s = populate_due(redis.url, n)
    with fake_twilio(fake_kind, 1, delay) as (url, info):
        env = hotline_env(redis.url, twilio_url=url, clock_start=DAYTIME, data_dir=OUT / "var-worker")
        if threads:
            env["HOTLINE_WORKER_IN_FLIGHT"] = str(threads)
        cmd = [sys.executable, "-m", "hotline.cli", "worker", "--once"]
        t0 = time.time()
        procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(workers)]
        outs = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=3600)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            outs.append((p.returncode, out.strip(), err[-1500:] if p.returncode else ""))
        t1 = time.time()
        fcpu = fake_cpu(info)
    got, first, last = received(info["out"])
    unique = set(got)
    leftover_due = sum(redis.client.zcount(f"hl:due:{{r{s}}}", "-inf", datetime.fromisoformat(DAYTIME).timestamp())
                       for s in range(16))
    inflight = sum(redis.client.zcard(f"hl:inflight:{{r{s}}}") for s in range(16))
    ok = len(got) == n and unique == set(nums) and all(rc == 0 for rc, _, _ in outs)
    wall = t1 - t0
    window = (last - first) if last > first else float("nan")
    result = {"reminders": n, "workers": workers, "fake": fake_kind, "fake_delay_ms": delay * 1000,
              "threads": threads or 32,
              "wall_s": wall, "msgs_per_s": n / wall, "first_to_last_s": window,
              "msgs_per_s_sending": (n - 1) / window if window == window and window > 0 else float("nan"),
              "startup_to_first_s": first - t0 if first != float("inf") else float("nan"),
              "received": len(got), "unique": len(unique), "exactly_once": ok, "left_due": leftover_due,
              "left_inflight": inflight, "reports": [o for _, o, _ in outs], "errors": [e for _, _, e in outs if e],
              "populate_s": populate_s, "fake_cpu_ms_per_msg": fcpu / max(1, len(got)) * 1000}
    log(f"  dispatch {n} with {workers} worker(s) x {threads or 32} in flight, fake {fake_kind} {delay * 1000:.0f} ms: "
        f"{result['msgs_per_s']:.0f}/s overall, {result['msgs_per_s_sending']:.0f}/s while sending, "
        f"exactly once: {ok} ({len(got)} received, {len(unique)} unique)")
    return result


def run(n: int, latency_n: int, latency_ms: float, log=print) -> dict:
    out: dict = {"n": n}
    log("dispatch: fake ceilings")
    ceilings = {}
    for kind in ("tests", "fast"):
        with fake_twilio(kind) as (url, info):
            c0 = fake_cpu(info)
            res = ceiling(url)
            res["fake_cpu_share"] = (fake_cpu(info) - c0) / 4.0
            ceilings[kind] = res
        log(f"  {kind}: {res['msgs_per_s']:.0f} msgs/s (client used {res['client_cpu_share']:.0%} of a core)")
    out["ceilings"] = ceilings
    workdir = OUT / "redis-dispatch"
    shutil.rmtree(workdir, ignore_errors=True)
    redis = RedisServer(workdir, aof=True)
    try:
        out["one"] = dispatch(redis, n, 1, log=log)
        out["two"] = dispatch(redis, n, 2, log=log)
        if latency_n:
            out["latency"] = [dispatch(redis, latency_n, 1, delay=latency_ms / 1000, threads=t, log=log) for t in (8, 32, 64)]
    finally:
        redis.stop()
    return out
