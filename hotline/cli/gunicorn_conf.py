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


def when_ready(server) -> None:  # noqa: ANN001 - gunicorn's Arbiter
    """The master prints the start-up warnings once, before forking workers that would each repeat them."""
    from hotline.runtime import settings

    if os.environ.get(settings.STARTUP_WARNED):
        return  # `hotline run`/`serve` already said it
    cfg = {**settings.defaults(), **settings.from_env()}
    for warning in settings.startup_warnings(cfg):
        server.log.warning(warning)
    os.environ[settings.STARTUP_WARNED] = "1"  # inherited by the workers forked after this
