"""How many SMS segments a text costs, counted the way carriers count it.

Why: every segment is billed, and a reminder that silently grows from one
segment to three triples the cost and may arrive out of order on old phones.
Templates are checked against a segment budget, so the count has to match
what the carrier will actually send, including the two details naive
``len(text) / 153`` arithmetic gets wrong:

* GSM-7 extension characters (``^ { } \\ [ ~ ] | €`` and form feed) take two
  septets (ESC + char), and an ESC pair is never split across two parts.
* UCS-2 messages are counted in UTF-16 code units (an emoji is 2), and a
  surrogate pair is never split across two parts.

Pure: no I/O. Note that Twilio's optional "Smart Encoding" may replace some
Unicode look-alikes (curly quotes, long dashes) with GSM characters before
sending; this module counts the text exactly as given.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SmsSize",
    "is_gsm7",
    "measure",
]

#: GSM 03.38 default alphabet (the printable characters; 0x1B, the escape
#: code itself, is deliberately absent: a literal ESC in a text is not
#: something a handset can show, so such a text is sent as UCS-2).
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

#: GSM 03.38 extension table: each is sent as ESC + char, i.e. 2 septets.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

_GSM7_SINGLE = 160
_GSM7_PART = 153  # 7 septets go to the concatenation header (UDH)
_UCS2_SINGLE = 70
_UCS2_PART = 67  # 3 code units go to the UDH


@dataclass(frozen=True)
class SmsSize:
    """The size of one message as the carrier bills it."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7 (extension chars count 2); UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    """True if every character is in the GSM-7 basic set or extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _gsm7_cost(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _utf16_cost(ch: str) -> int:
    # Characters outside the Basic Multilingual Plane need a surrogate pair.
    return 2 if ord(ch) > 0xFFFF else 1


def _pack(costs: list[int], part_size: int) -> int:
    """Number of parts when indivisible items are packed greedily, in order.

    Greedy in order is exactly what a handset does: it fills a part until the
    next character (ESC pair / surrogate pair) would not fit, then starts a
    new part. An item never exceeds 2, so it always fits an empty part.
    """
    parts = 1
    used = 0
    for cost in costs:
        if used + cost > part_size:
            parts += 1
            used = 0
        used += cost
    return parts


def measure(text: str) -> SmsSize:
    """Count encoding, units and segments of ``text`` as a carrier would.

    If any character is outside GSM-7 (basic + extension), the whole message
    is UCS-2. A message that fits a single segment (160 septets / 70 UTF-16
    units) is one segment; otherwise it is split into parts of at most 153
    septets / 67 units, never splitting an ESC pair or a surrogate pair.
    The empty text is one segment of 0 units: the carrier still sends one.
    """
    if is_gsm7(text):
        encoding, costs, single, part = "GSM-7", [_gsm7_cost(c) for c in text], _GSM7_SINGLE, _GSM7_PART
    else:
        encoding, costs, single, part = "UCS-2", [_utf16_cost(c) for c in text], _UCS2_SINGLE, _UCS2_PART
    units = sum(costs)
    segments = 1 if units <= single else _pack(costs, part)
    return SmsSize(encoding=encoding, units=units, segments=segments)
