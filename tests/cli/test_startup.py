"""The first ten minutes, with real processes: `hotline run` on a busy port, the banner, one warning
once, the one-time dashboard password, Ctrl-C, and a restart after it."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

from support import FIXTURE
from support.server import free_port, wait_healthy

REPO = Path(__file__).resolve().parents[2]  # for the Procfile

LOCAL_MODE = "LOCAL MODE: TWILIO_AUTH_TOKEN is not set"


def local_env(tmp_path: Path, tts: Path) -> dict[str, str]:
    """A newcomer's environment: no Twilio, no Redis URL, no dashboard password, a HOME of its own
    (so a gunicorn control socket would show up in it). Speech comes from the run's shared cache
    (`tts`): these tests are about what is printed and stopped; rendering from an empty cache, and
    Ctrl-C during it, is tests/cli/test_serve.py's `hotline run` and tests/runtime/test_speech.py."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "REDIS_URL", "OPERATOR_", "HOTLINE_", "XDG_RUNTIME_DIR", "PORT"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOTLINE_DATA_DIR=str(tmp_path / "var"), HOTLINE_CONTENT_DIR=str(FIXTURE), HOME=str(home),
               TTS_CACHE_DIR=str(tts))
    return env


class Terminal:
    """A process started as from a terminal (its own process group, like a shell's foreground job),
    whose output is collected while it runs."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self.read_lines, daemon=True)
        self.reader.start()

    def read_lines(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, seconds: float = 90) -> None:
        deadline = time.time() + seconds
        while text not in self.output:
            assert self.proc.poll() is None, f"exited {self.proc.returncode} before printing {text!r}:\n{self.output}"
            assert time.time() < deadline, f"no {text!r} after {seconds}s:\n{self.output}"
            time.sleep(0.1)

    def ctrl_c(self) -> int:
        """What the terminal does on Ctrl-C: SIGINT to every process of the foreground group."""
        os.killpg(self.proc.pid, signal.SIGINT)
        return self.wait()

    def wait(self, seconds: float = 60) -> int:
        code = self.proc.wait(seconds)
        self.reader.join(5)
        return code


def hotline(*args: str) -> list[str]:
    return [sys.executable, "-m", "hotline.cli", *args]


def embedded_redis_running(data_dir: Path) -> bool:
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if "redis-server" in (p.info["name"] or "") and str(data_dir) in p.cwd():
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return False


def test_a_busy_port_is_named_with_the_command_that_avoids_it(tmp_path: Path, tts_cache: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # the OS picks a port and it stays ours: no window for another test
        port = taken.getsockname()[1]
        taken.listen()
        run = Terminal(hotline("run", "--port", str(port)), local_env(tmp_path, tts_cache), tmp_path)
        code = run.wait()
    assert code != 0, "a hotline that cannot listen must not exit 0"
    assert "is running" not in run.output
    hint = re.search(rf"^port {port} is in use: `make run PORT=(\d+)` \(or `hotline run --port (\d+)`\)$",
                     run.output, re.M)
    assert hint, run.output
    suggested = int(hint.group(1))
    assert hint.group(2) == hint.group(1)
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", suggested))  # the suggested port is really free
    assert not embedded_redis_running(tmp_path / "var"), "nothing was started"


def login(base: str, password: str) -> int:
    """Log in to the dashboard as a browser would (CSRF token from the page); the status of the overview."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/operator/login", timeout=10).read().decode()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"name": "operator", "password": password, "csrf": csrf}).encode()
    try:
        resp = opener.open(base + "/operator/login", data=form, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc.code
    return resp.status if resp.geturl().rstrip("/").endswith("/operator") else 0


def test_run_says_each_thing_once_and_stops_cleanly_on_ctrl_c(tmp_path: Path, tts_cache: Path) -> None:
    env, port = local_env(tmp_path, tts_cache), free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "var"
    run = Terminal(hotline("run", "--port", str(port)), env, tmp_path)
    run.wait_for("Check an edit of prompts/ or config/")
    time.sleep(3)  # the workers have loaded the app: a repeated warning would be printed by now
    out = run.output
    assert out.count(LOCAL_MODE) == 1, out
    assert f"The hotline is running at {base}  (Ctrl-C stops everything)" in out
    assert "set OPERATOR_PASSWORD first" not in out
    passwords = re.findall(r"/operator   name operator, password (\S+)  \(new at every start\)$", out, re.M)
    assert len(passwords) == 1, out
    assert login(base, passwords[0]) == 200
    assert login(base, "not-the-password") == 401
    assert not (tmp_path / "home" / ".gunicorn").exists(), "no gunicorn control socket at the shared default path"

    attached = subprocess.run(hotline("outbox"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert attached.returncode == 0, attached.stderr
    assert LOCAL_MODE not in attached.stdout + attached.stderr, "a command that serves nothing does not warn"
    assert "embedded Redis started" not in attached.stdout + attached.stderr, "it joined the running one"

    assert run.ctrl_c() == 0
    out = run.output
    assert "Aborted!" not in out and "Traceback" not in out, out
    assert out.rstrip().endswith("Stopped."), out
    assert not (data_dir / "hotline.rdb.settings").exists(), "the embedded Redis's registry went with it"
    assert not (data_dir / "run.json").exists()
    deadline = time.time() + 10
    while embedded_redis_running(data_dir) and time.time() < deadline:
        time.sleep(0.1)
    assert not embedded_redis_running(data_dir)

    again = Terminal(hotline("run", "--port", str(port)), env, tmp_path)
    again.wait_for("Check an edit of prompts/ or config/")
    second = re.findall(r"/operator   name operator, password (\S+)  \(new at every start\)$", again.output, re.M)
    assert again.ctrl_c() == 0
    assert "had died" not in again.output, again.output
    assert second and second != passwords, "a new one-time password at every start"


def test_the_procfile_web_line_warns_once_and_opens_no_control_socket(tmp_path: Path, tts_cache: Path) -> None:
    """gunicorn as a platform starts it (the Procfile), in local mode: the master warns, workers do not."""
    env, port = local_env(tmp_path, tts_cache), free_port()
    env.update(PORT=str(port), WEB_CONCURRENCY="2", PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    line = next(x for x in (REPO / "Procfile").read_text().splitlines() if x.startswith("web:"))
    command = line.removeprefix("web:").strip().replace("0.0.0.0", "127.0.0.1")
    web = Terminal(["sh", "-c", command], env, tmp_path)
    web.wait_for("Booting worker")
    wait_healthy(port)
    time.sleep(2)
    os.killpg(web.proc.pid, signal.SIGTERM)
    web.wait()
    assert web.output.count(LOCAL_MODE) == 1, web.output
    assert "Control socket" not in web.output, web.output
    assert not (tmp_path / "home" / ".gunicorn").exists()
