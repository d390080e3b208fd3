"""Part 1: webhook speed under the Procfile's gunicorn, against the bare-Flask ceiling, in one run.

Four servers run at the same time (2 worker processes of 16 threads each, as the Procfile starts
them): the hotline, the bare endpoint (bench/bare_app.py: fixed TwiML, nothing else) and two floors
(bench/floor_app.py: only the work issue 17 says every webhook must do, the signature and one
pipelined Redis write; and the signature alone). Only one is loaded at a time, levels alternate
between them (ratios are taken within a repeat, then the median), so the noise of a shared machine
falls on all alike.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time

from . import loadgen
from .common import OUT, RedisServer, children, gunicorn, hotline_env
from .dispatch import fake_twilio

WRK_LUA = """wrk.method = "POST"
wrk.body = "CallSid=CA0123456789abcdef0123456789abcdef&From=%2B77011234567&Digits=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""


# What each server is expected to serve (sizes the load generator's prebuilt requests).
EXPECT_RPS = {"hotline": 800, "floor": 1500, "signature": 2000, "bare": 3000}
ORDER = ("bare", "signature", "floor", "hotline")


def _wrk(url: str, conns: int, seconds: int) -> dict | None:
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    script = OUT / "bare.lua"
    script.write_text(WRK_LUA)
    out = subprocess.run([wrk, "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, timeout=seconds + 30).stdout
    res: dict = {}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            res["rps"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            v = parts[1]
            ms = float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
            res["p" + parts[0][:-1] + "_ms"] = ms
    return res


def capacity(base: str, routes, start_calls: int, warm: float, duration: float, limit_ms: float = 100.0,
             period: float = 10.0, max_probes: int = 6, watch=None, bare: bool = False, log=print) -> dict:
    """Most simultaneous calls (each one request every `period` s, open loop) with p99 under `limit_ms`.

    Each probe also says where the CPU went (per request: the web workers, Redis, the load generator,
    which shares the cores) and how late the generator itself sent its requests (p99): a generator
    short of CPU would show as lateness here before it showed as the server's latency."""
    probes = []
    lo, hi = 0, None
    n = max(10, start_calls)
    for _ in range(max_probes):
        try:
            r = loadgen.run(base, routes, n, mode="open", warm=warm, duration=duration, period=period, watch=watch,
                            bare=bare)
        except RuntimeError as exc:  # counted as over the limit, and said so
            probes.append({"calls": n, "rps": 0, "p50_ms": None, "p99_ms": None, "ok": False, "errors": {str(exc): 1}})
            log(f"  open loop: {n} calls: {exc} -> over")
            ok = False
        else:
            ok = r.p99_ms < limit_ms and not r.errors
            per_req = {k: v / max(1, r.requests) * 1000 for k, v in r.cpu_s.items()}
            probes.append({"calls": n, "rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "ok": ok,
                           "errors": r.errors, "web_cpu_ms_per_req": per_req.get("web"),
                           "redis_cpu_ms_per_req": per_req.get("redis"),
                           "gen_cpu_ms_per_req": r.gen_cpu_s / max(1, r.requests) * 1000,
                           "cpu_cores": {**{k: v / r.duration for k, v in r.cpu_s.items()}, "gen": r.gen_cpu_s / r.duration},
                           "send_lag_p99_ms": r.send_lag_p99_ms, "p99_from_send_ms": r.p99_from_send_ms,
                           "load": os.getloadavg()[0]})
            log(f"  open loop: {n} calls ({n / period:.0f} req/s offered): {r.rps:.0f} req/s, p50 {r.p50_ms:.1f} ms, "
                f"p99 {r.p99_ms:.1f} ms (from the send {r.p99_from_send_ms:.1f}), generator late p99 "
                f"{r.send_lag_p99_ms:.1f} ms, cores "
                + ", ".join(f"{k} {v:.2f}" for k, v in probes[-1]["cpu_cores"].items())
                + f" -> {'ok' if ok else 'over'}")
        if ok:
            lo = n
        else:
            hi = n
        if hi is None:
            n = int(n * 1.6)
        else:
            if hi - lo <= max(20, lo * 0.1):
                break
            n = (lo + hi) // 2
        time.sleep(0.5)
    best = max((p for p in probes if p["ok"]), key=lambda p: p["calls"], default=None)
    return {"calls": lo, "best": best, "probes": probes, "limit_ms": limit_ms, "period_s": period}


def run(levels: list[int], warm: float, duration: float, repeats: int, cap_warm: float, cap_duration: float,
        procs: int = 1, log=print) -> dict:
    workdir = OUT / "redis-web"
    shutil.rmtree(workdir, ignore_errors=True)
    redis = RedisServer(workdir, aof=True)
    out: dict = {"levels": levels, "repeats": repeats, "warm_s": warm, "duration_s": duration}
    try:
        with fake_twilio("fast") as (fake_url, _info):
            env = hotline_env(redis.url, twilio_url=fake_url, data_dir=OUT / "var-web")
            shutil.rmtree(OUT / "var-web", ignore_errors=True)
            with gunicorn("hotline:create_app()", env, log=OUT / "gunicorn-hotline.log", settled=True) as (hbase, hproc), \
                    gunicorn("bench.bare_app:create_app()", env, log=OUT / "gunicorn-bare.log") as (bbase, bproc), \
                    gunicorn("bench.floor_app:create_app()", env, log=OUT / "gunicorn-floor.log") as (fbase, fproc), \
                    gunicorn("bench.floor_app:create_app(write=False)", env, log=OUT / "gunicorn-sig.log") as (sbase, sproc):
                # A real caller walks the menu once per language (parsing TwiML). Both servers have
                # settled: the hotline's background speech rendering ended before any timing starts.
                routes = [loadgen.discover(hbase, "2"), loadgen.discover(hbase, "3")]
                out["walk"] = [{"path": s.path, "digits": s.digits} for s in routes[0].steps]
                servers = {"hotline": (hbase, hproc), "bare": (bbase, bproc), "floor": (fbase, fproc), "signature": (sbase, sproc)}
                watch = {name: {"web": children(p.pid), "redis": [redis.proc.pid]} for name, (_, p) in servers.items()}
                rows: dict = {}
                for level in levels:
                    for rep in range(repeats):
                        order = ORDER if rep % 2 == 0 else ORDER[::-1]
                        for name in order:
                            base, _ = servers[name]
                            r = loadgen.run(base, routes, level, warm=warm, duration=duration, procs=procs,
                                            bare=(name != "hotline"), expect_rps=EXPECT_RPS[name],
                                            watch=watch[name])
                            rows.setdefault((name, level), []).append(r)
                            log(f"  {name:7s} {level:4d} callers: {r.rps:7.0f} req/s  p50 {r.p50_ms:6.1f} ms  "
                                f"p99 {r.p99_ms:6.1f} ms  errors {r.errors or 0}  gen cpu {r.gen_cpu_s / r.duration:.0%}")
                            time.sleep(0.3)
                table = []
                for level in levels:
                    h, b = rows[("hotline", level)], rows[("bare", level)]
                    ratios_rps = [x.rps / y.rps for x, y in zip(h, b) if y.rps]
                    ratios_p99 = [x.p99_ms / y.p99_ms for x, y in zip(h, b) if y.p99_ms]
                    floors = {name: (rows[(name, level)],
                                     [x.rps / y.rps for x, y in zip(rows[(name, level)], b) if y.rps],
                                     [x.p99_ms / y.p99_ms for x, y in zip(rows[(name, level)], b) if y.p99_ms])
                              for name in ("floor", "signature")}
                    med = lambda rs, f: statistics.median(getattr(x, f) for x in rs)  # noqa: E731
                    table.append({
                        "level": level,
                        "hotline": {"rps": med(h, "rps"), "p50_ms": med(h, "p50_ms"), "p99_ms": med(h, "p99_ms"),
                                    "errors": sum(sum(x.errors.values()) for x in h),
                                    "per_step_p50_ms": h[-1].per_step_p50_ms,
                                    "web_cpu_ms_per_req": statistics.median(
                                        x.cpu_s.get("web", 0) / max(1, x.requests) * 1000 for x in h),
                                    "redis_cpu_ms_per_req": statistics.median(
                                        x.cpu_s.get("redis", 0) / max(1, x.requests) * 1000 for x in h),
                                    "gen_cpu_share": statistics.median(x.gen_cpu_s / x.duration for x in h),
                                    "web_cpu_share": statistics.median(x.cpu_s.get("web", 0) / x.duration for x in h)},
                        "bare": {"rps": med(b, "rps"), "p50_ms": med(b, "p50_ms"), "p99_ms": med(b, "p99_ms"),
                                 "errors": sum(sum(x.errors.values()) for x in b),
                                 "web_cpu_ms_per_req": statistics.median(
                                     x.cpu_s.get("web", 0) / max(1, x.requests) * 1000 for x in b),
                                 "gen_cpu_share": statistics.median(x.gen_cpu_s / x.duration for x in b),
                                 "web_cpu_share": statistics.median(x.cpu_s.get("web", 0) / x.duration for x in b)},
                        **{name: {"rps": med(f, "rps"), "p50_ms": med(f, "p50_ms"), "p99_ms": med(f, "p99_ms"),
                                  "errors": sum(sum(x.errors.values()) for x in f),
                                  "web_cpu_ms_per_req": statistics.median(
                                      x.cpu_s.get("web", 0) / max(1, x.requests) * 1000 for x in f),
                                  "rps_ratio": statistics.median(fr) if fr else float("nan"),
                                  "p99_ratio": statistics.median(fp) if fp else float("nan")}
                           for name, (f, fr, fp) in floors.items()},
                        "rps_ratio": statistics.median(ratios_rps) if ratios_rps else float("nan"),
                        "rps_ratios": ratios_rps,
                        "p99_ratio": statistics.median(ratios_p99) if ratios_p99 else float("nan"),
                        "p99_ratios": ratios_p99,
                    })
                out["table"] = table
                wrk = _wrk(bbase + "/voice", 50, int(max(3, duration)))
                if wrk:
                    log(f"  wrk (C) on the bare endpoint, 50 connections: {wrk.get('rps', 0):.0f} req/s")
                out["wrk_bare_50"] = wrk
                # The same probe of three servers, hotline first: what this machine can hold at all (bare),
                # what the design can hold at best (floor), beside what the hotline holds.
                for name in ("hotline", "floor", "bare"):
                    peak = max(row[name]["rps"] for row in table)
                    log(f"capacity ({name}): calls sending one request every 10 s, p99 under 100 ms")
                    base = servers[name][0]
                    out["capacity" if name == "hotline" else f"capacity_{name}"] = capacity(
                        base, routes, int(peak * 10 * 0.5), cap_warm, cap_duration, watch=watch[name],
                        bare=(name != "hotline"), log=log)
        out["slow_twilio"] = slow_twilio(redis, routes, duration, warm, log=log)
    finally:
        redis.stop()
    return out


SLOW_API_S = 0.15  # about what Twilio's Messages API takes to answer from far away


def slow_twilio(redis: RedisServer, routes, duration: float, warm: float, callers: int = 50, log=print) -> dict:
    """The same walk at `callers` against a fake Twilio that answers each SMS in SLOW_API_S, as the real
    API does: the hotline as the Procfile starts it (threads, hotline/cli/gunicorn_conf.py) and with one
    request at a time per process (WEB_THREADS=1, as gunicorn's sync worker serves), where the "8"
    step holds its process for the whole API call. Not a ratio: what a caller meets when Twilio is far."""
    res: dict = {"api_s": SLOW_API_S, "callers": callers}
    with fake_twilio("fast", delay=SLOW_API_S) as (fake_url, _info):
        for label, threads in (("threads", ""), ("one_at_a_time", "1")):
            env = {**hotline_env(redis.url, twilio_url=fake_url, data_dir=OUT / "var-web"), "WEB_THREADS": threads}
            with gunicorn("hotline:create_app()", env, log=OUT / f"gunicorn-slow-{label}.log", settled=True) as (base, proc):
                watch = {"web": children(proc.pid), "redis": [redis.proc.pid]}
                r = loadgen.run(base, routes, callers, warm=warm, duration=duration, expect_rps=800, watch=watch)
            res[label] = {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": sum(r.errors.values())}
            log(f"  Twilio answering in {SLOW_API_S * 1000:.0f} ms, {label}: {r.rps:.0f} req/s, p50 {r.p50_ms:.1f} ms, "
                f"p99 {r.p99_ms:.1f} ms, errors {r.errors or 0}")
    return res
