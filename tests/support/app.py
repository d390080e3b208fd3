"""A real app for one test: the session's Redis, the frozen fixture content, a clock the test moves."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import redis

from hotline import create_app
from hotline.store.keys import OUTBOX
from support.content import FIXTURE, fixture_content

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://hotline.example.org"
SECRET = "test-secret-key-for-the-vault-0123456789"
CALLER = "+77011234567"
TEST_PASSWORD_HASH = "scrypt:1024:8:1"  # the production default is werkzeug's "scrypt" (N=32768)


class Clock:
    """The hotline's notion of now, moved by tests (Almaty is UTC+5)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_app(r: redis.Redis | None, clock: Clock, tmp: Path, tts: Path, **overrides):
    """create_app as a test needs it (overrides win over these defaults). Content: the frozen fixture,
    loaded once for the whole run and shared by every app, unless HOTLINE_CONTENT_DIR points elsewhere."""
    config = {"REDIS_CLIENT": r, "CLOCK": clock, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC,
              "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp / "var"), "TTS_CACHE_DIR": str(tts),
              "HOTLINE_CONTENT_DIR": str(FIXTURE), "TESTING": True,
              # An edit is served at once and its speech rendered after (production waits for the
              # speech first, up to 120 s; tests/runtime/test_speech.py covers that).
              "TTS_RENDER_WAIT": 0}
    config.update(overrides)
    if config.get("HOTLINE_ENV") != "production":  # scrypt at N=1024: ~3 ms a password, not ~110 ms
        config.setdefault("PASSWORD_HASH_METHOD", TEST_PASSWORD_HASH)
    if Path(config["HOTLINE_CONTENT_DIR"]) == FIXTURE:
        config.setdefault("CONTENT", fixture_content())
    return create_app(config)


def rest_app(r: redis.Redis, clock: Clock, tmp: Path, tts: Path, fake, **overrides):
    """An app that sends through the twilio REST client to `fake` (a FakeTwilio)."""
    return make_app(r, clock, tmp, tts, TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.token,
                    TWILIO_API_URL=fake.url, **overrides)


def outbox(r: redis.Redis) -> list[dict]:
    """The SMS the app wrote to its outbox (no Twilio credentials): oldest first."""
    return [json.loads(x) for x in r.lrange(OUTBOX, 0, -1)]
