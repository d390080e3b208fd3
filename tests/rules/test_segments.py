"""SMS segment counting: the numbers a carrier bills, not len(text) / 153."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.rules.segments import GSM7_BASIC, GSM7_EXTENSION, SmsSize, graphemes, measure

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
def test_segments_are_never_fewer_than_naive_and_waste_less_than_a_cluster_per_part(text: str) -> None:
    size = measure(text)
    if size.segments == 1:
        return
    part = 153 if size.encoding == "GSM-7" else 67
    naive = -(-size.units // part)
    # A cluster never splits, so each part wastes less than the largest cluster.
    biggest = max((2 if c in GSM7_EXTENSION else 1) if size.encoding == "GSM-7" else len(c.encode("utf-16-le")) // 2
                  for c in graphemes(text))
    assert naive <= size.segments <= -(-size.units // (part - (biggest - 1)))


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


# --------------------------------------------------------------------------
# Corpus: every expected value below was produced by Twilio's own calculator
# (npm sms-segments-calculator 1.3.0, TwilioDevEd/message-segment-calculator),
# run on exactly these texts: encoding, units (septets / UTF-16 units) and
# segments. A grapheme is never split across segments.
# --------------------------------------------------------------------------

Z, A = "ж", "a"
FLAG = "🇰🇿"  # two regional indicators: 1 grapheme, 4 UTF-16 units
FAMILY = "👩\u200d👩\u200d👧"  # 3 emoji + 2 zero-width joiners: 1 grapheme, 8 units
THUMB = "👍🏽"  # emoji + skin tone: 1 grapheme, 4 units
E_ACUTE = "e\u0301"  # e + combining acute: 1 grapheme, 2 units
RAINBOW = "🏳️\u200d🌈"  # flag + VS16 + ZWJ + rainbow: 1 grapheme, 6 units

CORPUS = [
    # name, text, encoding, units, segments
    ("gsm 160 = one segment", A * 160, "GSM-7", 160, 1),
    ("gsm 161 = two", A * 161, "GSM-7", 161, 2),
    ("gsm 306 = 2 x 153", A * 306, "GSM-7", 306, 2),
    ("gsm 307 = three", A * 307, "GSM-7", 307, 3),
    ("ESC pair cannot start at septet 153", A * 152 + "€" + A * 152, "GSM-7", 306, 3),
    ("ESC pair ends part 1 exactly", A * 151 + "€" + A * 153, "GSM-7", 306, 2),
    ("80 braces = 160 septets", "{" * 80, "GSM-7", 160, 1),
    ("81 braces = 162 septets", "{" * 81, "GSM-7", 162, 2),
    ("152 + euro = 154 septets, one segment", A * 152 + "€", "GSM-7", 154, 1),
    ("CR LF is two characters", "a\r\nb", "GSM-7", 4, 1),
    ("empty text is one segment", "", "GSM-7", 0, 1),
    ("cyrillic 70 = one", Z * 70, "UCS-2", 70, 1),
    ("cyrillic 71 = two", Z * 71, "UCS-2", 71, 2),
    ("cyrillic 134 = 2 x 67", Z * 134, "UCS-2", 134, 2),
    ("cyrillic 135 = three", Z * 135, "UCS-2", 135, 3),
    ("kazakh letters 70 = one", "ә" * 70, "UCS-2", 70, 1),
    ("kazakh letters 71 = two", "ғ" * 35 + "қ" * 36, "UCS-2", 71, 2),
    ("a kazakh reminder", "Еске салу: беру мерзімінің соңғы күні 12 желтоқсан. Тоқтату: ТОҚТАТУ", "UCS-2", 68, 1),
    ("CR LF in UCS-2", "ж\r\nж", "UCS-2", 4, 1),
    ("GSM extension char is one unit in UCS-2", "д€" + "{" * 68, "UCS-2", 70, 1),
    ("curly apostrophe forces UCS-2", "Hello ’", "UCS-2", 7, 1),
    ("small c cedilla is not GSM-7 (70)", "ç" * 70, "UCS-2", 70, 1),
    ("small c cedilla is not GSM-7 (71)", "ç" * 71, "UCS-2", 71, 2),
    ("emoji at the end, 70 units", A * 68 + "👍", "UCS-2", 70, 1),
    ("emoji at the end, 71 units", A * 69 + "👍", "UCS-2", 71, 2),
    ("35 emoji = 70 units", "😀" * 35, "UCS-2", 70, 1),
    ("36 emoji = 72 units", "😀" * 36, "UCS-2", 72, 2),
    ("surrogate pair cannot start at unit 67", Z * 66 + "😀" + Z * 66, "UCS-2", 134, 3),
    ("surrogate pair ends part 1 exactly", Z * 65 + "😀" + Z * 67, "UCS-2", 134, 2),
    ("flag + 66 = 70 units", FLAG + Z * 66, "UCS-2", 70, 1),
    ("flag + 67 = 71 units", FLAG + Z * 67, "UCS-2", 71, 2),
    ("flag is never split (65 + 4 > 67)", Z * 65 + FLAG + Z * 65, "UCS-2", 134, 3),
    ("flag ends part 1 exactly (63 + 4)", Z * 63 + FLAG + Z * 67, "UCS-2", 134, 2),
    ("letter + combining mark is one unit pair", E_ACUTE, "UCS-2", 2, 1),
    ("combining mark stays with its letter", Z * 66 + E_ACUTE + Z * 66, "UCS-2", 134, 3),
    ("letter + mark end part 1 exactly", Z * 65 + E_ACUTE + Z * 67, "UCS-2", 134, 2),
    ("family emoji (8 units) is never split", Z * 60 + FAMILY + Z * 66, "UCS-2", 134, 3),
    ("skin tone stays with its emoji", Z * 65 + THUMB + Z * 65, "UCS-2", 134, 3),
    ("rainbow flag ZWJ sequence", RAINBOW + Z * 64, "UCS-2", 70, 1),
]


@pytest.mark.parametrize(("name", "text", "encoding", "units", "segments"), CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus_matches_twilios_calculator(name: str, text: str, encoding: str, units: int, segments: int) -> None:
    assert measure(text) == SmsSize(encoding, units, segments)


def test_the_corpus_covers_the_boundaries_and_kinds_of_text() -> None:
    texts = [c[1] for c in CORPUS]
    for needle in (FLAG, FAMILY, THUMB, E_ACUTE, RAINBOW, "€", "{", "ә", "😀", "\r\n"):
        assert any(needle in t for t in texts), needle
    units = {(c[2], c[3]) for c in CORPUS}
    for boundary in (("GSM-7", 160), ("GSM-7", 161), ("GSM-7", 306), ("UCS-2", 70), ("UCS-2", 71), ("UCS-2", 134)):
        assert boundary in units, boundary


def test_graphemes_split_as_a_reader_sees_them() -> None:
    assert graphemes(FLAG + E_ACUTE + FAMILY + "a") == [FLAG, E_ACUTE, FAMILY, "a"]
    assert graphemes("a\r\nb") == ["a", "\r", "\n", "b"]
