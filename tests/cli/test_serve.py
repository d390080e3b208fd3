"""`hotline serve` with the embedded Redis: data kept across restarts, no server left behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import psutil
from twilio.request_validator import RequestValidator

from support import FIXTURE
from support.server import free_port, wait_healthy
from support.twilio_api import FakeTwilio


def redis_servers_for(data_dir: Path) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["name", "cmdline", "cwd"]):
        try:
            if "redis-server" in (p.info["name"] or "") and str(data_dir) in " ".join(p.info["cmdline"] or []) + (p.cwd() or ""):
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def serve(data_dir: Path, port: int, tts: Path, **extra: str) -> subprocess.Popen:
    """`hotline serve`, its speech from the run's shared cache (`tts`); `extra`: more of its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_URL"))}
    env.update(HOTLINE_DATA_DIR=str(data_dir), HOTLINE_CONTENT_DIR=str(FIXTURE), TTS_CACHE_DIR=str(tts), **extra)
    proc = subprocess.Popen([sys.executable, "-m", "hotline.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, cwd=data_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_healthy(port, proc)
    except AssertionError:
        proc.kill()
        raise
    return proc


def post(port: int, path: str, **form: str) -> str:
    data = urlencode(form).encode()
    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", data=data, timeout=10).read().decode()


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    return out


def test_embedded_redis_keeps_data_and_stops_with_the_app(tmp_path: Path, tts_cache: Path) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    port = free_port()
    proc = serve(data_dir, port, tts_cache)
    assert "<Gather" in post(port, "/voice", CallSid="CA1", From="+77011234567")
    assert "<Message>" in post(port, "/sms", From="+77011234567", Body="СТОП")
    assert redis_servers_for(data_dir), "the embedded Redis runs while the app runs"
    log = stop(proc)
    deadline = time.time() + 10
    while redis_servers_for(data_dir) and time.time() < deadline:
        time.sleep(0.1)
    assert not redis_servers_for(data_dir), "no orphaned Redis after the app stopped"
    assert "7011234567" not in log
    proc = serve(data_dir, port, tts_cache)
    try:
        assert "<Message>" not in post(port, "/sms", From="+77011234567", Body="HELP"), "the STOP survived a restart"
    finally:
        stop(proc)


def test_hotline_run_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    """`make run`: web, worker and embedded Redis start together and all stop on Ctrl-C (from an empty
    speech cache, so the stop comes while espeak-ng is still rendering)."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_URL"))}
    env.update(HOTLINE_DATA_DIR=str(data_dir), HOTLINE_CONTENT_DIR=str(FIXTURE))
    proc = subprocess.Popen([sys.executable, "-m", "hotline.cli", "run", "--port", str(port)], env=env, cwd=data_dir,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_healthy(port, proc)
    post(port, "/voice/key?n=office.almaty&l=en", CallSid="CA1", From="+77011234567", Digits="8")
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2 and redis_servers_for(data_dir)
    deadline = time.time() + 10
    out = ""
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert re.search(r"^\[SMS \d\d:\d\d:\d\d\] to \+7\*{6}4567 \(voice\.office\.almaty\): Almaty: 85 Dostyk Avenue", out, re.M), out
    assert "make simulate" in out, "it says how to try a call"
    while (redis_servers_for(data_dir) or any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)) \
            and time.time() < deadline:
        time.sleep(0.1)
    assert not redis_servers_for(data_dir)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert "7011234567" not in out


def test_callers_are_answered_while_twilio_is_slow_to_take_their_sms(tmp_path: Path, tts_cache: Path) -> None:
    """A "send me this" waits inside its webhook for Twilio's REST API; other callers must not wait
    behind it (gunicorn's threads: hotline/cli/gunicorn_conf.py). Three such webhooks are held at the
    fake Twilio, more than the two worker processes, while a fourth caller presses a menu key: its
    answer comes while all three are still waiting. With one request per process, the third SMS could
    not even reach Twilio."""
    fake = FakeTwilio()
    fake.delay = 5.0
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = serve(data_dir, port, tts_cache, TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.token,
                 TWILIO_API_URL=fake.url, TWILIO_FROM_NUMBER="+77000000000", PUBLIC_URL=base)
    validator = RequestValidator(fake.token)

    def signed(path: str, **form: str) -> str:
        request = urllib.request.Request(base + path, data=urlencode(form).encode(),
                                         headers={"X-Twilio-Signature": validator.compute_signature(base + path, form)})
        return urllib.request.urlopen(request, timeout=30).read().decode()

    answered: list[str] = []

    def press_8(i: int) -> None:
        signed("/voice/key?n=office.almaty&l=en&p=0", CallSid=f"CA{i:032d}", From=f"+7701123450{i}", Digits="8")
        answered.append(f"sms {i}")

    try:
        held = [threading.Thread(target=press_8, args=(i,)) for i in range(3)]
        for t in held:
            t.start()
        deadline = time.time() + 20
        while fake.in_flight < 3 and time.time() < deadline:
            time.sleep(0.05)
        assert fake.in_flight == 3, (f"only {fake.in_flight} of the 3 SMS at Twilio at once (at most "
                                     f"{fake.max_in_flight} so far; answered: {answered})")
        menu = signed("/voice/key?n=main&l=en&p=0", CallSid="CA" + "9" * 32, From="+77011234599", Digits="1")
        assert "Where and how to apply" in menu
        assert answered == [], "the menu answer came while the three SMS were still at Twilio"
        for t in held:
            t.join(30)
        assert sorted(answered) == ["sms 0", "sms 1", "sms 2"]
        assert len(fake.requests) == 3
    finally:
        stop(proc)
        fake.stop()
