"""The voice channel, driven as Twilio drives it: signed webhooks, TwiML parsed as XML."""
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from hotline.store import keys as store
from support import CALLER, Call, Twilio, make_app, outbox
from support.redis_probe import RoundTripProxy

LANGS = {"kk": "1", "ru": "2", "en": "3"}
SAY_LANGUAGE = {"ru": "ru-RU", "en": "en-US"}
KEYS = list("0123456789*#")
# What the fixture's main menu says, word for word, after a language is chosen.
MAIN_MENU = {
    "kk": "Сәлеметсіз бе. Бұл Қазақстанда қорғау сұрау туралы тегін ақпарат. Басты мәзір. Өтінішті қайда және қалай "
          "беру: 1 басыңыз. Мерзімдер: 2 басыңыз. Саусақ іздері, куәлік, әңгімелесу және шешім: 3 басыңыз. Бас тарту "
          "және шағымдану: 4 басыңыз. Құқықтарыңыз бен міндеттеріңіз: 5 басыңыз. Балалар: 6 басыңыз. Мерзім туралы "
          "тегін SMS еске салғыштар: 7 басыңыз. Қайталау: 9. Тілді ауыстыру: жұлдызша.",
    "ru": "Здравствуйте. Это бесплатная информация о том, как попросить защиты в Казахстане. Главное меню. Куда и как "
          "подать заявление: нажмите 1. Сроки: нажмите 2. Отпечатки пальцев, свидетельство, собеседование и решение: "
          "нажмите 3. Отказ и обжалование: нажмите 4. Ваши права и обязанности: нажмите 5. Дети: нажмите 6. Бесплатные "
          "SMS-напоминания о сроке: нажмите 7. Повторить: 9. Сменить язык: звёздочка.",
    "en": "Hello. This line gives free information about asking for protection in Kazakhstan. Main menu. For where and "
          "how to apply, press 1. For deadlines, press 2. For fingerprints, your certificate, the interview and the "
          "decision, press 3. For a refusal and how to appeal, press 4. For your rights and duties, press 5. For "
          "children, press 6. For free SMS reminders before your deadline, press 7. To repeat, press 9. To change "
          "language, press star.",
}
TITLE_MAIN = {"kk": "Басты мәзір.", "ru": "Главное меню.", "en": "Main menu."}
TITLE_APPLY = {"kk": "Өтінішті қайда және қалай беру керек.", "ru": "Куда и как подать заявление.",
               "en": "Where and how to apply."}
WRONG_KEY = {"kk": "Кешіріңіз, бұл мәзірде мұндай перне жоқ.", "ru": "Извините, такой клавиши нет в этом меню.",
             "en": "Sorry, that key is not in this menu."}
SILENCE = {"kk": "Мен перне басылғанын естімедім.", "ru": "Я не услышала нажатия клавиши.",
           "en": "I did not hear a key press."}
# Said after key 8 whatever happened (sent, STOP, over the cap): one answer for every caller (issue 14, S3).
SMS_SENT = {"kk": "Мұны сіз қоңырау шалып тұрған телефонға SMS арқылы жібереміз.",
            "ru": "Мы отправляем это по SMS на телефон, с которого вы звоните.",
            "en": "We are sending this by SMS to the phone you are calling from."}


def start_in(call: Call, lang: str) -> None:
    call.start()
    call.press(LANGS[lang])


def test_first_call_offers_each_language_in_its_own_voice(call: Call) -> None:
    call.start()
    assert call.text == "Қазақ тілі үшін 1 басыңыз. Для русского языка нажмите 2. For English, press 3."
    g = call.gather()
    assert g.get("numDigits") == "1" and g.get("finishOnKey") == ""
    says = {el.get("language"): "".join(el.itertext()) for el in g.iter("Say")}
    assert "Для русского" in says["ru-RU"] and "English" in says["en-US"]
    plays = [el.text for el in g.iter("Play")]
    assert len(plays) == 1, "Kazakh is played (no Twilio voice speaks Kazakh)"
    assert "Қазақ тілі" in call.play_text(plays[0])


@pytest.mark.parametrize("lang", LANGS)
def test_main_menu_announces_every_option_in_the_language(call: Call, lang: str) -> None:
    start_in(call, lang)
    assert call.text == MAIN_MENU[lang]
    for el in call.root.iter("Say"):
        assert el.get("language") == SAY_LANGUAGE[lang]
    if lang == "kk":
        assert not list(call.root.iter("Say")), "Kazakh never falls back to another language's voice"


