"""`hotline check`: every kind of operator mistake gets its own plain message, and the exit code tells CI."""
from __future__ import annotations

import subprocess
import sys
import wave
from datetime import date
from pathlib import Path

import yaml
from click.testing import CliRunner

from hotline.checks.checker import run_checks
from hotline.cli.check import check_command
from hotline.content.audio import text_sha
from hotline.content.loader import load_content
from hotline.content.script import recording_slots
from support import FIXTURE, edit, line_of, set_prompt

TODAY = date(2026, 12, 5)


def messages(root: Path, severity: str = "error", today: date = TODAY) -> list[str]:
    """Each problem as one line: 'file:line message | fix'."""
    return [f"{p.file}:{p.line} {p.message} | {p.fix}" for p in run_checks(root, today).problems
            if p.severity == severity]


def write_wav(path: Path, seconds: float = 0.2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))


# ---- the report on good content (the frozen fixture; the shipped one: tests/test_shipped_content.py)

def test_menu_depth_of_every_office_and_universal_keys_listed_once() -> None:
    report = run_checks(FIXTURE, TODAY)
    offices = next(t for t in report.tables if t.title.startswith("Office addresses"))
    assert offices.rows == (("Astana", "2", "1 then 1"), ("Almaty", "2", "1 then 2"), ("Shymkent", "2", "1 then 3"),
                            ("Taldykorgan", "2", "1 then 4"), ("Konaev", "2", "1 then 5"))
    keys = next(t for t in report.tables if t.title.startswith("Universal keys"))
    assert [row[0] for row in keys.rows] == ["9", "*", "0", "8", "#"]
    assert report.render().count("Universal keys") == 1


def test_a_deeper_office_is_reported_with_its_presses(tree: Path) -> None:
    menu = tree / "config" / "menu.yaml"
    edit(menu, '      "5": office.konaev\n', '      "5": more\n')
    edit(menu, "  ways: {type: content", '  more: {type: menu, options: {"1": office.konaev}}\n  ways: {type: content')
    for lang, title in (("en", "More offices."), ("ru", "Другие офисы."), ("kk", "Басқа кеңселер.")):
        edit(tree / "prompts" / f"{lang}.yaml", "title.main:", f"title.more: {title}\nlabel.more: {title}\ntitle.main:")
    report = run_checks(tree, TODAY)
    assert not any("menu" in p.file for p in report.errors), report.render()
    offices = next(t for t in report.tables if t.title.startswith("Office addresses"))
    assert ("Konaev", "3", "1 then 5 then 1") in offices.rows


def test_sms_table_has_every_template_in_every_language() -> None:
    report = run_checks(FIXTURE, TODAY)
    sms = next(t for t in report.tables if t.title.startswith("SMS sizes"))
    assert sms.header == ("template", "kk", "ru", "en")
    templates = [row[0] for row in sms.rows]
    assert "sms.addresses" in templates and "sms.reminder.appeal" in templates
    assert "sms.sent" not in templates, "spoken on a call, never sent"
    english = dict((row[0], row[3]) for row in sms.rows)
    assert english["sms.start"].startswith("1 GSM-7")
    assert dict((row[0], row[2]) for row in sms.rows)["sms.start"].startswith("1 UCS-2")


# ---- menu mistakes (found by load_content, reported by the check) -----------------------------

def test_dead_end_menu(tree: Path) -> None:
    edit(tree / "config" / "menu.yaml", "  reminders: {type: reminders}", "  reminders: {type: menu}")
    line = line_of(tree / "config" / "menu.yaml", "  reminders: {type: menu}")
    assert any(m.startswith(f"config/menu.yaml:{line} menu 'reminders' has no options (a dead end)")
               for m in messages(tree))


def test_unreachable_node(tree: Path) -> None:
    edit(tree / "config" / "menu.yaml", "  reminders: {type: reminders}",
         "  reminders: {type: reminders}\n  orphan: {type: office, office: almaty}")
    assert any("node 'orphan' cannot be reached from any menu | Make it an option of exactly one menu." in m
               for m in messages(tree))


def test_key_pointing_nowhere(tree: Path) -> None:
    edit(tree / "config" / "menu.yaml", '"6": children', '"6": childern')
    line = line_of(tree / "config" / "menu.yaml", '"6": childern')
    assert any(m.startswith(f"config/menu.yaml:{line} menu 'main': key 6 points to 'childern', which does not exist")
               for m in messages(tree))


def test_universal_key_reused(tree: Path) -> None:
    edit(tree / "config" / "menu.yaml", '"7": reminders', '"9": reminders')
    assert any("key 9 is the universal 'repeat' key and cannot be an option" in m for m in messages(tree))


# ---- prompts -------------------------------------------------------------------------------

