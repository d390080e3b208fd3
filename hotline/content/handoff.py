"""config/handoff.yaml: office hours, holidays, how calls ring caseworkers, voice messages, call-backs.

Read into one frozen `Handoff` that lives in the content snapshot (so an edit reloads like every
other file, and a broken edit is refused with file, line and fix). Caseworkers themselves (names,
numbers, shifts) are personal data kept encrypted in Redis, never here.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, time
from typing import Any, Callable

from hotline.rules.hours import WEEKDAYS, Hours, parse_range

STRATEGIES = ("in_order", "all_at_once")
AUTO_WHEN = ("office_hours", "outside_quiet_hours")
WHISPER_FIELDS = {"call": {"language", "topic"}, "callback": {"language", "kind"}, "missed": set(),
                  "voicemail": set(), "request": set(), "no_topic": set()}
MAX_AT_ONCE = 10  # Twilio rings at most ten <Number>s in one <Dial>


@dataclass(frozen=True)
class Handoff:
    hours: Hours
    strategy: str
    ring_seconds: int
    max_tries: int
    max_record_seconds: int
    finish_key: str
    keep_days_after_closed: int
    keep_days_open: int
    auto_enabled: bool
    auto_when: str
    auto_per_day: int
    quiet_start: time
    quiet_end: time
    call_daily_cap: int
    whisper_language: str
    whisper: dict[str, dict[str, Any]]

    def whisper_text(self, name: str, **values: object) -> str:
        return str(self.whisper[self.whisper_language][name]).format(**values)

    def language_name(self, code: str) -> str:
        return str(self.whisper[self.whisper_language]["languages"].get(code, code))


Add = Callable[..., None]  # add(keys, message, fix="", severity="error")


def parse(data: Any, add: Add, languages: list[str], keypad: set[str], zone: Callable[[str], Any]) -> Handoff | None:
    """Validate the parsed YAML; report every problem through `add`; None when it cannot be used."""
    if not isinstance(data, dict):
        add((), "the file must be a set of 'name: value' lines", "Compare with the comments in the shipped file.")
        return None
    return _Reader(data, add).handoff(keypad, zone)


class _Reader:
    """One pass over the file's sections; every problem is reported and counted, each section falls
    back to its default so the operator sees all problems of one edit at once."""

    def __init__(self, data: dict, add: Add) -> None:
        self.data, self._add, self.problems = data, add, 0

    def bad(self, keys: tuple, message: str, fix: str = "") -> None:
        self.problems += 1
        self._add(keys, message, fix)

    def whole(self, keys: tuple, default: int, low: int = 1, high: int = 10**6) -> int:
        value: Any = self.data
        for k in keys:
            value = value.get(k, {}) if isinstance(value, dict) else {}
        if value == {}:
            value = default
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.bad(keys, f"'{'.'.join(keys)}' must be a whole number from {low} to {high}, not {value!r}")
            return default
        return value

    def section(self, name: str) -> dict:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            self.bad((name,), f"'{name}' must be a set of fields", "See the comments above it.")
            return {}
        return value

    def handoff(self, keypad: set[str], zone: Callable[[str], Any]) -> Handoff | None:
        tz = None
        try:
            tz = zone(str(self.data.get("timezone", "")))
        except (ValueError, KeyError):
            self.bad(("timezone",), f"unknown time zone {self.data.get('timezone')!r}",
                     "Use Asia/Almaty (all of Kazakhstan is UTC+5).")
        week, holidays = self.week(), self.holidays()
        routing = self.section("routing")
        strategy = routing.get("strategy", "in_order")
        if strategy not in STRATEGIES:
            self.bad(("routing", "strategy"), f"unknown strategy {strategy!r}", f"Use one of: {', '.join(STRATEGIES)}.")
            strategy = "in_order"
        ring = self.whole(("routing", "ring_seconds"), 20, 5, 60)
        tries = self.whole(("routing", "max_tries"), 3, 1, MAX_AT_ONCE)
        max_rec, finish, keep_closed, keep_open = self.voicemail(keypad)
        enabled, when, per_day, cap, qs, qe = self.callbacks()
        wlang, texts = self.whisper()
        if self.problems or tz is None:
            return None
        return Handoff(Hours(tz, week, frozenset(holidays)), strategy, ring, tries, max_rec, finish, keep_closed,
                       keep_open, enabled, when, per_day, qs, qe, cap, wlang, texts)

    def week(self) -> dict[int, tuple]:
        week: dict[int, tuple] = {}
        hours = self.data.get("hours", {})
        if not isinstance(hours, dict):
            self.bad(("hours",), "'hours' must list weekdays", 'Write e.g. mon: ["09:00-18:00"].')
            hours = {}
        for day, ranges in hours.items():
            if day not in WEEKDAYS:
                self.bad(("hours", day), f"'{day}' is not a weekday", f"Use one of: {', '.join(WEEKDAYS)}.")
                continue
            if not isinstance(ranges, list) or not ranges:
                self.bad(("hours", day), f"hours for {day} must be a list of ranges",
                         'Write e.g. ["09:00-13:00", "14:00-18:00"].')
                continue
            parsed = []
            for i, r in enumerate(ranges):
                try:
                    parsed.append(parse_range(r))
                except ValueError as exc:
                    self.bad(("hours", day, i), f"hours for {day}: {exc}", 'Write "HH:MM-HH:MM" in quotes.')
            parsed.sort()
            if any(a[1] > b[0] for a, b in zip(parsed, parsed[1:])):
                self.bad(("hours", day), f"hours for {day} overlap", "Make the ranges follow each other.")
            week[WEEKDAYS.index(day)] = tuple(parsed)
        if not week:
            self.bad(("hours",), "no day has office hours: every call would go to voice messages",
                     "Add at least one weekday with a range.")
        return week

    def holidays(self) -> list[date]:
        holidays = []
        raw = self.data.get("holidays", []) or []
        if not isinstance(raw, list):
            self.bad(("holidays",), "'holidays' must be a list of dates", "Write one '- YYYY-MM-DD' per line.")
            raw = []
        for i, d in enumerate(raw):
            if not isinstance(d, date):
                self.bad(("holidays", i), f"{d!r} is not a date", "Write YYYY-MM-DD without quotes, e.g. 2026-12-16.")
            else:
                holidays.append(d)
        return holidays

    def voicemail(self, keypad: set[str]) -> tuple[int, str, int, int]:
        vm = self.section("voicemail")
        max_rec = self.whole(("voicemail", "max_seconds"), 120, 10, 600)
        finish = str(vm.get("finish_key", "#"))
        if len(finish) != 1 or finish not in keypad:
            self.bad(("voicemail", "finish_key"), f"finish_key must be one keypad key, not {finish!r}",
                     'Write e.g. finish_key: "#".')
        keep_closed = self.whole(("voicemail", "keep_days_after_closed"), 14, 1, 365)
        keep_open = self.whole(("voicemail", "keep_days_open"), 60, 1, 365)
        return max_rec, finish, keep_closed, keep_open

    def callbacks(self) -> tuple[bool, str, int, int, time, time]:
        cb = self.section("callbacks")
        auto = cb.get("automatic", {}) if isinstance(cb.get("automatic", {}), dict) else {}
        enabled = auto.get("enabled", True)
        if not isinstance(enabled, bool):
            self.bad(("callbacks", "automatic", "enabled"), "'enabled' must be true or false")
            enabled = False
        when = auto.get("when", "outside_quiet_hours")
        if when not in AUTO_WHEN:
            self.bad(("callbacks", "automatic", "when"), f"unknown value {when!r}", f"Use one of: {', '.join(AUTO_WHEN)}.")
            when = "office_hours"
        per_day = self.whole(("callbacks", "automatic", "per_number_per_day"), 1, 1, 1)
        cap = self.whole(("callbacks", "daily_cap"), 3, 1, 20)
        quiet = cb.get("quiet_hours", {}) if isinstance(cb.get("quiet_hours", {}), dict) else {}
        qs = qe = time(0)
        try:
            qs = time.fromisoformat(str(quiet.get("start", "21:00")))
            qe = time.fromisoformat(str(quiet.get("end", "09:00")))
        except ValueError:
            self.bad(("callbacks", "quiet_hours"), "quiet_hours start and end must be times like \"21:00\"")
        if qs == qe:
            self.bad(("callbacks", "quiet_hours"), "quiet_hours start and end are equal",
                     "Write e.g. start: \"21:00\", end: \"09:00\".")
        return enabled, when, per_day, cap, qs, qe

    def whisper(self) -> tuple[str, dict]:
        wh = self.section("whisper")
        wlang = str(wh.get("language", "ru"))
        texts = wh.get("texts", {}) if isinstance(wh.get("texts", {}), dict) else {}
        if wlang not in texts:
            self.bad(("whisper", "language"), f"whisper language '{wlang}' has no texts",
                     f"Add texts: {wlang}: ... or pick one of {list(texts)}.")
        for code, table in texts.items():
            if not isinstance(table, dict):
                self.bad(("whisper", "texts", code), f"whisper texts for {code} must be a set of fields")
                continue
            for name, fields in WHISPER_FIELDS.items():
                self.whisper_text(code, name, table.get(name), fields)
            if not isinstance(table.get("languages", {}), dict):  # a language without a name is said by its code
                self.bad(("whisper", "texts", code, "languages"),
                         f"whisper texts ({code}): languages must be code: name lines")
            if "1" not in str(table.get("call", "")):
                self.bad(("whisper", "texts", code, "call"), "the whisper must tell the caseworker to press 1")
        return wlang, texts

    def whisper_text(self, code: str, name: str, text: Any, fields: set[str]) -> None:
        if not isinstance(text, str) or not text.strip():
            self.bad(("whisper", "texts", code, name), f"whisper text '{name}' is missing in {code}")
            return
        got = {n for _, n, _, _ in string.Formatter().parse(text) if n} if "{" in text else set()
        if got != fields:
            self.bad(("whisper", "texts", code, name), f"whisper text '{name}' ({code}) must use exactly "
                     f"{{{', '.join(sorted(fields)) or 'nothing'}}}", "Keep the {names} as in the shipped file.")


def spoken_hour_numbers(handoff: Handoff) -> set[str]:
    """The hours as numbers a caller must hear in `person.hours` ('9', '18'; '13:30' stays '13:30')."""
    out = set()
    for ranges in handoff.hours.week.values():
        for start, end in ranges:
            for t in (start, end):
                out.add(str(t.hour) if t.minute == 0 else f"{t.hour}:{t.minute:02d}")
    return out


def numbers_in(text: str) -> set[str]:
    """Times written in a prompt: '9', '18:30'; '18:00' also counts as '18'."""
    found = set(re.findall(r"\d{1,2}(?::\d{2})?", text))
    return found | {t.split(":")[0] for t in found if t.endswith(":00")}
