"""`hotline run` and `hotline serve`: start the web server (and, for run, the worker), honestly.

"Running" is said only once the server answers; a port that is taken is found before anything
starts and named with the command that avoids it; each warning is printed once, here, and not
again by the processes started from here; Ctrl-C (or closing the terminal) stops everything,
children first, then the embedded Redis, and exits 0 without a traceback.
"""
from __future__ import annotations

import errno
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.error import URLError
from urllib.request import urlopen

import click

from hotline.cli.command_app import command_hotline
from hotline.runtime import settings
from hotline.store.connection import connect, data_dir, start_embedded

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RUN_FILE = "run.json"  # in the data folder while `hotline run` serves: where `hotline simulate` finds it


def port_in_use(host: str, port: int) -> bool:
    """Would gunicorn fail to listen on host:port (or would it listen beside another program)?"""
    try:  # someone answers there (on macOS, AirPlay listens on *:5000 and a bind could still succeed)
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        pass
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def free_port(host: str, start: int = 5050) -> int:
    """The first free port from `start` on (what the hint suggests)."""
    for port in range(start, start + 200):
        if not port_in_use(host, port):
            return port
    return 0


def port_hint(host: str, port: int, command: str) -> str:
    spare = free_port(host, 5050 if port != 5050 else 5051)
    if command == "run":
        return f"port {port} is in use: `make run PORT={spare}` (or `hotline run --port {spare}`)"
    return f"port {port} is in use: `hotline serve --port {spare}`"


def gunicorn_command(host: str, port: int, workers: int, quiet: bool) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", "python:hotline.cli.gunicorn_conf",
            "--workers", str(workers), "--bind", f"{host}:{port}", "--timeout", "15", "--graceful-timeout", "5",
            *(["--log-level", "warning"] if quiet else []), "hotline:create_app()"]


class Stopping:
    """Ctrl-C, SIGTERM and SIGHUP (the terminal closed) all mean: stop everything, cleanly."""

    def __init__(self) -> None:
        self.now = False
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._stop)

    def _stop(self, *_: object) -> None:
        self.now = True


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child in its own session: the terminal's Ctrl-C reaches only us, and we stop it in order."""
    return subprocess.Popen(args, env=env, start_new_session=True)