def test_missing_prompt(tree: Path) -> None:
    edit(tree / "prompts" / "ru.yaml", "label.children: Дети\n", "")
    assert any(m.startswith("prompts/ru.yaml") and "prompt 'label.children' is missing in ru" in m
               for m in messages(tree))


def test_extra_prompt(tree: Path) -> None:
    edit(tree / "prompts" / "ru.yaml", "label.children: Дети\n", "label.children: Дети\nlabel.childern: Дети\n")
    line = line_of(tree / "prompts" / "ru.yaml", "label.childern")
    assert any(m.startswith(f"prompts/ru.yaml:{line} prompt 'label.childern' is not used") for m in messages(tree))


def test_placeholder_mismatch(tree: Path) -> None:
    edit(tree / "prompts" / "kk.yaml", "language.choose: Қазақ тілі үшін {key} басыңыз.",
         "language.choose: Қазақ тілі үшін {кнопка} басыңыз.")
    found = messages(tree)
    assert any("{кнопка}" in m for m in found) and any("lacks {key}" in m for m in found)


def test_missing_plural_form(tree: Path) -> None:
    edit(tree / "prompts" / "ru.yaml", '  few: "{n} месяца"\n', "")
    assert any("prompt 'period.months' lacks plural forms few for ru" in m for m in messages(tree))


def test_kazakh_text_without_kazakh_letters_is_a_warning(tree: Path) -> None:
    edit(tree / "prompts" / "kk.yaml", "title.main: Басты мәзір.", "title.main: Главное меню для всех звонящих сегодня.")
    line = line_of(tree / "prompts" / "kk.yaml", "title.main:")
    assert any(m.startswith(f"prompts/kk.yaml:{line} prompt 'title.main' looks Russian")
               for m in messages(tree, "warning"))
    assert not any("title.main" in m for m in messages(tree))


# ---- facts ---------------------------------------------------------------------------------

def test_hard_coded_period_contradicting_the_rule(tree: Path) -> None:
    edit(tree / "config" / "deadlines.yaml", "period: {days: 5}", "period: {days: 7}")
    edit(tree / "prompts" / "ru.yaml", "{filing}", "5 календарных дней")
    found = [m for m in messages(tree) if "says" in m]
    line = line_of(tree / "prompts" / "ru.yaml", "5 календарных дней")
    assert len(found) == 1, found
    assert found[0].startswith(f"prompts/ru.yaml:{line} prompt '") and 'says "5 календарных дней"' in found[0]
    assert "filing 7 days" in found[0] and "{filing}" in found[0]


def test_hard_coded_hours_and_months_in_other_languages(tree: Path) -> None:
    edit(tree / "config" / "deadlines.yaml", "period: {days: 1}", "period: {days: 2}")  # irregular crossing
    found = messages(tree)
    for lang, said in (("en", "24 hours"), ("ru", "24 часов"), ("kk", "24 сағат")):
        assert any(m.startswith(f"prompts/{lang}.yaml") and f'"{said}' in m for m in found), (lang, found)
    assert all('says "24 ' in m for m in found if "says" in m), "3 months and 5 days still agree with a rule"


def test_house_number_differs_between_languages(tree: Path) -> None:
    offices = tree / "config" / "offices.yaml"
    edit(offices, "      ru: проспект Достык, дом 85", "      ru: проспект Достык, дом 58")
    line = line_of(offices, "дом 58")
    found = [m for m in messages(tree) if "office 'almaty'" in m]
    assert len(found) == 1, found
    assert found[0].startswith(f"config/offices.yaml:{line} office 'almaty': the ru address")
    assert "85" in found[0] and "85 Dostyk Avenue" in found[0]


# ---- SMS -----------------------------------------------------------------------------------

def test_sms_template_over_the_segment_limit(tree: Path) -> None:
    set_prompt(tree / "prompts" / "en.yaml", "sms.help", "Text ADDRESS for offices, DEADLINES for dates. " * 7)
    line = line_of(tree / "prompts" / "en.yaml", "sms.help:")
    found = [m for m in messages(tree) if "'sms.help'" in m]
    assert len(found) == 1, found
    assert found[0].startswith(f"prompts/en.yaml:{line} SMS 'sms.help' in en takes 3 segments")
    assert "GSM-7" in found[0] and "the limit is 2" in found[0] and "at most 306 characters" in found[0]


def test_sms_with_dates_is_measured_with_the_longest_dates(tree: Path) -> None:
    """A template that only overflows with several long dates is still caught."""
    ru = tree / "prompts" / "ru.yaml"
    set_prompt(ru, "sms.remind_ask", "Последний день подачи: {deadline}. Мы напомним: {dates}. Ответьте ДА.")
    assert not any("'sms.remind_ask'" in m for m in messages(tree))
    set_prompt(ru, "sms.remind_ask", "Последний день подачи заявления: {deadline}. Мы напомним вам: {dates}. Ответьте ДА.")
    found = [m for m in messages(tree) if "'sms.remind_ask'" in m]
    assert len(found) == 1 and "in ru takes 3 segments" in found[0] and "5 reminder dates" in found[0], found


