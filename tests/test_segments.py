"""SMS segment counting: the numbers a carrier bills, not len(text) / 153."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.rules.segments import GSM7_BASIC, GSM7_EXTENSION, SmsSize, measure

KAZAKH_LETTERS = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"


# --------------------------------------------------------------------------
# GSM-7
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (153, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_plain_boundaries(length: int, segments: int) -> None:
    assert measure("a" * length) == SmsSize("GSM-7", length, segments)


def test_empty_text_is_one_segment_of_zero_units() -> None:
    assert measure("") == SmsSize("GSM-7", 0, 1)


@pytest.mark.parametrize("ch", sorted(GSM7_EXTENSION))
def test_every_extension_char_costs_two_septets(ch: str) -> None:
    size = measure("a" + ch)
    assert size.encoding == "GSM-7"
    assert size.units == 3


def test_eighty_braces_fill_exactly_one_segment() -> None:
    assert measure("{" * 80) == SmsSize("GSM-7", 160, 1)
    assert measure("{" * 81) == SmsSize("GSM-7", 162, 2)


def test_escape_pair_is_not_split_across_parts() -> None:
    # 152 + 2 + 152 = 306 septets: naive arithmetic says 2 parts, but the euro
    # sign cannot start in the last septet of part 1, so part 1 holds 152,
    # part 2 holds € + 151 = 153, and one 'a' spills into part 3.
    text = "a" * 152 + "€" + "a" * 152
    assert measure(text) == SmsSize("GSM-7", 306, 3)


def test_escape_pair_exactly_filling_a_part_does_not_spill() -> None:
    # 151 + 2 = 153 fills part 1 exactly; 153 more fill part 2.
    text = "a" * 151 + "€" + "a" * 153
    assert measure(text) == SmsSize("GSM-7", 306, 2)


def test_all_euros_multipart() -> None:
    # 76 euros per part (152 septets), the 153rd septet cannot hold half a pair.
    assert measure("€" * 152).segments == 2
    assert measure("€" * 153).segments == 3


def test_gsm_accented_latin_stays_gsm7() -> None:
    size = measure("Ünüsé ÄÖÑ à ¿¡ £¥§ ΔΦΓΛΩΠΨΣΘΞ")
    assert size.encoding == "GSM-7"


@pytest.mark.parametrize("ch", ["ç", "á", "ê", "’", "“", "—", "\x1b", "`"])
def test_characters_that_look_latin_but_are_not_gsm7(ch: str) -> None:
    # Lower-case ç, curly quotes, long dashes: a common reason a template
    # silently becomes UCS-2 and costs 2.3 times as much.
    assert measure("Hello " + ch).encoding == "UCS-2"


def test_newline_and_carriage_return_are_one_septet() -> None:
    assert measure("a\r\nb") == SmsSize("GSM-7", 4, 1)


# --------------------------------------------------------------------------
# UCS-2
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "segments"),
    [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_cyrillic_boundaries(length: int, segments: int) -> None:
    assert measure("ж" * length) == SmsSize("UCS-2", length, segments)


def test_one_cyrillic_letter_turns_the_whole_message_ucs2() -> None:
    latin = "a" * 100
    assert measure(latin) == SmsSize("GSM-7", 100, 1)
    assert measure(latin + "д") == SmsSize("UCS-2", 101, 2)


@pytest.mark.parametrize("ch", list(KAZAKH_LETTERS))
def test_kazakh_letters_are_ucs2(ch: str) -> None:
    assert measure("Almaty " + ch).encoding == "UCS-2"


def test_extension_char_in_ucs2_message_is_one_unit() -> None:
    # In UCS-2 there is no escape: '€' is a single UTF-16 unit.
    assert measure("д€") == SmsSize("UCS-2", 2, 1)


def test_emoji_counts_two_units() -> None:
    assert measure("👍") == SmsSize("UCS-2", 2, 1)
    assert measure("a" * 68 + "👍") == SmsSize("UCS-2", 70, 1)
    assert measure("a" * 69 + "👍") == SmsSize("UCS-2", 71, 2)


def test_surrogate_pair_is_not_split_across_parts() -> None:
    # 66 + 2 + 66 = 134 units: naive says 2 parts, but the emoji cannot start
    # in the last unit of part 1.
    text = "ж" * 66 + "😀" + "ж" * 66
    assert measure(text) == SmsSize("UCS-2", 134, 3)


def test_surrogate_pair_exactly_filling_a_part_does_not_spill() -> None:
    text = "ж" * 65 + "😀" + "ж" * 67
    assert measure(text) == SmsSize("UCS-2", 134, 2)


def test_combined_emoji_counts_every_code_point() -> None:
    # Family emoji: 3 astral code points + 2 zero-width joiners = 8 units.
    assert measure("👩\u200d👩\u200d👧").units == 8


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

_gsm_chars = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))
_any_chars = st.one_of(
    _gsm_chars,
    st.sampled_from(list("жщәқ€😀👍") + [KAZAKH_LETTERS[0]]),
    st.characters(blacklist_categories=("Cs",)),
)
_texts = st.one_of(st.text(_gsm_chars, max_size=400), st.text(_any_chars, max_size=300))


@settings(max_examples=300)
@given(text=_texts, ch=_any_chars)
def test_appending_never_decreases_segments_or_units(text: str, ch: str) -> None:
    before, after = measure(text), measure(text + ch)
    assert after.segments >= before.segments
    assert after.units > before.units or after.encoding != before.encoding


@settings(max_examples=300)
@given(text=_texts)
def test_single_segment_iff_within_single_limit(text: str) -> None:
    size = measure(text)
    limit = 160 if size.encoding == "GSM-7" else 70
    assert (size.segments == 1) == (size.units <= limit)


@settings(max_examples=300)
@given(text=_texts)
def test_segments_are_never_fewer_than_naive_and_at_most_one_more_per_part(text: str) -> None:
    size = measure(text)
    if size.segments == 1:
        return
    part = 153 if size.encoding == "GSM-7" else 67
    naive = -(-size.units // part)
    # Keeping pairs whole can only waste at most one unit per part.
    assert naive <= size.segments <= -(-size.units // (part - 1))


@given(text=st.text(_gsm_chars, max_size=400))
def test_gsm7_units_are_length_plus_extension_count(text: str) -> None:
    size = measure(text)
    assert size.encoding == "GSM-7"
    assert size.units == len(text) + sum(ch in GSM7_EXTENSION for ch in text)


@given(text=st.text(_any_chars, min_size=1, max_size=300))
def test_ucs2_units_are_utf16_code_units(text: str) -> None:
    size = measure(text)
    if size.encoding == "UCS-2":
        assert size.units == len(text.encode("utf-16-le")) // 2
