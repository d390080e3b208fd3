"""The SMS channel: keywords in every language and script, STOP that always holds, one sender."""
from __future__ import annotations

import pytest
import yaml

from hotline.messaging import sender
from hotline.store import keys as store
from hotline.store import optout_filter
from support import CALLER, FIXTURE, Call, FakeTwilio, Twilio, make_app, outbox, rest_app

KEYWORDS = yaml.safe_load((FIXTURE / "config" / "keywords.yaml").read_text(encoding="utf-8"))


# What the fixture answers, word for word.
REPLY = {
    "sms.help": {"kk": "МЕКЕНЖАЙ, қала, МЕРЗІМ, ҚҰҚЫҚ, ЕСКЕРТУ және күн (ЕСКЕРТУ 3.12), ТОҚТАТУ - бас тарту.",
                 "ru": "АДРЕС, город, СРОКИ, ПРАВА, НАПОМНИ и дата (НАПОМНИ 3.12), СТОП - отписаться.",
                 "en": "Text: ADDRESS, a city name, DEADLINES, RIGHTS, REMIND and a date (REMIND 3.12), STOP to end messages."},
    "sms.deadlines": {"kk": "Келгеннен кейін 5 күнтізбелік күн ішінде (пункттен тыс өтсеңіз 24 сағат). Шағым: 3 ай.",
                      "ru": "Подать: за 5 календарных дней после прибытия (24 часа после перехода вне пункта). Жалоба: 3 месяца.",
                      "en": "Apply within 5 calendar days of arrival (24 hours after crossing outside a checkpoint). "
                            "Appeal a written refusal within 3 months."},
    "sms.rights": {"kk": "Аудармашы, ақпарат, шешімге дейін қалу, медкөмек, жұмыс. ҚР заңдарын сақтаңыз.",
                   "ru": "Переводчик, информация, право остаться до решения, медпомощь, работа. Соблюдайте законы РК.",
                   "en": "Free interpreter, info, stay until the final decision, medical care, work. Follow the laws of Kazakhstan."},
    "sms.stop": {"kk": "Енді хабар келмейді. Деректеріңізді жою мерзімі: 2 күнтізбелік күн. Оған дейін болдырмау үшін БАСТАУ деп жіберіңіз.",
                 "ru": "Сообщений больше не будет. Данные удалим через 2 календарных дня. Чтобы отменить это до того, отправьте СТАРТ.",
                 "en": "You will get no more messages from us. Your data is deleted after 2 calendar days. To undo this before then, text START."},
    "sms.start": {"kk": "Хабарлар қайта қосылды. Мәзір: КӨМЕК", "ru": "Сообщения снова включены. Меню: ПОМОЩЬ",
                  "en": "Messages are on again. Text HELP for the menu."},
}


def _words(intent: str) -> list[tuple[str, str]]:
    return [(lang, w) for lang, words in KEYWORDS["intents"][intent].items() for w in words]


@pytest.mark.parametrize("intent,template", [("help", "sms.help"), ("deadlines", "sms.deadlines"),
                                             ("rights", "sms.rights")])
def test_information_keywords_in_every_language_and_script(twilio: Twilio, intent: str, template: str) -> None:
    """Each word, shouted with punctuation, gets its reply; a word of one language only, in that language."""
    words = _words(intent)
    by_lang = REPLY[template]
    for i, (lang, word) in enumerate(words):
        replies = twilio.sms(f" {word.upper()}! ", sender=f"+7701{i:07d}")
        assert len(replies) == 1 and replies[0] in by_lang.values(), word
        if sum(w == word for _, w in words) == 1 and any(c.isalpha() for c in word):
            assert replies[0] == by_lang[lang], (word, lang)


@pytest.mark.parametrize("body,reply", [
    ("ALMATY", "Almaty: 85 Dostyk Avenue. Dept. of Employment and Social Programmes."),
    ("алматы", "Алматы: проспект Достык, дом 85. Департамент занятости и соцпрограмм."),
    ("Адрес Шымкент", "Шымкент: улица Байтерекова, дом 89. Департамент занятости и соцпрограмм."),
    ("мекенжай Талдықорған", "Талдықорған: Қабанбай батыр көшесі, 26. Жұмыспен қамту басқармасы."),
    ("address konaev", "Konaev: 1st Microdistrict, 43. Dept. of Employment and Social Programmes."),
    ("МЕКЕНЖАИ", "Астана Бейбітшілік 9; Алматы Достық 85; Шымкент Байтереков 89; Талдықорған Қабанбай батыр 26; "
                 "Қонаев 1 шағын аудан, 43."),
    ("adress", "Offices: Astana 9 Beibitshilik St; Almaty 85 Dostyk Ave; Shymkent 89 Baiterekov St; Taldykorgan 26 "
               "Kabanbai Batyr St; Konaev 1st Microdistrict 43. Text a city name for one address."),
    ("АДРЕС", "Астана ул. Бейбитшилик 9; Алматы пр. Достык 85; Шымкент ул. Байтерекова 89; Талдыкорган ул. Кабанбай "
              "батыра 26; Конаев 1 мкр, 43."),
])
def test_addresses_all_or_one_city(twilio: Twilio, body: str, reply: str) -> None:
    """A city name (alone or after an address word, typos forgiven) gets that office in the city's script;
    an address word alone gets every office, in the word's language."""
    assert twilio.sms(body) == [reply]


