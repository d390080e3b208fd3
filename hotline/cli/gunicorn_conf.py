"""gunicorn settings for every way the web server starts: `hotline run`, `hotline serve`, the Procfile.

Used as `gunicorn -c python:hotline.cli.gunicorn_conf ...`. Settings an older gunicorn does not know
are ignored by it, so this file works across versions.
"""
from __future__ import annotations

import os

# gunicorn 25+ opens a control socket for `gunicornc` by default, at one fixed path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): every gunicorn on the machine
# (two clones, a test run beside `make run`) fights over the same file. The hotline does not use
# gunicornc (workers are set on the command line, restarts go through the platform), so it is off.
control_socket_disable = True

# Threads, not gunicorn's default sync worker: a "send me this" webhook waits for Twilio's REST API
# (about 150 ms, seconds when Twilio is slow, up to the client's 10 s timeout), and a sync worker
# serves no other caller meanwhile: with two of them, two callers pressing 8 held up everyone
# (bench/RESULTS.md: 72 requests a second at p99 2.4 s against a 150 ms API, 606 at p99 0.3 s with
# 16 threads). A waiting thread costs no CPU. WEB_THREADS sets the threads per worker process.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 16)


def when_ready(server) -> None:  # noqa: ANN001 - gunicorn's Arbiter
    """The master prints the start-up warnings once, before forking workers that would each repeat them."""
    from hotline.runtime import settings

    if os.environ.get(settings.STARTUP_WARNED):
        return  # `hotline run`/`serve` already said it
    cfg = {**settings.defaults(), **settings.from_env()}
    for warning in settings.startup_warnings(cfg):
        server.log.warning(warning)
    os.environ[settings.STARTUP_WARNED] = "1"  # inherited by the workers forked after this