def stop_all(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_until_up(base: str, procs: list[subprocess.Popen], stopping: Stopping, seconds: float = 60) -> bool:
    """True once /healthz answers; False if a child exited (or we were stopped) first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stopping.now:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urlopen(base + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return True
        except (URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def supervise(procs: list[subprocess.Popen], stopping: Stopping, on_tick: Callable[[], None] | None = None) -> int:
    """Run until stopped or a child exits; then stop them all (no orphans). The exit code to use."""
    code = 0
    try:
        while not stopping.now:
            exited = [p for p in procs if p.poll() is not None]
            if exited:
                click.echo(f"A part of the hotline stopped unexpectedly (exit code {exited[0].returncode}): "
                           "stopping the rest.", err=True)
                code = 1
                break
            if on_tick:
                on_tick()
            time.sleep(0.5)
    finally:
        stop_all(procs)
        if on_tick:
            on_tick()  # what arrived since the last look, before saying goodbye
    return code


def child_env() -> dict[str, str]:
    """One embedded Redis for every child when REDIS_URL is unset; warnings already printed here."""
    env = dict(os.environ)
    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = f"unix://{start_embedded(data_dir())}"
    env[settings.STARTUP_WARNED] = "1"
    return env


@dataclass(frozen=True)
class Dashboard:
    """How to log in to /operator, for the banner: a one-time password in local mode."""

    login: str

    @staticmethod
    def prepare(env: dict[str, str], production: bool) -> "Dashboard":
        if env.get("OPERATOR_PASSWORD") or env.get("OPERATOR_PASSWORD_HASH"):
            return Dashboard("name operator, with your OPERATOR_PASSWORD")
        if production:
            return Dashboard("accounts only: `hotline operators add NAME --role admin` creates the first one")
        password = secrets.token_urlsafe(12)  # this run only: never written to disk, gone at Ctrl-C
        env["OPERATOR_PASSWORD"] = password
        return Dashboard(f"name operator, password {password}  (new at every start)")


def write_run_file(base: str) -> Path:
    path = data_dir() / RUN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": base, "pid": os.getpid()}))
    return path


def running_url() -> str | None:
    """The address of a `hotline run` serving from this data folder, if one is running."""
    import psutil

    try:
        info = json.loads((data_dir() / RUN_FILE).read_text())
        return info["url"] if psutil.pid_exists(int(info["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def banner(base: str, warnings: list[str], dashboard: Dashboard, local_outbox: bool) -> str:
    lines = [f"The hotline is running at {base}  (Ctrl-C stops everything)", ""]
    lines += [f"  {w}" for w in warnings]
    if local_outbox:
        lines.append("  No Twilio credentials: SMS go to the local outbox and are printed below; nothing leaves "
                     "this machine.")
    lines += ["",
              "  Call it (in another terminal):  make simulate           or: make simulate KEYS=\"3 1 2 8\"",
              "  Text it:                        make simulate SMS=HELP",
              f"  Operator dashboard:             {base}/operator   {dashboard.login}",
              "  Check an edit of prompts/ or config/:  make check",
              ""]
    return "\n".join(lines)


def _refuse_busy_port(host: str, port: int, command: str) -> None:
    if port_in_use(host, port):
        click.echo(port_hint(host, port, command), err=True)
        sys.exit(1)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, envvar="PORT")
def run_command(host: str, port: int) -> None:
    """Everything for local use: embedded Redis, web server, reminder worker, and the outbox."""
    from hotline.messaging import outbox
    from hotline.messaging.sender import twilio_client

    stopping = Stopping()
    _refuse_busy_port(host, port, "run")
    cfg = {**settings.defaults(), **settings.from_env()}
    warnings = settings.startup_warnings(cfg)
    env = child_env()
    dashboard = Dashboard.prepare(env, cfg["HOTLINE_ENV"] == "production")
    base = f"http://{host}:{port}"
    r = connect(env["REDIS_URL"], data_dir())
    seen = outbox.size(r)  # every SMS from now on is printed, even one sent before the banner
    procs = [start(gunicorn_command(host, port, 2, quiet=True), env),
             start([sys.executable, "-m", "hotline.cli", "worker"], env)]
    if not wait_until_up(base, procs, stopping):
        stop_all(procs)
        if stopping.now:
            return
        click.echo(f"The web server did not start (its messages are above). "
                   f"If another program took port {port} meanwhile: {port_hint(host, port, 'run')}", err=True)
        sys.exit(1)
    run_file = write_run_file(base)
    os.environ["REDIS_URL"] = env["REDIS_URL"]
    hl = command_hotline()
    click.echo(banner(base, warnings, dashboard, twilio_client(hl.config) is None))
    tz = hl.content.policy.tz

    def show_outbox() -> None:
        nonlocal seen
        try:
            entries = outbox.read(r, seen)
        except Exception:  # noqa: BLE001 - the server may be stopping
            return
        for e in entries:
            click.echo(f"[SMS {outbox.when(e, tz)[11:]}] {outbox.describe(e)}: {e['body']}")
        seen += len(entries)

    try:
        code = supervise(procs, stopping, show_outbox)
    finally:
        run_file.unlink(missing_ok=True)
    click.echo("Stopped.")
    sys.exit(code)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, envvar="PORT")
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
def serve_command(host: str, port: int, workers: int) -> None:
    """Run the web server (gunicorn), with the embedded Redis when REDIS_URL is unset."""
    stopping = Stopping()
    _refuse_busy_port(host, port, "serve")
    for warning in settings.startup_warnings({**settings.defaults(), **settings.from_env()}):
        click.echo(warning, err=True)
    procs = [start(gunicorn_command(host, port, workers, quiet=False), child_env())]
    sys.exit(supervise(procs, stopping))