# ---- audio ---------------------------------------------------------------------------------

def test_stale_recording_is_a_warning_naming_the_file_and_the_new_text(tree: Path) -> None:
    content = load_content(tree, TODAY)
    text = recording_slots(content, "kk")["welcome"]
    write_wav(tree / "audio" / "kk" / "welcome.wav")
    manifest = {"kk": {"welcome": {"file": "welcome.wav", "text_sha": text_sha(text), "draft": False}}}
    (tree / "audio" / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
    assert not any("welcome" in m for m in messages(tree, "warning"))
    set_prompt(tree / "prompts" / "kk.yaml", "welcome", "Сәлем. Бұл тегін ақпарат.")
    found = [m for m in messages(tree, "warning") if m.startswith("audio/kk/welcome.wav")]
    assert len(found) == 1 and "older text of 'welcome'" in found[0] and "Сәлем. Бұл тегін" in found[0], found
    audio = next(t for t in run_checks(tree, TODAY).tables if t.title.startswith("Recordings"))
    kk = dict(zip(audio.header, next(row for row in audio.rows if row[0] == "kk")))
    assert kk["stale"] == "1" and kk["recorded"] == "0"


def test_play_language_with_a_bogus_voice_is_an_error(tree: Path) -> None:
    cfg = tree / "config" / "hotline.yaml"
    edit(cfg, "tts_voice: kk", "tts_voice: bogus")
    line = line_of(cfg, "tts_voice: bogus")
    found = [m for m in messages(tree) if "tts_voice" in m]
    assert len(found) == 1, found
    assert found[0].startswith(f"config/hotline.yaml:{line} language 'kk' has tts_voice 'bogus'")
    assert "ru voice" in found[0] and "espeak-ng --voices=kk" in found[0]


def test_broken_audio_manifest_is_an_error_with_its_line(tree: Path) -> None:
    (tree / "audio" / "manifest.yaml").write_text("kk:\n  welcome: {file: welcome.wav\n", encoding="utf-8")
    assert "audio/manifest.yaml:2 the { on this line is never closed | Add the closing } at the end of the line, " \
           "or put the text in quotes if the { belongs to it." in messages(tree), messages(tree)


# ---- offices -------------------------------------------------------------------------------

def test_old_verification_date_is_a_warning(tree: Path) -> None:
    found = messages(tree, "warning", today=date(2027, 12, 1))
    assert any(m.startswith("config/offices.yaml:") and "office 'astana' was last verified on 2026-11-01" in m
               for m in found)


# ---- the report and the command ------------------------------------------------------------

def test_report_groups_by_file_errors_first_and_ends_with_a_summary(tree: Path) -> None:
    edit(tree / "prompts" / "kk.yaml", "title.main: Басты мәзір.", "title.main: Главное меню для всех звонящих сегодня.")
    edit(tree / "config" / "menu.yaml", '"6": children', '"6": childern')
    result = CliRunner().invoke(check_command, ["--root", str(tree), "--today", TODAY.isoformat()])
    assert result.exit_code == 1
    out = result.output
    assert out.index("config/menu.yaml\n  ERROR, line") < out.index("prompts/kk.yaml\n  WARNING, line")
    assert out.splitlines().count("config/menu.yaml") == 1
    assert "    How to fix: Write 'children' instead of 'childern'." in out
    assert out.rstrip().endswith("the hotline will not load this content (a running hotline keeps the last good version).")
    assert "Not checked yet, because of the errors above: recordings. Run the check again once they are fixed." in out


def test_warnings_only_exit_0(tree: Path) -> None:
    result = CliRunner().invoke(check_command, ["--root", str(tree), "--today", "2027-12-01"])
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output and result.output.rstrip().endswith("The hotline can serve this content.")


def test_real_subprocess_exit_codes(tree: Path) -> None:
    edit(tree / "config" / "offices.yaml", "      en: 9 Beibitshilik Street", "      en: 19 Beibitshilik Street")
    broken = subprocess.run([sys.executable, "-m", "hotline.cli", "check", "--root", str(tree)],
                            cwd=tree, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "office 'astana'" in broken.stdout and "errors" in broken.stdout.splitlines()[-1]
    good = subprocess.run([sys.executable, "-m", "hotline.cli", "check"], cwd=FIXTURE, capture_output=True,
                          text=True, timeout=120)  # no --root: the content in the working directory
    assert good.returncode == 0, good.stdout[-2000:]
