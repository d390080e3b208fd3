"""Which rule a date alone means, and which rules "already applied" ends, are written in
config/deadlines.yaml, not in code: an operator's edit there changes what the hotline does."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from hotline import reminders
from hotline.store import keys as store
from support import CALLER, Twilio, make_app


def _edit(tree: Path, old: str, new: str) -> None:
    path = tree / "config" / "deadlines.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _rules_of(r, hl, number: str = CALLER) -> set[str]:
    """The rules the number has consented to (fields rule:<id> of its subscriber record)."""
    return {f.removeprefix("rule:") for f in r.hkeys(store.subscriber(hl.vault.hash(number))) if f.startswith("rule:")}


def test_a_date_alone_is_for_the_rule_the_deadlines_file_names(r, clock, tmp_path: Path, tts_cache: Path, tree) -> None:
    _edit(tree, "date_alone_means: filing", "date_alone_means: appeal")
    app = make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(tree))
    phone = Twilio(app)
    assert phone.sms("REMIND 1.12") == [  # today is 5 December 2026: the refusal came 4 days ago
        "Last day: 1 March 2027. Reminders: 30 January, 15 February, 22 February, 27 February, 28 February. "
        "Reply YES to get them."]
    phone.sms("YES")
    assert _rules_of(r, app.extensions["hotline"]) == {"appeal"}


def test_with_the_shipped_setting_a_date_alone_is_the_arrival_date(r, clock, tmp_path: Path, tts_cache: Path,
                                                                  tree) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(tree))
    phone = Twilio(app)
    assert phone.sms("REMIND 4.12") == [
        "Last day: 9 December. Reminders: 6 December, 8 December, 9 December. Reply YES to get them."]
    phone.sms("YES")
    assert _rules_of(r, app.extensions["hotline"]) == {"filing"}


def test_filed_ends_exactly_the_rules_marked_ended_by_filing(r, clock, tmp_path: Path, tts_cache: Path, tree) -> None:
    _edit(tree, '''  fingerprinting:
    period: {days: 3}''', '''  fingerprinting:
    ended_by_filing: true
    period: {days: 3}''')
    app = make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(tree))
    hl = app.extensions["hotline"]
    for rule in ("filing", "fingerprinting", "appeal"):
        reminders.subscribe(hl, CALLER, "en", rule, date(2026, 12, 4), channel="sms")
    Twilio(app).sms("FILED")
    assert _rules_of(r, hl) == {"appeal"}
