"""Tests for hotline.deadlines. Fixed dates only; the real clock is never read."""

from __future__ import annotations

import calendar
import copy
from datetime import date, datetime, time, timedelta, timezone

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.rules.deadlines import (
    ALMATY,
    Policy,
    Rule,
    add_months,
    deadline,
    deadline_end,
    fit_outside_quiet,
    in_quiet_hours,
    purge_after,
    reminder_times,
    zone,
)


def base_config() -> dict:
    """A config equal in meaning to the shipped one, independent of edits to it."""
    return {
        "timezone": "Asia/Almaty",
        "quiet_hours": {"start": "21:00", "end": "09:00"},
        "evening_before": "20:30",
        "retention_days": 30,
        "rules": {
            "filing": {"period": {"days": 5}, "counted_from": "arrival", "source": "GUIDE",
                       "reminders": [3, 1, 0], "send_at": "10:00"},
            "filing_irregular": {"period": {"days": 1}, "counted_from": "crossing",
                                 "source": "GUIDE", "reminders": [0], "send_at": "09:00"},
            "fingerprinting": {"period": {"days": 3}, "counted_from": "certificate",
                               "source": "GOV", "reminders": [1, 0], "send_at": "10:00"},
            "certificate": {"period": {"months": 3}, "counted_from": "registration",
                            "source": "GOV", "reminders": [14, 7, 1], "send_at": "10:00"},
            "appeal": {"period": {"months": 3}, "counted_from": "decision",
                       "source": "APPC Art. 92", "reminders": [30, 14, 7, 2, 1],
                       "send_at": "10:00"},
        },
    }


@pytest.fixture
def policy() -> Policy:
    return Policy.from_dict(base_config())


def local(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=ALMATY)


def make_rule(days: int = 0, months: int = 0, reminders: tuple[int, ...] = (0,),
              send_at: time = time(10, 0)) -> Rule:
    return Rule(id="t", days=days, months=months, reminders=reminders, send_at=send_at,
                source="test", counted_from="test")


# --- time zone --------------------------------------------------------------


def test_almaty_is_utc_plus_5_on_example_deadline_day():
    # Fails on pre-2024a zone data, which says +06:00.
    assert local(2026, 12, 8, 12).utcoffset() == timedelta(hours=5)
    assert ALMATY.utcoffset(datetime(2026, 12, 8, 23, 59, 59)) == timedelta(hours=5)


def test_almaty_is_utc_plus_5_from_1_march_2024():
    assert ALMATY.utcoffset(datetime(2024, 3, 1, 12, 0)) == timedelta(hours=5)
    # The zone file carries real history: the day before was still +06:00.
    assert ALMATY.utcoffset(datetime(2024, 2, 29, 12, 0)) == timedelta(hours=6)


def test_zone_is_cached_and_from_tzdata_package():
    assert zone("Asia/Almaty") is ALMATY
    assert ALMATY.key == "Asia/Almaty"
    assert zone("Asia/Aqtobe").utcoffset(datetime(2026, 1, 1)) == timedelta(hours=5)


@pytest.mark.parametrize("bad", ["Nowhere/City", "../etc/passwd", "", "Asia/../Asia/Almaty"])
def test_zone_rejects_bad_names(bad):
    with pytest.raises(ValueError):
        zone(bad)


def test_deadline_end_is_2359_local_equals_1859_utc(policy):
    end = deadline_end(policy.rules["filing"], date(2026, 12, 3), policy)
    assert end == local(2026, 12, 8, 23, 59, 59)
    assert end.astimezone(timezone.utc) == datetime(2026, 12, 8, 18, 59, 59, tzinfo=timezone.utc)


# --- deadlines ----------------------------------------------------------------


def test_filing_example_thursday_arrival(policy):
    assert date(2026, 12, 3).weekday() == 3  # Thursday
    d = deadline(policy.rules["filing"], date(2026, 12, 3))
    assert d == date(2026, 12, 8)
    assert d.weekday() == 1  # Tuesday


