"""Privacy and abuse: no number in Redis or in any log, forged webhooks change nothing, SMS cannot be
pumped, and the dashboard holds against what its own tests do not try.

The whole test run is also checked for full numbers in any log line (conftest.pytest_sessionfinish).
"""
from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from twilio.request_validator import RequestValidator

from hotline import reminders
from hotline.rules.deadlines import ALMATY
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import optout_filter
from support import CALLER, FIXTURE, PUBLIC, SECRET, TOKEN, Call, FakeTwilio, SessionLog, Twilio, full_numbers, make_app, outbox

RU, KK, REST_CALLER = "+77017654321", "+77019998877", "+77015550123"
PASSWORD = "correct horse battery staple"


def formats(number: str) -> list[str]:
    """+77011234567 as it could be written: E.164, without +, with the trunk 8, the national number."""
    national = number[2:]
    return [number, "7" + national, "8" + national, national]


def everything(r: redis.Redis) -> list[str]:
    """Every key name and every stored string, whatever the type."""
    out = []
    for key in r.scan_iter(count=1000):
        out.append(key)
        kind = r.type(key)
        if kind == "string":
            out.append(r.get(key))
        elif kind == "hash":
            out.extend(x for pair in r.hgetall(key).items() for x in pair)
        elif kind == "list":
            out.extend(r.lrange(key, 0, -1))
        elif kind == "set":
            out.extend(r.smembers(key))
        elif kind == "zset":
            out.extend(member for member, _ in r.zrange(key, 0, -1, withscores=True))
        elif kind != "none":  # none: gone since the scan saw it (a synthesis lock let go)
            raise AssertionError(f"{key}: a {kind} this scan does not read")
    return out


def dump(r: redis.Redis) -> dict[str, object]:
    """All of Redis as comparable data (TTLs left out: they tick), but the speech cache (hl:tts:): the
    background renderer writes it, not a request."""
    readers = {"string": r.get, "hash": r.hgetall, "list": lambda k: r.lrange(k, 0, -1),
               "set": lambda k: sorted(r.smembers(k)), "zset": lambda k: r.zrange(k, 0, -1, withscores=True)}
    return {key: readers[r.type(key)](key) for key in r.scan_iter(count=1000) if not key.startswith("hl:tts:")}


# ---- the session-wide log check works ------------------------------------------------------------

def test_the_session_log_sees_a_number_before_and_after_masking(session_log: SessionLog) -> None:
    mark = session_log.mark()
    logging.getLogger("hotline.canary").warning("a careless line about %s", CALLER)
    try:
        (level, name, text), = session_log.since(mark)
        assert full_numbers(text) == [CALLER], "the raw copy: what our code wrote"
        written = session_log.written[-1]
        assert CALLER not in written and "+7******4567" in written, "the copy a handler writes is masked"
    finally:
        session_log.forget(mark)  # a canary, not a finding
    for text in ("+7 701 123 45 67", "87011234567", "7011234567", "+996555123456"):
        assert full_numbers(f"to {text}."), text
    for text in ("+7******4567", "CA" + "1" * 32, "SM00000000000000000000000000000001", "version 123456789012",
                 "2026-12-05T11:00:00+05:00", "1733378400.5"):
        assert not full_numbers(text), text


def test_the_masking_filter_also_masks_tracebacks(session_log: SessionLog) -> None:
    mark = session_log.mark()
    try:
        raise ValueError(f"Twilio: the 'To' number {CALLER} is not valid")
    except ValueError:
        logging.getLogger("hotline.canary").exception("send failed")
    written = session_log.written[mark:]
    session_log.forget(mark)
    assert not full_numbers("\n".join(written))


# ---- nothing in plain text anywhere in Redis -------------------------------------------------------

@pytest.fixture
def fake():
    server = FakeTwilio(token=TOKEN)  # accepts our credentials: a refused send would not prove "nothing sent"
    yield server
    server.stop()


