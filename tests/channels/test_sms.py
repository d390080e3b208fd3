"""The SMS channel: keywords in every language and script, STOP that always holds, one sender."""
from __future__ import annotations

import pytest
import yaml

from hotline.content import render as P
from hotline.messaging import sender
from hotline.rules.segments import measure
from hotline.store import keys as store
from support import CALLER, ROOT, Call, FakeTwilio, Twilio, make_app, outbox, rest_app

KEYWORDS = yaml.safe_load((ROOT / "config" / "keywords.yaml").read_text(encoding="utf-8"))


def _words(intent: str) -> list[tuple[str, str]]:
    return [(lang, w) for lang, words in KEYWORDS["intents"][intent].items() for w in words]


@pytest.mark.parametrize("intent,template", [("help", "sms.help"), ("deadlines", "sms.deadlines"),
                                             ("rights", "sms.rights")])
def test_information_keywords_in_every_language_and_script(twilio: Twilio, hl, intent: str, template: str) -> None:
    """Each word, shouted with punctuation, gets its reply; a word of one language only, in that language."""
    words = _words(intent)
    for i, (lang, word) in enumerate(words):
        replies = twilio.sms(f" {word.upper()}! ", sender=f"+7701{i:07d}")
        by_lang = {code: P.text(hl.content, code, template) for code in hl.content.prompts}
        assert len(replies) == 1 and replies[0] in by_lang.values(), word
        if sum(w == word for _, w in words) == 1 and any(c.isalpha() for c in word):
            assert replies[0] == by_lang[lang], (word, lang)


@pytest.mark.parametrize("body,lang,city", [
    ("ALMATY", None, "almaty"), ("алматы", None, "almaty"), ("Адрес Шымкент", "ru", "shymkent"),
    ("мекенжай Талдықорған", "kk", "taldykorgan"), ("address konaev", "en", "konaev"),
    ("МЕКЕНЖАИ", "kk", None), ("adress", "en", None), ("АДРЕС", "ru", None),
])
def test_addresses_all_or_one_city(twilio: Twilio, hl, body: str, lang: str | None, city: str | None) -> None:
    (reply,) = twilio.sms(body)
    c = hl.content
    if city:
        office = c.offices[city]
        assert any(office.address[l] in reply and office.city[l] in reply for l in c.prompts)
    else:
        assert reply == P.addresses_sms(c, lang)
        for office in c.offices.values():
            assert office.short[lang] in reply


@pytest.mark.parametrize("body,lang", [("hello there", "en"), ("привет", "ru"), ("сәлем қалайсыз", "kk"),
                                       ("🙂", "ru"), ("", "ru")])
def test_unknown_text_gets_help_in_the_guessed_language(twilio: Twilio, hl, body: str, lang: str) -> None:
    replies = twilio.sms(body)
    guessed = hl.content.vocabulary.guess_language(body) if any(c.isalpha() for c in body) else None
    expected_lang = guessed if guessed in hl.content.prompts else hl.content.settings.default_language
    if body in ("hello there", "привет", "сәлем қалайсыз"):
        assert expected_lang == lang
    assert replies == [P.text(hl.content, expected_lang, "sms.help")]


def test_saved_language_wins_over_the_guess(twilio: Twilio, call: Call, hl) -> None:
    call.start()
    call.press("1")  # Kazakh chosen by phone
    (reply,) = twilio.sms("HELP")
    assert reply == P.text(hl.content, "kk", "sms.help")


@pytest.mark.parametrize("word", [w for _, w in _words("stop")])
def test_every_stop_word_opts_out_and_confirms_once(twilio: Twilio, r, hl, word: str) -> None:
    replies = twilio.sms(word.lower())
    assert len(replies) == 1 and replies[0] in {P.text(hl.content, l, "sms.stop") for l in hl.content.prompts}
    h = hl.vault.hash(CALLER)
    assert r.exists(store.optout(h))
    assert twilio.sms("HELP") == [], "after STOP nothing is sent, not even help"
    (back,) = twilio.sms("START")
    assert back in {P.text(hl.content, l, "sms.start") for l in hl.content.prompts}
    assert not r.exists(store.optout(h))
    assert twilio.sms("HELP")


def test_stop_deletes_everything_but_the_opt_out(twilio: Twilio, call: Call, r, hl) -> None:
    call.start()
    call.press("2")
    assert r.keys("hl:caller:*")
    twilio.sms("СТОП")
    h = hl.vault.hash(CALLER)
    left = sorted(k for k in r.keys("*") if h in k)
    # Kept: the opt-out, and today's anti-abuse counter (a keyed hash and a number, gone in 2 days);
    # deleting the counter would let STOP/START floods reset the daily cap.
    assert left == sorted([store.optout(h), store.daily_count(h, "2026-12-05")])
    assert r.get(store.optout(h)) == "sms" and 0 < r.ttl(store.daily_count(h, "2026-12-05")) <= 2 * 86400


def test_after_stop_no_path_sends(twilio: Twilio, call: Call, r, hl) -> None:
    """The voice SMS key, an SMS reply, and the sender itself all refuse an opted-out number."""
    twilio.sms("ТОҚТАТУ")
    before = len(outbox(r))
    call.start()
    call.press("2")
    call.press("1")
    call.press("2")
    call.press("8")
    assert P.text(hl.content, "ru", "sms.blocked") in call.text
    assert twilio.sms("АДРЕС") == []
    with call.twilio.client.application.app_context():
        result = sender.send(hl, CALLER, "anything", purpose="test")
    assert not result.ok and result.reason == "opted_out"
    assert len(outbox(r)) == before


