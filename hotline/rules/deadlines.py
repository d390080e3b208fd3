"""Deadline arithmetic for the asylum hotline.

Pure functions only: no clock, no network, no files except the zone data
shipped inside the ``tzdata`` package. Callers pass ``now`` explicitly so
that every result can be tested with fixed dates.

Safety rules built into this module (from the project's FACTS sheet):

* A deadline is the LAST calendar day on which the person can still act.
* A deadline is NEVER moved later (not for weekends, not for holidays):
  whether Kazakh law extends a period that ends on a non-working day is not
  confirmed, and telling someone they have more time than they do could
  cost them their claim. Being early is safe; being late is not.
* A period in months ends on the same date of the last month; if that date
  does not exist, on the last day of that month (30 Nov + 3 months = 28/29 Feb).
* All of Kazakhstan is UTC+05:00 since 1 March 2024. Older system zone data
  still says +06:00 for Asia/Almaty, so zones are loaded from the ``tzdata``
  PyPI package, never from /usr/share/zoneinfo.
"""

from __future__ import annotations

import calendar
import functools
import importlib.resources
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

__all__ = [
    "ALMATY",
    "Policy",
    "Rule",
    "add_months",
    "deadline",
    "deadline_end",
    "fit_outside_quiet",
    "in_quiet_hours",
    "purge_after",
    "reminder_times",
    "zone",
]

# ---------------------------------------------------------------------------
# Time zones
# ---------------------------------------------------------------------------

_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*$")


@functools.lru_cache(maxsize=None)
def zone(name: str) -> ZoneInfo:
    """Load zone ``name`` from the ``tzdata`` package's own files.

    Why: the system's /usr/share/zoneinfo may predate tzdata 2024a and then
    puts Almaty at +06:00, one hour off. Cached so that one name always gives
    the same object (aware datetimes sharing a tzinfo compare predictably).
    Raises ValueError for names that are malformed or not in tzdata.
    """
    if not isinstance(name, str) or not _ZONE_NAME.match(name) or ".." in name:
        raise ValueError(f"{name!r} is not a valid time zone name (e.g. 'Asia/Almaty')")
    node = importlib.resources.files("tzdata.zoneinfo")
    for part in name.split("/"):
        node = node.joinpath(part)
    if not node.is_file():
        raise ValueError(f"time zone {name!r} is not in the tzdata package")
    with node.open("rb") as fh:
        return ZoneInfo.from_file(fh, key=name)


ALMATY: ZoneInfo = zone("Asia/Almaty")

# Refuse to run with stale zone data: a wrong offset silently shifts every
# reminder and every "end of day" by an hour.
if ALMATY.utcoffset(datetime(2024, 3, 2, 12, 0)) != timedelta(hours=5):  # pragma: no cover
    raise RuntimeError(
        "the installed tzdata package is older than 2024a: Asia/Almaty must be "
        "UTC+05:00 from 1 March 2024. Run: pip install -U tzdata"
    )

_END_OF_DAY = time(23, 59, 59)

# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One legal time limit, e.g. "file within 5 calendar days of arrival".

    Exactly one of ``days`` / ``months`` is positive; the other is 0.
    ``reminders`` are whole days before the deadline day (0 = that day).
    """

    id: str
    days: int
    months: int
    reminders: tuple[int, ...]
    send_at: time
    source: str
    counted_from: str
    ended_by_filing: bool = False  # "already applied" (FILED) ends its reminders

    def __post_init__(self) -> None:
        # Why: a Rule built in code must be as safe as one loaded from YAML.
        if (self.days > 0) == (self.months > 0) or self.days < 0 or self.months < 0:
            raise ValueError(
                f"rule {self.id!r}, field 'period': exactly one of days or months "
                f"must be a positive whole number (got days={self.days}, months={self.months})"
            )
        if any(r < 0 for r in self.reminders):
            raise ValueError(f"rule {self.id!r}, field 'reminders': must not be negative")


@dataclass(frozen=True)
class Policy:
    """Operator-editable settings (config/deadlines.yaml) in validated form."""

    rules: dict[str, Rule]
    tz: ZoneInfo
    quiet_start: time
    quiet_end: time
    evening_before: time
    retention_days: int
    date_alone: str = ""  # the rule a date given without a rule word means ("REMIND 3.12")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Policy":
        """Build a Policy from parsed YAML, rejecting anything doubtful.

        Why strict: operators edit this file by hand, and a typo (unknown key,
        unquoted time, negative number) must stop the service with a message
        that says where to look, not silently change someone's deadline.
        """
        if not isinstance(d, Mapping):
            raise ValueError("config error: the deadlines file must be a mapping of settings")
        _check_keys(d, required={"timezone", "quiet_hours", "evening_before",
                                 "retention_days", "rules"}, where="the top level",
                    optional=frozenset({"date_alone_means"}))

        tz_name = d["timezone"]
        try:
            tz = zone(tz_name)
        except ValueError as exc:
            raise ValueError(f"config error in field 'timezone': {exc}") from None

        quiet = d["quiet_hours"]
        if not isinstance(quiet, Mapping):
            raise ValueError("config error in field 'quiet_hours': must contain start and end")
        _check_keys(quiet, required={"start", "end"}, where="field 'quiet_hours'")
        quiet_start = _parse_hhmm(quiet["start"], "config error in field 'quiet_hours.start'")
        quiet_end = _parse_hhmm(quiet["end"], "config error in field 'quiet_hours.end'")
        if quiet_start == quiet_end:
            raise ValueError(
                "config error in field 'quiet_hours': start and end must differ "
                f"(both are {quiet_start:%H:%M})"
            )
        evening_before = _parse_hhmm(d["evening_before"], "config error in field 'evening_before'")
        if _time_in_quiet(evening_before, quiet_start, quiet_end):
            raise ValueError(
                f"config error in field 'evening_before': {evening_before:%H:%M} is inside "
                f"quiet hours ({quiet_start:%H:%M}-{quiet_end:%H:%M}); it must be outside them"
            )
        retention_days = _non_negative_int(
            d["retention_days"], "config error in field 'retention_days'")

        raw_rules = d["rules"]
        if not isinstance(raw_rules, Mapping) or not raw_rules:
            raise ValueError("config error in field 'rules': must be a non-empty mapping of rule ids")
        rules = {str(rid): _rule_from_dict(str(rid), raw) for rid, raw in raw_rules.items()}
        date_alone = str(d.get("date_alone_means", next(iter(rules))))
        if date_alone not in rules:
            raise ValueError(f"config error in field 'date_alone_means': {date_alone!r} is not one of the "
                             f"rules ({', '.join(rules)})")

        return cls(rules=rules, tz=tz, quiet_start=quiet_start, quiet_end=quiet_end,
                   evening_before=evening_before, retention_days=retention_days, date_alone=date_alone)


# ---------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_RULE_KEYS = {"period", "counted_from", "source", "reminders", "send_at"}


def _check_keys(m: Mapping[str, Any], *, required: set[str], where: str,
                optional: frozenset[str] = frozenset()) -> None:
    unknown = sorted(str(k) for k in m if k not in required | optional)
    if unknown:
        raise ValueError(f"config error in {where}: unknown field(s) {', '.join(map(repr, unknown))}")
    missing = sorted(required - set(m))
    if missing:
        raise ValueError(f"config error in {where}: missing field(s) {', '.join(map(repr, missing))}")


def _parse_hhmm(value: Any, prefix: str) -> time:
    """Parse "HH:MM" (24-hour). Why strict: unquoted 10:00 in YAML 1.1 is the integer 600."""
    if not isinstance(value, str):
        raise ValueError(
            f"{prefix}: {value!r} is not a time; write it in quotes as \"HH:MM\", e.g. \"09:00\"")
    m = _HHMM.match(value.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{prefix}: {value!r} is not a 24-hour time in HH:MM form, e.g. \"09:00\"")
    return time(int(m.group(1)), int(m.group(2)))


def _non_negative_int(value: Any, prefix: str) -> int:
    # bool is a subclass of int; "yes" in YAML must not become 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{prefix}: {value!r} is not a whole number")
    if value < 0:
        raise ValueError(f"{prefix}: {value} is negative; it must be 0 or more")
    return value


def _rule_from_dict(rid: str, raw: Any) -> Rule:
    where = f"rule {rid!r}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"config error in {where}: must be a mapping of fields")
    _check_keys(raw, required=_RULE_KEYS, where=where, optional=frozenset({"ended_by_filing"}))
    ended_by_filing = raw.get("ended_by_filing", False)
    if not isinstance(ended_by_filing, bool):
        raise ValueError(f"config error in {where}, field 'ended_by_filing': write true or false")

    period = raw["period"]
    if not isinstance(period, Mapping):
        raise ValueError(f"config error in {where}, field 'period': write {{days: N}} or {{months: N}}")
    unknown = sorted(str(k) for k in period if k not in {"days", "months"})
    if unknown:
        raise ValueError(f"config error in {where}, field 'period': unknown unit(s) "
                         f"{', '.join(map(repr, unknown))}; use days or months")
    if ("days" in period) == ("months" in period):
        raise ValueError(f"config error in {where}, field 'period': give exactly one of "
                         f"days or months ({'both' if period else 'neither'} given)")
    unit = "days" if "days" in period else "months"
    n = _non_negative_int(period[unit], f"config error in {where}, field 'period.{unit}'")
    if n == 0:
        raise ValueError(f"config error in {where}, field 'period.{unit}': must be at least 1")
    days, months = (n, 0) if unit == "days" else (0, n)

    for field in ("counted_from", "source"):
        if not isinstance(raw[field], str) or not raw[field].strip():
            raise ValueError(f"config error in {where}, field '{field}': must be non-empty text")

    reminders_raw = raw["reminders"]
    if not isinstance(reminders_raw, list):
        raise ValueError(f"config error in {where}, field 'reminders': must be a list like [3, 1, 0]")
    reminders = tuple(_non_negative_int(r, f"config error in {where}, field 'reminders'")
                      for r in reminders_raw)
    # A reminder before the event itself can never be sent; most likely a typo.
    longest = days if days else 28 * months  # shortest possible length of the period
    for r in reminders:
        if r > longest:
            raise ValueError(f"config error in {where}, field 'reminders': {r} days before the "
                             f"deadline is before the period even starts")

    send_at = _parse_hhmm(raw["send_at"], f"config error in {where}, field 'send_at'")
    return Rule(id=rid, days=days, months=months, reminders=reminders, send_at=send_at,
                source=raw["source"].strip(), counted_from=raw["counted_from"].strip(),
                ended_by_filing=ended_by_filing)


# ---------------------------------------------------------------------------
# Deadline arithmetic
# ---------------------------------------------------------------------------


def _require_date(start: date) -> None:
    # Why: a datetime (subclass of date) in UTC may fall on another local day.
    if isinstance(start, datetime) or not isinstance(start, date):
        raise TypeError("pass the start as a local calendar date (datetime.date), not a datetime")


def _require_aware(t: datetime, name: str) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def add_months(d: date, n: int) -> date:
    """Same date n months later, clamped to the month's last day (30 Nov + 3 = 28/29 Feb)."""
    _require_date(d)
    if n < 0:
        raise ValueError("n must not be negative")
    total = d.month - 1 + n
    year, month = d.year + total // 12, total % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def deadline(rule: Rule, start: date) -> date:
    """Last calendar day on which the person can still act. Never moved for weekends."""
    _require_date(start)
    if rule.months:
        return add_months(start, rule.months)
    return start + timedelta(days=rule.days)


