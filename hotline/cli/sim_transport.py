"""How `hotline simulate` reaches the hotline: the app in this process, or a running one over HTTP,
each posting the signed forms Twilio would post."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

import redis
from twilio.request_validator import RequestValidator

from hotline.messaging import outbox
from hotline.runtime.synthesis import Synthesiser, known_sounds
from hotline.store import keys as store

__all__ = ["InProcess", "OverHttp", "SimulationError", "Transport", "local_path"]


class SimulationError(Exception):
    """The hotline did not answer a webhook as Twilio needs it to."""


def local_path(url: str) -> str:
    """'/voice/key?n=main' from a relative or absolute URL (we talk to our own host either way)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _sign(token: str, url: str, form: dict[str, str]) -> dict[str, str]:
    """The X-Twilio-Signature header Twilio would send (none without a token: local mode)."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)} if token else {}


class Transport(Protocol):
    token: str  # the auth token it signs with; "" = local mode

    def post(self, path: str, form: dict[str, str]) -> str: ...
    def audio(self, url: str) -> bytes | None: ...
    def spoken_text(self, url: str) -> str | None: ...
    def outbox(self, start: int) -> list[dict]: ...


class InProcess:
    """The hotline app in this process, through Flask's test client."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.hl = app.extensions["hotline"]
        self.token = self.hl.config.get("TWILIO_AUTH_TOKEN", "")
        self.base = (self.hl.config.get("PUBLIC_URL") or "http://localhost").rstrip("/")

    def post(self, path: str, form: dict[str, str]) -> str:
        resp = self.client.post(path, data=form, headers=_sign(self.token, self.base + path, form))
        if not 200 <= resp.status_code < 300:
            raise SimulationError(f"the hotline answered {resp.status_code} to {path}")
        return resp.get_data(as_text=True)

    def audio(self, url: str) -> bytes | None:
        resp = self.client.get(local_path(url))
        return resp.data if resp.status_code == 200 else None

    def spoken_text(self, url: str) -> str | None:
        name = url.rsplit("/", 1)[-1]
        known = known_sounds(self.hl.content, self.hl.synth).get(name)
        return self.hl.synth.text_of(name) or _tts_text(self.hl.redis, name) or (known[0] if known else None)

    def outbox(self, start: int) -> list[dict]:
        return outbox.read(self.hl.redis, start)


class OverHttp:
    """A running hotline at `base`, over HTTP; its Redis (if we can reach it) only to show synthesised text and SMS."""

    def __init__(self, base: str, token: str, public: str, r: redis.Redis | None, tts_dir: Path) -> None:
        self.base, self.token, self.public, self.redis = base.rstrip("/"), token, (public or base).rstrip("/"), r
        self.tts = Synthesiser(tts_dir)

    def post(self, path: str, form: dict[str, str]) -> str:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **_sign(self.token, self.public + path, form)}
        request = Request(self.base + path, data=urlencode(form).encode(), headers=headers, method="POST")
        try:
            with urlopen(request, timeout=15) as resp:  # Twilio, too, gives up after 15 s
                return resp.read().decode("utf-8")
        except HTTPError as exc:
            hint = " (is TWILIO_AUTH_TOKEN the server's token?)" if exc.code == 403 else ""
            raise SimulationError(f"the hotline answered {exc.code} to {path}{hint}") from None
        except URLError as exc:
            raise SimulationError(f"cannot reach {self.base}: {exc.reason}") from None

    def audio(self, url: str) -> bytes | None:
        try:
            with urlopen(url if url.startswith("http") else self.base + url, timeout=15) as resp:
                return resp.read()
        except (HTTPError, URLError):
            return None

    def spoken_text(self, url: str) -> str | None:
        name = url.rsplit("/", 1)[-1]
        return _tts_text(self.redis, name) or self.tts.text_of(name)

    def outbox(self, start: int) -> list[dict]:
        if self.redis is None:
            return []
        try:
            return outbox.read(self.redis, start)
        except redis.RedisError:
            return []


def _tts_text(r: redis.Redis | None, name: str) -> str | None:
    """The text the synthesiser left in Redis for a file name (JSON with its text)."""
    if r is None:
        return None
    try:
        spec = r.get(f"{store.TTS_TEXT}{name}")
        return json.loads(spec).get("text") if spec else None
    except (redis.RedisError, ValueError, AttributeError):
        return None
