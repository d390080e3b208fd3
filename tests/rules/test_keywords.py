"""Inbound SMS keyword matching: forgiving where it helps, strict where it could hurt."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from hotline.rules.keywords import Match, Vocabulary, normalise
from support import FIXTURE

YAML_PATH = FIXTURE / "config" / "keywords.yaml"
RAW = yaml.safe_load(YAML_PATH.read_text(encoding="utf-8"))
VOCAB = Vocabulary.load(YAML_PATH)

INTENT_WORDS = [
    (intent, lang, word)
    for intent, per_lang in RAW["intents"].items()
    for lang, words in per_lang.items()
    for word in words
]
CITY_NAMES = [(city, name) for city, names in RAW["cities"].items() for name in names]


def _langs_of(word: str) -> set[str]:
    """Every language a word (after normalising) is listed under, in any intent."""
    key = normalise(word)
    return {lang for _, lang, w in INTENT_WORDS if normalise(w) == key}


# --------------------------------------------------------------------------
# The data file
# --------------------------------------------------------------------------


def test_file_has_every_required_intent_and_city() -> None:
    assert set(RAW["intents"]) >= {
        "help", "addresses", "deadlines", "rights", "remind",
        "yes", "filed", "delete", "stop", "start",
    }
    # City ids must be the office ids of config/offices.yaml.
    assert set(RAW["cities"]) == {"astana", "almaty", "shymkent", "taldykorgan", "konaev"}
    for intent, per_lang in RAW["intents"].items():
        assert set(per_lang) == {"kk", "ru", "en"}, intent


def test_no_word_belongs_to_two_intents_or_cities() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, _, word in INTENT_WORDS:
        owners[normalise(word) or word.strip()].add(intent)
    for city, name in CITY_NAMES:
        owners[normalise(name)].add("city:" + city)
    clashes = {word: who for word, who in owners.items() if len(who) > 1}
    assert clashes == {}


def test_twilio_opt_out_and_opt_in_words_are_all_present() -> None:
    # Twilio's default opt-out/opt-in words; we must honour them too.
    for word in ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]:
        assert VOCAB.intent_of(word) == "stop", word
    for word in ["START", "UNSTOP"]:
        assert VOCAB.intent_of(word) == "start", word


# --------------------------------------------------------------------------
# Every word in the file (adding a word adds a test)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("intent", "lang", "word"), INTENT_WORDS, ids=lambda v: str(v))
def test_every_listed_word_matches_its_intent(intent: str, lang: str, word: str) -> None:
    if not normalise(word):  # a symbol such as "?": exact, and says nothing about language
        assert VOCAB.match(f" {word} ") == Match(intent, None, "", None)
        return
    langs = _langs_of(word)
    for text in (word, word.upper(), word.lower(), word.title(), f"  {word}!  ", f"«{word}»."):
        m = VOCAB.match(text)
        assert m is not None, text
        assert m.intent == intent, text
        assert m.typo is False, text
        assert m.argument == "", text
        assert m.lang == (lang if langs == {lang} else None), text


@pytest.mark.parametrize(("city", "name"), CITY_NAMES, ids=lambda v: str(v))
def test_every_city_name_alone_means_addresses_for_that_city(city: str, name: str) -> None:
    assert VOCAB.match(name) == Match("addresses", None, "", city)
    assert VOCAB.match(name.upper() + ".") == Match("addresses", None, "", city)


@pytest.mark.parametrize(("city", "name"), CITY_NAMES, ids=lambda v: str(v))
def test_every_city_name_after_an_address_word(city: str, name: str) -> None:
    assert VOCAB.match(f"ADDRESS {name}") == Match("addresses", "en", "", city)
    assert VOCAB.match(f"адрес {name}") == Match("addresses", "ru", "", city)
    assert VOCAB.match(f"Мекенжай: {name}") == Match("addresses", "kk", "", city)


# --------------------------------------------------------------------------
# normalise
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Тоқтату!!  ", "токтату"),
        ("ТОКТАТУ", "токтату"),
        ("ӘҒҚҢӨҰҮҺІ әғқңөұүһі", "агкноуухи агкноуухи"),
        ("Ёлка", "елка"),
        ("е\u0308лка", "елка"),  # decomposed ё
        ("ЙОД и\u0306од", "йод йод"),  # й survives mark stripping, also when decomposed
        ("stop 🛑🙏🏽", "stop"),
        ("STOP\u00a0\t\n ALL", "stop all"),
        ("ALMA-ATA", "alma ata"),
        ("«адрес»,  пожалуйста…", "адрес пожалуйста"),
        ("KÓMEK", "komek"),
        ("ko'mek ko’mek", "komek komek"),
        ("Qapşağai", "qapsagai"),
        ("STОP", "stop"),  # Cyrillic О in a Latin word
        ("МЕРЗIМ", "мерзим"),  # Latin I in a Cyrillic word
        ("REMIND 3.12", "remind 3 12"),
        ("", ""),
        ("?!…", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_normalise_is_idempotent_on_the_vocabulary() -> None:
    for _, _, word in INTENT_WORDS:
        once = normalise(word)
        assert normalise(once) == once


# --------------------------------------------------------------------------
# Matching: case, punctuation, look-alikes
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", "Stop", "sToP", "Stop!", "STOP.", "...stop", "  stop  ", "🛑 STOP 🛑", "stop\n"],
)
def test_stop_in_any_case_and_punctuation(text: str) -> None:
    m = VOCAB.match(text)
    assert m == Match("stop", "en", "", None)


@pytest.mark.parametrize("text", ["СТОП", " стоп. ", "Стоп!!!", "стоп"])
def test_russian_and_kazakh_stop(text: str) -> None:
    m = VOCAB.match(text)
    assert m is not None and m.intent == "stop"
    assert m.lang is None  # СТОП is used in both Russian and Kazakh


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("ТОКТАТУ", "stop"),
        ("токта", "stop"),
        ("МЕКЕНЖАИ", "addresses"),
        ("МЕКЕНЖАЙ", "addresses"),
        ("КОМЕК", "help"),
        ("КУКЫКТАР", "rights"),
        ("МЕРЗИМ", "deadlines"),
        ("МЕРЗIМ", "deadlines"),  # Latin I for і
        ("ИА", "yes"),
        ("ТАПСЫРДЫК", "filed"),
        ("ОШИРУ", "delete"),
    ],
)
def test_kazakh_words_typed_with_russian_look_alikes(text: str, intent: str) -> None:
    m = VOCAB.match(text)
    assert m is not None
    assert (m.intent, m.lang) == (intent, "kk")


def test_mixed_script_look_alikes_still_match() -> None:
    assert VOCAB.match("STОP").intent == "stop"  # Cyrillic О
    assert VOCAB.match("СТОР").intent == "stop"  # STOP typed on a Cyrillic keyboard
    assert VOCAB.match("АДРEС").intent == "addresses"  # Latin E


@pytest.mark.parametrize(
    ("text", "intent", "lang"),
    [
        ("YES", "yes", "en"),
        ("y", "yes", "en"),
        ("Да", "yes", "ru"),
        ("ИӘ", "yes", "kk"),
        ("IA", "yes", "kk"),
        ("ok", "yes", "en"),
        ("ALREADY FILED", "filed", "en"),
        ("Уже подала", "filed", "ru"),
        ("DELETE MY DATA", "delete", "en"),
        ("удалить мои данные", "delete", "ru"),
        ("MENU", "help", "en"),
        ("МЕНЮ", "help", None),
        ("Помощь", "help", "ru"),
        ("pomosh", "help", "ru"),
        ("Права", "rights", "ru"),
        ("СРОКИ", "deadlines", "ru"),
        ("OFFICE", "addresses", "en"),
        ("UNSTOP", "start", "en"),
        ("БАСТАУ", "start", "kk"),
    ],
)
def test_keyword_language(text: str, intent: str, lang: str | None) -> None:
    m = VOCAB.match(text)
    assert m is not None
    assert (m.intent, m.lang) == (intent, lang)


@pytest.mark.parametrize("text", ["?", " ? ", "??", "？"])
def test_question_mark_alone_means_help(text: str) -> None:
    assert VOCAB.match(text) == Match("help", None, "", None)


@pytest.mark.parametrize("text", ["", "   ", "🙂", "!!!", "?!", "hello", "привет", "3.12", "12345", "STAR"])
def test_unknown_text_is_none(text: str) -> None:
    assert VOCAB.match(text) is None


@pytest.mark.parametrize("text", ["please stop", "can you help", "мой адрес", "I want to STOP"])
def test_keyword_must_be_first(text: str) -> None:
    assert VOCAB.match(text) is None


def test_longest_phrase_wins_and_leaves_the_rest_as_argument() -> None:
    assert VOCAB.match("REMIND ME 3.12") == Match("remind", "en", "3.12", None)
    assert VOCAB.match("address in almaty now") == Match("addresses", "en", "now", "almaty")


def test_words_that_end_or_remove_something_must_be_the_whole_message() -> None:
    """STOP, DELETE and FILED count only alone: never at the start of a longer text (issue 11)."""
    assert VOCAB.match("DELETE MY DATA") == Match("delete", "en", "", None)
    assert VOCAB.match("stop all") == Match("stop", "en", "", None)
    for text in ("DELETE MY DATA now", "DELETE everything", "stop all messages", "FILED 01.11", "Стоп, а где офис?"):
        assert VOCAB.match(text) is None, text


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "argument"),
    [
        ("REMIND 3.12", "remind", "3.12"),
        ("remind  03/12/2026 ", "remind", "03/12/2026"),
        ("Remind: 3 dec", "remind", "3 dec"),
        ("REMIND ME 3 December", "remind", "3 December"),
        ("НАПОМНИ 3 дек", "remind", "3 дек"),
        ("Напоминание - 3 декабря", "remind", "3 декабря"),
        ("ЕСКЕРТУ 3 желтоқсан", "remind", "3 желтоқсан"),
        ("remind", "remind", ""),
    ],
)
def test_argument_is_the_original_rest_of_the_text(text: str, intent: str, argument: str) -> None:
    m = VOCAB.match(text)
    assert m is not None
    assert (m.intent, m.argument) == (intent, argument)


# --------------------------------------------------------------------------
# Cities
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "city", "lang", "argument", "typo"),
    [
        ("ADDRESS ALMATY", "almaty", "en", "", False),
        ("АДРЕС АЛМАТЫ", "almaty", "ru", "", False),
        ("address in Almaty please", "almaty", "en", "please", False),
        ("адрес в г. Шымкент", "shymkent", "ru", "", False),
        ("адрес в Алмате", "almaty", "ru", "", False),  # colloquial declension, read as one typo
        ("Мекенжай Қонаев", "konaev", "kk", "", False),
        ("мекенжай капшагай", "konaev", "kk", "", False),
        ("Алматы қаласы мекенжай", "almaty", "kk", "", False),
        ("Алматыда", "almaty", None, "", False),  # Kazakh locative suffix
        ("в Шымкенте", "shymkent", None, "", True),  # declension, read as one typo
        ("Talldykorgan", "taldykorgan", None, "", True),
        ("ALMA ATA", "almaty", None, "", False),
        ("Nur-Sultan", "astana", None, "", False),
        ("АСТАНА?", "astana", None, "", False),
        ("Shymkent office", "shymkent", "en", "", False),
    ],
)
def test_cities(text: str, city: str, lang: str | None, argument: str, typo: bool) -> None:
    assert VOCAB.match(text) == Match("addresses", lang, argument, city, typo=typo)


def test_address_without_city_has_no_city() -> None:
    assert VOCAB.match("ADDRESS") == Match("addresses", "en", "", None)
    assert VOCAB.match("адрес офиса") == Match("addresses", "ru", "офиса", None)


def test_city_is_only_read_for_addresses() -> None:
    m = VOCAB.match("REMIND Almaty")
    assert m == Match("remind", "en", "Almaty", None)


# --------------------------------------------------------------------------
# Typos
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("ADRESS", "addresses"),
        ("ADDRES", "addresses"),
        ("DEADLNE", "deadlines"),
        ("DEALDINE", "deadlines"),
        ("REMNID 3.12", "remind"),
        ("RIHGTS", "rights"),
        ("НАПОМИНАНЕ", "remind"),
        ("МЕКЕНЖАЙЙ", "addresses"),
        ("UNSUBSCIBE", "stop"),
        ("ОТПИСАТСЯ", "stop"),
        ("STPO", "stop"),  # one swapped pair in a 4-letter word
        ("STRAT", "start"),
        ("DELTE", "delete"),
    ],
)
def test_one_typo_is_forgiven(text: str, intent: str) -> None:
    m = VOCAB.match(text)
    assert m is not None and m.intent == intent
    assert m.typo is True


def test_typo_keeps_the_argument() -> None:
    assert VOCAB.match("REMNID 3.12") == Match("remind", "en", "3.12", None, typo=True)


@pytest.mark.parametrize(
    "text",
    [
        "STAT",  # one letter from START, two from STOP: neither
        "STAR",
        "SOP",  # 3 letters: exact only
        "STP",
        "YE",
        "YESS",  # 4 letters, not a swap
        "DILETO",  # two edits
        "ADRSSES",  # two edits from ADRES, three from ADDRESS
        "HLEPS",  # two edits from HELP, which is short anyway
        "БАСТА",  # Kazakh "start!" but Russian "enough!": deliberately neither
        "basta",
    ],
)
def test_not_forgiven(text: str) -> None:
    assert VOCAB.match(text) is None


# --------------------------------------------------------------------------
# Language guess
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Сәлем, маған көмек керек", "kk"),  # Kazakh letters
        ("қайда", "kk"),
        ("ТОКТАТУ", "kk"),  # no Kazakh letters, but a Kazakh word
        ("мекенжай алматы", "kk"),
        ("МЕРЗIМ", "kk"),  # Latin I standing in for і
        ("рахмет", "kk"),
        ("komek", "kk"),  # Kazakh keyword in Latin letters
        ("привет", "ru"),
        ("Где офис в Алматы?", "ru"),
        ("СТОП", "ru"),  # shared ru/kk word: Cyrillic default
        ("pomosh", "ru"),  # Russian keyword in Latin letters
        ("hello", "en"),
        ("STOP", "en"),
        ("", "en"),
        ("12345", "en"),
        ("🙂", "en"),
    ],
)
def test_guess_language(text: str, lang: str) -> None:
    assert VOCAB.guess_language(text) == lang


def test_guess_language_uses_the_given_vocabulary() -> None:
    tiny = Vocabulary.from_dict({"intents": {"stop": {"kk": ["токтат"], "ru": [], "en": []}}})
    assert tiny.guess_language("токтат") == "kk"
    assert tiny.guess_language("токтату") == "ru"  # not a word of this vocabulary


# --------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------


def test_load_from_path(tmp_path: Path) -> None:
    path = tmp_path / "kw.yaml"
    path.write_text(
        "intents:\n  help:\n    en: [help, '?']\n  \"yes\":\n    en: ['yes']\n"
        "cities:\n  almaty: [Almaty]\n",
        encoding="utf-8",
    )
    vocab = Vocabulary.load(path)
    assert vocab.match("HELP") == Match("help", "en", "", None)
    assert vocab.match("?") == Match("help", None, "", None)
    assert vocab.match("Yes") == Match("yes", "en", "", None)
    assert vocab.match("almaty") == Match("addresses", None, "", "almaty")
    assert vocab.match("stop") is None


@pytest.mark.parametrize(
    "data",
    [
        {"intents": {"stop": {"ru": ["стоп"]}, "start": {"kk": ["СТОП"]}}},  # two intents
        {"intents": {"stop": {"kk": ["тоқта"]}, "help": {"ru": ["токта"]}}},  # equal once folded
        {"intents": {"help": {"en": ["almaty"]}}, "cities": {"almaty": ["Almaty"]}},  # intent vs city
        {"intents": {True: {"en": ["yes"]}}},  # unquoted `yes:` in YAML
        {"intents": {"yes": {"en": [True]}}},  # unquoted yes as a word
        {"intents": {"help": {"German": ["hilfe"]}}},  # not a language code
        {"intents": {"help": {"en": "help"}}},  # a string, not a list
        {"intents": {"help": {"en": ["?"]}, "stop": {"en": ["?"]}}},  # symbol twice
        {"cities": {}},  # no intents
    ],
)
def test_bad_vocabulary_is_refused(data: dict) -> None:
    with pytest.raises(ValueError):
        Vocabulary.from_dict(data)


def test_same_word_in_two_languages_of_one_intent_is_fine_and_language_neutral() -> None:
    vocab = Vocabulary.from_dict({"intents": {"stop": {"ru": ["стоп"], "kk": ["стоп"]}}})
    assert vocab.match("стоп") == Match("stop", None, "", None)


def test_a_fourth_language_needs_only_words() -> None:
    """Adding a language is data: any language code from config/hotline.yaml may have keywords."""
    vocab = Vocabulary.from_dict({"intents": {"help": {"ky": ["жардам"]}}})
    assert vocab.match("Жардам!") == Match("help", "ky", "", None)


def test_reminder_rule_words() -> None:
    vocab = Vocabulary.load(YAML_PATH)
    assert vocab.rule_word("APPEAL") == vocab.rule_word("шағым") == vocab.rule_word("ШАГЫМ") == "appeal"
    assert vocab.rule_word("3.12") is None and vocab.rule_word("stop") is None
