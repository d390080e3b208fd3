"""An app on a real HTTP server in a thread: for Chromium and for commands that talk HTTP."""
from __future__ import annotations

import random
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from hotline.runtime import stats
from support.app import make_app


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve `app` on a free loopback port until the block ends; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)  # quick shutdown()
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(10)


def browser_dashboard(r, clock, tmp: Path, tts: Path, password: str) -> Flask:
    """The dashboard as the browser tests open it: no PUBLIC_URL (the session cookie is not marked
    Secure, so the browser keeps it over plain http), three calls counted."""
    app = make_app(r, clock, tmp, tts, OPERATOR_PASSWORD=password, PUBLIC_URL="")
    for _ in range(3):
        stats.count("call.started", app.extensions["hotline"])
    return app


def free_port() -> int:
    """A loopback port nothing uses now, for a server started as its own process.

    Drawn below the kernel's ephemeral range (32768 and up): a port from bind(0) comes from that range,
    so between our check and the server's bind another test's outgoing connection could take it (CI
    saw "Address already in use"). Below it only listeners live, and the bind checks there is none."""
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(20000, 32768)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def wait_healthy(port: int, proc: subprocess.Popen | None = None, seconds: float = 60) -> None:
    """Until the server on `port` answers /healthz; AssertionError (with its output) if `proc` ends
    first or it never answers."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the server ended before it answered: {proc.stdout.read() if proc.stdout else ''}") from None
            time.sleep(0.2)
    raise AssertionError(f"nothing answered /healthz on port {port} within {seconds:.0f} s")
