"""A day and month in the near future are "in the future", never last year."""
from __future__ import annotations

from datetime import date

import pytest

from hotline.rules.dates import NEAR_FUTURE_DAYS, DateError, parse_keypad, parse_text, resolve_day_month

DEC_1 = date(2026, 12, 1)


@pytest.mark.parametrize(("digits", "today"), [
    ("0312", DEC_1),  # the old prompt's own example, on 1 December
    ("0212", DEC_1),  # tomorrow
    ("1001", date(2027, 1, 5)),  # five days ahead, early in a year
    ("0501", date(2026, 12, 20)),  # early next year, 16 days ahead
    ("0103", DEC_1),  # 1 March next year: 90 days ahead
])
def test_a_near_future_day_is_refused_as_future(digits: str, today: date) -> None:
    with pytest.raises(DateError) as info:
        parse_keypad(digits, today)
    assert info.value.reason == "future"


def test_the_same_in_an_sms() -> None:
    for text in ("3.12", "REMIND 3.12"[7:], "3 декабря", "3 желтоқсан", "December 3"):
        with pytest.raises(DateError) as info:
            parse_text(text, DEC_1)
        assert info.value.reason == "future", text


@pytest.mark.parametrize(("day", "month", "today", "expected"), [
    (1, 12, DEC_1, date(2026, 12, 1)),  # today
    (30, 11, DEC_1, date(2026, 11, 30)),  # yesterday
    (15, 5, DEC_1, date(2026, 5, 15)),  # earlier this year
    (28, 12, date(2027, 1, 5), date(2026, 12, 28)),  # late last year, typed early in January
    (10, 6, date(2027, 1, 5), date(2026, 6, 10)),  # 156 days ahead: last year
    (5, 3, DEC_1, date(2026, 3, 5)),  # 94 days ahead next year: this March
])
def test_a_past_day_and_a_far_ahead_day(day: int, month: int, today: date, expected: date) -> None:
    assert resolve_day_month(day, month, today) == expected


def test_the_near_future_is_about_three_months() -> None:
    assert NEAR_FUTURE_DAYS == 92
    today = date(2026, 3, 1)
    with pytest.raises(DateError):
        resolve_day_month(1, 6, today)  # 92 days ahead
    assert resolve_day_month(2, 6, today) == date(2025, 6, 2)  # 93 days ahead


def test_29_february_ahead_in_a_leap_year_is_future() -> None:
    with pytest.raises(DateError) as info:
        resolve_day_month(29, 2, date(2028, 2, 20))
    assert info.value.reason == "future"
    assert resolve_day_month(29, 2, date(2028, 3, 1)) == date(2028, 2, 29)
    assert resolve_day_month(29, 2, date(2026, 6, 1)) == date(2024, 2, 29)
