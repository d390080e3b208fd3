"""The shipped content (config/, prompts/, audio/ at the repository root): the only tests that read it.

Behaviour tests run on the frozen fixture (tests/fixtures/content/). Here the real content is checked
the way an operator's edit must be checked: `hotline check` over it, and walks that discover what to
expect from the content itself (the menu's keys, each node's title and parts, each office's address,
every keyword in the file). An ordinary edit (an address, a sentence, a new office or menu option,
a new keyword) passes; a mistake (a key to nowhere, a node nobody reaches, a typo that lands on STOP,
an SMS that names asylum) fails. The legal periods are the exception, on purpose: they are the facts
the hotline exists for, so changing one must fail here until FACTS.md says so.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import time

import pytest
import yaml
from click.testing import CliRunner

from hotline.checks.checker import check_house_numbers, check_periods
from hotline.cli.check import check_command
from hotline.content import render as P
from hotline.content.loader import load_content
from hotline.rules.deadlines import ALMATY, Policy, deadline
from hotline.rules.keywords import PROTECTED_INTENTS, Vocabulary, normalise
from support import ROOT, TODAY, Call, Twilio, make_app
from support.words import one_edit_variants

SHIPPED = load_content(ROOT, TODAY)
LANGS = list(SHIPPED.settings.languages)
KEYWORDS = yaml.safe_load((ROOT / "config" / "keywords.yaml").read_text(encoding="utf-8"))
VOCAB = Vocabulary.load(ROOT / "config" / "keywords.yaml")
WORDS = [(intent, lang, word) for intent, per_lang in KEYWORDS["intents"].items()
         for lang, words in per_lang.items() for word in words]


# ---- hotline check ------------------------------------------------------------------------------

def test_hotline_check_passes_the_shipped_content() -> None:
    result = CliRunner().invoke(check_command, ["--root", str(ROOT), "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("No errors. The hotline can serve this content.")


def test_shipped_content_loads_without_warnings() -> None:
    assert SHIPPED.warnings == ()
    assert set(SHIPPED.prompts) == set(SHIPPED.settings.languages)


def test_no_false_alarms_on_the_shipped_facts() -> None:
    """'3 months' (interview), '24 hours', '0 3 1 2' and every address are fine as written."""
    assert check_periods(SHIPPED) == []
    assert check_house_numbers(SHIPPED) == []


def test_shipped_legal_periods_are_the_facts() -> None:
    """The periods of shared/FACTS.md: an edit that changes one must fail here."""
    with (ROOT / "config" / "deadlines.yaml").open(encoding="utf-8") as fh:
        pol = Policy.from_dict(yaml.safe_load(fh))
    r = pol.rules
    assert set(r) >= {"filing", "filing_irregular", "fingerprinting", "certificate", "appeal"}
    assert (r["filing"].days, r["filing"].months) == (5, 0)
    assert (r["filing_irregular"].days, r["filing_irregular"].months) == (1, 0)
    assert (r["fingerprinting"].days, r["fingerprinting"].months) == (3, 0)
    assert (r["certificate"].days, r["certificate"].months) == (0, 3)
    assert (r["appeal"].days, r["appeal"].months) == (0, 3)
    assert r["filing"].reminders == (3, 1, 0) and r["filing"].send_at == time(10, 0)
    assert r["filing_irregular"].reminders == (0,) and r["filing_irregular"].send_at == time(9, 0)
    assert r["appeal"].reminders == (30, 14, 7, 2, 1)
    assert pol.tz is ALMATY
    assert (pol.quiet_start, pol.quiet_end, pol.evening_before) == (time(21), time(9), time(20, 30))
    assert pol.retention_days == 30
    assert deadline(r["filing"], TODAY.replace(day=3)) == TODAY.replace(day=8)


# ---- what a caller hears: every node, by the keys the menu gives it -------------------------------

@pytest.fixture
def shipped(r, clock, tmp_path, tts_cache) -> Twilio:
    return Twilio(make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(ROOT)))


@pytest.mark.parametrize("lang", LANGS)
def test_every_node_is_reached_by_the_keys_its_menu_announces(shipped: Twilio, r, lang: str) -> None:
    """From the main menu, every key a menu offers (announced with its label) leads to its node: a
    menu says its title, a topic reads every part (one "more" key at a time), an office its address;
    never the wrong-key prompt. Together the presses reach every node of config/menu.yaml."""
    c, keys = SHIPPED, SHIPPED.settings.keys
    call = Call(shipped, r)
    call.start()
    call.press(c.lang(lang).key)
    wrong = P.text(c, lang, "error.wrong_key")
    reached = {"main"}

    def visit(path: list[str], menu: str) -> None:
        call.press(keys.main)
        for k in path:
            call.press(k)
        offered = call.text
        for key, child in c.nodes[menu].options.items():
            node = c.nodes[child]
            label = c.offices[node.office].city[lang] if node.type == "office" else P.text(c, lang, f"label.{child}")
            assert P.text(c, lang, "menu.option", label=label, key=P.key_name(c, lang, key)) in offered, (menu, key)
            call.press(keys.main)
            for k in [*path, key]:
                call.press(k)
            assert wrong not in call.text, (lang, path, key)
            if node.type in ("menu", "reminders"):
                assert P.text(c, lang, f"title.{child}") in call.text, (lang, child)
            elif node.type == "content":
                for i, part in enumerate(P.parts(c, lang, child)):
                    if i:
                        call.press(keys.more)
                    assert part in call.text, (lang, child, i)
            elif node.type == "office":
                office = c.offices[node.office]
                assert office.address[lang] in call.text and office.city[lang] in call.text, (lang, child)
            reached.add(child)
            if node.type == "menu":
                visit([*path, key], child)

    visit([], "main")
    assert reached == set(c.nodes)


def test_topic_parts_fit_about_thirty_seconds_of_speech() -> None:
    """~2.5 words a second on the phone: no part may run much past 30 s."""
    for lang in LANGS:
        for node in SHIPPED.nodes.values():
            if node.type == "content":
                for part in P.parts(SHIPPED, lang, node.id):
                    assert len(part.split()) <= 80, (lang, node.id, part[:40])


@pytest.mark.parametrize("lang", LANGS)
def test_no_sms_template_names_asylum_or_refugees(lang: str) -> None:
    """A shared phone must not give a person away: discreet words only."""
    for key, value in SHIPPED.prompts[lang].items():
        if key.startswith("sms.") and isinstance(value, str):
            for word in ("asylum", "refugee", "убежищ", "беженц", "баспана", "босқын"):
                assert word not in value.lower(), (lang, key, "not discreet")


# ---- every keyword in config/keywords.yaml ------------------------------------------------------

@pytest.mark.parametrize(("intent", "lang", "word"), WORDS, ids=str)
def test_every_shipped_keyword_means_its_intent(intent: str, lang: str, word: str) -> None:
    for text in (word, word.upper(), f"  {word}!  " if normalise(word) else f" {word} "):  # "?" is exact
        m = VOCAB.match(text)
        assert m is not None and m.intent == intent and m.argument == "", (text, m)


def test_no_shipped_word_belongs_to_two_intents_or_cities() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, _, word in WORDS:
        owners[normalise(word) or word.strip()].add(intent)
    for city, names in KEYWORDS["cities"].items():
        for name in names:
            owners[normalise(name)].add("city:" + city)
    assert {word: who for word, who in owners.items() if len(who) > 1} == {}


def test_every_shipped_city_is_an_office_and_twilio_stop_words_stop() -> None:
    assert set(KEYWORDS["cities"]) == set(SHIPPED.offices)
    for word in ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]:
        assert VOCAB.intent_of(word) == "stop", word
    for word in ["START", "UNSTOP"]:
        assert VOCAB.intent_of(word) == "start", word


def single_words(intents: set[str]) -> list[tuple[str, str]]:
    return sorted({(intent, normalise(w)) for intent, _, w in WORDS if len(normalise(w).split()) == 1 and intent in intents})


def test_no_typo_crosses_between_protected_intents() -> None:
    """Every one-edit variant (a letter dropped, changed, added, two swapped) of a stop/start/yes/delete
    word, built from the letters of the protected words, is read as its own intent, as nothing, or is
    itself an exact word of another intent."""
    protected = single_words(PROTECTED_INTENTS)
    latin = "".join(sorted({c for _, w in protected for c in w if c.isascii()}))
    cyrillic = "".join(sorted({c for _, w in protected for c in w if not c.isascii()}))
    exact = {normalise(w) for _, _, w in WORDS}
    checked = 0
    for intent, word in protected:
        for variant in one_edit_variants(word, latin if word.isascii() else cyrillic):
            if not variant or normalise(variant) in exact:
                continue
            m = VOCAB.match(variant)
            checked += 1
            assert m is None or m.intent == intent, (word, variant, m)
    assert checked > 1000


def test_no_typo_of_an_ordinary_word_lands_on_a_protected_intent() -> None:
    """A topic's own name, mistyped, must never read as STOP, START, YES or DELETE."""
    exact = {normalise(w) for _, _, w in WORDS}
    for _intent, word in single_words(set(KEYWORDS["intents"]) - PROTECTED_INTENTS):
        # Letters that turn ordinary words into protected ones are the risky ones.
        for variant in one_edit_variants(word, "aeiostrlpnd" if word.isascii() else "уаеиоткрлпдн"):
            if not variant or normalise(variant) in exact:
                continue
            m = VOCAB.match(variant)
            assert m is None or m.intent not in PROTECTED_INTENTS, (word, variant, m)


def test_the_shipped_content_passes_the_check_in_one_way_sms_mode(tmp_path) -> None:
    """Kazakhstan runs one-way SMS: every shipped text spoken or sent by SMS then points to the phone
    line (its oneway. variant), and none asks for a reply."""
    from hotline.checks.checker import run_checks
    from support import content_copy, edit
    root = content_copy(tmp_path / "content", ROOT)
    cfg = root / "config" / "hotline.yaml"
    edit(cfg, "mode: two-way", "mode: one-way")
    edit(cfg, 'sender_id: ""', "sender_id: HotlineKZ")
    edit(cfg, 'phone_line: ""', 'phone_line: "+7 727 000 00 00"')
    report = run_checks(root, TODAY)
    assert not report.errors, "\n".join(map(str, report.errors))

