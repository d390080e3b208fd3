"""Bad input: whatever reaches a webhook, the answer is valid TwiML or a 4xx, never a 500 or a traceback.

Property-based: hypothesis builds requests from arbitrary query and form parameters (unicode,
control characters, very long values, missing fields, values the app itself would send), sent as
forms, multipart, JSON or raw bytes, with the wrong method now and then. Most are signed exactly as
Twilio signs what the app will parse, so they reach the handlers; the rest carry a missing, forged
or other-URL signature and must get 403. Malformed dates and keywords get a clear answer in the
caller's language.
"""
from __future__ import annotations

import io
import json
import logging
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import FileStorage
from werkzeug.test import EnvironBuilder, encode_multipart
from werkzeug.wrappers import Request

from support import CALLER, PUBLIC, SUMMARY, TOKEN, Call, Clock, SessionLog, Twilio, make_app
from support.content import fixture_content

VOICE = ["/voice", "/voice/lang", "/voice/node", "/voice/key", "/voice/status"]
VOICE_WEIGHTED = VOICE + ["/voice/node", "/voice/key"]  # where the menus and the reminder steps are
SMS = ["/sms", "/sms/status"]
STATUS_ENDPOINTS = {"/voice/status", "/sms/status"}  # answer with an empty 204, not TwiML
TRIED: Counter[str] = Counter()
LIMIT = 64 * 1024

_content = fixture_content()
NODES = sorted(_content.nodes)
LANGS = sorted(_content.prompts)


# ---- strategies -------------------------------------------------------------------------------

# Any text but lone surrogates (not encodable, so never on the wire): includes controls and NUL.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
long_text = st.builds(lambda c, n: c * n, st.characters(exclude_categories=("Cs",)), st.integers(1000, 6000))
numbers = st.sampled_from([CALLER, "+77017654321", "87011234567", "7011234567", "+996555123456", "+882351234567",
                           "+19005550123", "client:anonymous", "+", "", "00000000000000000000", "+7 (701) 123-45-67"])
keypad = st.text(st.sampled_from("0123456789*#"), max_size=6)
integers = st.sampled_from(["0", "1", "2", "3", "-1", "99", "100", "99999999999999999999", "1e5", " 3", "٣"])
dates = st.sampled_from(["2026-12-03", "2026-12-05", "2026-11-01", "2025-12-05", "2026-02-30", "0001-01-01",
                         "9999-12-31", "9999-10-01", "3000-01-01", "1900-01-01", "2027-01-01", "2024-02-29",
                         "20261203", "2026-12-03T10:00"])
bodies = st.sampled_from(["STOP", "СТОП", "ТОҚТАТУ", "START", "YES", "ДА", "ИӘ", "HELP", "REMIND 3.12", "НАПОМНИ 32.13",
                          "ЕСКЕРТУ ертең", "REMIND 3/12/1999", "REMIND APPEAL 1.12", "FILED", "DELETE MY DATA",
                          "ADDRESS Almaty", "🙂", "%s%n{0}{deadline}", "<Response/>", "\x00\x1b[31m"])
value = st.one_of(any_text, long_text, numbers, keypad, integers, dates, bodies,
                  st.sampled_from(NODES + LANGS + ["date", "confirm", "filing", "filing_irregular", "appeal",
                                                    "fingerprinting", "completed", "delivered", "undelivered",
                                                    "failed", "21610", "30003"]))
RULES = ["filing", "filing_irregular", "fingerprinting", "appeal"]
junk_key = any_text.filter(bool)
key = st.one_of(st.sampled_from(["n", "l", "p", "s", "st", "r", "d", "e", "bodySHA256", "Digits", "From"]), junk_key)


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """Pick a strategy with these weights (st.one_of ignores repeats, sampled_from keeps them)."""
    return st.sampled_from([i for i, (w, _) in enumerate(choices) for _ in range(w)]).flatmap(lambda i: choices[i][1])


