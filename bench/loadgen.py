"""A load generator that plays many phone calls at once, each a real signed call walking the menu.

How it stays cheap (so it is not the bottleneck): the route through the menu is found once by a
real caller that parses the TwiML (`discover`: it follows each <Gather action>); after that every
call of the load walks the same route with its own CallSid and number, each request signed with
Twilio's RequestValidator as Twilio signs it, built as raw HTTP bytes and sent over non-blocking
sockets from one selector loop per process (no threads, no HTTP library on the hot path). Every
answer is still checked: the status, and that it holds the Gather action the caller presses next
(or, after "8", the "sent you an SMS" prompt), so a caller who is not where it should be is an error.

Closed loop (`closed`): C callers, each sending its next request as soon as the previous answer
arrived. Open loop (`calls_every`): N calls, each sending one request every `period` seconds whatever
the server does; latency is counted from the moment the request was due (no coordinated omission).
"""
from __future__ import annotations

import heapq
import http.client
import itertools
import multiprocessing as mp
import os
import random
import re
import resource
import selectors
import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from .common import PUBLIC, SID, TOKEN

HOTLINE_NUMBER = "+77000000000"
# The walk of Issue 6: language, main menu 1 (where to apply), an office (2), back (*), another office (3),
# "send me this by SMS" (8); then Twilio's status callback when the caller hangs up.
WALK = ("2", "1", "2", "*", "3", "8")


@dataclass
class Step:
    path: str
    digits: str | None          # None: the first webhook, or the status callback
    expect: bytes               # bytes the answer must contain ('' = any)
    status: int = 200
    final: bool = False         # the status callback


@dataclass
class Route:
    lang: str
    steps: list[Step] = field(default_factory=list)


def twilio_form(sid: str, caller: str, digits: str | None = None, status: str = "in-progress") -> dict[str, str]:
    """The parameters Twilio posts to a voice webhook (the usual set, so signing costs what it really costs)."""
    form = {"AccountSid": SID, "ApiVersion": "2010-04-01", "CallSid": sid, "CallStatus": status,
            "Called": HOTLINE_NUMBER, "CalledCountry": "KZ", "Caller": caller, "CallerCountry": "KZ",
            "Direction": "inbound", "From": caller, "FromCountry": "KZ", "To": HOTLINE_NUMBER, "ToCountry": "KZ"}
    if digits is not None:
        form.update({"Digits": digits, "FinishedOnKey": "", "msg": "Gather End"})
    return form


def sign(path: str, form: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC + path, form)


def request_bytes(host: str, path: str, form: dict[str, str], signed: bool = True) -> bytes:
    body = urlencode(form).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n")
    if signed:
        head += f"X-Twilio-Signature: {sign(path, form)}\r\n"
    return (head + "\r\n").encode() + body


def discover(base: str, lang_key: str, walk: tuple[str, ...] = WALK) -> Route:
    """Walk the menu once as a real caller: parse each TwiML answer and follow its Gather action."""
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    sid = "CA" + os.urandom(16).hex()
    caller = "+7705" + f"{random.randrange(10**7):07d}"
    route = Route(lang_key)

    def post(path: str, digits: str | None, status: str = "in-progress") -> bytes:
        form = twilio_form(sid, caller, digits, status)
        conn.request("POST", path, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded",
                                                        "X-Twilio-Signature": sign(path, form)})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status not in (200, 204):
            raise RuntimeError(f"{path}: HTTP {resp.status}: {data[:200]!r}")
        return data

    path, digits = "/voice", None
    for key in (lang_key, *walk[1:], None):
        data = post(path, digits)
        root = ET.fromstring(data)
        gather = root.find("Gather")
        if gather is None:
            raise RuntimeError(f"{path}: no Gather in {data[:300]!r}")
        if digits == "8":  # the answer must say the SMS was sent: its first <Say> is that notice
            expect = re.search(rb"<Say[^>]*>.*?</Say>", data).group(0)  # type: ignore[union-attr]
        else:
            expect = re.search(rb'action="[^"]*"', data).group(0)  # type: ignore[union-attr]
        route.steps.append(Step(path, digits, expect))
        if key is None:
            break
        path, digits = gather.get("action") or "", key
    post("/voice/status", None, "completed")
    route.steps.append(Step("/voice/status", None, b"", 204, final=True))
    conn.close()
    return route


# ---- the hot loop -------------------------------------------------------------------------------

class Caller:
    """One phone line: walks calls one after another, each with a new CallSid and number."""

    __slots__ = ("idx", "route", "reqs", "step", "sock", "buf", "t0", "due", "numbers", "waiting")

    def __init__(self, idx: int, route: Route, numbers) -> None:
        self.idx, self.route, self.numbers = idx, route, numbers
        self.reqs: list[bytes] = []
        self.step = 0
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.t0 = 0.0
        self.due = 0.0
        self.waiting = False  # a request is out and its answer not yet in