def deadline_end(rule: Rule, start: date, policy: Policy) -> datetime:
    """23:59:59 local time on the deadline day, as an aware datetime.

    For a 24-hour limit (filing_irregular) the true limit may be earlier in
    that day; the hotline must therefore say "within 24 hours", not a date.
    """
    return datetime.combine(deadline(rule, start), _END_OF_DAY, tzinfo=policy.tz)


def purge_after(rule: Rule, start: date, policy: Policy) -> datetime:
    """When stored data about this rule must be deleted: deadline end + retention_days."""
    return deadline_end(rule, start, policy) + timedelta(days=policy.retention_days)


# ---------------------------------------------------------------------------
# Quiet hours and reminders
# ---------------------------------------------------------------------------


def _time_in_quiet(t: time, start: time, end: time) -> bool:
    if start < end:
        return start <= t < end
    return t >= start or t < end  # spans midnight, e.g. 21:00-09:00


def _quiet_period(local: datetime, policy: Policy) -> tuple[datetime, datetime] | None:
    """The quiet period (start, end) containing ``local``, or None if not quiet."""
    tt, d, tz = local.time(), local.date(), policy.tz
    qs, qe = policy.quiet_start, policy.quiet_end
    if not _time_in_quiet(tt, qs, qe):
        return None
    if qs < qe:
        start_day, end_day = d, d
    elif tt >= qs:
        start_day, end_day = d, d + timedelta(days=1)
    else:
        start_day, end_day = d - timedelta(days=1), d
    return (datetime.combine(start_day, qs, tzinfo=tz), datetime.combine(end_day, qe, tzinfo=tz))