def test_deadline_on_weekend_is_not_moved_later(policy):
    # Arrival Mon 7 Dec 2026 -> Sat 12 Dec 2026, stays Saturday.
    d = deadline(policy.rules["filing"], date(2026, 12, 7))
    assert d == date(2026, 12, 12) and d.weekday() == 5


def test_irregular_crossing_is_next_day(policy):
    assert deadline(policy.rules["filing_irregular"], date(2026, 12, 3)) == date(2026, 12, 4)


def test_fingerprinting_three_days(policy):
    assert deadline(policy.rules["fingerprinting"], date(2026, 12, 30)) == date(2027, 1, 2)


@pytest.mark.parametrize("start, expected", [
    (date(2026, 11, 30), date(2027, 2, 28)),   # Sunday; not moved
    (date(2027, 11, 30), date(2028, 2, 29)),   # leap year
    (date(2027, 1, 31), date(2027, 4, 30)),
    (date(2028, 1, 31), date(2028, 4, 30)),
    (date(2099, 11, 30), date(2100, 2, 28)),   # 2100 is not a leap year
    (date(2026, 12, 15), date(2027, 3, 15)),
])
def test_appeal_three_months(policy, start, expected):
    assert deadline(policy.rules["appeal"], start) == expected


def test_certificate_three_months(policy):
    assert deadline(policy.rules["certificate"], date(2027, 11, 30)) == date(2028, 2, 29)


@pytest.mark.parametrize("year", [2026, 2027, 2028, 2099, 2100])
@pytest.mark.parametrize("month", range(1, 13))
@pytest.mark.parametrize("n", [1, 2, 3, 12, 13])
def test_add_months_clamps_every_month_end(year, month, n):
    last = calendar.monthrange(year, month)[1]
    result = add_months(date(year, month, last), n)
    ty, tm = year + (month - 1 + n) // 12, (month - 1 + n) % 12 + 1
    assert (result.year, result.month) == (ty, tm)
    assert result.day == min(last, calendar.monthrange(ty, tm)[1])


@pytest.mark.parametrize("d, n, expected", [
    (date(2027, 1, 29), 1, date(2027, 2, 28)),
    (date(2028, 1, 29), 1, date(2028, 2, 29)),
    (date(2100, 1, 29), 1, date(2100, 2, 28)),
    (date(2000, 1, 31), 1, date(2000, 2, 29)),  # 2000 is a leap year
    (date(2027, 3, 31), 3, date(2027, 6, 30)),
    (date(2027, 8, 31), 1, date(2027, 9, 30)),
    (date(2027, 10, 31), 3, date(2028, 1, 31)),
    (date(2027, 5, 15), 0, date(2027, 5, 15)),
])
def test_add_months_examples(d, n, expected):
    assert add_months(d, n) == expected


def test_deadline_rejects_datetime_start(policy):
    with pytest.raises(TypeError):
        deadline(policy.rules["filing"], datetime(2026, 12, 3, 10, 0, tzinfo=ALMATY))


starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2200, 12, 31))


@settings(max_examples=300, deadline=None)
@given(start=starts, days=st.integers(1, 400))
def test_property_day_periods_never_give_extra_time(start, days):
    d = deadline(make_rule(days=days), start)
    assert start <= d <= start + timedelta(days=days)


@settings(max_examples=300, deadline=None)
@given(start=starts, months=st.integers(1, 36))
def test_property_month_periods_never_give_extra_time(start, months):
    d = deadline(make_rule(months=months), start)
    ty, tm = start.year + (start.month - 1 + months) // 12, (start.month - 1 + months) % 12 + 1
    clamped = date(ty, tm, min(start.day, calendar.monthrange(ty, tm)[1]))
    assert start <= d <= clamped
    assert d == clamped


# --- quiet hours --------------------------------------------------------------


@pytest.mark.parametrize("h, mi, quiet", [
    (20, 59, False), (21, 0, True), (23, 30, True), (0, 0, True), (8, 59, True),
    (9, 0, False), (12, 0, False), (20, 30, False),
])
def test_in_quiet_hours_spans_midnight(policy, h, mi, quiet):
    assert in_quiet_hours(local(2026, 12, 5, h, mi), policy) is quiet