def build_call(host: str, route: Route, number: str, bare: bool) -> list[bytes]:
    sid = "CA" + os.urandom(16).hex()
    out = []
    for st in route.steps:
        form = twilio_form(sid, number, st.digits, "completed" if st.final else "in-progress")
        out.append(request_bytes(host, st.path, form))  # signed in both modes: the same cost here
    return out


def _parse(buf: bytearray) -> tuple[int, int, bool] | None:
    """(status, total length, close?) once the whole response is in `buf`, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).decode("latin-1")
    lines = head.split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        lname = name.strip().lower()
        if lname == "content-length":
            length = int(value)
        elif lname == "connection" and value.strip().lower() == "close":
            close = True
    total = end + 4 + length
    return (status, total, close) if len(buf) >= total else None


def _worker(conn, mode: str, host: str, port: int, routes: list[Route], n: int, warm: float,
            duration: float, period: float, bare: bool, proc_index: int, run_id: int, prebuild: int) -> None:
    rnd = random.Random(run_id * 100 + proc_index)
    sel = selectors.DefaultSelector()
    # Every call of the whole benchmark has its own number: a number seen before would be a returning
    # caller (straight to the main menu) and would count against that number's daily SMS cap.
    numbers = (f"+77{run_id % 100:02d}{proc_index % 10}{i:06d}" for i in itertools.count())
    callers = [Caller(i, routes[i % len(routes)], numbers) for i in range(n)]
    # Calls are signed and built before the clock starts, so the measured loop only moves bytes.
    pools = {id(r): [build_call(f"{host}:{port}", r, next(numbers), bare) for _ in range(prebuild // len(routes) + 1)]
             for r in routes}
    conn.send("ready")
    start_at = conn.recv()
    lat: list[list[float]] = [[] for _ in range(max(len(r.steps) for r in routes))]
    lag: list[float] = []  # open loop: how late the generator itself sent each request (its own CPU)
    sent: list[float] = []  # open loop: latency from the moment a request was sent (the server's share)
    errors: dict[str, int] = {}
    done = 0
    t_measure, t_end = start_at + warm, start_at + warm + duration
    heap: list[tuple[float, int]] = []

    def err(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def new_call(c: Caller, first_step: int = 0) -> None:
        pool = pools[id(c.route)]
        c.reqs = pool.pop() if pool else build_call(f"{host}:{port}", c.route, next(numbers), bare)
        c.step = first_step

    def send(c: Caller, due: float) -> None:
        if c.sock is None:
            try:
                s = socket.create_connection((host, port), timeout=30)
            except OSError:
                err("connect")
                c.sock = None
                schedule(c, time.perf_counter() + 0.05)
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.sock = s
            sel.register(s, selectors.EVENT_READ, c)
        c.buf.clear()
        c.due = due
        c.t0 = time.perf_counter()
        if t_measure <= due < t_end:
            lag.append(c.t0 - due)
        try:
            c.sock.sendall(c.reqs[c.step])
            c.waiting = True
        except OSError:
            drop(c)
            err("send")
            schedule(c, time.perf_counter() + 0.05)

    def drop(c: Caller) -> None:
        if c.sock is not None:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            c.sock = None

    def schedule(c: Caller, at: float) -> None:
        heapq.heappush(heap, (at, c.idx))

    def advance(c: Caller) -> None:
        c.step += 1
        if c.step >= len(c.reqs):
            new_call(c)

    # Start: closed loop sends at once; open loop spreads the calls evenly over one period, each at a random step.
    for c in callers:
        if mode == "closed":
            new_call(c)
            schedule(c, start_at)
        else:
            new_call(c, rnd.randrange(len(c.route.steps)))
            schedule(c, start_at + rnd.random() * period)
    cpu0 = None
    while True:
        now = time.perf_counter()
        if cpu0 is None and now >= t_measure:
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        if now >= t_end:
            break
        while heap and heap[0][0] <= now:
            at, i = heapq.heappop(heap)
            send(callers[i], at)
        timeout = min(t_end, heap[0][0] if heap else t_end) - time.perf_counter()
        for key, _ in sel.select(max(0.0, timeout)):
            c: Caller = key.data
            try:
                chunk = c.sock.recv(65536)  # type: ignore[union-attr]
            except OSError:
                chunk = b""
            if not chunk:
                drop(c)
                if c.waiting:  # closed before it answered: an error, and the request goes again
                    c.waiting = False
                    err("closed")
                    schedule(c, time.perf_counter() + 0.01)
                # else an idle keep-alive connection the server let go (gthread's keepalive, a few
                # seconds, is shorter than an open-loop call's 10 s between requests): its next request,
                # already scheduled, opens a new one, as Twilio would.
                continue
            c.buf += chunk
            parsed = _parse(c.buf)
            if parsed is None:
                continue
            status, total, close = parsed
            c.waiting = False
            t1 = time.perf_counter()
            st = c.route.steps[c.step]
            ok = status == (200 if bare else st.status) and (bare or st.expect in c.buf[:total])
            start_ref = c.due if mode == "open" else c.t0
            if ok and start_ref >= t_measure and t1 <= t_end:
                lat[c.step].append(t1 - start_ref)
                if mode == "open":
                    sent.append(t1 - c.t0)
                done += 1
            elif not ok:
                err(f"step{c.step}:HTTP{status}")
            if close:
                drop(c)
            advance(c)
            if mode == "closed":
                send(c, t1)
            else:
                schedule(c, max(c.due + period, t1))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for c in callers:
        drop(c)
    cpu = 0.0 if cpu0 is None else (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    conn.send({"lat": lat, "errors": errors, "done": done, "cpu": cpu, "lag": lag, "sent": sent})
    conn.close()


@dataclass
class Result:
    mode: str
    concurrency: int
    duration: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    gen_cpu_s: float
    per_step_p50_ms: list[float]
    cpu_s: dict[str, float] = field(default_factory=dict)
    send_lag_p99_ms: float = float("nan")  # open loop: p99 of how late the generator sent a request
    p99_from_send_ms: float = float("nan")  # open loop: p99 counted from the send, not from the due time

    def row(self) -> dict:
        return self.__dict__


_runs = itertools.count(1)


def run(base: str, routes: list[Route], n: int, mode: str = "closed", warm: float = 2.0, duration: float = 8.0,
        period: float = 10.0, procs: int = 1, bare: bool = False, expect_rps: float = 2000,
        watch: dict[str, list[int]] | None = None) -> Result:
    """Play `n` callers (closed loop) or `n` calls sending every `period` s (open loop) for warm+duration s."""
    from .common import percentile
    u = urlsplit(base)
    procs = max(1, min(procs, n))
    run_id = next(_runs)
    ctx = mp.get_context("fork")
    steps_per_call = len(routes[0].steps)
    if mode == "closed":
        prebuild = int(expect_rps * (warm + duration) / steps_per_call / procs) + n // procs + 1
    else:
        prebuild = int(n / procs * ((warm + duration) / period / steps_per_call + 1)) + 1
    pipes, workers = [], []
    share = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    for i in range(procs):
        parent, child = ctx.Pipe()
        w = ctx.Process(target=_worker, args=(child, mode, u.hostname, u.port, routes, share[i], warm, duration,
                                              period, bare, i, run_id, prebuild), daemon=True)
        w.start()
        pipes.append(parent)
        workers.append(w)
    for p in pipes:
        if not p.poll(120) or p.recv() != "ready":
            raise RuntimeError("load generator process did not get ready")
    start_at = time.perf_counter() + 0.2
    for p in pipes:
        p.send(start_at)
    cpu: dict[str, float] = {}
    if watch:  # CPU seconds each watched group of processes used during the measured window
        import threading

        from .common import total_cpu_seconds

        def sample() -> dict[str, float]:
            return {name: total_cpu_seconds(pids) for name, pids in watch.items()}

        def watcher() -> None:
            time.sleep(max(0.0, start_at + warm - time.perf_counter()))
            before = sample()
            time.sleep(max(0.0, start_at + warm + duration - time.perf_counter()))
            after = sample()
            cpu.update({k: after[k] - before[k] for k in after})

        th = threading.Thread(target=watcher, daemon=True)
        th.start()
    results = []
    for p, w in zip(pipes, workers):
        if p.poll(warm + duration + 60):
            results.append(p.recv())
        w.join(10)
        if w.is_alive():
            w.kill()
    if not results:  # every generator process missed its deadline: the offered load was too much for it
        raise RuntimeError("the load generator fell behind (no process reported)")
    all_lat = sorted(x for r in results for step in r["lat"] for x in step)
    steps = max(len(r["lat"]) for r in results)
    per_step = [sorted(x for r in results for x in r["lat"][s]) for s in range(steps)]
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r["errors"].items():
            errors[k] = errors.get(k, 0) + v
    done = sum(r["done"] for r in results)
    if watch:
        th.join(5)
    lags = sorted(x for r in results for x in r["lag"])
    sents = sorted(x for r in results for x in r["sent"])
    return Result(mode, n, duration, done, done / duration, percentile(all_lat, 50) * 1000,
                  percentile(all_lat, 99) * 1000, (all_lat[-1] if all_lat else float("nan")) * 1000, errors,
                  sum(r["cpu"] for r in results), [percentile(s, 50) * 1000 for s in per_step], cpu,
                  percentile(lags, 99) * 1000, percentile(sents, 99) * 1000)
