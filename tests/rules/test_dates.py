"""Forgiving date entry: every format people type, and never a date after today."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.dates import get_month_names
from hypothesis import given
from hypothesis import strategies as st

from hotline.rules.dates import REASONS, DateError, month_from_name, parse_keypad, parse_text, resolve_day_month

TODAY = date(2026, 12, 5)


def _reason(fn, *args) -> str:
    with pytest.raises(DateError) as info:
        fn(*args)
    assert info.value.reason in REASONS
    return info.value.reason


# --------------------------------------------------------------------------
# DateError
# --------------------------------------------------------------------------


def test_date_error_is_a_value_error_with_a_reason() -> None:
    err = DateError("future", "2026-12-10")
    assert isinstance(err, ValueError)
    assert err.reason == "future"
    assert "2026-12-10" in str(err)


def test_date_error_refuses_unknown_reasons() -> None:
    with pytest.raises(ValueError):
        DateError("tomorrow")


# --------------------------------------------------------------------------
# resolve_day_month
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "month", "today", "expected"),
    [
        (5, 12, TODAY, date(2026, 12, 5)),  # today itself
        (4, 12, TODAY, date(2026, 12, 4)),
        (15, 5, TODAY, date(2026, 5, 15)),
        (10, 3, TODAY, date(2026, 3, 10)),  # 95 days ahead next year: this March
        (31, 12, date(2026, 12, 31), date(2026, 12, 31)),
        (1, 1, date(2026, 1, 1), date(2026, 1, 1)),
        (4, 4, date(2026, 1, 1), date(2025, 4, 4)),  # 93 days ahead: last year (92 is near)
    ],
)
def test_resolve_picks_the_most_recent_past_year(day: int, month: int, today: date, expected: date) -> None:
    assert resolve_day_month(day, month, today) == expected


@pytest.mark.parametrize(
    ("day", "month", "today"),
    [
        (6, 12, TODAY),  # tomorrow: never last year
        (10, 12, TODAY),
        (31, 12, TODAY),
        (1, 1, TODAY),  # early next year
        (2, 1, date(2026, 1, 1)),
        (2, 4, date(2026, 1, 1)),  # 91 days ahead
        (1, 3, TODAY),  # 86 days ahead, next year
    ],
)
def test_resolve_refuses_a_day_in_the_next_three_months_as_future(day: int, month: int, today: date) -> None:
    assert _reason(resolve_day_month, day, month, today) == "future"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 3, 1), date(2024, 2, 29)),
        (date(2024, 2, 29), date(2024, 2, 29)),
        (date(2025, 1, 1), date(2024, 2, 29)),
        (date(2028, 3, 1), date(2028, 2, 29)),
    ],
)
def test_resolve_29_february_goes_to_the_last_leap_year(today: date, expected: date) -> None:
    assert resolve_day_month(29, 2, today) == expected


@pytest.mark.parametrize(("day", "month"), [(31, 2), (30, 2), (0, 5), (15, 13), (31, 4), (32, 1), (1, 0)])
def test_resolve_impossible_day_or_month(day: int, month: int) -> None:
    assert _reason(resolve_day_month, day, month, TODAY) == "impossible"


# --------------------------------------------------------------------------
# parse_keypad
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("0312", date(2026, 12, 3)), ("0512", date(2026, 12, 5)), ("3107", date(2026, 7, 31)),
     ("3103", date(2026, 3, 31)), (" 0312 ", date(2026, 12, 3))],
)
def test_keypad_reads_ddmm(digits: str, expected: date) -> None:
    assert parse_keypad(digits, TODAY) == expected


@pytest.mark.parametrize(
    ("digits", "reason"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("312", "unreadable"),
        ("03122", "unreadable"),
        ("03122026", "unreadable"),
        ("03*2", "unreadable"),
        ("03 12", "unreadable"),
        ("۰۳۱۲", "unreadable"),  # a keypad sends ASCII digits; anything else is not a key press
        ("3102", "impossible"),
        ("0013", "impossible"),
        ("1513", "impossible"),
        ("0000", "impossible"),
        ("0612", "future"),  # tomorrow
        ("3101", "future"),
    ],
)
def test_keypad_errors(digits: str, reason: str) -> None:
    assert _reason(parse_keypad, digits, TODAY) == reason


@given(
    today=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)),
    days_ago=st.integers(min_value=0, max_value=270),
)
def test_keypad_round_trips_any_date_of_the_last_270_days(today: date, days_ago: int) -> None:
    """270: a day further back comes round again within NEAR_FUTURE_DAYS (92), and is "future"."""
    d = today - timedelta(days=days_ago)
    assert parse_keypad(f"{d.day:02}{d.month:02}", today) == d


# --------------------------------------------------------------------------
# parse_text: every accepted format
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "3.12", "03.12", "3/12", "03/12/2026", "3-12-26", "2026-12-03", "3 12",
        "3 дек", "3 декабря", "3 желтоқсан", "3 желтоксан", "3 dec", "3 December",
        "December 3", "dec 3",
        # and what people add around them
        "3.12.", " 3.12 ", "03.12.26", "3 ДЕК.", "3 Декабрь", "3 ЖЕЛТОҚСАН", "3 жел.",
        "3rd December", "December 3rd", "3rd of December", "Dec. 3, 2026", "3 декабре",
        "3-е декабря", "3-ші желтоқсан", "3 желтоксанда", "۳.۱۲", "٣/١٢",
    ],
)
def test_parse_text_formats(text: str) -> None:
    assert parse_text(text, TODAY) == date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3 декабря 2025 г.", date(2025, 12, 3)),
        ("2025 жылғы 3 желтоқсан", date(2025, 12, 3)),
        ("3 dec 25", date(2025, 12, 3)),
        ("dec 3 2025", date(2025, 12, 3)),
        ("1.1.2000", date(2000, 1, 1)),
        ("29.02.2024", date(2024, 2, 29)),
        ("5.12.2026", TODAY),
        ("15 мая", date(2026, 5, 15)),
        ("15 май", date(2026, 5, 15)),
        ("15 мамыр", date(2026, 5, 15)),
        ("15 маусым", date(2026, 6, 15)),
        ("15 июня", date(2026, 6, 15)),
        ("15 июле", date(2026, 7, 15)),
        ("15 March", date(2026, 3, 15)),
        ("15 мар", date(2026, 3, 15)),
        ("15 наурыз", date(2026, 3, 15)),
        ("15 сент.", date(2026, 9, 15)),
        ("15 Sept", date(2026, 9, 15)),
        ("15 қазан", date(2026, 10, 15)),
        ("15 казан", date(2026, 10, 15)),
        ("15 қараша", date(2026, 11, 15)),
        ("15 apr", date(2026, 4, 15)),
        ("15 сәуір", date(2026, 4, 15)),
        ("15 сәуір", date(2026, 4, 15)),
        ("15 сауир", date(2026, 4, 15)),
        ("15 қыркүйек", date(2026, 9, 15)),
        ("15 тамыз", date(2026, 8, 15)),
        ("15 шілде", date(2026, 7, 15)),
        ("15 наурызда", date(2026, 3, 15)),
    ],
)
def test_parse_text_more(text: str, expected: date) -> None:
    assert parse_text(text, TODAY) == expected


def test_day_comes_before_month() -> None:
    assert parse_text("3/12", TODAY) == date(2026, 12, 3)
    assert parse_text("12/3", TODAY) == date(2026, 3, 12)


def test_date_without_year_goes_to_the_most_recent_past() -> None:
    assert parse_text("10.06", TODAY) == date(2026, 6, 10)
    assert parse_text("10 июня", TODAY) == date(2026, 6, 10)
    assert parse_text("5.12", TODAY) == date(2026, 12, 5)


def test_date_without_year_in_the_next_three_months_is_future() -> None:
    for text in ("10.12", "10 декабря", "10 желтоқсан", "15 feb", "15 қаңтар"):
        assert _reason(parse_text, text, TODAY) == "future", text


def test_29_february_without_year() -> None:
    assert parse_text("29.02", date(2026, 3, 1)) == date(2024, 2, 29)
    assert parse_text("29 февраля", date(2026, 3, 1)) == date(2024, 2, 29)


# --------------------------------------------------------------------------
# parse_text: refusals
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("hello", "unreadable"),
        ("99", "unreadable"),
        ("0312", "unreadable"),  # one number: a year? a keypad date? ask again
        ("?!", "unreadable"),
        ("3", "unreadable"),
        ("3 ма", "unreadable"),  # 2 letters: May or June (мамыр / маусым)?
        ("3 ию", "unreadable"),  # June or July?
        ("3 Казахстан", "unreadable"),
        ("3 dec 4 dec", "unreadable"),
        ("3 dec march", "unreadable"),
        ("3.12.2026.1", "unreadable"),
        ("3.12.6", "unreadable"),
        ("3.12.202", "unreadable"),
        ("003.12", "unreadable"),
        ("0²", "unreadable"),  # superscript two is a digit to str.isdigit, not a number
        ("3.¹²", "unreadable"),
        ("dec 2025", "unreadable"),
        ("31.02", "impossible"),
        ("3.13", "impossible"),
        ("00.05", "impossible"),
        ("32 dec", "impossible"),
        ("31 апреля", "impossible"),
        ("29.02.2025", "impossible"),
        ("3.12.1899", "impossible"),
        ("10.12.2026", "future"),
        ("6.12.26", "future"),
        ("2027-01-01", "future"),
        ("3 dec 2027", "future"),
    ],
)
def test_parse_text_errors(text: str, reason: str) -> None:
    assert _reason(parse_text, text, TODAY) == reason


# --------------------------------------------------------------------------
# Month names
# --------------------------------------------------------------------------

_BABEL_NAMES = sorted(
    {
        (name, month)
        for locale in ("kk", "ru", "en")
        for width in ("wide", "abbreviated")
        for context in ("format", "stand-alone")
        for month, name in get_month_names(width, context=context, locale=locale).items()
    }
)


@pytest.mark.parametrize(("name", "month"), _BABEL_NAMES)
def test_every_babel_month_name_reads_as_its_month(name: str, month: int) -> None:
    assert month_from_name(name) == month
    assert month_from_name(name.upper()) == month


@pytest.mark.parametrize(
    ("word", "month"),
    [("желтоксан", 12), ("ЖЕЛТОКСАН", 12), ("желт", 12), ("кантар", 1), ("маусым", 6),
     ("декабре", 12), ("январе", 1), ("dece", 12), ("ма", None), ("ию", None), ("xyz", None)],
)
def test_month_from_name(word: str, month: int | None) -> None:
    assert month_from_name(word) == month


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

_recent = st.builds(
    lambda today, back: (today, today - timedelta(days=back)),
    st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=0, max_value=270),
)


@given(pair=_recent, locale=st.sampled_from(["kk", "ru", "en"]), width=st.sampled_from(["wide", "abbreviated"]))
def test_text_round_trips_with_month_names(pair: tuple[date, date], locale: str, width: str) -> None:
    today, d = pair
    name = get_month_names(width, context="format", locale=locale)[d.month]
    assert parse_text(f"{d.day} {name}", today) == d
    assert parse_text(f"{name} {d.day}", today) == d


@given(pair=_recent, sep=st.sampled_from([".", "/", "-", " "]))
def test_text_round_trips_numeric(pair: tuple[date, date], sep: str) -> None:
    today, d = pair
    assert parse_text(f"{d.day}{sep}{d.month}", today) == d
    assert parse_text(f"{d.day:02}{sep}{d.month:02}{sep}{d.year}", today) == d
    assert parse_text(f"{d.day:02}{sep}{d.month:02}{sep}{d.year % 100:02}", today) == d
    assert parse_text(d.isoformat(), today) == d


@given(text=st.text(max_size=30))
def test_parse_text_never_returns_a_future_date(text: str) -> None:
    try:
        result = parse_text(text, TODAY)
    except DateError as err:
        assert err.reason in REASONS
    else:
        assert result <= TODAY


@given(
    today=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)),
    day=st.integers(min_value=1, max_value=31),
    month=st.integers(min_value=1, max_value=12),
)
def test_resolved_date_is_within_the_last_year(today: date, day: int, month: int) -> None:
    try:
        result = resolve_day_month(day, month, today)
    except DateError as err:
        assert err.reason in ("impossible", "future")
        return
    assert (result.day, result.month) == (day, month)
    assert result <= today
    if (day, month) != (29, 2):
        assert (today - result).days < 366 - 92