def _utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc)


def in_quiet_hours(t: datetime, policy: Policy) -> bool:
    """True if ``t`` (any zone) falls in quiet hours in the policy's local time."""
    _require_aware(t, "t")
    return _quiet_period(t.astimezone(policy.tz), policy) is not None


def fit_outside_quiet(t: datetime, limit: datetime, policy: Policy) -> datetime | None:
    """Move a send time out of quiet hours without ever passing ``limit``.

    Why: nobody should be woken at night, but a reminder after the deadline is
    useless. So: later to quiet_end if that is still before ``limit``; else
    earlier, to ``evening_before`` on the evening that starts this quiet
    period; else None. Times outside quiet hours are returned unchanged.
    """
    _require_aware(t, "t")
    _require_aware(limit, "limit")
    local = t.astimezone(policy.tz)
    period = _quiet_period(local, policy)
    if period is None:
        return t
    q_start, q_end = period
    if _utc(q_end) < _utc(limit):
        return q_end
    day = q_start.date()
    if policy.evening_before > policy.quiet_start:
        day -= timedelta(days=1)
    earlier = datetime.combine(day, policy.evening_before, tzinfo=policy.tz)
    if _utc(earlier) < _utc(limit):
        return earlier
    return None


def reminder_times(rule: Rule, start: date, now: datetime, policy: Policy) -> list[datetime]:
    """Future reminder send times for one rule, sorted, in the policy's zone.

    Each offset gives (deadline day - offset) at rule.send_at, moved out of
    quiet hours. Dropped: times at or before ``now`` (never send late
    catch-up reminders), after the deadline end, or before the start day.
    """
    _require_aware(now, "now")
    end = deadline_end(rule, start, policy)
    last_day = deadline(rule, start)
    earliest = datetime.combine(start, time(0, 0), tzinfo=policy.tz)
    seen: dict[datetime, datetime] = {}
    for offset in rule.reminders:
        planned = datetime.combine(last_day - timedelta(days=offset), rule.send_at, tzinfo=policy.tz)
        fitted = fit_outside_quiet(planned, end, policy)
        if fitted is None:
            continue
        key = _utc(fitted)
        if key <= _utc(now) or key > _utc(end) or key < _utc(earliest):
            continue
        seen[key] = fitted.astimezone(policy.tz)
    return [seen[k] for k in sorted(seen)]