def test_send_to_me_only_ever_goes_to_the_calling_number(call: Call, r, hl) -> None:
    call.start()
    call.press("3")
    call.press("2")  # deadlines
    root = call.twilio.twiml(call.gather().get("action"), call.form(Digits="8", To="+77779999999"))
    call.hear(root)
    (sent,) = outbox(r)
    assert hl.vault.decrypt(sent["to_enc"]) == CALLER
    assert sent["body"] == P.text(hl.content, "en", "sms.deadlines")


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_every_template_fits_the_segment_limit(hl, lang: str) -> None:
    c = hl.content
    values = {"city": max((o.city[lang] for o in c.offices.values()), key=len),
              "address": max((o.address[lang] for o in c.offices.values()), key=len),
              "short": "", "list": "", "deadline": "30 сентября", "dates": ", ".join(["28 сентября"] * 5)}
    for key in c.prompts[lang]:
        if not key.startswith("sms.") or key in ("sms.sent", "sms.not_sent", "sms.blocked"):
            continue
        text = P.addresses_sms(c, lang) if key == "sms.addresses" else P.text(c, lang, key, **values)
        size = measure(text)
        assert size.segments <= c.settings.max_segments, (lang, key, size)
        for word in ("asylum", "refugee", "убежищ", "беженц", "баспана", "босқын"):
            assert word not in text.lower(), (lang, key, "not discreet")


def test_daily_cap_holds_and_is_counted(twilio: Twilio, r, hl) -> None:
    cap = hl.content.settings.daily_cap
    answered = [bool(twilio.sms("HELP")) for _ in range(cap + 5)]
    assert answered == [True] * cap + [False] * 5
    assert int(r.hget(store.stats("2026-12-05"), "sms.refused.daily_cap")) == 5
    assert twilio.sms("HELP", sender="+77017654321"), "another number is not affected"


def test_daily_cap_is_shared_by_processes(r, clock, tmp_path, tts_cache, hl) -> None:
    a = Twilio(make_app(r, clock, tmp_path / "a", tts_cache))
    b = Twilio(make_app(r, clock, tmp_path / "b", tts_cache))
    cap = hl.content.settings.daily_cap
    answered = [bool((a if i % 2 else b).sms("HELP")) for i in range(cap + 2)]
    assert answered.count(True) == cap


@pytest.mark.parametrize("number,allowed", [("+77011234567", True), ("+79161234567", False),
                                            ("+996555123456", False), ("+882351234567", False),
                                            ("+447700900123", False)])
def test_country_allow_list(twilio: Twilio, r, hl, number: str, allowed: bool) -> None:
    assert bool(twilio.sms("HELP", sender=number)) is allowed
    if not allowed:
        assert int(r.hget(store.stats("2026-12-05"), "sms.refused.country_not_allowed")) == 1


def test_rest_request_carries_twilio_fields(r, clock, tmp_path, tts_cache, fake: FakeTwilio) -> None:
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_MESSAGING_SERVICE_SID="MG" + "1" * 32)
    t = Twilio(app, token=fake.token)
    call = Call(t, r)
    call.start()
    call.press("3")
    call.press("4")  # appeal
    call.press("8")
    (req,) = fake.requests
    assert req["To"] == CALLER and req["MessagingServiceSid"] == "MG" + "1" * 32
    assert req["StatusCallback"].endswith("/sms/status")
    assert "appeal" in req["Body"].lower()
    assert r.hget(store.message(req["sid"]), "status") == "queued"


def test_from_number_when_no_messaging_service(r, clock, tmp_path, tts_cache, fake: FakeTwilio) -> None:
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000")
    with app.app_context():
        assert sender.send(app.extensions["hotline"], CALLER, "hi", "test").ok
    assert fake.requests[0]["From"] == "+77000000000"


def test_status_callbacks_are_recorded_and_21610_opts_out(r, clock, tmp_path, tts_cache, fake: FakeTwilio) -> None:
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000")
    hl = app.extensions["hotline"]
    t = Twilio(app, token=fake.token)
    with app.app_context():
        sid = sender.send(hl, CALLER, "hi", "test").sid
    for state in ("sent", "delivered"):
        assert t.post("/sms/status", {"MessageSid": sid, "MessageStatus": state}).status_code == 204
        assert r.hget(store.message(sid), "status") == state
    assert t.post("/sms/status", {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}).status_code == 204
    assert r.hget(store.message(sid), "error") == "21610"
    assert r.exists(store.optout(hl.vault.hash(CALLER)))
    assert t.post("/sms/status", {"MessageSid": sid, "MessageStatus": "exploded"}).status_code == 400
    assert t.post("/sms/status", {"MessageSid": sid, "MessageStatus": "sent"}, signature="forged").status_code == 403


def test_21610_on_send_opts_out_here_too(r, clock, tmp_path, tts_cache, fake: FakeTwilio) -> None:
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000")
    hl = app.extensions["hotline"]
    fake.failures.append((400, 21610))
    with app.app_context():
        result = sender.send(hl, CALLER, "hi", "test")
        assert not result.ok and not result.transient
        assert r.exists(store.optout(hl.vault.hash(CALLER)))
        assert sender.send(hl, CALLER, "hi", "test").reason == "opted_out"
    assert fake.requests == []
