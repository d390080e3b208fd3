"""config/handoff.yaml is read section by section: a broken edit reports every problem at once, in
the operator's words, and yields no handoff; a good one gives the values written in the file."""
from __future__ import annotations

from datetime import date, time
from zoneinfo import ZoneInfo

from hotline.content import handoff

KEYPAD = set("0123456789*#")
TEXTS = {"ru": {"call": "Звонок: {language}, {topic}. Нажмите 1.", "callback": "{language} {kind}", "missed": "m",
                "voicemail": "v", "request": "r", "no_topic": "n", "languages": {"kk": "казахский"}}}
GOOD = {"timezone": "Asia/Almaty", "hours": {"mon": ["09:00-13:00", "14:00-18:00"], "fri": ["10:00-16:00"]},
        "holidays": [date(2026, 12, 16)], "routing": {"strategy": "all_at_once", "ring_seconds": 25, "max_tries": 2},
        "voicemail": {"max_seconds": 90, "finish_key": "#", "keep_days_after_closed": 7, "keep_days_open": 30},
        "callbacks": {"automatic": {"enabled": True, "when": "office_hours", "per_number_per_day": 1}, "daily_cap": 4,
                      "quiet_hours": {"start": "22:00", "end": "08:30"}},
        "whisper": {"language": "ru", "texts": TEXTS}}


def _parse(data):
    problems: list[tuple[tuple, str]] = []
    result = handoff.parse(data, lambda keys, message, fix="": problems.append((keys, message)), ["ru"], KEYPAD,
                           ZoneInfo)
    return result, problems


def test_a_good_file_gives_the_values_written_in_it() -> None:
    h, problems = _parse(GOOD)
    assert problems == []
    assert h is not None
    assert h.hours.week == {0: ((time(9), time(13)), (time(14), time(18))), 4: ((time(10), time(16)),)}
    assert h.hours.holidays == frozenset({date(2026, 12, 16)})
    assert (h.strategy, h.ring_seconds, h.max_tries) == ("all_at_once", 25, 2)
    assert (h.max_record_seconds, h.finish_key, h.keep_days_after_closed, h.keep_days_open) == (90, "#", 7, 30)
    assert (h.auto_enabled, h.auto_when, h.call_daily_cap) == (True, "office_hours", 4)
    assert (h.quiet_start, h.quiet_end) == (time(22), time(8, 30))
    assert h.whisper_text("call", language="kk", topic="x") == "Звонок: kk, x. Нажмите 1."
    assert h.language_name("kk") == "казахский"


def test_every_problem_of_one_edit_is_reported_and_nothing_is_used() -> None:
    broken = dict(GOOD, timezone="Mars/Olympus", hours={"monday": ["09:00-18:00"], "tue": ["10:00-12:00", "11:00-13:00"]},
                  holidays=["16.12.2026"], routing={"strategy": "random", "ring_seconds": 2},
                  voicemail={"finish_key": "##"}, callbacks={"quiet_hours": {"start": "21:00", "end": "21:00"}},
                  whisper={"language": "kk", "texts": TEXTS})
    h, problems = _parse(broken)
    assert h is None
    assert problems == [
        (("timezone",), "unknown time zone 'Mars/Olympus'"),
        (("hours", "monday"), "'monday' is not a weekday"),
        (("hours", "tue"), "hours for tue overlap"),
        (("holidays", 0), "'16.12.2026' is not a date"),
        (("routing", "strategy"), "unknown strategy 'random'"),
        (("routing", "ring_seconds"), "'routing.ring_seconds' must be a whole number from 5 to 60, not 2"),
        (("voicemail", "finish_key"), "finish_key must be one keypad key, not '##'"),
        (("callbacks", "quiet_hours"), "quiet_hours start and end are equal"),
        (("whisper", "language"), "whisper language 'kk' has no texts"),
    ]


def test_a_file_that_is_not_a_set_of_fields_is_refused() -> None:
    assert _parse(["mon"]) == (None, [((), "the file must be a set of 'name: value' lines")])


def test_no_office_hours_at_all_is_refused() -> None:
    h, problems = _parse(dict(GOOD, hours={}))
    assert h is None
    assert problems == [(("hours",), "no day has office hours: every call would go to voice messages")]