def test_in_quiet_hours_uses_local_time_for_utc_input(policy):
    # 16:30 UTC = 21:30 Almaty.
    assert in_quiet_hours(datetime(2026, 12, 5, 16, 30, tzinfo=timezone.utc), policy)
    assert not in_quiet_hours(datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc), policy)


def test_naive_datetime_rejected(policy):
    with pytest.raises(ValueError):
        in_quiet_hours(datetime(2026, 12, 5, 12, 0), policy)


def test_fit_outside_quiet_unchanged_outside(policy):
    t = local(2026, 12, 5, 12, 0)
    assert fit_outside_quiet(t, local(2026, 12, 9), policy) == t


def test_fit_outside_quiet_early_morning_moves_to_same_morning(policy):
    assert fit_outside_quiet(local(2026, 12, 5, 3, 0), local(2026, 12, 9), policy) \
        == local(2026, 12, 5, 9, 0)


def test_fit_outside_quiet_early_morning_too_late_moves_to_previous_evening(policy):
    limit = local(2026, 12, 5, 8, 0)
    assert fit_outside_quiet(local(2026, 12, 5, 3, 0), limit, policy) == local(2026, 12, 4, 20, 30)


def test_fit_outside_quiet_none_when_no_slot(policy):
    limit = local(2026, 12, 4, 20, 0)
    assert fit_outside_quiet(local(2026, 12, 4, 22, 0), limit, policy) is None


def test_send_at_2200_moves_to_next_morning(policy):
    rule = make_rule(days=5, reminders=(1,), send_at=time(22, 0))
    # deadline Tue 8 Dec; reminder planned Mon 7 Dec 22:00 -> Tue 8 Dec 09:00
    got = reminder_times(rule, date(2026, 12, 3), local(2026, 12, 3, 12), policy)
    assert got == [local(2026, 12, 8, 9, 0)]


def test_send_at_2200_on_last_day_moves_to_evening_before(policy):
    rule = make_rule(days=5, reminders=(0,), send_at=time(22, 0))
    # planned Tue 8 Dec 22:00; 09:00 Wed is after the deadline -> 20:30 Tue
    got = reminder_times(rule, date(2026, 12, 3), local(2026, 12, 3, 12), policy)
    assert got == [local(2026, 12, 8, 20, 30)]


def test_moved_reminders_are_deduplicated(policy):
    rule = make_rule(days=5, reminders=(1, 0), send_at=time(3, 0))
    # 7 Dec 03:00 -> 7 Dec 09:00; 8 Dec 03:00 -> 8 Dec 09:00
    got = reminder_times(rule, date(2026, 12, 3), local(2026, 12, 3, 12), policy)
    assert got == [local(2026, 12, 7, 9), local(2026, 12, 8, 9)]
    rule = make_rule(days=5, reminders=(0, 0, 1, 1))
    got = reminder_times(rule, date(2026, 12, 3), local(2026, 12, 3, 12), policy)
    assert got == [local(2026, 12, 7, 10), local(2026, 12, 8, 10)]


# --- reminders ------------------------------------------------------------------


def test_filing_reminders_all_future(policy):
    got = reminder_times(policy.rules["filing"], date(2026, 12, 3), local(2026, 12, 3, 12), policy)
    assert got == [local(2026, 12, 5, 10), local(2026, 12, 7, 10), local(2026, 12, 8, 10)]
    assert all(t.tzinfo is ALMATY for t in got)


def test_past_reminders_are_dropped(policy):
    got = reminder_times(policy.rules["filing"], date(2026, 12, 3), local(2026, 12, 6, 12), policy)
    assert got == [local(2026, 12, 7, 10), local(2026, 12, 8, 10)]


def test_reminder_exactly_now_is_dropped(policy):
    got = reminder_times(policy.rules["filing"], date(2026, 12, 3), local(2026, 12, 7, 10), policy)
    assert got == [local(2026, 12, 8, 10)]


def test_now_in_utc_is_handled(policy):
    # 05:00 UTC = 10:00 Almaty on 7 Dec: that reminder is "now", so dropped.
    now = datetime(2026, 12, 7, 5, 0, tzinfo=timezone.utc)
    got = reminder_times(policy.rules["filing"], date(2026, 12, 3), now, policy)
    assert got == [local(2026, 12, 8, 10)]


