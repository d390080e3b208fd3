"""Loading operator content: a broken edit is refused with file, line, problem and fix."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from hotline.content.loader import load_content
from hotline.content.model import ContentError
from support import Call, Twilio, edit, line_of, make_app


def problems(tree: Path) -> list[str]:
    with pytest.raises(ContentError) as info:
        load_content(tree, date(2026, 12, 5))
    return [str(p) for p in info.value.problems if p.severity == "error"]


def test_menu_key_pointing_nowhere_names_file_line_and_fix(tree: Path) -> None:
    menu = tree / "config" / "menu.yaml"
    edit(menu, '"6": children', '"6": childern')
    found = problems(tree)
    line = line_of(menu, '"6": childern')
    assert f"ERROR config/menu.yaml:{line}: menu 'main': key 6 points to 'childern', which does not exist. " \
           "Did you mean 'children'?\n    How to fix: Write 'children' instead of 'childern'." in found, found
    assert not any("'children' cannot be reached" in p for p in found), "one mistake, one message"


def test_universal_key_cannot_be_a_menu_option(tree: Path) -> None:
    edit(tree / "config" / "menu.yaml", '"7": reminders', '"9": reminders')
    assert any("universal 'repeat' key" in p for p in problems(tree))


def test_missing_prompt_in_one_language(tree: Path) -> None:
    ru = tree / "prompts" / "ru.yaml"
    edit(ru, "label.children: Дети\n", "")
    assert any("prompts/ru.yaml" in p and "'label.children' is missing in ru" in p for p in problems(tree))


def test_placeholder_a_translation_lacks_or_invents(tree: Path) -> None:
    kk = tree / "prompts" / "kk.yaml"
    edit(kk, "language.choose: Қазақ тілі үшін {key} басыңыз.", "language.choose: Қазақ тілі үшін {кнопка} басыңыз.")
    found = problems(tree)
    line = line_of(kk, "{кнопка}")
    assert any(f"prompts/kk.yaml:{line}" in p and "{кнопка}" in p for p in found), found
    assert any("lacks {key}" in p for p in found)


def test_plural_forms_follow_babel_rules(tree: Path) -> None:
    ru = tree / "prompts" / "ru.yaml"
    edit(ru, '  few: "{n} месяца"\n', "")
    assert any("plural forms few" in p for p in problems(tree))


def test_yaml_syntax_error_names_the_line(tree: Path) -> None:
    en = tree / "prompts" / "en.yaml"
    edit(en, "title.main: Main menu.", "title.main: Main menu.\n  bad: [unclosed")
    assert any(p.startswith("ERROR prompts/en.yaml") and "line" in p for p in problems(tree))


def test_office_missing_an_address_in_one_language(tree: Path) -> None:
    edit(tree / "config" / "offices.yaml", "      ru: проспект Достык, дом 85\n", "")
    assert any("office 'almaty' address is missing for ru" in p for p in problems(tree))


def test_old_verification_date_is_a_warning_not_an_error(tree: Path) -> None:
    content = load_content(tree, date(2027, 12, 1))
    assert any("last verified" in str(w) for w in content.warnings)


def test_deadline_rule_error_names_rule_and_field(tree: Path) -> None:
    edit(tree / "config" / "deadlines.yaml", "period: {days: 5}", "period: {days: 5, months: 1}")
    assert any("deadlines.yaml" in p and "filing" in p for p in problems(tree))


def test_kazakh_without_kazakh_letters_is_flagged(tree: Path) -> None:
    edit(tree / "prompts" / "kk.yaml", "title.main: Басты мәзір.",
         "title.main: Главное меню для всех звонящих сегодня.")
    content = load_content(tree, date(2026, 12, 5))
    assert any("looks Russian" in str(w) and "title.main" in str(w) for w in content.warnings)


def test_a_fourth_language_is_only_files(tree: Path, r, clock, tts_cache) -> None:
    """Kyrgyz as a fixture: a config entry and a prompts file, no code."""
    cfg = tree / "config" / "hotline.yaml"
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["languages"]["ky"] = {"key": "4", "speech": "say", "voice": "Polly.Tatyana", "say_language": "ru-RU",
                               "locale": "ky_KG"}
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    offices = tree / "config" / "offices.yaml"
    odata = yaml.safe_load(offices.read_text(encoding="utf-8"))
    for office in odata["offices"].values():
        for field in ("city", "address", "short", "note"):
            if field in office:
                office[field]["ky"] = office[field]["en"]
    offices.write_text(yaml.safe_dump(odata, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_content(tree, date(2026, 12, 5))
    assert any("language 'ky' has no prompts file" in str(p) for p in info.value.problems)
    text = (tree / "prompts" / "en.yaml").read_text(encoding="utf-8").replace("For English", "Кыргызча үчүн")
    (tree / "prompts" / "ky.yaml").write_text(text, encoding="utf-8")
    content = load_content(tree, date(2026, 12, 5))
    assert content.lang("ky").key == "4"
    assert "Кыргызча" in content.prompts["ky"]["language.choose"]
    app = make_app(r, clock, tree, tts_cache, HOTLINE_CONTENT_DIR=str(tree))
    call = Call(Twilio(app), r)
    call.start()
    assert "Кыргызча үчүн" in call.text
    call.press("4")
    assert "Main menu." in call.text
    assert all(el.get("language") == "ru-RU" for el in call.root.iter("Say"))


def test_the_loader_refuses_an_sms_template_over_the_segment_limit(tree: Path) -> None:
    ru = tree / "prompts" / "ru.yaml"
    edit(ru, 'sms.start: "Сообщения снова включены. Меню: ПОМОЩЬ"',
         'sms.start: "Сообщения снова включены, спасибо, что сообщили нам об этом сегодня, желаем вам удачи во всём, '
         'и помните: вы можете снова написать нам в любое время дня и ночи. Меню: ПОМОЩЬ"')
    found = problems(tree)
    line = line_of(ru, "sms.start:")
    assert any(f"prompts/ru.yaml:{line}" in p and "'sms.start'" in p and "3 segments" in p for p in found), found


def test_a_broken_audio_manifest_means_no_recording_is_trusted(tree: Path) -> None:
    from hotline.content.audio import AudioLibrary
    (tree / "audio" / "en" / "welcome.wav").write_bytes(b"RIFF")
    assert AudioLibrary(tree / "audio").usable("en", "welcome", "Hello.") is not None  # unverified: played
    (tree / "audio" / "manifest.yaml").write_text("en: [unclosed\n", encoding="utf-8")
    assert AudioLibrary(tree / "audio").usable("en", "welcome", "Hello.") is None


def test_the_old_caller_memory_setting_is_a_warning_that_says_nothing_is_remembered(tree: Path) -> None:
    """Language memory is gone (issue 14, S3): an old config's caller_memory_days must not suggest it."""
    edit(tree / "config" / "hotline.yaml", "call_state_ttl_minutes: 120\n",
         "call_state_ttl_minutes: 120\ncaller_memory_days: 30\n")
    content = load_content(tree)
    assert [str(w) for w in content.warnings if "caller_memory_days" in str(w)] == [
        "WARNING config/hotline.yaml:88: caller_memory_days is no longer read: the hotline does not remember "
        "callers (every call starts with the language menu)\n    How to fix: Delete the line."]
