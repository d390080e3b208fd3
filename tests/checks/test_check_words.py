"""`hotline check`, the caller's side: short menus, no topic that unsubscribes, discreet reminders.

On the frozen fixture (`tree`: a private copy to break). The fixture keeps the menus from before
issue 11 (7 options, max_menu_options: 7 in its config); the shipped content is held to 5 by
tests/test_shipped_content.py.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from hotline.checks.checker import run_checks
from support import FIXTURE, edit, line_of

TODAY = date(2026, 12, 1)
# A word list as config/hotline.yaml ships it, for the fixture (which has none).
DISCRETION = """
discretion:
  reminder_prefix: sms.reminder.
  reminders:
    en: [asylum*, refugee*, border*, crossing*, crossed, fingerprint*, persecut*, war, wars, protection]
    ru: [убежищ*, беженц*, беженец, границ*, пересеч*, пересек*, переход*, отпечат*, преследов*, войн*, защит*]
    kk: [пана*, босқын*, шекара*, өткізу*, саусақ*, қудала*, соғыс*, қорға*]
  all_sms:
    en: [irregular*, checkpoint*, crossing*, crossed]
    ru: [пересеч*, пересек*, переход*, "пункт* пропуска"]
    kk: [шекарадан, өткізу*, пункттен]
"""


def errors(root: Path) -> list[str]:
    return [f"{p.file}:{p.line} {p.message}" for p in run_checks(root, TODAY).errors]


def warnings(root: Path) -> list[str]:
    return [f"{p.file}:{p.line} {p.message}" for p in run_checks(root, TODAY).warnings]


def add_titles(tree: Path, *nodes: str) -> None:
    for lang in ("en", "ru", "kk"):
        lines = "".join(f"title.{n}: {n.title()}.\nlabel.{n}: {n.title()}\n" for n in nodes)
        edit(tree / "prompts" / f"{lang}.yaml", "title.main:", f"{lines}title.main:")


def with_discretion(tree: Path) -> Path:
    cfg = tree / "config" / "hotline.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + DISCRETION, encoding="utf-8")
    return tree


# ---- menus -------------------------------------------------------------------------------------

def test_the_fixture_passes_and_its_menus_are_reported_with_options_and_seconds() -> None:
    report = run_checks(FIXTURE, TODAY)
    assert report.errors == [], report.render()
    menus = next(t for t in report.tables if t.title.startswith("Menus: options and spoken seconds"))
    assert menus.title == "Menus: options and spoken seconds per language (goal: at most 7 options, about 20 s)"
    assert menus.header == ("menu", "options", "kk", "ru", "en")
    assert [(row[0], row[1]) for row in menus.rows] == [("(language choice)", "3"), ("main", "7"), ("apply", "7"),
                                                        ("reminders", "7")]
    main = next(row for row in menus.rows if row[0] == "main")
    assert all(cell.endswith("LONG") and float(cell.split()[0]) > 20 for cell in main[2:]), main


def test_more_than_five_options_are_refused(tree: Path) -> None:
    """The limit is max_menu_options (5 unless config/hotline.yaml says otherwise)."""
    edit(tree / "config" / "hotline.yaml", "max_menu_options: 7\n", "")
    found = errors(tree)
    line = line_of(tree / "config" / "menu.yaml", "  main:")
    assert f"config/menu.yaml:{line} menu 'main' has 7 options; a caller can follow at most 5 by ear " \
           "(max_menu_options in config/hotline.yaml)" in found, found
    assert any("menu 'reminders' has 7 options" in e for e in found), found


def test_keys_must_run_from_1_without_gaps(tree: Path) -> None:
    edit(tree / "config" / "menu.yaml", '      "6": children\n', "")
    assert any("menu 'main' uses the keys 1 2 3 4 5 7; callers expect 1 2 3 4 5 6, in order" in e
               for e in errors(tree))


def test_an_office_four_presses_deep_is_refused(tree: Path) -> None:
    menu = tree / "config" / "menu.yaml"
    edit(menu, '      "5": office.konaev\n', '      "5": deep\n')
    edit(menu, "  office.astana:", '  deep: {type: menu, options: {"1": deeper}}\n'
                                   '  deeper: {type: menu, options: {"1": office.konaev}}\n  office.astana:')
    add_titles(tree, "deep", "deeper")
    assert any("office 'konaev' takes 4 key presses after the language (at most 3)" in e for e in errors(tree))


def test_a_long_menu_is_a_warning_with_its_seconds(tree: Path) -> None:
    cfg = tree / "config" / "hotline.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "max_menu_seconds: 30\n", encoding="utf-8")
    assert not [w for w in warnings(tree) if "menu 'apply'" in w]
    edit(tree / "prompts" / "en.yaml", "title.apply: Where and how to apply.",
         "title.apply: Where and how to apply for protection in Kazakhstan, step by step, with every office and "
         "every form. Listen to every option before you choose, and take your time, as long as you need.")
    found = [w for w in warnings(tree) if "menu 'apply'" in w]
    assert len(found) == 1 and "to announce in en (max_menu_seconds in config/hotline.yaml: 30)" in found[0], found


# ---- keyword safety ----------------------------------------------------------------------------

def test_a_label_read_as_stop_is_refused(tree: Path) -> None:
    edit(tree / "prompts" / "kk.yaml", "label.appeal: Бас тарту және шағымдану", "label.appeal: Тоқтату және шағымдану")
    line = line_of(tree / "prompts" / "kk.yaml", "label.appeal:")
    assert [e for e in errors(tree) if "label.appeal" in e] == [
        f"prompts/kk.yaml:{line} 'label.appeal' in kk: \"Тоқтату\" would be read as the keyword STOP if someone texted it"]


def test_the_old_kazakh_stop_word_makes_the_appeal_topic_refused(tree: Path) -> None:
    """The bug this check exists for: 'бас тарту' as a STOP word and as the topic's name."""
    edit(tree / "config" / "keywords.yaml", "тоқтатыңыз, toktatu", 'тоқтатыңыз, "бас тарту", toktatu')
    line = line_of(tree / "prompts" / "kk.yaml", "label.appeal:")
    assert f"prompts/kk.yaml:{line} 'label.appeal' in kk: \"Бас тарту\" would be read as the keyword STOP " \
           "if someone texted it" in errors(tree)