def test_arrival_six_days_ago_has_no_filing_reminders(policy):
    got = reminder_times(policy.rules["filing"], date(2026, 12, 2), local(2026, 12, 8, 8), policy)
    assert got == []


def test_arrival_five_days_ago_still_gets_last_day_reminder(policy):
    got = reminder_times(policy.rules["filing"], date(2026, 12, 3), local(2026, 12, 8, 8), policy)
    assert got == [local(2026, 12, 8, 10)]


def test_appeal_reminders_for_decision_30_nov_2026(policy):
    got = reminder_times(policy.rules["appeal"], date(2026, 11, 30), local(2026, 12, 1, 10), policy)
    last = date(2027, 2, 28)
    expected_days = [last - timedelta(days=n) for n in (30, 14, 7, 2, 1)]
    assert expected_days == [date(2027, 1, 29), date(2027, 2, 14), date(2027, 2, 21),
                             date(2027, 2, 26), date(2027, 2, 27)]
    assert got == [datetime.combine(d, time(10, 0), tzinfo=ALMATY) for d in expected_days]


def test_irregular_reminder_morning_of_next_day(policy):
    got = reminder_times(policy.rules["filing_irregular"], date(2026, 12, 3),
                         local(2026, 12, 3, 15), policy)
    assert got == [local(2026, 12, 4, 9)]


def test_reminder_before_start_day_is_dropped(policy):
    rule = make_rule(days=1, reminders=(1, 0))
    # offset 1 would be on the start day itself, which is allowed
    got = reminder_times(rule, date(2026, 12, 3), local(2026, 12, 1), policy)
    assert got == [local(2026, 12, 3, 10), local(2026, 12, 4, 10)]
    rule = make_rule(days=1, reminders=(2,))
    assert reminder_times(rule, date(2026, 12, 3), local(2026, 12, 1), policy) == []


@settings(max_examples=200, deadline=None)
@given(start=st.dates(min_value=date(2024, 3, 1), max_value=date(2030, 12, 31)),
       now_offset=st.integers(-3 * 24 * 60, 120 * 24 * 60),
       rule_id=st.sampled_from(["filing", "filing_irregular", "fingerprinting",
                                "certificate", "appeal"]),
       send_h=st.integers(0, 23))
def test_property_reminders_are_safe(start, now_offset, rule_id, send_h):
    pol = Policy.from_dict(base_config())
    base = pol.rules[rule_id]
    rule = Rule(id=base.id, days=base.days, months=base.months, reminders=base.reminders,
                send_at=time(send_h, 0), source=base.source, counted_from=base.counted_from)
    now = datetime.combine(start, time(0, 0), tzinfo=ALMATY) + timedelta(minutes=now_offset)
    got = reminder_times(rule, start, now, pol)
    end = deadline_end(rule, start, pol)
    assert got == sorted(set(got))
    for t in got:
        assert now < t <= end
        assert not in_quiet_hours(t, pol)
        assert t.utcoffset() == timedelta(hours=5)


# --- retention ------------------------------------------------------------------


def test_purge_after(policy):
    assert purge_after(policy.rules["filing"], date(2026, 12, 3), policy) \
        == local(2027, 1, 7, 23, 59, 59)


# --- config validation ------------------------------------------------------------


def _error(mutate) -> str:
    cfg = copy.deepcopy(base_config())
    mutate(cfg)
    with pytest.raises(ValueError) as exc:
        Policy.from_dict(cfg)
    return str(exc.value)


def test_error_unknown_rule_field_names_rule_and_field():
    msg = _error(lambda c: c["rules"]["appeal"].update(colour="red"))
    assert "'appeal'" in msg and "'colour'" in msg


def test_error_missing_rule_field():
    msg = _error(lambda c: c["rules"]["filing"].pop("send_at"))
    assert "'filing'" in msg and "'send_at'" in msg


def test_error_negative_days():
    msg = _error(lambda c: c["rules"]["filing"].update(period={"days": -5}))
    assert "'filing'" in msg and "period.days" in msg and "negative" in msg


