"""`make bench` / `python -m bench.run`: every benchmark of Issue 6, then bench/RESULTS.md.

Sizes come from the environment (or the matching flags):

  BENCH_ONLY=webhooks,dispatch,scale,startup,profile,wire   parts to run (default: all)
  BENCH_LEVELS=1,10,50,200      closed-loop callers      BENCH_DURATION=5  BENCH_WARM=1.5  BENCH_REPEATS=2
  BENCH_CAP_DURATION=8          open-loop probe length   BENCH_CAP_WARM=3
  BENCH_REMINDERS=20000         reminders due at once (Issue 6 asks 100000: ~10 min of dispatch alone here)
  BENCH_LATENCY_REMINDERS=600   BENCH_TWILIO_LATENCY_MS=150   dispatch against a fake as slow as the real API
  BENCH_SCALE_SIZES=10000,1000000   BENCH_SCALE_REPS=200
  BENCH_LOADGEN_PROCS=1         load generator processes

A run that does only some parts replaces only their sections of RESULTS.md; each section says which
command produced it. Raw figures: bench/out/results-<part>.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import report
from .common import OUT, ROOT, redis_server_binary

PARTS = ("webhooks", "dispatch", "scale", "startup", "profile", "wire")


def _ints(s: str) -> list[int]:
    return [int(x) for x in s.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    env = os.environ.get
    ap.add_argument("--only", default=env("BENCH_ONLY", ",".join(PARTS)))
    ap.add_argument("--levels", default=env("BENCH_LEVELS", "1,10,50,200"))
    ap.add_argument("--duration", type=float, default=float(env("BENCH_DURATION", 5)))
    ap.add_argument("--warm", type=float, default=float(env("BENCH_WARM", 1.5)))
    ap.add_argument("--repeats", type=int, default=int(env("BENCH_REPEATS", 2)))
    ap.add_argument("--cap-duration", type=float, default=float(env("BENCH_CAP_DURATION", 8)))
    ap.add_argument("--cap-warm", type=float, default=float(env("BENCH_CAP_WARM", 3)))
    ap.add_argument("--reminders", type=int, default=int(env("BENCH_REMINDERS", 20000)))
    ap.add_argument("--latency-reminders", type=int, default=int(env("BENCH_LATENCY_REMINDERS", 600)))
    ap.add_argument("--twilio-latency-ms", type=float, default=float(env("BENCH_TWILIO_LATENCY_MS", 150)))
    ap.add_argument("--scale-sizes", default=env("BENCH_SCALE_SIZES", "10000,1000000"))
    ap.add_argument("--scale-reps", type=int, default=int(env("BENCH_SCALE_REPS", 200)))
    ap.add_argument("--loadgen-procs", type=int, default=int(env("BENCH_LOADGEN_PROCS", 1)))
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = ap.parse_args(argv)
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(only) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    OUT.mkdir(parents=True, exist_ok=True)
    bench_env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_"))
    flags = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    command = " ".join(x for x in (bench_env, "python -m bench.run", flags) if x)
    context = {"command": command, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "python": platform.python_version(), "cpus": os.cpu_count(), "cpu": _cpu_model(),
               "load_before": os.getloadavg(), "redis": _redis_version(), "args": vars(args) | {"results": str(args.results)}}
    t_all = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    results: dict = {}
    if "webhooks" in only:
        log("webhooks: the Procfile's gunicorn vs a bare Flask endpoint")
        from . import webhooks
        results["webhooks"] = webhooks.run(_ints(args.levels), args.warm, args.duration, args.repeats, args.cap_warm,
                                           args.cap_duration, args.loadgen_procs, log)
    if "dispatch" in only:
        log(f"dispatch: {args.reminders} reminders due at once")
        from . import dispatch
        results["dispatch"] = dispatch.run(args.reminders, args.latency_reminders, args.twilio_latency_ms, log)
    if "scale" in only:
        log("scale: scheduling cost as it grows")
        from . import scale
        results["scale"] = scale.run(_ints(args.scale_sizes), args.scale_reps, log)
    if "startup" in only:
        log("startup and footprint")
        from . import startup
        results["startup"] = startup.run(log)
    if "profile" in only:
        log("profiles (pyinstrument)")
        from . import profiles
        results["profile"] = profiles.run(log)
    if "wire" in only:
        log("wire: round trips and commands counted, the app's own CPU (hiredis or not)")
        from . import wire
        walk = (results.get("webhooks") or {}).get("walk")
        results["wire"] = wire.run(walk, log)
    context["elapsed_s"] = time.perf_counter() - t_all
    context["load_after"] = os.getloadavg()
    for part, res in results.items():
        (OUT / f"results-{part}.json").write_text(json.dumps({"context": context, "result": res}, indent=1, default=str))
    report.write(args.results, context, results)
    log(f"done in {context['elapsed_s']:.0f} s; wrote {args.results}")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _redis_version() -> str:
    import subprocess
    try:
        out = subprocess.run([redis_server_binary(), "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.split("v=")[1].split()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "?"


if __name__ == "__main__":
    sys.exit(main())
