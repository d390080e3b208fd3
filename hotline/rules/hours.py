"""Office hours and quiet hours: is a person there now, and when next? Pure functions of `now`."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Hours:
    """Weekly opening ranges (local time), closed days, and the zone they are read in."""

    tz: tzinfo
    week: dict[int, tuple[tuple[time, time], ...]]  # weekday (0 = Monday) -> ranges
    holidays: frozenset[date] = field(default_factory=frozenset)

    def open_at(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        if local.date() in self.holidays:
            return False
        t = local.time().replace(tzinfo=None)
        return any(start <= t < end for start, end in self.week.get(local.weekday(), ()))

    def next_open(self, now: datetime, horizon_days: int = 60) -> datetime | None:
        """The first moment at or after `now` when the line is staffed (None: not within the horizon)."""
        local = now.astimezone(self.tz)
        if self.open_at(now):
            return now
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            if day in self.holidays:
                continue
            for start, _ in sorted(self.week.get(day.weekday(), ())):
                at = datetime.combine(day, start, self.tz)
                if at >= local:
                    return at
        return None


def parse_range(text: str) -> tuple[time, time]:
    """'09:00-18:00' -> (09:00, 18:00); ValueError when it is not a forward range within one day."""
    try:
        a, b = str(text).split("-")
        start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a range like \"09:00-18:00\"") from None
    if not start < end:
        raise ValueError(f"{text!r} ends before it starts (a range cannot cross midnight)")
    return start, end


def in_quiet(now: datetime, tz: tzinfo, start: time, end: time) -> bool:
    """Quiet hours may cross midnight (21:00-09:00)."""
    t = now.astimezone(tz).time().replace(tzinfo=None)
    return (start <= t or t < end) if start > end else (start <= t < end)


def after_quiet(now: datetime, tz: tzinfo, start: time, end: time) -> datetime:
    """`now` if it is outside the quiet hours, else the moment they end."""
    if not in_quiet(now, tz, start, end):
        return now
    local = now.astimezone(tz)
    day = local.date() if local.time().replace(tzinfo=None) < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tz)
