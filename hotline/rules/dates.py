"""Forgiving date entry for the reminder opt-in (phone keypad and SMS).

Why: a person signing up for a deadline reminder types the date they
arrived or received a decision, on whatever phone and keyboard they have:
"3.12", "03/12/26", "3 дек", "3 желтоқсан", "December 3", or 0312 on a
keypad. Such a date is always in the past or today. A day and month without
a year that come within the next three months ("0 3 1 2" typed on 1 December,
"5.01" typed on 20 December) are refused as "in the future" and asked again,
never taken as a date a year ago: that would give a false "that date has
passed". Any other day and month is the most recent one (28.12 typed on
5 January is last December). A date with a year after today is refused too.

Day always comes before month in numeric dates (as in Kazakhstan): "3/12" is
3 December, never 12 March. Month names come from Babel's CLDR data for kk,
ru and en, in every form (wide/abbreviated, format/stand-alone), with Kazakh
letters folded to their Russian look-alikes so "желтоксан" works.

Pure: the caller passes ``today``; no clock, no I/O.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from datetime import date

from babel.dates import get_month_names

from hotline.rules.textfold import KAZAKH_TO_RUSSIAN

__all__ = [
    "DateError",
    "NEAR_FUTURE_DAYS",
    "REASONS",
    "month_from_name",
    "parse_keypad",
    "parse_text",
    "resolve_day_month",
]

#: Why a date was refused: nothing typed / not a date / no such day / after today.
REASONS: frozenset[str] = frozenset({"empty", "unreadable", "impossible", "future"})

_LOCALES = ("kk", "ru", "en")
_EARLIEST_YEAR = 1900  # an explicit year before this is a typo, not an arrival date
_LEAP_LOOKBACK = 4  # 29 Feb without a year: the most recent one in the last 4 years
#: A day and month at most this many days ahead of today are "in the future", not last year.
#: The longest deadline is 3 months: a date further ahead, read as last year, is older than any
#: deadline anyway, and every readback names the year when it is not this year.
NEAR_FUTURE_DAYS = 92


# Words around a date that carry no information: "3rd of December",
# "3-е декабря 2025 г.", "2025 жылғы 3-ші желтоқсан".
_FILLERS = frozenset(
    {
        "st", "nd", "rd", "th", "of", "the", "on", "in", "в",
        "е", "го", "ое", "ого", "г", "гг", "год", "года", "году",
        "ши", "шы", "ж", "жыл", "жылы", "жылгы",
    }
)

_TOKEN = re.compile(r"[0-9]+|[^\W\d_]+")


class DateError(ValueError):
    """A date that cannot be used, with a machine-readable ``reason``.

    reason is one of REASONS; the caller picks the message to send back
    ("empty" and "unreadable" → ask again with an example; "impossible" →
    that day does not exist; "future" → the date must be today or earlier).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown DateError reason {reason!r}")
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().translate(KAZAKH_TO_RUSSIAN)


def _check_day_month(day: int, month: int) -> None:
    # Validated against a leap year, so 29 Feb is possible here.
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(2000, month)[1]:
        raise DateError("impossible", f"day {day}, month {month}")


def resolve_day_month(day: int, month: int, today: date) -> date:
    """The date a day and month without a year mean, for an event that has happened.

    If that day and month come again within NEAR_FUTURE_DAYS (later this year, or early next
    year), DateError("future"): the person typed a day that has not come, or mistyped, and is
    asked again. Otherwise the most recent such date that is not after ``today`` (this year or
    last). 29 February: the most recent one within the last 4 years.
    Raises DateError("impossible") for a day/month that never exists.
    """
    _check_day_month(day, month)
    for year in (today.year, today.year + 1):
        if (day, month) == (29, 2) and not calendar.isleap(year):
            continue
        ahead = (date(year, month, day) - today).days
        if 0 < ahead <= NEAR_FUTURE_DAYS:
            raise DateError("future", date(year, month, day).isoformat())
    if (day, month) == (29, 2):
        for year in range(today.year, today.year - _LEAP_LOOKBACK - 1, -1):
            if calendar.isleap(year) and date(year, 2, 29) <= today:
                return date(year, 2, 29)
        raise DateError("impossible", "no 29 February in the last 4 years")
    this_year = date(today.year, month, day)
    return this_year if this_year <= today else date(today.year - 1, month, day)


def parse_keypad(digits: str, today: date) -> date:
    """Read DDMM typed on a phone keypad: "0312" is 3 December.

    Exactly four digits; the year is resolved by :func:`resolve_day_month`.
    """
    digits = digits.strip()
    if not digits:
        raise DateError("empty")
    if not re.fullmatch(r"[0-9]{4}", digits):
        raise DateError("unreadable", "expected 4 digits, DDMM")
    return resolve_day_month(int(digits[:2]), int(digits[2:]), today)


@functools.lru_cache(maxsize=1)
def _month_names() -> tuple[tuple[str, int], ...]:
    names: set[tuple[str, int]] = set()
    for locale in _LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for month, name in get_month_names(width, context=context, locale=locale).items():
                    folded = _fold(name).strip(". ")
                    if folded:
                        names.add((folded, month))
    return tuple(sorted(names))


