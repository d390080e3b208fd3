"""An SMS and voice hotline for people seeking asylum in Kazakhstan."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from hotline.runtime.clock import shifted_clock

if TYPE_CHECKING:  # the parts are imported inside the functions: importing any hotline module must not load the app
    from hotline.runtime.hotline import Hotline

__all__ = ["create_app"]
log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The app factory: config from defaults, then the environment, then `overrides` (tests).

    Objects a caller may hand in through `overrides`: REDIS_CLIENT (instead of REDIS_URL), CLOCK (a
    callable returning an aware datetime) and CONTENT (content already loaded from
    HOTLINE_CONTENT_DIR; the tests share one snapshot of their fixture content this way).
    """
    from hotline.rules.phones import install_log_masking

    install_log_masking()
    app = Flask(__name__, static_folder="dashboard/static", template_folder="dashboard/templates")
    _configure(app, overrides or {})
    app.extensions["hotline"] = _hotline(app)
    _install_web(app)
    return app


def _configure(app: Flask, overrides: dict[str, Any]) -> None:
    """The config, refused in production when unsafe; the dashboard's session key."""
    from hotline.runtime import settings as config

    app.config.from_mapping(config.defaults())
    app.config.from_mapping(config.from_env())
    app.config.from_mapping(overrides)
    cfg = app.config
    if cfg["HOTLINE_ENV"] == "production" and (unsafe := config.unsafe_for_production(cfg)):
        raise RuntimeError("HOTLINE_ENV=production refuses to start:\n  - " + "\n  - ".join(unsafe))
    if cfg["STARTUP_WARNINGS"] and not os.environ.get(config.STARTUP_WARNED):
        for warning in config.startup_warnings(cfg):
            log.warning(warning)
    # Dashboard sessions and CSRF tokens are signed with a key of their own: rotating it logs every
    # operator out and leaves every subscription readable.
    app.secret_key = cfg["HOTLINE_SESSION_KEY"] or config.local_secret(Path(cfg["HOTLINE_DATA_DIR"]), "session.key")


def _hotline(app: Flask) -> Hotline:
    """The running hotline: Redis, the vault, the content holder with its renderer, the clock."""
    from hotline.runtime import settings as config
    from hotline.runtime.hotline import Hotline
    from hotline.runtime.reload import ContentHolder
    from hotline.runtime.render import Renderer
    from hotline.runtime.synthesis import Synthesiser
    from hotline.store.connection import connect
    from hotline.store.vault import Vault

    cfg = app.config
    data_dir = Path(cfg["HOTLINE_DATA_DIR"])
    secret = cfg["HOTLINE_SECRET_KEY"] or config.local_secret(data_dir)
    clock = cfg.get("CLOCK") or shifted_clock(os.environ.get("HOTLINE_CLOCK_START", ""))
    client = cfg.get("REDIS_CLIENT") or connect(cfg["REDIS_URL"] or None, data_dir)
    root = config.content_dir(cfg["HOTLINE_CONTENT_DIR"])
    synth = Synthesiser(Path(cfg.get("TTS_CACHE_DIR") or data_dir / "tts"), client)
    renderer = Renderer(synth, enabled=bool(cfg.get("TTS_PRERENDER", True)))
    holder = ContentHolder(root, float(cfg["CONTENT_RELOAD_SECONDS"]), client, clock, cfg.get("CONTENT"), renderer,
                           float(cfg.get("TTS_RENDER_WAIT", 120)))
    return Hotline(dict(cfg), client, Vault(secret), holder, synth, clock)


def _install_web(app: Flask) -> None:
    """The proxy fix, the blueprints, the security headers and /healthz."""
    from hotline.channels.audio import audio_bp
    from hotline.channels.sms import sms_bp
    from hotline.channels.voice import voice_bp
    from hotline.channels.voice_person import person_bp
    from hotline.channels.webhooks import install_proxy_check, install_security_headers
    from hotline.dashboard import operator_bp

    if hops := int(app.config.get("PROXY_HOPS") or 0):  # behind N trusted proxies: real client address and scheme
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    for blueprint in (voice_bp, person_bp, sms_bp, audio_bp, operator_bp):
        app.register_blueprint(blueprint)
    install_security_headers(app)
    install_proxy_check(app)

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200