def test_error_zero_days():
    msg = _error(lambda c: c["rules"]["filing"].update(period={"days": 0}))
    assert "'filing'" in msg and "period.days" in msg


def test_error_both_days_and_months():
    msg = _error(lambda c: c["rules"]["appeal"].update(period={"days": 90, "months": 3}))
    assert "'appeal'" in msg and "'period'" in msg and "both" in msg


def test_error_neither_days_nor_months():
    msg = _error(lambda c: c["rules"]["appeal"].update(period={}))
    assert "'appeal'" in msg and "'period'" in msg and "neither" in msg


def test_error_unknown_period_unit():
    msg = _error(lambda c: c["rules"]["appeal"].update(period={"weeks": 12}))
    assert "'appeal'" in msg and "'weeks'" in msg


@pytest.mark.parametrize("bad", ["25:00", "10:60", "10h", "", "noon"])
def test_error_bad_send_at(bad):
    msg = _error(lambda c: c["rules"]["fingerprinting"].update(send_at=bad))
    assert "'fingerprinting'" in msg and "'send_at'" in msg and "HH:MM" in msg


def test_error_unquoted_yaml_time_is_explained():
    # YAML 1.1 reads unquoted 10:00 as the integer 600.
    assert yaml.safe_load("send_at: 10:00")["send_at"] == 600
    msg = _error(lambda c: c["rules"]["filing"].update(send_at=600))
    assert "'filing'" in msg and "'send_at'" in msg and "quotes" in msg


def test_error_negative_reminder():
    msg = _error(lambda c: c["rules"]["certificate"].update(reminders=[14, -1]))
    assert "'certificate'" in msg and "'reminders'" in msg


def test_error_reminder_before_period_start():
    msg = _error(lambda c: c["rules"]["filing"].update(reminders=[6, 1]))
    assert "'filing'" in msg and "'reminders'" in msg


def test_error_boolean_is_not_a_number():
    msg = _error(lambda c: c["rules"]["filing"].update(period={"days": True}))
    assert "'filing'" in msg and "period.days" in msg


def test_error_unknown_top_level_key():
    msg = _error(lambda c: c.update(retention_dayz=30))
    assert "'retention_dayz'" in msg


def test_error_bad_timezone():
    msg = _error(lambda c: c.update(timezone="Asia/Almati"))
    assert "'timezone'" in msg


def test_error_negative_retention():
    msg = _error(lambda c: c.update(retention_days=-1))
    assert "'retention_days'" in msg


def test_error_bad_quiet_hours():
    msg = _error(lambda c: c["quiet_hours"].update(end="9am"))
    assert "quiet_hours.end" in msg


def test_error_evening_before_inside_quiet_hours():
    msg = _error(lambda c: c.update(evening_before="22:00"))
    assert "'evening_before'" in msg


def test_rule_constructor_validates_period():
    with pytest.raises(ValueError, match="'x'"):
        Rule(id="x", days=1, months=1, reminders=(0,), send_at=time(9), source="s",
             counted_from="c")




def test_which_rules_filing_ends_and_what_a_date_alone_means_come_from_the_file():
    cfg = copy.deepcopy(base_config())
    cfg["rules"]["filing"]["ended_by_filing"] = True
    policy = Policy.from_dict(cfg)
    assert [r.id for r in policy.rules.values() if r.ended_by_filing] == ["filing"]
    assert policy.date_alone == "filing", "without date_alone_means: the first rule of the file"
    cfg["date_alone_means"] = "appeal"
    assert Policy.from_dict(cfg).date_alone == "appeal"


def test_error_date_alone_means_an_unknown_rule():
    msg = _error(lambda c: c.update(date_alone_means="arrival"))
    assert msg == ("config error in field 'date_alone_means': 'arrival' is not one of the rules "
                   "(filing, filing_irregular, fingerprinting, certificate, appeal)")


def test_error_ended_by_filing_not_true_or_false():
    msg = _error(lambda c: c["rules"]["filing"].update(ended_by_filing="yes"))
    assert msg == "config error in rule 'filing', field 'ended_by_filing': write true or false"
