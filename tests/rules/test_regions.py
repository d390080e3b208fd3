"""Numbers by region, not by calling code: +7 is Kazakhstan and Russia, and only KZ is texted."""
from __future__ import annotations

import logging

import pytest

from hotline.content.loader import ContentError, load_content
from hotline.rules.phones import in_regions, region_of
from hotline.store import keys as store
from hotline.store import optout_filter
from support import Twilio, edit


@pytest.mark.parametrize(("number", "region"), [
    ("+77011234567", "KZ"),    # Kcell / Activ mobile
    ("+77471234567", "KZ"),    # Tele2 mobile
    ("+77271234567", "KZ"),    # Almaty, a geographic number not assigned yet: KZ by its leading 7
    ("+79161234567", "RU"),    # Moscow mobile, the same calling code 7
    ("+74951234567", "RU"),    # Moscow landline
    ("+996555123456", "KG"),
    ("+12025550123", "US"),
    ("not a number", None),
])
def test_region_of(number: str, region: str | None) -> None:
    assert region_of(number) == region


def test_in_regions() -> None:
    assert in_regions("+77011234567", ["KZ"])
    assert not in_regions("+79161234567", ["KZ"])
    assert in_regions("+79161234567", ["KZ", "RU"])
    assert in_regions("+12025550123", ["*"])


def test_an_sms_from_russia_is_read_logged_masked_and_counted_but_not_answered(twilio: Twilio, r, session_log) -> None:
    mark = session_log.mark()
    assert twilio.sms("HELP", sender="+79161234567") == []
    counters = r.hgetall(store.stats("2026-12-05"))
    assert counters["sms.in.out_of_region"] == "1"
    assert counters["sms.refused.country_not_allowed"] == "1"
    lines = [text for level, _name, text in session_log.since(mark) if level >= logging.INFO]
    assert any("SMS from +7******4567 (region RU) is outside the allowed regions" in line for line in lines), lines


def test_a_stop_from_outside_the_regions_is_still_honoured(twilio: Twilio, r, hl) -> None:
    twilio.sms("STOP", sender="+79161234567")
    assert optout_filter.contains(r, hl.vault.hash("+79161234567"))


def test_the_old_calling_code_setting_is_refused_with_a_fix(tree) -> None:
    edit(tree / "config" / "hotline.yaml", 'allowed_regions: ["KZ"]', 'allowed_calling_codes: ["7"]')
    with pytest.raises(ContentError) as exc:
        load_content(tree)
    assert "allowed_calling_codes is no longer read" in str(exc.value)
    assert 'allowed_regions: ["KZ"]' in str(exc.value)
