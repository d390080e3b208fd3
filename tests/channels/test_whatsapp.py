"""WhatsApp as a second text channel, tested against the fake Twilio API at the HTTP level.

Twilio posts WhatsApp messages to the same /sms webhook (From "whatsapp:+7..."); the hotline
answers with the same keywords and replies, and sends reminders outside WhatsApp's 24-hour
window as approved templates (ContentSid + ContentVariables, no Body)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from hotline import reminders
from hotline.checks.checker import run_checks
from hotline.content import render as P
from hotline.store import keys as store
from hotline.store import optout_filter
from support import CALLER, FakeTwilio, Twilio, content_copy, rest_app

WA_FROM = "whatsapp:+77000000001"
ME = "whatsapp:" + CALLER
RUSSIAN = "+79161234567"
RULES = ("filing", "filing_irregular", "fingerprinting", "appeal")


def sid(rule: str, lang: str) -> str:
    return "HX" + f"{RULES.index(rule)}{('kk', 'ru', 'en').index(lang)}".ljust(32, "0")


def whatsapp_content(tmp: Path, templates: bool = True, one_way: bool = False) -> Path:
    root = content_copy(tmp / "content")
    cfg = root / "config" / "hotline.yaml"
    text = cfg.read_text()
    table = "{" + ", ".join(f"{rule}: {{{', '.join(f'{lang}: {sid(rule, lang)}' for lang in ('kk', 'ru', 'en'))}}}"
                            for rule in RULES) + "}"
    replace = {"  enabled: false": "  enabled: true", '  number: ""': '  number: "+7 700 000 00 01"'}
    if templates:
        replace["  templates: {}"] = f"  templates: {table}"
    if one_way:
        replace.update({"mode: two-way": "mode: one-way", 'sender_id: ""': "sender_id: HotlineKZ",
                        'phone_line: ""': 'phone_line: "+7 727 000 00 00"'})
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    cfg.write_text(text)
    return root


@pytest.fixture
def wa_app(r, clock, tmp_path, tts_cache, fake: FakeTwilio):
    return rest_app(r, clock, tmp_path, tts_cache, fake, HOTLINE_CONTENT_DIR=str(whatsapp_content(tmp_path)),
                    TWILIO_WHATSAPP_FROM=WA_FROM, TWILIO_FROM_NUMBER="+77000000000")


def whatsapp(twilio: Twilio, body: str, sender: str = ME) -> list[str]:
    root = twilio.twiml("/sms", {"From": sender, "To": WA_FROM, "Body": body, "MessageSid": "SM" + "1" * 32,
                                 "ProfileName": "A", "WaId": sender.removeprefix("whatsapp:+")})
    return [m.text or "" for m in root.iter("Message")]


def test_a_person_asks_by_whatsapp_for_the_almaty_address(wa_app, fake: FakeTwilio) -> None:
    hl = wa_app.extensions["hotline"]
    (reply,) = whatsapp(Twilio(wa_app, token=fake.token), "АДРЕС АЛМАТЫ")
    assert reply == P.text(hl.content, "ru", "sms.office", **P.office_values(hl.content, "ru", "almaty"))
    assert "85" in reply, "the Almaty office: 85 Dostyk Avenue"
    assert fake.requests == [], "the answer is the inline reply on the same channel"


def test_whatsapp_subscription_arrives_as_a_template_outside_the_window(wa_app, r, clock, fake: FakeTwilio) -> None:
    hl = wa_app.extensions["hotline"]
    t = Twilio(wa_app, token=fake.token)
    (ask,) = whatsapp(t, "REMIND 3.12")
    assert "YES" in ask, "on WhatsApp a reply is possible, so the question asks for one"
    (confirmed,) = whatsapp(t, "YES")
    assert confirmed == P.text(hl.content, "en", "sms.remind_confirmed")
    sub = r.hgetall(store.subscriber(hl.vault.hash(CALLER)))
    consent = json.loads(sub["rule:filing"])
    assert consent["channel"] == "whatsapp" and consent["via"] == "whatsapp"
    clock.set("2026-12-07T10:00:00+05:00")  # 47 hours after the person last wrote: the window is closed
    assert reminders.run_once(hl).sent == 1
    (req,) = fake.requests
    assert req["To"] == ME and req["From"] == WA_FROM
    assert req["ContentSid"] == sid("filing", "en")
    assert json.loads(req["ContentVariables"]) == {"1": "8 December"}
    assert "Body" not in req, "a template goes without a Body (Twilio error 63016 otherwise)"
    assert req["StatusCallback"].endswith("/sms/status")
    assert r.hget(store.message(req["sid"]), "via") == "whatsapp"


def test_inside_the_window_the_reminder_is_free_text(wa_app, r, clock, fake: FakeTwilio) -> None:
    hl = wa_app.extensions["hotline"]
    t = Twilio(wa_app, token=fake.token)
    whatsapp(t, "REMIND 3.12")
    whatsapp(t, "YES")
    clock.set("2026-12-07T09:00:00+05:00")
    whatsapp(t, "HELP")  # the person writes again: the window opens for 24 hours
    clock.set("2026-12-07T10:00:00+05:00")
    assert reminders.run_once(hl).sent == 1
    (req,) = fake.requests
    assert req["To"] == ME and req["From"] == WA_FROM and "ContentSid" not in req
    assert req["Body"] == P.text(hl.content, "en", "sms.reminder.filing", deadline="8 December")


def test_stop_on_whatsapp_stops_every_message(wa_app, r, clock, fake: FakeTwilio) -> None:
    hl = wa_app.extensions["hotline"]
    t = Twilio(wa_app, token=fake.token)
    whatsapp(t, "REMIND 3.12")
    whatsapp(t, "YES")
    (stopped,) = whatsapp(t, "СТОП")
    assert stopped == P.text(hl.content, "en", "sms.stop"), "in the language the person chose"
    assert optout_filter.contains(r, hl.vault.hash(CALLER))
    for when in ("2026-12-07T10:00:00+05:00", "2026-12-08T10:00:00+05:00"):
        clock.set(when)
        assert reminders.run_once(hl).sent == 0
    assert whatsapp(t, "HELP") == [], "nothing after STOP, on any channel"
    assert fake.requests == []


def test_a_russian_number_gets_whatsapp_but_never_sms(wa_app, r, fake: FakeTwilio) -> None:
    t = Twilio(wa_app, token=fake.token)
    assert whatsapp(t, "HELP", sender="whatsapp:" + RUSSIAN), "WhatsApp reaches any country by default"
    assert t.sms("HELP", sender=RUSSIAN) == [], "SMS only to Kazakh numbers"
    counters = r.hgetall(store.stats("2026-12-05"))
    assert counters["sms.in.out_of_region"] == "1" and "whatsapp.in.out_of_region" not in counters


def test_quiet_hours_and_the_daily_cap_hold_on_whatsapp(wa_app, r, clock, fake: FakeTwilio) -> None:
    hl = wa_app.extensions["hotline"]
    t = Twilio(wa_app, token=fake.token)
    cap = hl.content.settings.daily_cap
    answered = [bool(whatsapp(t, "HELP")) for _ in range(cap + 2)]
    assert answered.count(True) == cap, "the same cap as SMS, for the same person"
    clock.set("2026-12-06T12:00:00+05:00")
    whatsapp(t, "REMIND 3.12")
    whatsapp(t, "YES")
    clock.set("2026-12-08T03:00:00+05:00")  # a worker back at night, the 7 December reminder overdue
    report = reminders.run_once(hl)
    assert report.sent == 0 and report.deferred == 1, "deferred to the morning, as for SMS"
    assert fake.requests == []


def test_whatsapp_status_callbacks_are_recorded(wa_app, r, clock, fake: FakeTwilio) -> None:
    hl = wa_app.extensions["hotline"]
    t = Twilio(wa_app, token=fake.token)
    whatsapp(t, "REMIND 3.12")
    whatsapp(t, "YES")
    clock.set("2026-12-07T10:00:00+05:00")
    reminders.run_once(hl)
    (req,) = fake.requests
    assert t.post("/sms/status", {"MessageSid": req["sid"], "MessageStatus": "read"}).status_code == 204
    assert r.hget(store.message(req["sid"]), "status") == "read"
    assert t.post("/sms/status", {"MessageSid": req["sid"], "MessageStatus": "failed",
                                  "ErrorCode": "63016"}).status_code == 204
    assert r.hget(store.message(req["sid"]), "error") == "63016"


def test_whatsapp_replies_keep_reply_words_in_one_way_sms_mode(r, clock, tmp_path, tts_cache, fake: FakeTwilio) -> None:
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_WHATSAPP_FROM=WA_FROM,
                   HOTLINE_CONTENT_DIR=str(whatsapp_content(tmp_path, one_way=True)))
    hl = app.extensions["hotline"]
    t = Twilio(app, token=fake.token)
    assert whatsapp(t, "HELP") == [P.text(hl.content, "en", "sms.help", via="whatsapp")]
    assert t.sms("HELP") == [P.text(hl.content, "en", "sms.oneway_reply")]


def test_the_check_wants_a_template_per_rule_and_language(tmp_path: Path) -> None:
    report = run_checks(whatsapp_content(tmp_path, templates=False), date(2026, 12, 5))
    found = [str(p) for p in report.errors]
    for rule in ("filing", "fingerprinting", "appeal"):
        for lang in ("kk", "ru", "en"):
            assert any(f"reminder rule '{rule}' has no template in {lang}" in p for p in found), (rule, lang, found)
    assert any("whatsapp.templates.filing.kk" in p for p in found)


def test_the_check_shows_whatsapp(tmp_path: Path) -> None:
    report = run_checks(whatsapp_content(tmp_path), date(2026, 12, 5))
    assert not report.errors, report.errors
    (table,) = [t for t in report.tables if t.title.startswith("Messaging")]
    assert "on: +7 700 000 00 01, numbers of any country" in table.render()


def test_a_caller_from_russia_hears_one_answer_and_gets_it_on_whatsapp_if_they_wrote(wa_app, r, fake: FakeTwilio) -> None:
    from support import Call
    hl = wa_app.extensions["hotline"]
    t = Twilio(wa_app, token=fake.token)
    heard = []
    for wrote in (False, True):
        if wrote:
            whatsapp(t, "HELP", sender="whatsapp:" + RUSSIAN)
        call = Call(t, r, caller=RUSSIAN, sid=f"CA{int(wrote)}" + "3" * 31)
        call.start()
        if call.gather().get("action").startswith("/voice/lang"):
            call.press("3")
        for key in ("1", "2", "8"):  # where to apply, Almaty, "send me this"
            call.press(key)
        heard.append(P.text(hl.content, "en", "region.whatsapp") in call.text)
    assert heard == [True, True], "the same words whether or not this number wrote to us"
    assert "+7 700 000 00 01" in P.text(hl.content, "en", "region.whatsapp")
    (req,) = fake.requests
    assert req["To"] == "whatsapp:" + RUSSIAN and req["From"] == WA_FROM
    assert req["Body"] == P.text(hl.content, "en", "sms.office", **P.office_values(hl.content, "en", "almaty"))


def test_a_key_in_the_call_chooses_whatsapp_for_reminders(wa_app, r, clock, fake: FakeTwilio) -> None:
    from support import Call
    hl = wa_app.extensions["hotline"]
    call = Call(Twilio(wa_app, token=fake.token), r)
    call.start()
    for key in ("2", "7", "1", "0312"):
        call.press(key)
    assert P.text(hl.content, "ru", "reminders.confirm_whatsapp") in call.text
    call.press("3")
    assert P.text(hl.content, "ru", "reminders.confirmed") in call.text
    fake.requests.clear()  # the SMS confirmation (it says how to stop)
    clock.set("2026-12-07T10:00:00+05:00")
    assert reminders.run_once(hl).sent == 1
    (req,) = fake.requests
    assert req["To"] == ME and req["ContentSid"] == sid("filing", "ru") and "Body" not in req
    assert json.loads(req["ContentVariables"]) == {"1": "8 декабря"}
