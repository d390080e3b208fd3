"""The spoken-length estimate behind `hotline check`'s seconds per menu."""
from __future__ import annotations

import pytest

from hotline.rules.spoken import seconds, syllables


@pytest.mark.parametrize(("word", "lang", "n"), [
    ("press", "en", 1), ("office", "en", 2), ("reminders", "en", 3), ("нажмите", "ru", 3),
    ("пернесін", "kk", 3), ("басыңыз", "kk", 3), ("SMS", "en", 3), ("7", "en", 2), ("0312", "en", 5),
])
def test_syllables(word: str, lang: str, n: int) -> None:
    assert syllables(word, lang) == n


def test_seconds_grow_with_words_and_pauses() -> None:
    short = seconds("Deadlines, press 2.", "en")
    assert 1.0 < short < 3.0
    assert seconds("Deadlines, press 2. Rights, press 3.", "en") > short + 1.0


def test_the_same_text_is_faster_in_a_faster_language() -> None:
    text = "Адреса: нажмите 1."
    assert seconds(text, "ru") < seconds(text, "kk") < seconds(text, "en")