# The fixture's offices, by their key on the "where to apply" menu (main menu key 1): city, address.
OFFICES = {
    "kk": {"1": ("Астана", "Бейбітшілік көшесі, 9"), "2": ("Алматы", "Достық даңғылы, 85"),
           "3": ("Шымкент", "Байтереков көшесі, 89"), "4": ("Талдықорған", "Қабанбай батыр көшесі, 26"),
           "5": ("Қонаев", "1-шағын аудан, 43")},
    "ru": {"1": ("Астана", "улица Бейбитшилик, дом 9"), "2": ("Алматы", "проспект Достык, дом 85"),
           "3": ("Шымкент", "улица Байтерекова, дом 89"), "4": ("Талдыкорган", "улица Кабанбай батыра, дом 26"),
           "5": ("Конаев", "1-й микрорайон, дом 43")},
    "en": {"1": ("Astana", "9 Beibitshilik Street"), "2": ("Almaty", "85 Dostyk Avenue"),
           "3": ("Shymkent", "89 Baiterekov Street"), "4": ("Taldykorgan", "26 Kabanbai Batyr Street"),
           "5": ("Konaev", "1st Microdistrict, 43")},
}
READ = {"kk": "{city}. Мекенжайы: {address}.", "ru": "{city}. Адрес: {address}.", "en": "{city}. The address is: {address}."}
SMS_OFFICE = {"kk": "{city}: {address}. Жұмыспен қамту басқармасы.",
              "ru": "{city}: {address}. Департамент занятости и соцпрограмм.",
              "en": "{city}: {address}. Dept. of Employment and Social Programmes."}


@pytest.mark.parametrize("lang", LANGS)
def test_every_office_address_in_two_presses_and_by_sms(call: Call, r, lang: str) -> None:
    start_in(call, lang)
    for key, (city, address) in OFFICES[lang].items():
        call.press("0")
        call.press("1")
        call.press(key)
        assert call.text.startswith(READ[lang].format(city=city, address=address)), (key, call.text)
        before = len(outbox(r))
        call.press("8")
        assert SMS_SENT[lang] in call.text
        sent = outbox(r)[before:]
        assert len(sent) == 1 and sent[0]["body"] == SMS_OFFICE[lang].format(city=city, address=address)
        assert sent[0]["to"] != CALLER and sent[0]["to"].endswith(CALLER[-4:]), "masked, never in full"


@pytest.mark.parametrize("lang", LANGS)
def test_every_fact_is_reachable(call: Call, hl, lang: str) -> None:
    """Walk every content node, every part; the legal periods and key facts must be heard."""
    c = hl.content
    start_in(call, lang)
    heard = []
    for key, node_id in c.nodes["main"].options.items():
        todo = [(key,)]
        if c.nodes[node_id].type == "menu":
            todo = [(key, k) for k in c.nodes[node_id].options]
        for path in todo:
            call.press("0")
            for k in path:
                call.press(k)
            heard.append(call.text)
            target = c.nodes[c.nodes[node_id].options[path[1]]] if len(path) == 2 else c.nodes[node_id]
            if target.type == "content":
                for _ in range(len(c.prompts[lang][target.id]) - 1):
                    call.press(c.settings.keys.more)
                    heard.append(call.text)
    everything = " ".join(heard)
    expected = {
        "en": ["5 calendar days", "24 hours", "3 months", "3 calendar days", "1 year", "under 18", "in writing"],
        "ru": ["5 календарных дней", "24 часов", "3 месяца", "3 календарных дня", "1 года", "до 18 лет", "письменно"],
        "kk": ["5 күнтізбелік күн", "24 сағат", "3 ай", "3 күнтізбелік күн", "1 жылға", "18 жасқа", "жазбаша"],
    }[lang]
    for fact in expected:
        assert fact in everything, fact
    for _city, address in OFFICES[lang].values():
        assert address in everything


