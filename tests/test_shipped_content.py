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
from datetime import time, timedelta

import pytest
import yaml
from click.testing import CliRunner

from hotline.checks.facts import check_house_numbers, check_periods
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



# ---- menus a caller can follow (issue 11) --------------------------------------------------------

def check_table(title: str):
    from hotline.checks.checker import run_checks
    report = run_checks(ROOT, TODAY)
    return report, next(t for t in report.tables if t.title.startswith(title))


def test_every_shipped_menu_has_at_most_five_options_in_order_and_about_twenty_seconds() -> None:
    """hotline check's table: every menu (and the language choice) within the goal in every language,
    and every menu's keys run 1, 2, 3... as config/menu.yaml gives them."""
    report, menus = check_table("Menus: options and spoken seconds")
    assert menus.header == ("menu", "options", *LANGS)
    menu_ids = {n.id for n in SHIPPED.nodes.values() if n.type in ("menu", "reminders")}
    assert menu_ids <= {row[0] for row in menus.rows}
    for row in menus.rows:
        assert 1 <= int(row[1]) <= 5, row
        for cell in row[2:]:
            if cell:
                assert 1.0 < float(cell.split()[0]) <= 20.0, row
    for node in SHIPPED.nodes.values():
        if node.type == "menu":
            assert list(node.options) == [str(i) for i in range(1, len(node.options) + 1)], node.id
    assert not [w for w in report.warnings if "takes about" in w.message]


def office_paths() -> dict[str, tuple[str, ...]]:
    """Each office node and the keys that reach it from the main menu, found in config/menu.yaml."""
    paths, todo = {"main": ()}, ["main"]
    while todo:
        nid = todo.pop(0)
        for key, child in SHIPPED.nodes[nid].options.items():
            if child not in paths:
                paths[child] = paths[nid] + (key,)
                todo.append(child)
    return {nid: p for nid, p in paths.items() if SHIPPED.nodes[nid].type == "office"}


@pytest.mark.parametrize("lang", LANGS)
def test_a_call_reaches_every_office_in_at_most_three_presses_after_the_language(shipped: Twilio, r, lang: str) -> None:
    paths = office_paths()
    assert set(paths) == {n.id for n in SHIPPED.nodes.values() if n.type == "office"}
    for i, (nid, keys) in enumerate(paths.items()):
        assert len(keys) <= 3, (nid, keys)
        call = Call(shipped, r, caller=f"+7701000000{i}", sid=f"CA{i:032d}")  # a new caller: no language kept
        call.start()
        call.press(SHIPPED.lang(lang).key)
        for key in keys:
            call.press(key)
        office = SHIPPED.offices[SHIPPED.nodes[nid].office]
        assert office.address[lang] in call.text, (lang, nid, call.heard)


@pytest.mark.parametrize("lang", LANGS)
def test_tomorrow_as_the_arrival_date_is_in_the_future_by_voice_and_by_sms(shipped: Twilio, r, clock, lang: str) -> None:
    """The reminders menu and its first rule found from the content; tomorrow typed as the prompt
    says (day, month); the answer is the 'in the future' prompt, and the date is asked again."""
    from hotline.content.paths import menu_path, reminder_options
    tomorrow = (clock.now + timedelta(days=1)).date()
    reminders = next(n.id for n in SHIPPED.nodes.values() if n.type == "reminders")
    key, _, rule = reminder_options(SHIPPED)[0]
    assert rule == "filing"
    call = Call(shipped, r)
    call.start()
    call.press(SHIPPED.lang(lang).key)
    for k in menu_path(SHIPPED, reminders):
        call.press(k)
    call.press(key)
    call.press(tomorrow.strftime("%d%m"))
    assert P.text(SHIPPED, lang, "date.error.future") in call.text, call.heard
    assert call.gather().get("numDigits") == "4"
    remind = KEYWORDS["intents"]["remind"][lang][0]
    replies = shipped.sms(f"{remind.upper()} {tomorrow.day}.{tomorrow.month:02d}", sender="+77011234567")
    assert replies == [P.text(SHIPPED, lang, "sms.date_error.future", example=P.example_date(clock.now.date()))]


