"""Part 4: start-up and footprint. `hotline serve` until /healthz answers, the memory of one web
process after it has answered calls, a worker's start (`hotline worker --once` with nothing due),
and how long loading the shipped content takes (`hotline.content.load_content`).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time

from . import loadgen
from .common import HOST, OUT, ROOT, RedisServer, children, free_port, hotline_env, pss_kib, rss_kib, stop_process, wait_http


def _descendants(pid: int) -> list[int]:
    out = []
    for c in children(pid):
        out.append(c)
        out += _descendants(c)
    return out


def serve(redis_url: str, calls: int = 40) -> dict:
    port = free_port()
    env = hotline_env(redis_url, data_dir=OUT / "var-startup")
    shutil.rmtree(OUT / "var-startup", ignore_errors=True)
    with open(OUT / "serve.log", "ab") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "hotline.cli", "serve", "--host", HOST, "--port", str(port)],
                                env=env, cwd=ROOT, stdout=log, stderr=log)
        try:
            wait_http(f"http://{HOST}:{port}/healthz", timeout=120, proc=proc)
            ready = time.perf_counter() - t0
            base = f"http://{HOST}:{port}"
            idle = {pid: rss_kib(pid) for pid in _descendants(proc.pid)}
            routes = [loadgen.discover(base, "2"), loadgen.discover(base, "3")]
            loadgen.run(base, routes, 4, warm=0.2, duration=max(1.0, calls / 100))  # every worker has served calls
            procs = _descendants(proc.pid)
            # gunicorn's master is the child of `hotline serve`; its children are the web workers
            master = children(proc.pid)[0]
            workers = children(master)
            return {"ready_s": ready,
                    "web_worker_rss_mib": statistics.median(rss_kib(p) for p in workers) / 1024,
                    "web_worker_pss_mib": statistics.median(pss_kib(p) for p in workers) / 1024,
                    "web_worker_idle_rss_mib": statistics.median(idle.get(p, 0) for p in workers) / 1024,
                    "master_rss_mib": rss_kib(master) / 1024, "serve_rss_mib": rss_kib(proc.pid) / 1024,
                    "all_rss_mib": sum(rss_kib(p) for p in [proc.pid, *procs]) / 1024,
                    "all_pss_mib": sum(pss_kib(p) for p in [proc.pid, *procs]) / 1024, "web_workers": len(workers)}
        finally:
            stop_process(proc)


def worker_once(redis_url: str) -> dict:
    env = hotline_env(redis_url, data_dir=OUT / "var-startup")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker", "--once"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"worker_once_s": time.perf_counter() - t0, "worker_max_rss_mib": usage.ru_maxrss / 1024,
            "ok": proc.returncode == 0}


def content_load(reps: int = 5) -> dict:
    """In a fresh interpreter: the first load (imports included) and the median of later ones."""
    code = ("import time,statistics,sys;t=time.perf_counter();from hotline.content.loader import load_content;"
            "from pathlib import Path;import datetime;"
            f"load_content(Path({str(ROOT)!r}));first=time.perf_counter()-t;xs=[]\n"
            f"for _ in range({reps}):\n t=time.perf_counter();load_content(Path({str(ROOT)!r}));xs.append(time.perf_counter()-t)\n"
            "print(first, statistics.median(xs))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    first, warm = (float(x) for x in out.stdout.split())
    return {"content_first_s": first, "content_warm_s": warm}


def import_time() -> float:
    code = "import time;t=time.perf_counter();import hotline;hotline.create_app;from hotline import cli;print(time.perf_counter()-t)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    return float(out.stdout.strip() or "nan")


def run(log=print) -> dict:
    workdir = OUT / "redis-startup"
    shutil.rmtree(workdir, ignore_errors=True)
    redis = RedisServer(workdir, aof=False)
    try:
        res = serve(redis.url)
        res.update(worker_once(redis.url))
        res.update(content_load())
        res["import_s"] = import_time()
    finally:
        redis.stop()
    log(f"  serve ready {res['ready_s']:.2f} s; web worker RSS {res['web_worker_rss_mib']:.0f} MiB "
        f"(PSS {res['web_worker_pss_mib']:.0f}); worker --once {res['worker_once_s']:.2f} s; "
        f"content load {res['content_first_s']:.2f} s first, {res['content_warm_s']:.3f} s after")
    return res
