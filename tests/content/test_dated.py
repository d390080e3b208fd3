"""Prompts that say dates in full (script.dated): the words between the dates are studio slots of
their own, each date is said in pieces (a played language), the year only when it is not this year."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from hotline.content import script
from hotline.content.loader import load_content
from support import set_prompt

TODAY = date(2026, 12, 1)


def content_with(tree: Path):
    set_prompt(tree / "prompts" / "kk.yaml", "reminders.readback.filing",
               "Сіз енгізген күн: {start}. Өтініш берудің соңғы күні: {date}. Кешіктірмеңіз.")
    set_prompt(tree / "prompts" / "en.yaml", "reminders.readback.filing",
               "Your date: {start}. The last day to apply: {date}. Do not wait.")
    set_prompt(tree / "prompts" / "ru.yaml", "reminders.readback.filing",
               "Ваша дата: {start}. Последний день подачи заявления: {date}. Не откладывайте.")
    return load_content(tree, TODAY)


def test_two_dates_make_three_word_slots_and_pieces(tree: Path) -> None:
    c = content_with(tree)
    slots = script.readback_slots(c, "kk")
    assert {k: v for k, v in slots.items() if k.startswith("reminders.readback.filing") and "irregular" not in k} == {
        "reminders.readback.filing": "Сіз енгізген күн:",
        "reminders.readback.filing.after_start": "Өтініш берудің соңғы күні:",
        "reminders.readback.filing.after_date": "Кешіктірмеңіз."}
    u = script.dated(c, "kk", "reminders.readback.filing", TODAY, {"start": date(2026, 11, 28), "date": date(2026, 12, 3)})
    assert [p.key for p in u.parts] == [
        "reminders.readback.filing", "value.weekday.6", "value.day.28", "value.month.11",
        "reminders.readback.filing.after_start", "value.weekday.4", "value.day.3", "value.month.12",
        "reminders.readback.filing.after_date"]  # the fixture's date.spoken: weekday, day, month
    assert [p.text for p in u.parts][1:4] == ["сенбі", "жиырма сегізінші", "қараша"]


def test_a_said_language_gets_one_utterance_with_the_year_only_when_it_is_not_this_year(tree: Path) -> None:
    c = content_with(tree)
    u = script.dated(c, "en", "reminders.readback.filing", TODAY, {"start": date(2026, 11, 28), "date": date(2027, 1, 3)})
    assert u.text == "Your date: Saturday, 28 November. The last day to apply: Sunday, 3 January 2027. Do not wait."
    assert u.parts == () and u.slow


def test_the_keys_to_type_a_date_are_said_as_numbers(tree: Path) -> None:
    for lang, text in (("kk", "Мысалы, бүгін: {today}. Бұл күн үшін {keys} деп теріңіз."),
                       ("ru", "Например, сегодня {today}. Для этой даты нажмите {keys}."),
                       ("en", "For example, today is {today}. For today, press {keys}.")):
        set_prompt(tree / "prompts" / f"{lang}.yaml", "reminders.enter_date", text)
    c = load_content(tree, TODAY)
    slots = script.readback_slots(c, "kk")
    assert (slots["reminders.enter_date"], slots["reminders.enter_date.after_today"],
            slots["reminders.enter_date.after_keys"]) == ("Мысалы, бүгін:", "Бұл күн үшін", "деп теріңіз.")
    u = script.dated(c, "kk", "reminders.enter_date", TODAY, {"today": TODAY}, keys="0112")
    assert [p.key for p in u.parts][-6:] == ["reminders.enter_date.after_today", "value.number.0", "value.number.1",
                                             "value.number.1", "value.number.2", "reminders.enter_date.after_keys"]
    en = script.dated(c, "en", "reminders.enter_date", TODAY, {"today": TODAY}, keys="0112")
    assert en.text == "For example, today is Tuesday, 1 December. For today, press 0, 1, 1, 2."