def test_a_full_day_leaves_no_number_in_plain_text_anywhere_in_redis(r, hl, clock, tmp_path, tts_cache,
                                                                      fake) -> None:
    local = Twilio(make_app(r, clock, tmp_path / "local", tts_cache))
    for number, sid, (lang_key, rule) in ((CALLER, "CA" + "e" * 32, ("3", "1")), (RU, "CA" + "r" * 32, ("2", "4")),
                                          (KK, "CA" + "k" * 32, ("1", "1"))):
        call = Call(local, r, caller=number, sid=sid)
        call.start()
        for key in (lang_key, "1", "2", "8", "0", "7", rule, "0312" if rule == "1" else "0112", "1"):
            call.press(key)
        assert local.post("/voice/status", call.form(CallStatus="completed")).status_code == 204
    for number in (CALLER, RU, KK):
        for body in ("HELP", "ADDRESS Almaty", "DEADLINES", "REMIND 3.12", "YES"):
            local.sms(body, sender=number)
    local.sms("STOP", sender=RU)
    local.sms("START", sender=RU)
    local.sms("FILED", sender=KK)
    local.sms("DELETE MY DATA", sender=KK)
    assert len(outbox(r)) >= 3

    rest_app = make_app(r, clock, tmp_path / "rest", tts_cache, TWILIO_ACCOUNT_SID=fake.account_sid,
                        TWILIO_AUTH_TOKEN=fake.token, TWILIO_API_URL=fake.url, TWILIO_FROM_NUMBER="+77000000000")
    rest = Twilio(rest_app, token=fake.token)
    call = Call(rest, r, caller=REST_CALLER, sid="CA" + "f" * 32)
    call.start()
    for key in ("3", "2", "8", "0", "7", "1", "0312", "1"):
        call.press(key)
    clock.set("2026-12-07T10:00:00+05:00")
    assert reminders.run_once(rest_app.extensions["hotline"]).sent >= 2  # CALLER's and REST_CALLER's reminders
    for _i, req in enumerate(fake.requests):
        code = "21610" if req["To"] == CALLER else ""
        assert rest.post("/sms/status", {"MessageSid": req["sid"], "MessageStatus": "delivered" if not code
                                         else "undelivered", "ErrorCode": code}).status_code == 204
    assert optout_filter.contains(r, hl.vault.hash(CALLER)), "the 21610 opt-out went through"
    assert {req["To"] for req in fake.requests} >= {CALLER, REST_CALLER}

    stored = everything(r)
    kinds = {key.split(":")[1] for key in r.scan_iter()}
    assert {"sub", "optout", "undo", "due", "jobs", "msg", "pmsg", "stats", "outbox", "cap", "purge"} <= kinds, kinds
    digits_only = [re.sub(r"\D", "", s) for s in stored]
    for number in (CALLER, RU, KK, REST_CALLER):
        for form in formats(number):
            found = [s for s in stored if form in s]
            assert not found, (form, found[:3])
        assert not [d for d in digits_only if number[2:] in d], f"{number}: even with the separators removed"


# ---- forged, missing or replayed signatures ---------------------------------------------------------

def forgeries(twilio: Twilio, path: str, form: dict) -> dict[str, tuple[dict, str | None]]:
    """(form, X-Twilio-Signature) for every way a request to `path` can fail to be Twilio's."""
    other = "/voice" if path.startswith("/sms") else "/sms"
    base, _, query = path.partition("?")
    moved = base + "?" + (query.replace("l=en", "l=ru") if "l=en" in query else "l=ru")
    first = next(iter(form))
    return {
        "missing": (form, None),
        "garbage": (form, "bm90IGEgc2lnbmF0dXJl"),
        "another URL": (form, twilio.sign(other, form)),
        "another query": (form, twilio.sign(moved, form)),
        "plain http": (form, RequestValidator(TOKEN).compute_signature(PUBLIC.replace("https:", "http:") + path, form)),
        "another token": (form, RequestValidator("not-our-token").compute_signature(PUBLIC + path, form)),
        "tampered form": ({**form, first: form[first] + "0"}, twilio.sign(path, form)),
    }


SIGNED_ACTIONS = [
    ("/voice", {"CallSid": "CA" + "9" * 32, "From": CALLER}),
    ("/voice/lang", {"CallSid": "CA" + "9" * 32, "From": CALLER, "Digits": "3"}),
    ("/voice/node?n=main&l=en&s=1", {"CallSid": "CA" + "9" * 32, "From": CALLER}),
    ("/voice/key?n=office.almaty&l=en&p=0", {"CallSid": "CA" + "9" * 32, "From": CALLER, "Digits": "8"}),
    ("/voice/key?n=reminders&st=confirm&r=filing&d=2026-12-03&l=en", {"CallSid": "CA" + "9" * 32, "From": CALLER,
                                                                       "Digits": "1"}),
    ("/voice/status", {"CallSid": "CA" + "1" * 32, "CallStatus": "completed", "From": CALLER}),
    ("/sms", {"From": CALLER, "Body": "STOP", "MessageSid": "SM" + "0" * 32}),
    ("/sms", {"From": CALLER, "Body": "YES", "MessageSid": "SM" + "0" * 32}),
    ("/sms", {"From": RU, "Body": "HELP", "MessageSid": "SM" + "0" * 32}),
    ("/sms/status", {"MessageSid": "SM" + "5" * 32, "MessageStatus": "undelivered", "ErrorCode": "21610"}),
]