def test_a_sixth_office_fits_in_three_presses(tmp_path) -> None:
    """As config/menu.yaml says to add one: the last city of the offices menu becomes a menu of its
    own ("other cities") holding it and the new one; every office stays within 3 presses."""
    from hotline.checks.checker import run_checks
    from support import content_copy, edit
    root = content_copy(tmp_path / "content", ROOT)
    paths = office_paths()
    cities = next(n for n in SHIPPED.nodes.values() if set(n.options.values()) <= set(paths) and n.options)
    last_key, last = list(cities.options.items())[-1]
    edit(root / "config" / "offices.yaml", "offices:\n", """offices:
  turkistan:
    short: {kk: "Тәуке хан 1", ru: "Тауке хана 1", en: "1 Tauke Khan Ave"}
    city: {kk: Түркістан, ru: Туркестан, en: Turkistan}
    address: {kk: "Тәуке хан даңғылы, 1", ru: "проспект Тауке хана, дом 1", en: "1 Tauke Khan Avenue"}
    source: test fixture
    verified_on: 2026-11-01
""")
    menu = root / "config" / "menu.yaml"
    edit(menu, f'      "{last_key}": {last}\n', f'      "{last_key}": offices.more\n')
    edit(menu, "nodes:\n", f'nodes:\n  offices.more: {{type: menu, options: {{"1": {last}, "2": office.turkistan}}}}\n'
                           "  office.turkistan: {type: office, office: turkistan}\n")
    for lang, label in (("en", "Other cities"), ("ru", "Другие города"), ("kk", "Басқа қалалар")):
        edit(root / "prompts" / f"{lang}.yaml", "title.main:", f"title.offices.more: {label}.\nlabel.offices.more: {label}\ntitle.main:")
    report = run_checks(root, TODAY)
    assert report.errors == [], report.render()
    offices = next(t for t in report.tables if t.title.startswith("Office addresses"))
    assert max(int(row[1]) for row in offices.rows) == 3 and len(offices.rows) == len(paths) + 1
    assert ("Turkistan", "3", " then ".join((*paths[last][:-1], last_key, "2"))) in offices.rows


# ---- key 0: a person, on every menu (issue 12, with the main menu off 0) ----------------------------

def test_key_0_in_office_hours_reaches_a_caseworker_on_the_shipped_config(r, clock, tmp_path, tts_cache, fake) -> None:
    from hotline.people import caseworkers
    from support import rest_app
    from support.person import AIGERIM, HOTLINE, WEEKDAY_11
    keys = SHIPPED.settings.keys
    assert keys.person == "0" and keys.main != "0" and SHIPPED.handoff is not None
    clock.set(WEEKDAY_11)
    app = rest_app(r, clock, tmp_path, tts_cache, fake, HOTLINE_CONTENT_DIR=str(ROOT), TWILIO_FROM_NUMBER=HOTLINE,
                   TWILIO_VOICE_NUMBER=HOTLINE)
    cw = caseworkers.add(app.extensions["hotline"], "Aigerim", AIGERIM, list(LANGS))
    caseworkers.set_shift(r, cw.id, True)
    tw = Twilio(app, token=fake.token)
    for i, lang in enumerate(LANGS):
        for j, path in enumerate(((), next(iter(office_paths().values())))):  # the main menu; an office deeper
            call = Call(tw, r, caller=f"+770100000{i}{j}", sid=f"CA{i}{j:031d}")  # a new caller each time
            call.start()
            call.press(SHIPPED.lang(lang).key)
            assert P.text(SHIPPED, lang, "person.offer") in call.text  # taught once, after the welcome
            for k in path:
                call.press(k)
            call.press(keys.person)
            assert call.heard == [P.text(SHIPPED, lang, "person.connecting")], (lang, path, call.heard)
            dial = call.root.find("Dial")
            assert dial is not None and [n.text for n in dial.findall("Number")] == [AIGERIM]