def either(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly what the app or Twilio would send (to reach deep code), often anything at all."""
    return weighted((3, plausible), (1, value))


# Queries shaped like the app's own URLs (a reminder step, a node, a language), each value often
# replaced by anything, plus unknown parameters; or any query at all.
def shaped(required: dict, optional: dict) -> st.SearchStrategy:
    return st.tuples(st.fixed_dictionaries({k: either(v) for k, v in required.items()},
                                           optional={k: either(v) for k, v in optional.items()}),
                     st.dictionaries(junk_key, value, max_size=2)).map(lambda parts: {**parts[1], **parts[0]})


reminder_step = shaped({"n": st.just("reminders"), "st": st.sampled_from(["date", "confirm", "confirm"]),
                        "r": st.sampled_from(RULES), "d": dates}, {"l": st.sampled_from(LANGS), "s": integers})
query_params = weighted(
    (3, reminder_step),
    (3, shaped({"n": st.sampled_from(NODES)}, {"l": st.sampled_from(LANGS), "p": integers, "s": integers,
                                               "e": integers})),
    (1, shaped({}, {"l": st.sampled_from(LANGS), "s": integers})),
    (2, st.dictionaries(key, value, max_size=5)),
)
form_params = st.tuples(
    st.fixed_dictionaries({}, optional={
        "CallSid": either(st.sampled_from(["CA" + "1" * 32, "CA" + "2" * 32])), "From": either(numbers),
        "To": either(numbers), "Digits": either(keypad), "Body": either(bodies),
        "MessageSid": either(st.sampled_from(["SM" + "1" * 32, "SM" + "2" * 32])),
        "MessageStatus": either(st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed"])),
        "ErrorCode": either(st.sampled_from(["21610", "30003", "30006", "0"])),
        "CallStatus": either(st.sampled_from(["in-progress", "completed", "busy"])),
        "AccountSid": value}),
    st.dictionaries(junk_key, value, max_size=3),
).map(lambda parts: {**parts[1], **parts[0]})


@st.composite
def webhook_requests(draw: st.DrawFn, paths: list[str]) -> dict:
    path = draw(st.sampled_from(paths))
    query = draw(query_params)
    form = draw(form_params)
    kind = draw(st.sampled_from(["form", "form", "form", "multipart", "json", "bytes", "none"]))
    if kind == "form":
        ctype, body = "application/x-www-form-urlencoded", urlencode(form).encode()
    elif kind == "multipart":
        upload = FileStorage(io.BytesIO(b"\x00\xff" * 10), filename="x.bin", content_type="application/octet-stream")
        boundary, body = encode_multipart({**form, "upload": upload}, boundary="fuzz-boundary")
        ctype = f"multipart/form-data; boundary={boundary}"
    elif kind == "json":
        ctype, body = "application/json", json.dumps(form).encode()
    elif kind == "bytes":
        ctype = draw(st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data; boundary=zz",
                                      "multipart/form-data", "text/xml", "application/octet-stream", ""]))
        body = draw(st.binary(max_size=300))
    else:
        ctype, body = "", b""
    return {"path": path + ("?" + urlencode(query) if query else ""), "kind": kind, "ctype": ctype, "body": body,
            "method": draw(st.sampled_from(["POST"] * 12 + ["GET", "PUT", "DELETE", "PATCH"])),
            "signing": draw(st.sampled_from(["good"] * 7 + ["missing", "forged", "other-url"])),
            "forged": draw(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)),
            "other": draw(st.sampled_from([p for p in VOICE + SMS if p != path]))}


def parsed_form(req: dict):
    """The form the app will see for these bytes: what Twilio would have signed."""
    env = EnvironBuilder(path=req["path"], method="POST", data=req["body"], content_type=req["ctype"]).get_environ()
    return Request(env).form


def signature(req: dict) -> str | None:
    """The X-Twilio-Signature to send; a form nobody can sign (a nameless field) is sent as forged."""
    form = parsed_form(req)
    if None in form.keys() and req["signing"] in ("good", "other-url"):
        req["signing"] = "forged"
    if req["signing"] == "good":
        return RequestValidator(TOKEN).compute_signature(PUBLIC + req["path"], form)
    if req["signing"] == "other-url":
        query = urlsplit(req["path"]).query
        return RequestValidator(TOKEN).compute_signature(PUBLIC + req["other"] + (f"?{query}" if query else ""), form)
    return None if req["signing"] == "missing" else req["forged"]


# ---- the property --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_app(redis_socket: str, tmp_path_factory: pytest.TempPathFactory, tts_cache):
    """One app for all examples (state accumulates, as in production), on the session Redis."""
    client = redis.Redis(unix_socket_path=redis_socket, decode_responses=True)
    client.flushall()
    clock = Clock(datetime(2026, 12, 5, 11, 0, tzinfo=timezone(timedelta(hours=5))))
    return make_app(client, clock, tmp_path_factory.mktemp("fuzz"), tts_cache)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if TRIED:
        SUMMARY.append(f"fuzz: {sum(TRIED.values())} bad inputs tried against the webhooks "
                       f"({', '.join(f'{k} {v}' for k, v in sorted(TRIED.items()))})")


def brief(req: dict) -> str:
    return f"{req['method']} {req['path'][:200]} {req['kind']} {req['ctype'][:40]} {len(req['body'])}B {req['signing']}"


def check(app, log: SessionLog, req: dict) -> None:
    sig = signature(req)
    mark = log.mark()
    resp = app.test_client().open(req["path"], method=req["method"], data=req["body"], content_type=req["ctype"],
                                  headers={"X-Twilio-Signature": sig} if sig is not None else {})
    TRIED[f"{req['method'] if req['method'] != 'POST' else req['signing']}"] += 1
    code = resp.status_code
    endpoint = urlsplit(req["path"]).path
    assert code < 500, (code, brief(req))
    if req["method"] != "POST":
        assert code == 405
    elif req["signing"] != "good":
        assert code == 403 or (code == 413 and len(req["body"]) > LIMIT), (code, brief(req))
    else:
        assert code != 403, ("a correctly signed request was refused", brief(req))
        if code == 200:
            assert endpoint not in STATUS_ENDPOINTS
            assert resp.mimetype == "text/xml"
            root = ET.fromstring(resp.data)
            assert root.tag == "Response"
            for el in root.iter():
                target = el.get("action") if el.tag == "Gather" else el.text if el.tag == "Redirect" else None
                if target is not None:
                    assert target.startswith("/voice/"), "a call is only ever sent to our own voice webhooks"
        else:
            assert code in (204, 400) or (code == 413 and len(req["body"]) > LIMIT), (code, brief(req))
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    bad = [(lvl, name, text) for lvl, name, text in log.since(mark) if lvl >= logging.ERROR or "Traceback" in text]
    assert not bad, (brief(req), bad)


# About 35 s for both; no example database, so every run explores afresh.
FUZZ = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=1500, **FUZZ)
@given(req=webhook_requests(VOICE_WEIGHTED))
def test_voice_webhooks_survive_anything(fuzz_app, session_log: SessionLog, req: dict) -> None:
    check(fuzz_app, session_log, req)


@settings(max_examples=1000, **FUZZ)
@given(req=webhook_requests(SMS))
def test_sms_webhooks_survive_anything(fuzz_app, session_log: SessionLog, req: dict) -> None:
    check(fuzz_app, session_log, req)


# ---- size limit ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", VOICE + SMS)
def test_bodies_over_the_limit_get_413(twilio: Twilio, r, path: str) -> None:
    form = {"CallSid": "CA1", "From": CALLER, "Body": "x" * (LIMIT + 1)}
    assert twilio.post(path, form).status_code == 413
    multipart = twilio.client.post(path, data=form, content_type="multipart/form-data",
                                   headers={"X-Twilio-Signature": twilio.sign(path, form)})
    assert multipart.status_code == 413
    raw = twilio.client.post(path, data=b"{" * (LIMIT + 1), content_type="application/json",
                             headers={"X-Twilio-Signature": twilio.sign(path, {})})
    assert raw.status_code == 413
    unsigned = twilio.client.post(path, data=form)
    assert unsigned.status_code in (403, 413), "refused before the body is read"
    assert not [k for k in r.keys("*") if not k.startswith(("hl:stats:", "hl:tts:"))]  # the speech cache is the renderer's


# ---- malformed dates and keywords: a clear answer in the caller's language -------------------

@pytest.mark.parametrize("body,reply", [
    ("НАПОМНИ 32.13", "Такой даты нет. Пример: НАПОМНИ 3.12"),
    ("ЕСКЕРТУ ертең", "Күн түсініксіз. Мысалы: ЕСКЕРТУ 3.12"),
    ("REMIND 3/12/1999", "That date has passed: apply as soon as you can. The office decides."),
    ("ЕСКЕРТУ 30.02", "Мұндай күн жоқ. Мысалы: ЕСКЕРТУ 3.12"),
    ("ЕСКЕРТУ 25.12.2026", "Бұл күн әлі келмеді. Өткен күнді жіберіңіз: ЕСКЕРТУ 3.12"),
    ("НАПОМНИ вчера", "Дата не понятна. Пример: НАПОМНИ 3.12"),
    ("remind 0.0", "That date does not exist. Try again, for example: REMIND 3.12"),
    ("REMIND APPEAL 32.12", "That date does not exist. Try again, for example: REMIND 3.12"),
    ("НАПОМНИ 1.1.2020", "Дата прошла: подайте как можно скорее. Решает департамент."),
    ("ЕСКЕРТУ", "ЕСКЕРТУ және келген күнді жіберіңіз, мысалы: ЕСКЕРТУ 3.12"),
])
def test_sms_malformed_dates_are_answered_in_the_language(twilio: Twilio, r, body: str, reply: str) -> None:
    assert twilio.sms(body) == [reply]
    assert not r.keys("hl:pending:*") and not r.keys("hl:due:*")


DATE_SAYS = {  # the fixture's date.error.unreadable, date.error.impossible, reminders.enter_date
    "kk": ("Төрт цифр енгізіңіз: екеуі күнге, екеуі айға.", "Мұндай күн жоқ. Қайталап көріңіз.",
           "Күн мен айды төрт цифрмен енгізіңіз. Мысалы, 3 желтоқсан үшін 0 3 1 2 басыңыз."),
    "ru": ("Введите четыре цифры: две для дня и две для месяца.", "Такой даты нет. Попробуйте ещё раз.",
           "Введите день и месяц четырьмя цифрами. Например, для 3 декабря нажмите 0 3 1 2."),
    "en": ("Please enter four keys: two for the day, then two for the month.", "That date does not exist. Please try again.",
           "Enter the day and the month with four keys. For example, for the 3rd of December, press 0 3 1 2."),
}


@pytest.mark.parametrize("lang", LANGS)
def test_voice_malformed_dates_are_told_and_asked_again(twilio: Twilio, r, lang: str) -> None:
    unreadable, impossible, enter_date = DATE_SAYS[lang]
    for digits, error in [("99", unreadable), ("****", unreadable), ("1", unreadable),
                          ("12345", unreadable), ("##", unreadable), ("0000", impossible)]:
        call = Call(twilio, r)
        call.hear(twilio.twiml(f"/voice/key?n=reminders&st=date&r=filing&l={lang}", call.form(Digits=digits)))
        assert call.text.startswith(f"{error} {enter_date}"), digits
        assert call.gather().get("numDigits") == "4"
    assert not r.keys("hl:sub:*") and not r.keys("hl:due:*")


@pytest.mark.parametrize("start", ["9999-12-31", "9999-10-01", "2027-01-01", "2020-01-01", "0001-01-01", "03.12"])
def test_a_confirm_url_with_a_date_no_caller_could_key_goes_back_to_date_entry(
        twilio: Twilio, r, hl, session_log: SessionLog, start: str) -> None:
    """Future dates used to overflow the deadline maths (a logged traceback); ancient ones to subscribe."""
    mark = session_log.mark()
    for digits in (None, "1", "9"):
        call = Call(twilio, r)
        form = call.form(**({"Digits": digits} if digits else {}))
        call.hear(twilio.twiml(f"/voice/key?n=reminders&st=confirm&r=appeal&d={start}&l=en", form))
        assert call.text.startswith(DATE_SAYS["en"][2]), digits
    assert not r.keys("hl:sub:*") and not r.keys("hl:due:*") and not r.lrange("hl:outbox", 0, -1)
    assert not [rec for rec in session_log.since(mark) if rec[0] >= logging.ERROR]


def test_a_deadline_that_passes_during_the_call_is_not_confirmed(twilio: Twilio, r, hl, clock) -> None:
    call = Call(twilio, r)
    call.start()
    for key in ("3", "7", "1", "0312"):
        call.press(key)
    assert "Tuesday, 8 December" in call.text  # the read-back, waiting for 1
    clock.set("2026-12-09T00:00:30+05:00")  # the caller hesitated past midnight
    call.press("1")
    assert call.text.startswith("This date has already passed. Apply as soon as you can. "
                                "The office decides what happens next.")
    assert "We will send you SMS reminders" not in call.text
    assert not r.keys("hl:sub:*") and not r.keys("hl:due:*") and not r.lrange("hl:outbox", 0, -1)