def test_same_universal_keys_on_every_node_in_every_language(twilio: Twilio, r, hl) -> None:
    """Every node x every language x every key, and silence: valid TwiML, never an error, never silence."""
    c = hl.content
    keys = c.settings.keys
    for lang, node_id in itertools.product(LANGS, c.nodes):
        for digits in KEYS + [None]:
            call = Call(twilio, r, sid=f"CA{lang}{node_id}{digits}")
            path = f"/voice/key?n={node_id}&l={lang}&p=0" if digits is not None else f"/voice/node?n={node_id}&l={lang}&s=1"
            root = twilio.twiml(path, call.form(**({"Digits": digits} if digits is not None else {})))
            said = call.hear(root)
            assert said, f"{node_id}/{lang}/{digits}: nothing said"
            assert root.find("Gather") is not None or root.find("Hangup") is not None
            if digits == keys.main:
                assert TITLE_MAIN[lang] in call.text
            if digits == keys.back and c.nodes[node_id].parent == "main":
                assert TITLE_MAIN[lang] in call.text
            if digits == keys.back and c.nodes[node_id].parent == "apply":
                assert TITLE_APPLY[lang] in call.text


@pytest.mark.parametrize("lang", LANGS)
def test_silence_reprompts_twice_then_says_goodbye_with_the_sms_keyword(call: Call, lang: str) -> None:
    start_in(call, lang)
    for _ in range(2):  # max_silences: 2 in the fixture's config/hotline.yaml
        call.silence()
        assert SILENCE[lang] in call.text and not call.hung_up
        assert TITLE_MAIN[lang] in call.text
    call.silence()
    assert call.hung_up
    assert {"en": "HELP", "ru": "ПОМОЩЬ", "kk": "КӨМЕК"}[lang] in call.text


def test_language_menu_silence_also_ends_politely(call: Call) -> None:
    call.start()
    for _ in range(2):
        call.silence()
        assert not call.hung_up
    call.silence()
    assert call.hung_up and call.heard


@pytest.mark.parametrize("lang", LANGS)
def test_wrong_key_is_named_and_the_menu_repeats(call: Call, lang: str) -> None:
    start_in(call, lang)
    call.press("1")
    call.press("9")  # repeat works
    assert call.text.startswith(TITLE_APPLY[lang]) and WRONG_KEY[lang] not in call.text
    call.press("#")  # "more" means nothing on a menu
    assert call.text.startswith(f"{WRONG_KEY[lang]} {TITLE_APPLY[lang]}")


RIGHTS = [  # the fixture's topic "rights" in English: three parts
    "While your application is open, you have the right to free interpretation, and to information about the "
    "procedure and your rights and duties. You may withdraw your application, appeal a refusal, and stay in "
    "Kazakhstan until a final decision, including any appeal.",
    "You may return home of your own free will, or leave for another country. Under the laws of Kazakhstan, you "
    "have the right to medical care, to work and to run a business, and to legal protection of your person and "
    "property.",
    "Your duties. Follow the Constitution, the laws and the international treaties of Kazakhstan, and respect its "
    "laws and rules while you are here.",
]


def test_long_topics_are_read_in_parts_with_a_key_for_more(call: Call) -> None:
    start_in(call, "en")
    call.press("5")  # rights: three parts
    assert call.text.startswith(RIGHTS[0]) and RIGHTS[1] not in call.text
    assert "To hear more, press hash." in call.text
    call.press("#")
    assert call.text.startswith(RIGHTS[1])
    call.press("#")
    assert call.text.startswith(RIGHTS[2]) and "To hear more" not in call.text
    call.press("#")
    assert call.text.startswith(f"That was the last part of this topic. {RIGHTS[2]}")
    call.press("*")
    assert call.text.startswith("Main menu.")


def test_a_returning_caller_hears_the_language_menu_like_everyone(twilio: Twilio, r, hl) -> None:
    """No language is remembered for a number (issue 14, S3: it told a forger who had called)."""
    first = Call(twilio, r, sid="CA" + "a" * 32)
    start_in(first, "kk")
    again = Call(twilio, r, sid="CA" + "b" * 32)
    again.start()
    assert "Для русского" in again.text and not again.text.startswith("Басты мәзір."), "no language is remembered (issue 14)"
    again.press("3")
    assert "Main menu" in again.text
    assert not any(CALLER in k or CALLER[1:] in k for k in r.keys("*")), "the number is never a key"


def test_addresses_are_read_slowly(call: Call) -> None:
    start_in(call, "ru")
    call.press("1")
    call.press("2")
    slow = [el for el in call.root.iter("prosody")]
    assert slow and "Достык" in "".join(slow[0].itertext()) and slow[0].get("rate")


def test_a_call_moves_between_two_app_instances(r, clock, tmp_path, tts_cache) -> None:
    a = Twilio(make_app(r, clock, tmp_path / "a", tts_cache))
    b = Twilio(make_app(r, clock, tmp_path / "b", tts_cache))
    call = Call(a, r)
    call.start()
    call.press("3")
    call.twilio = b  # the next webhook lands on the other process
    call.press("1")
    assert "Where and how to apply" in call.text
    assert r.get(f"hl:call:{{{call.sid}}}") == "en apply", "language and node, as the other process stored them"
    assert r.ttl(f"hl:call:{{{call.sid}}}") > 0


