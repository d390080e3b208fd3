"""Fixtures: a real Redis server, a fresh app per test on the frozen fixture content, signed Twilio
webhooks, a controllable clock.
The helpers they use are in tests/support/ (`from support import ...`).

Session-wide checks live here too: no full phone number in any log line of the run; soak tests only
with --run-soak.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis

from support import SESSION_LOG, SUMMARY, Call, Clock, FakeTwilio, SessionLog, Twilio, full_numbers, make_app, masked, start_redis
from support.content import content_copy, fixture_content
from support.logs import WATCHED_LOGGERS

# pytest keeps only the newest few numbered temporary folders under one root and deletes older ones
# when a run starts: two checkouts testing at once on one machine would delete each other's Redis
# sockets mid-run. Each checkout gets its own root (short, so Unix socket paths stay under 108 bytes).
_TEMPROOT = Path(tempfile.gettempdir()) / ("hl-" + hashlib.sha1(str(Path(__file__).resolve()).encode()).hexdigest()[:8])
_TEMPROOT.mkdir(exist_ok=True)
os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", str(_TEMPROOT))


@pytest.fixture(scope="session")
def redis_socket(tmp_path_factory: pytest.TempPathFactory):
    proc, sock = start_redis(tmp_path_factory.mktemp("redis"))
    yield sock
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def r(redis_socket: str) -> redis.Redis:
    client = redis.Redis(unix_socket_path=redis_socket, decode_responses=True)
    client.flushall()
    return client


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 5, 11, 0, tzinfo=timezone(timedelta(hours=5))))


@pytest.fixture(scope="session")
def tts_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tts")


@pytest.fixture(scope="session")
def content():
    """The frozen fixture content (tests/fixtures/content/), loaded once: what every `app` serves."""
    return fixture_content()


@pytest.fixture
def app(r: redis.Redis, clock: Clock, tmp_path: Path, tts_cache: Path):
    return make_app(r, clock, tmp_path, tts_cache)


@pytest.fixture
def hl(app):
    return app.extensions["hotline"]


@pytest.fixture
def twilio(app) -> Twilio:
    return Twilio(app)


@pytest.fixture
def call(twilio: Twilio, r: redis.Redis) -> Call:
    return Call(twilio, r)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of the fixture content, to edit or break."""
    return content_copy(tmp_path / "content")


@pytest.fixture
def fake():
    """A fake Twilio Messages API on loopback (Twilio replaced only at HTTP)."""
    server = FakeTwilio(token="auth-token-for-rest")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def session_log() -> SessionLog:
    return SESSION_LOG


# ---- session-wide checks ------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-soak", action="store_true", default=False,
                     help="run the soak tests (long; `make soak`)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --run-soak (make soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def pytest_sessionstart(session: pytest.Session) -> None:
    for name in WATCHED_LOGGERS:
        logging.getLogger(name).handlers.insert(0, SESSION_LOG)
    logging.getLogger().setLevel(logging.DEBUG)


def _full_number_lines() -> list[str]:
    """This process's log lines that held a full phone number, before or after masking (masked)."""
    raw = [f"raw {logging.getLevelName(level)} {name}: {text}" for level, name, text in SESSION_LOG.raw
           if full_numbers(text)]
    written = ["written " + line for line in SESSION_LOG.written if full_numbers(line)]
    return [masked(line)[:300] for line in raw + written]


# With pytest-xdist (`make test` runs `-n 2`), each worker process holds its own log; a worker hands
# its findings and summary lines to the controller, which fails the run and prints them.
_FROM_WORKERS: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    out = getattr(node, "workeroutput", {})
    _FROM_WORKERS.extend(out.get("full_numbers", []))
    SUMMARY.extend(out.get("summary", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log line of any test held a full phone number (printed masked)."""
    found = _full_number_lines()
    if hasattr(session.config, "workeroutput"):  # an xdist worker: the controller reports
        session.config.workeroutput["full_numbers"] = found
        session.config.workeroutput["summary"] = list(SUMMARY)
        return
    found += _FROM_WORKERS
    if not found:
        return
    session.exitstatus = 1
    out = session.config.pluginmanager.get_plugin("terminalreporter")
    if out:
        out.write_sep("=", "full phone numbers in log lines", red=True)
    write = out.write_line if out else print
    write(f"FAILED: {len(found)} log line(s) held a full phone number (shown masked; 'raw' is before the "
          f"masking filter, 'written' after):")
    for line in found[:20]:
        write("  " + line)


def pytest_terminal_summary(terminalreporter) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)