@pytest.mark.parametrize("body,lang", [("hello there", "en"), ("привет", "ru"), ("сәлем қалайсыз", "kk"),
                                       ("🙂", "ru"), ("", "ru")])
def test_unknown_text_gets_help_in_the_guessed_language(twilio: Twilio, body: str, lang: str) -> None:
    """Guessed from the letters; nothing to guess from (an emoji, nothing) means the default, Russian."""
    assert twilio.sms(body) == [REPLY["sms.help"][lang]]


def test_a_subscribers_language_wins_over_the_guess(twilio: Twilio, hl) -> None:
    """A subscriber's language (given when they subscribed) answers them; a language chosen on a call is
    not remembered for the number at all (issue 14, S3), so a call alone does not change SMS replies."""
    from datetime import date

    from hotline.reminders.schedule import subscribe
    subscribe(hl, CALLER, "kk", "filing", date(2026, 12, 4), channel="voice")
    assert twilio.sms("HELP") == [REPLY["sms.help"]["kk"]]


@pytest.mark.parametrize("word", [w for _, w in _words("stop")])
def test_every_stop_word_opts_out_and_confirms_once(twilio: Twilio, r, hl, word: str) -> None:
    replies = twilio.sms(word.lower())
    assert len(replies) == 1 and replies[0] in REPLY["sms.stop"].values()
    h = hl.vault.hash(CALLER)
    assert optout_filter.contains(r, h)
    assert twilio.sms("HELP") == [], "after STOP nothing is sent, not even help"
    (back,) = twilio.sms("START")
    assert back in REPLY["sms.start"].values()
    assert not optout_filter.contains(r, h)
    assert twilio.sms("HELP")


def test_stop_deletes_everything_but_the_opt_out_and_the_undo(twilio: Twilio, call: Call, r, hl) -> None:
    from datetime import date

    from hotline.reminders.schedule import subscribe
    subscribe(hl, CALLER, "ru", "filing", date(2026, 12, 4), channel="voice")
    twilio.sms("СТОП")
    h = hl.vault.hash(CALLER)
    # Kept under the person's hash: only the undo record (consents and reminders, gone after 2 days).
    # The opt-out is a counter in a filter that cannot be listed; today's anti-abuse counters are keyed
    # by a keyed hash of (day, budget, person), gone in 2 days: deleting them would let STOP/START
    # floods reset the daily cap.
    assert sorted(k for k in r.keys("*") if h in k) == [store.undo(h)]
    assert 0 < r.ttl(store.undo(h)) <= 2 * 86400
    assert optout_filter.contains(r, h)
    assert all(0 < r.ttl(k) <= 2 * 86400 for k in r.keys("hl:cap:*"))


def test_after_stop_no_path_sends(twilio: Twilio, call: Call, r, hl) -> None:
    """The voice SMS key, an SMS reply, and the sender itself all refuse an opted-out number."""
    twilio.sms("ТОҚТАТУ")
    before = len(outbox(r))
    call.start()
    call.press("2")
    call.press("1")
    call.press("2")
    call.press("8")
    assert "Мы отправляем это по SMS на телефон, с которого вы звоните." in call.text, "the same words for any number"
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
    assert sent["body"] == REPLY["sms.deadlines"]["en"]


def test_daily_cap_holds_and_is_counted(twilio: Twilio, r, hl) -> None:
    cap = 10  # sms.daily_cap in the fixture's config/hotline.yaml
    answered = [bool(twilio.sms("HELP")) for _ in range(cap + 5)]
    assert answered == [True] * cap + [False] * 5
    assert int(r.hget(store.stats("2026-12-05"), "sms.refused.daily_cap")) == 5
    assert twilio.sms("HELP", sender="+77017654321"), "another number is not affected"


def test_daily_cap_is_shared_by_processes(r, clock, tmp_path, tts_cache, hl) -> None:
    a = Twilio(make_app(r, clock, tmp_path / "a", tts_cache))
    b = Twilio(make_app(r, clock, tmp_path / "b", tts_cache))
    cap = 10  # sms.daily_cap in the fixture's config/hotline.yaml
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
    assert optout_filter.contains(r, hl.vault.hash(CALLER))
    assert not r.exists(store.message(sid)), "opting out erases the number's message records (issue 14, P1)"
    assert t.post("/sms/status", {"MessageSid": sid, "MessageStatus": "exploded"}).status_code == 400
    assert t.post("/sms/status", {"MessageSid": sid, "MessageStatus": "sent"}, signature="forged").status_code == 403


def test_21610_on_send_opts_out_here_too(r, clock, tmp_path, tts_cache, fake: FakeTwilio) -> None:
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000")
    hl = app.extensions["hotline"]
    fake.failures.append((400, 21610))
    with app.app_context():
        result = sender.send(hl, CALLER, "hi", "test")
        assert not result.ok and not result.transient
        assert optout_filter.contains(r, hl.vault.hash(CALLER))
        assert sender.send(hl, CALLER, "hi", "test").reason == "opted_out"
    assert fake.requests == []