def test_audio_is_served_with_type_and_cache_headers(call: Call, twilio: Twilio) -> None:
    call.start()
    url = call.gather().find("Play").text
    resp = twilio.client.get(url)
    assert resp.status_code == 200 and resp.mimetype == "audio/wav"
    assert "max-age" in resp.headers["Cache-Control"]
    assert resp.data[:4] == b"RIFF"
    assert twilio.client.get("/audio/tts/../../etc/passwd").status_code == 404
    assert twilio.client.get("/audio/kk/nothing.mp3").status_code == 404


def test_audio_base_url_points_plays_at_a_cdn(r, clock, tmp_path, tts_cache) -> None:
    t = Twilio(make_app(r, clock, tmp_path, tts_cache, AUDIO_BASE_URL="https://cdn.example.org/hl"))
    call = Call(t, r)
    root = t.twiml("/voice", call.form())
    assert root.find("Gather/Play").text.startswith("https://cdn.example.org/hl/tts/")


@pytest.mark.parametrize("how", ["forged", "missing", "other-url"])
def test_unsigned_or_forged_webhooks_are_refused_and_change_nothing(twilio: Twilio, r, how: str) -> None:
    form = {"CallSid": "CA" + "9" * 32, "From": CALLER}
    sig = {"forged": "bm90IGEgc2lnbmF0dXJl", "missing": "", "other-url": twilio.sign("/sms", form)}[how]
    before = sorted(r.keys("*"))
    resp = twilio.post("/voice", form, signature=sig)
    assert resp.status_code == 403
    # counters and the speech cache (written by the background renderer, not by the request) aside
    kept = ("hl:stats:", "hl:tts:")
    assert sorted(k for k in r.keys("*") if not k.startswith(kept)) == [k for k in before if not k.startswith(kept)]


def test_production_refuses_to_start_without_a_token(r, clock, tmp_path, tts_cache) -> None:
    with pytest.raises(RuntimeError, match="TWILIO_AUTH_TOKEN"):
        make_app(r, clock, tmp_path, tts_cache, HOTLINE_ENV="production", TWILIO_AUTH_TOKEN="")


def test_local_mode_without_token_accepts_unsigned_requests(r, clock, tmp_path, tts_cache, caplog) -> None:
    with caplog.at_level("WARNING"):
        app = make_app(r, clock, tmp_path, tts_cache, TWILIO_AUTH_TOKEN="")
    assert "LOCAL MODE" in caplog.text
    resp = app.test_client().post("/voice", data={"CallSid": "CA1", "From": CALLER})
    assert resp.status_code == 200 and b"<Gather" in resp.data


def test_a_menu_step_is_one_redis_round_trip_and_its_answer_comes_from_memory(redis_socket, r, clock, tmp_path,
                                                                              tts_cache) -> None:
    """Counted on the wire (a proxy in front of Redis): every step writes call state and counters in one
    pipeline (the first too: nothing about the caller is looked up, issue 14, S3); nothing is read or
    written to build an answer that an earlier call already made (the Kazakh line, the menus)."""
    with RoundTripProxy(unix=redis_socket) as proxy:
        # The background speech renderer shares the client: its cache writes are not the webhook's.
        app = make_app(None, clock, tmp_path, tts_cache, REDIS_URL=proxy.url, TTS_PRERENDER=False)
        twilio = Twilio(app)
        first = Call(twilio, r, caller="+77011110001", sid="CA" + "a" * 32)
        start_in(first, "ru")
        first.press("1")
        first.press("9")
        first.silence()
        answers = [ET.tostring(root) for root in first.history]

        second = Call(twilio, r, caller="+77011110002", sid="CA" + "b" * 32)
        trips = []
        for step in (second.start, lambda: second.press("2"), lambda: second.press("1"), lambda: second.press("9"),
                     second.silence):
            proxy.reset()
            step()
            trips.append(proxy.round_trips)
        app.extensions["hotline"].redis.close()
    assert trips == [1, 1, 1, 1, 1]
    assert [ET.tostring(root) for root in second.history] == answers, "the same answers, served again"
    assert r.get(store.call("CA" + "b" * 32)).startswith("ru "), "the call state was written"
