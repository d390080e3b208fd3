"""How many SMS segments a text costs, counted exactly as Twilio's own calculator counts them.

Why: every segment is billed, and a reminder that silently grows from one segment to three
triples the cost and may arrive out of order on old phones. Templates are checked against a
segment budget, so the count must be the one Twilio bills.

The rules below are those of Twilio's published calculator, TwilioDevEd/message-segment-calculator
(npm `sms-segments-calculator`; src/libs/SegmentedMessage.ts, Segment.ts, EncodedChar.ts,
UnicodeToGSM.ts, UserDataHeader.ts). They are restated here in our own words:

1. The text is cut into grapheme clusters: what a reader sees as one character (a flag, a family
   emoji joined with zero-width joiners, a letter with combining accents, an emoji with a skin
   tone). A CR LF pair is the one cluster counted as two characters.
2. Encoding: GSM-7 if every cluster is a single UTF-16 code unit found in the GSM 03.38 table
   (127 basic characters and 10 extension characters, below); otherwise the whole message is UCS-2.
   So one Cyrillic or Kazakh letter, one emoji, one curly quote or one combining accent makes the
   whole message UCS-2.
3. Size of each cluster: in GSM-7, 7 bits per septet, and an extension character (``^ { } \\ [ ~
   ] | €`` and form feed) is two septets (ESC + character). In UCS-2, 16 bits per UTF-16 code unit:
   an emoji outside the Basic Multilingual Plane is 2 units (a surrogate pair), a flag is 4, and
   any GSM character (an extension one too) is 1 unit.
4. One segment holds 140 octets (1120 bits). A message that fits is one segment. Otherwise every
   segment starts with a 6-octet concatenation header, leaving 1072 bits: 153 septets or 67 UCS-2
   units. Clusters are placed in order, and a cluster that does not fit in what is left of a
   segment goes whole into the next one: a cluster is never split across two segments (so an ESC
   pair, a surrogate pair, a flag or a letter with its accents always travels in one piece).

One known difference: the calculator bundles grapheme-splitter, which implements the cluster rules
of Unicode 10; `regex` (below) implements the current ones (UAX #29). They differ only for a few
emoji joined with ZWJ that Unicode 10 did not know (for example "heart on fire"), and then only
when such an emoji straddles a segment boundary.

Pure: no I/O. Twilio's optional "Smart Encoding" (which may replace curly quotes and long dashes
with GSM characters before sending) is not applied: the text is counted exactly as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SmsSize",
    "graphemes",
    "is_gsm7",
    "measure",
]

#: GSM 03.38 default alphabet (the printable characters; 0x1B, the escape code itself, is
#: deliberately absent: a literal ESC in a text is not something a handset can show). The same
#: 127 characters as the calculator's table (UnicodeToGSM.ts, entries of one septet).
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

#: GSM 03.38 extension table: each is sent as ESC + char, i.e. 2 septets (the calculator's
#: entries of two septets).
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

SEGMENT_BITS = 1120  # 140 octets
HEADER_BITS = 48  # 6 octets of concatenation header in every part of a long message
_PART_BITS = SEGMENT_BITS - HEADER_BITS  # 1072: 153 septets, 67 UCS-2 units
_CLUSTER = regex.compile(r"\X")


@dataclass(frozen=True)
class SmsSize:
    """The size of one message as Twilio bills it."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7 (extension chars count 2); UTF-16 code units for UCS-2
    segments: int


def graphemes(text: str) -> list[str]:
    """The clusters of rule 1: what a reader sees as one character; CR LF counts as two."""
    out: list[str] = []
    for cluster in _CLUSTER.findall(text):
        out.extend(cluster) if cluster == "\r\n" else out.append(cluster)
    return out


def _utf16_units(cluster: str) -> int:
    return len(cluster.encode("utf-16-le")) // 2


def _gsm_single(cluster: str) -> bool:
    """One UTF-16 code unit that the GSM-7 table has (basic or extension)."""
    return len(cluster) == 1 and (cluster in GSM7_BASIC or cluster in GSM7_EXTENSION)


def is_gsm7(text: str) -> bool:
    """True if the whole text can go as GSM-7 (rule 2)."""
    return all(_gsm_single(c) for c in graphemes(text))


def _count_parts(bits: list[int]) -> int:
    """Rule 4 for a message that does not fit one segment: clusters in order, none split.

    Each part takes clusters while they fit in its 1072 bits; the first cluster that does not
    fit opens the next part (even an empty part is left behind for a cluster larger than a whole
    part: the calculator does the same, and no real text has one).
    """
    parts, used = 1, 0
    for size in bits:
        if used + size > _PART_BITS:
            parts += 1
            used = 0
        used += size
    return parts


@lru_cache(maxsize=4096)
def measure(text: str) -> SmsSize:
    """Encoding, units and segments of ``text`` (see the rules above). The empty text is one
    segment of 0 units: Twilio still sends one. Remembered: `hotline check` measures the same texts
    with every date and value they can hold, and a snapshot's SMS again at each reload."""
    clusters = graphemes(text)
    if all(_gsm_single(c) for c in clusters):
        septets = [2 if c in GSM7_EXTENSION else 1 for c in clusters]
        encoding, units, bits = "GSM-7", sum(septets), [7 * s for s in septets]
    else:
        sizes = [1 if _gsm_single(c) else _utf16_units(c) for c in clusters]
        encoding, units, bits = "UCS-2", sum(sizes), [16 * s for s in sizes]
    segments = 1 if sum(bits) <= SEGMENT_BITS else _count_parts(bits)
    return SmsSize(encoding=encoding, units=units, segments=segments)