@pytest.mark.parametrize("path,form", SIGNED_ACTIONS, ids=[f"{p.split('?')[0]}:{f.get('Body') or f.get('Digits') or ''}"
                                                           for p, f in SIGNED_ACTIONS])
def test_a_request_twilio_did_not_sign_is_refused_and_changes_nothing(r, clock, tmp_path, tts_cache, fake,
                                                                      path: str, form: dict) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, TWILIO_ACCOUNT_SID=fake.account_sid, TWILIO_AUTH_TOKEN=fake.token,
                   TWILIO_API_URL=fake.url, TWILIO_FROM_NUMBER="+77000000000")
    twilio = Twilio(app)
    call = Call(twilio, r)  # state worth protecting: a call in progress, a pending opt-in, a message record
    call.start()
    call.press("3")
    twilio.sms("REMIND 3.12")
    person = app.extensions["hotline"].vault.hash(CALLER)
    r.hset(store.message("SM" + "5" * 32), mapping={"status": "sent", "person": person})
    before, sent_before = dump(r), len(fake.requests)
    day = store.stats(stats.today(clock(), ALMATY))
    bad_before = int(before.get(day, {}).get("security.bad_signature", 0))
    cases = forgeries(twilio, path, form)
    for how, (f, sig) in cases.items():
        resp = twilio.client.post(path, data=f, headers={} if sig is None else {"X-Twilio-Signature": sig})
        assert resp.status_code == 403, how
    after = dump(r)
    assert int(after[day].pop("security.bad_signature")) == bad_before + len(cases)
    before.get(day, {}).pop("security.bad_signature", None)
    assert after == before, "nothing stored, deleted or counted"
    assert len(fake.requests) == sent_before, "nothing sent"
    assert twilio.post(path, form).status_code in (200, 204), "the same request, signed, is accepted"


# ---- SMS abuse: floods and premium numbers are capped and counted, across processes -----------------

def test_a_flood_from_one_number_gets_at_most_the_daily_cap_on_every_channel(twilio: Twilio, r, hl) -> None:
    cap = 10  # sms.daily_cap in the fixture's config/hotline.yaml
    bodies = ["HELP", "ADDRESS", "STOP", "START", "REMIND 3.12", "YES", "DEADLINES", "RIGHTS", "ALMATY"]
    flood = 13 * len(bodies)  # STOP/START pairs included: each reply is a message too
    answered = sum(len(twilio.sms(bodies[i % len(bodies)])) for i in range(flood))
    notices = 4  # the STOP/START replies say how to undo a stop: their own budget of 4 a day (issue 14, S2)
    assert answered <= cap + notices
    counters = {k: int(v) for k, v in r.hgetall(store.stats("2026-12-05")).items()}
    assert counters["sms.refused.daily_cap"] >= flood - cap - notices
    call = Call(twilio, r, sid="CA" + "c" * 32)
    call.start()
    if call.gather().get("action") == "/voice/lang":  # STOP forgot the language
        call.press("3")
    for key in ("1", "2", "8"):  # the voice "send me this" shares the same allowance
        call.press(key)
    assert "We are sending this by SMS to the phone you are calling from." in call.text, "the same words as when sent (S3)"
    assert [e["purpose"] for e in outbox(r) if not e.get("reply")] == [], "the voice key sent nothing"
    assert len(outbox(r)) == answered, "the SMS replies that were answered, and no more"
    assert twilio.sms("HELP", sender=RU), "another number is not affected"


@pytest.mark.parametrize("number", ["+882351234567", "+19005550123", "+447700900123", "+996555123456",
                                    "+2348031234567"])
def test_foreign_and_premium_numbers_are_never_texted_and_each_refusal_is_counted(twilio: Twilio, r, hl,
                                                                                number: str) -> None:
    for body in ("HELP", "REMIND 3.12", "YES"):
        assert twilio.sms(body, sender=number) == []
    call = Call(twilio, r, caller=number)
    call.start()
    for key in ("3", "1", "2", "8"):
        call.press(key)
    assert "Sorry, this hotline can send SMS only to Kazakh numbers." in call.text, "told plainly: only Kazakh numbers"
    for key in ("0", "7", "1", "0312", "1"):
        call.press(key)
    assert "Sorry, this hotline can send SMS only to Kazakh numbers." in call.text, "told plainly: retrying will not help"
    assert twilio.sms("STOP", sender=number) == [], "not even the STOP confirmation"
    assert not outbox(r) and not r.keys("hl:sub:*") and not r.keys("hl:due:*")
    counters = r.hgetall(store.stats("2026-12-05"))
    assert int(counters["sms.refused.country_not_allowed"]) == 4  # HELP, REMIND, YES and STOP
    assert int(counters["sms.in.out_of_region"]) == 4 and int(counters["voice.sms_out_of_region"]) == 1