def test_an_sms_sentence_read_as_delete_is_refused(tree: Path) -> None:
    edit(tree / "prompts" / "en.yaml", 'sms.start: "Messages are on again. Text HELP for the menu."',
         'sms.start: "Messages are on again. Delete. Text HELP for the menu."')
    assert any("SMS 'sms.start' in en: \"Delete\" would be read as DELETE if the person texted it back" in e
               for e in errors(tree))


def test_an_sms_that_explains_its_own_stop_keyword_is_fine(tree: Path) -> None:
    edit(tree / "prompts" / "ru.yaml", "СТОП - отписаться", "СТОП - отписаться, хватит")
    assert [e for e in errors(tree) if "sms.help" in e] == []


def test_a_topic_keyword_read_as_stop_is_refused(tree: Path) -> None:
    edit(tree / "config" / "keywords.yaml", "reminder_rules:\n  appeal: [appeal,", "reminder_rules:\n  appeal: [stop,")
    assert any("config/keywords.yaml" in e and "\"stop\" (reminder rule 'appeal') would be read as STOP" in e
               for e in errors(tree))


# ---- discretion --------------------------------------------------------------------------------

def test_a_reminder_naming_the_border_is_refused(tree: Path) -> None:
    """The fixture's own Russian reminder, from before issue 11: "после перехода границы"."""
    line = line_of(tree / "prompts" / "ru.yaml", "sms.reminder.filing_irregular:")
    found = [e for e in errors(with_discretion(tree)) if "'sms.reminder.filing_irregular' in ru" in e]
    assert found == [
        f"prompts/ru.yaml:{line} SMS 'sms.reminder.filing_irregular' in ru says 'переход*': no SMS may say that "
        "(discretion.all_sms in config/hotline.yaml)",
        f"prompts/ru.yaml:{line} SMS 'sms.reminder.filing_irregular' in ru says 'границ*', 'переход*': a reminder "
        "arrives unasked, on a phone others may see, and may not say that (discretion.reminders in config/hotline.yaml)"]


def test_an_asked_for_sms_may_name_asylum_but_never_an_irregular_crossing(tree: Path) -> None:
    with_discretion(tree)
    edit(tree / "prompts" / "en.yaml", "can ask for protection. Text HELP", "can ask for asylum. Text HELP")
    assert [e for e in errors(tree) if "sms.who" in e] == []
    edit(tree / "prompts" / "en.yaml", "can ask for asylum. Text HELP", "can ask for asylum, even after crossing. Text HELP")
    assert any("SMS 'sms.who' in en says 'crossing*': no SMS may say that (discretion.all_sms" in e
               for e in errors(tree))


def test_the_word_list_is_configurable(tree: Path) -> None:
    with_discretion(tree)
    assert not [e for e in errors(tree) if "in en says 'reminder'" in e]
    edit(tree / "config" / "hotline.yaml", "    en: [asylum*, refugee*,", "    en: [reminder, asylum*, refugee*,")
    found = [e for e in errors(tree) if "sms.reminder." in e and "in en says 'reminder'" in e]
    assert len(found) == 8, found  # every English reminder (4, and their 4 oneway. variants) says "Reminder:"
