"""Part 6 ("wire"): what a webhook and a reminder cost, counted rather than timed, so a shared machine's
noise does not move it: Redis round trips (tests/support/redis_probe.RoundTripProxy, on the wire) and
commands (INFO commandstats) per webhook step and per reminder; and the app's own CPU per step (the
WSGI app called directly, no HTTP server, min of several runs) beside the bare endpoint's, with
redis-py's C parser (hiredis) and without it, each in a fresh process.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlencode, urlsplit

from . import loadgen
from .common import OUT, ROOT, RedisServer, hotline_env
from .dispatch import due_hotline, fake_twilio

sys.path.insert(0, str(ROOT / "tests"))
from support.redis_probe import RoundTripProxy  # noqa: E402

STEPS = [("/voice", None), ("/voice/lang", "2"), ("/voice/key?n=main&l=ru&p=0", "1"),
         ("/voice/key?n=apply&l=ru&p=0", "2"), ("/voice/key?n=office.almaty&l=ru&p=0", "*"),
         ("/voice/key?n=apply&l=ru&p=0", "3"), ("/voice/key?n=office.shymkent&l=ru&p=0", "8"), ("/voice/status", None)]


def _steps(walk: list[dict] | None) -> list[tuple[str, str | None]]:
    """The walk the webhook benchmark discovered (its paths and keys), else the fixed one above."""
    if not walk:
        return STEPS
    return [(s["path"], s["digits"]) for s in walk] + [("/voice/status", None)]


def _requests(steps, calls: int, first: int = 0) -> list[tuple[str, dict, str]]:
    out = []
    for i in range(first, first + calls):
        sid, num = f"CA{i:032x}", f"+7709{i:07d}"
        for path, digits in steps:
            form = loadgen.twilio_form(sid, num, digits, "completed" if path.endswith("/status") else "in-progress")
            out.append((path, form, loadgen.sign(path, form)))
    return out


def _environ(path: str, form: dict, sig: str) -> dict:
    body = urlencode(form).encode()
    u = urlsplit(path)
    return {"REQUEST_METHOD": "POST", "PATH_INFO": u.path, "QUERY_STRING": u.query, "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)), "HTTP_X_TWILIO_SIGNATURE": sig, "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0)}


def _call(app, environ: dict) -> bytes:
    status = []
    it = app(environ, lambda s, h, e=None: status.append(s))
    body = b"".join(it)
    getattr(it, "close", lambda: None)()
    if not status or status[0][:3] not in ("200", "204"):
        raise RuntimeError(f"{environ['PATH_INFO']}: {status}")
    return body


def _cmdstats(r) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in r.info("commandstats").items()
            if not k.startswith(("cmdstat_info", "cmdstat_config"))}


def webhook_counts(steps, calls: int = 40) -> list[dict]:
    """Round trips and commands per step of the walk, app in this process, against a real Redis."""
    redis = RedisServer(OUT / "redis-wire", aof=False)
    proxy = RoundTripProxy(port=redis.port)
    try:
        with fake_twilio("fast") as (url, _):
            saved = dict(os.environ)
            os.environ.update(hotline_env(proxy.url, twilio_url=url, data_dir=OUT / "var-wire"))
            try:
                from hotline import create_app
                app = create_app()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            for req in _requests(steps, 3, first=10**6):  # warm: connections, the Kazakh line
                _call(app, _environ(*req))
            # The background speech pass talks to Redis too (locks, sounds): counted only once it ended.
            if not app.extensions["hotline"].holder.renderer.idle(120):
                raise RuntimeError("speech rendering did not finish within 120 s")
            rows = [{"path": p, "digits": d, "round_trips": 0, "commands": {}} for p, d in steps]
            for k, req in enumerate(_requests(steps, calls)):
                row = rows[k % len(steps)]
                redis.client.config_resetstat()
                proxy.reset()
                _call(app, _environ(*req))
                row["round_trips"] += proxy.round_trips
                for name, n in _cmdstats(redis.client).items():
                    row["commands"][name] = row["commands"].get(name, 0) + n
            for row in rows:
                row["round_trips"] /= calls
                row["commands"] = {k: v / calls for k, v in sorted(row["commands"].items())}
            return rows
    finally:
        proxy.close()
        redis.stop()


def reminder_counts(n: int = 2000, in_flight: int = 32) -> dict:
    """Round trips and commands per reminder for one run_once, against a real Redis and the fast fake."""
    redis = RedisServer(OUT / "redis-wire-w", aof=False)
    proxy = RoundTripProxy(port=redis.port)
    try:
        with fake_twilio("fast") as (url, _):
            from hotline import reminders

            hl = due_hotline(proxy.url, url, n, "+7708", OUT / "var-wire")
            redis.client.config_resetstat()
            proxy.reset()
            cpu = time.process_time()
            report = reminders.run_once(hl, in_flight)
            cpu = time.process_time() - cpu
            trips = proxy.round_trips
            commands = _cmdstats(redis.client)
            hl.redis.close()
            assert report.sent == n, report
            return {"reminders": n, "in_flight": in_flight, "round_trips_per_msg": trips / n,
                    "commands_per_msg": sum(commands.values()) / n,
                    "commands": {k: v / n for k, v in sorted(commands.items())},
                    "worker_cpu_ms_per_msg": cpu / n * 1000}
    finally:
        proxy.close()
        redis.stop()


# ---- the app's own CPU, in a fresh process each (hiredis or not) --------------------------------

def _cpu_child(kind: str, steps_json: str, calls: int) -> None:
    """In a child: print JSON {per_step_ms, mean_ms} of the WSGI app called directly (no HTTP server)."""
    steps = [tuple(s) for s in json.loads(steps_json)]
    redis = RedisServer(OUT / f"redis-cpu-{os.getpid()}", aof=False)
    try:
        with fake_twilio("fast") as (url, _):
            os.environ.update(hotline_env(redis.url, twilio_url=url, data_dir=OUT / "var-cpu"))
            if kind == "bare":
                from .bare_app import create_app
            elif kind == "floor":
                from .floor_app import create_app
            else:
                from hotline import create_app
            app = create_app()
            if kind == "hotline":  # measure serving, not the start-up's background speech rendering
                app.extensions["hotline"].holder.renderer.idle(300)
            warm = [_environ(*r) for r in _requests(steps, 20, first=10**6)]
            envs = [_environ(*r) for r in _requests(steps, calls)]
            for e in warm:
                _call(app, e)
            per = [0.0] * len(steps)
            for k, e in enumerate(envs):
                t = time.process_time()
                _call(app, e)
                per[k % len(steps)] += time.process_time() - t
            per_ms = [x / calls * 1000 for x in per]
            print(json.dumps({"per_step_ms": per_ms, "mean_ms": sum(per_ms) / len(per_ms)}))
    finally:
        redis.stop()


# hiredis is not a dependency: `make bench` installs it here, outside the venv, for the comparison only.
HIREDIS_DIR = OUT / "hiredis"
NO_HIREDIS = "import sys; sys.modules['hiredis'] = None\n"  # redis-py then uses its Python parser
WITH_HIREDIS = f"import sys; sys.path.insert(0, {str(HIREDIS_DIR)!r})\n"


def _has_hiredis() -> bool:
    return any(HIREDIS_DIR.glob("hiredis*"))


def app_cpu(steps, calls: int = 200, runs: int = 3) -> dict:
    """Min over `runs` fresh processes (min: the noise of a shared machine only ever adds) of the app's
    CPU per request: hotline as deployed (redis-py's Python parser), hotline with hiredis, the floor
    (bench/floor_app.py: the signature and one write), bare."""
    kinds = {"hotline": NO_HIREDIS, "floor": NO_HIREDIS, "bare": ""}
    if _has_hiredis():
        kinds["hotline_hiredis"] = WITH_HIREDIS
    out: dict = {k: [] for k in kinds}
    for _ in range(runs):
        for kind, pre in kinds.items():
            code = (pre + "from bench.wire import _cpu_child\n"
                    f"_cpu_child({kind.removesuffix('_hiredis')!r}, {json.dumps(json.dumps(steps))}, {calls})")
            res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
            if res.returncode:
                raise RuntimeError(res.stderr[-2000:])
            out[kind].append(json.loads(res.stdout.strip().splitlines()[-1]))
    best = {k: min(v, key=lambda x: x["mean_ms"]) for k, v in out.items()}
    return {"runs": runs, "calls": calls, "best": best, "all_means_ms": {k: [x["mean_ms"] for x in v] for k, v in out.items()}}


def worker_cpu_parsers(n: int = 1000, runs: int = 3) -> dict:
    """The worker's CPU per reminder with and without hiredis (min over fresh processes)."""
    if not _has_hiredis():
        return {}
    out: dict = {"hiredis": [], "no_hiredis": []}
    for _ in range(runs):
        for kind in out:
            pre = NO_HIREDIS if kind == "no_hiredis" else WITH_HIREDIS
            code = pre + f"import json\nfrom bench.wire import reminder_counts\nprint(json.dumps(reminder_counts({n})))"
            res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
            if res.returncode:
                raise RuntimeError(res.stderr[-2000:])
            out[kind].append(json.loads(res.stdout.strip().splitlines()[-1])["worker_cpu_ms_per_msg"])
    return {k: min(v) for k, v in out.items()} | {"all": out}


def run(walk: list[dict] | None = None, log=print) -> dict:
    steps = _steps(walk)
    out: dict = {"steps": [{"path": p, "digits": d} for p, d in steps]}
    out["webhook"] = webhook_counts(steps)
    mean_rt = sum(r["round_trips"] for r in out["webhook"]) / len(steps)
    log(f"  webhook: {mean_rt:.2f} Redis round trips per step (" +
        ", ".join(f"{r['round_trips']:g}" for r in out["webhook"]) + ")")
    out["reminder"] = reminder_counts()
    log(f"  reminder: {out['reminder']['round_trips_per_msg']:.3f} round trips, "
        f"{out['reminder']['commands_per_msg']:.1f} commands per message")
    out["app_cpu"] = app_cpu(steps)
    b = out["app_cpu"]["best"]
    log(f"  app CPU per request: hotline {b['hotline']['mean_ms']:.3f} ms"
        + (f" (with hiredis {b['hotline_hiredis']['mean_ms']:.3f})" if "hotline_hiredis" in b else "")
        + f", floor {b['floor']['mean_ms']:.3f} ms, bare {b['bare']['mean_ms']:.3f} ms")
    out["worker_parsers"] = worker_cpu_parsers()
    if out["worker_parsers"]:
        log(f"  worker CPU per reminder: hiredis {out['worker_parsers']['hiredis']:.3f} ms, "
            f"Python parser {out['worker_parsers']['no_hiredis']:.3f} ms")
    return out