FLOOD = r"""
import sys, time
from twilio.request_validator import RequestValidator
from hotline import create_app
client = create_app().test_client()
start, count, sender = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
while time.time() < start:
    time.sleep(0.005)
answered = 0
for i in range(count):
    form = {"From": sender, "Body": "HELP", "MessageSid": f"SM{i:032d}"}
    sig = RequestValidator(TOKEN).compute_signature(PUBLIC + "/sms", form)
    answered += client.post("/sms", data=form, headers={"X-Twilio-Signature": sig}).data.count(b"<Message>")
print(answered)
"""


def test_the_cap_holds_across_separate_processes(r, hl, redis_socket: str, tmp_path: Path) -> None:
    env = {**os.environ, "REDIS_URL": f"unix://{redis_socket}", "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC,
           "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_CONTENT_DIR": str(FIXTURE), "HOTLINE_DATA_DIR": str(tmp_path),
           "HOTLINE_CLOCK_START": "2026-12-05T11:00:00+05:00"}
    script = f"TOKEN, PUBLIC = {TOKEN!r}, {PUBLIC!r}\n" + FLOOD
    start = str(time.time() + 4)  # both processes start flooding at the same moment
    procs = [subprocess.Popen([sys.executable, "-c", script, start, "15", number], env=env, cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for number in (CALLER, CALLER, "+882351234567")]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert not full_numbers(err), "the processes' own logs mask numbers too"
    answered = [int(out) for out, _ in results]
    cap = 10  # sms.daily_cap in the fixture's config/hotline.yaml
    assert answered[0] + answered[1] == cap and answered[2] == 0, answered
    counters = {k: int(v) for k, v in r.hgetall(store.stats("2026-12-05")).items()}
    assert counters["sms.refused.daily_cap"] == 30 - cap
    assert counters["sms.refused.country_not_allowed"] == 15


# ---- the operator dashboard: what its own tests do not try -----------------------------------------

def csrf(client, path: str = "/operator/login") -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def login(client, password: str = PASSWORD, **environ: str):
    """OPERATOR_PASSWORD gives local mode an admin account called "operator"."""
    return client.post("/operator/login", data={"csrf": csrf(client), "name": "operator", "password": password},
                       environ_base=environ)


@pytest.mark.parametrize("hops", [0, 1])
def test_forged_forwarded_for_headers_do_not_reset_the_lockout(r, clock, tmp_path, tts_cache, hops: int) -> None:
    """Rotating X-Forwarded-For: ignored without a proxy; behind one, only the proxy's own entry counts."""
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, PROXY_HOPS=hops)
    codes = []
    for i in range(8):
        client = app.test_client()
        codes.append(login(client, "guess" if i < 7 else PASSWORD,
                           HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7").status_code)
    assert codes == [401] * 5 + [429] * 3


def test_logging_in_replaces_the_session_and_the_cookie_is_secure_and_unguessable(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)
    client = app.test_client()
    before = csrf(client)
    resp = login(client)
    assert resp.status_code == 302 and "Secure" in resp.headers["Set-Cookie"], "HTTPS deployment: Secure cookie"
    assert csrf(client, "/operator/phone") != before, "a token planted before login is worthless after it"
    cookie = client.get_cookie("hotline_session")
    assert len(cookie.value) >= 40, "a random id of 256 bits"
    forged = cookie.value[:-4] + ("AAAA" if not cookie.value.endswith("AAAA") else "BBBB")
    client.set_cookie("hotline_session", forged, domain=cookie.domain, path=cookie.path)
    assert client.get("/operator/").status_code == 302, "a tampered cookie is no session"


def test_https_deployments_send_hsts_everywhere(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)
    twilio = Twilio(app)
    for resp in (app.test_client().get("/operator/login"), twilio.post("/voice", {"CallSid": "CA1", "From": CALLER}),
                 app.test_client().get("/healthz")):
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    local = make_app(r, clock, tmp_path / "local", tts_cache, PUBLIC_URL="")
    assert "Strict-Transport-Security" not in local.test_client().get("/healthz").headers