def month_from_name(word: str) -> int | None:
    """The month a (possibly abbreviated or inflected) month name means, or None.

    Tried in order, the first rule that finds anything decides, and it must
    find exactly one month:
    1. the exact name ("май", "dec", "желтоксан");
    2. a prefix of at least 3 letters ("сент", "dece", "желт");
    3. an inflected form: a name of 3+ letters with at most its last letter
       changed and up to 3 letters added ("декабре", "июне", "желтоксанда").
    """
    w = _fold(word).strip(". ")
    if len(w) < 3:
        return None
    names = _month_names()
    rules = (
        lambda name: w == name,
        lambda name: name.startswith(w),
        lambda name: _common_prefix(w, name) >= max(3, len(name) - 1)
        and len(w) - _common_prefix(w, name) <= 3,
    )
    for rule in rules:
        months = {month for name, month in names if rule(name)}
        if months:
            return months.pop() if len(months) == 1 else None
    return None


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _ascii_digits(text: str) -> str:
    # Persian, Arabic-Indic and other decimal digits → 0-9 (۳.۱۲ = 3.12).
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def parse_text(text: str, today: date) -> date:
    """Read a date typed in an SMS.

    Accepts "3.12", "03.12", "3/12", "03/12/2026", "3-12-26", "2026-12-03",
    "3 12", "3 дек", "3 декабря", "3 желтоқсан", "3 желтоксан", "3 dec",
    "3 December", "December 3", "dec 3", optionally with a year and small
    words ("3rd of December 2025", "3-е декабря 2025 г."). Day before month.

    A two-digit year means 20YY. With a year, a date after ``today`` raises
    DateError("future"); without one, :func:`resolve_day_month` picks the year.
    """
    if not text or not text.strip():
        raise DateError("empty")
    numbers, month = _tokens(text)
    day, month, year_text = _day_month_year(numbers, month)
    if year_text is None:
        return resolve_day_month(day, month, today)
    return _with_year(day, month, year_text, today)


def _tokens(text: str) -> tuple[list[str], int | None]:
    """The numbers of a typed date, and its month when it is written as a word."""
    tokens = _TOKEN.findall(_ascii_digits(unicodedata.normalize("NFC", text)))
    numbers: list[str] = []
    month: int | None = None
    for token in tokens:
        if token.isascii() and token.isdigit():
            numbers.append(token)
        elif _fold(token) in _FILLERS:
            continue
        else:
            found = month_from_name(token)
            if found is None or month is not None:
                raise DateError("unreadable", f"not a month: {token!r}")
            month = found
    if any(len(n) not in (1, 2, 4) for n in numbers):
        raise DateError("unreadable", "numbers must have 1, 2 or 4 digits")
    return numbers, month


def _day_month_year(numbers: list[str], month: int | None) -> tuple[int, int, str | None]:
    """Which number is the day, the month and the year (None when no year was typed)."""
    year_text: str | None
    if month is not None:  # "3 дек", "December 3", "3 dec 2025", "dec 3 25"
        if len(numbers) == 1 and len(numbers[0]) <= 2:
            day_text, year_text = numbers[0], None
        elif len(numbers) == 2 and len(numbers[0]) <= 2:
            day_text, year_text = numbers
        elif len(numbers) == 2 and len(numbers[0]) == 4 and len(numbers[1]) <= 2:
            year_text, day_text = numbers  # "2025 жылғы 3 желтоқсан"
        else:
            raise DateError("unreadable", "expected a day and a month")
        day = int(day_text)
    elif len(numbers) == 2:  # "3.12"
        day_text, month_text = numbers
        year_text = None
        if len(day_text) > 2 or len(month_text) > 2:
            raise DateError("unreadable", "expected DD.MM")
        day, month = int(day_text), int(month_text)
    elif len(numbers) == 3:  # "3.12.2026", "3-12-26", "2026-12-03"
        if len(numbers[0]) == 4:
            year_text, month_text, day_text = numbers
        else:
            day_text, month_text, year_text = numbers
        if len(day_text) > 2 or len(month_text) > 2:
            raise DateError("unreadable", "expected DD.MM.YYYY or YYYY-MM-DD")
        day, month = int(day_text), int(month_text)
    else:
        raise DateError("unreadable", "expected a day and a month")
    return day, month, year_text


def _with_year(day: int, month: int, year_text: str, today: date) -> date:
    """A date typed with its year: a real day, not before the earliest year, not in the future."""
    _check_day_month(day, month)
    if len(year_text) == 1:
        raise DateError("unreadable", "a year has 2 or 4 digits")
    year = int(year_text) + (2000 if len(year_text) <= 2 else 0)
    if year < _EARLIEST_YEAR:
        raise DateError("impossible", f"year {year}")
    try:
        result = date(year, month, day)
    except ValueError:  # 29 February in a common year
        raise DateError("impossible", f"{day}.{month}.{year}") from None
    if result > today:
        raise DateError("future", result.isoformat())
    return result
