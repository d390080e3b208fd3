"""Phone numbers as text: E.164 form, calling code, masking for every log line and screen.

Pure functions (and one logging filter): the keyed hash and encryption live in store/vault.py.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

import phonenumbers

# One webhook or reminder asks about the same number several times (the permit, the keyed hash, the
# region): phonenumbers' parse is the costly part, so the last few answers are kept (a handful of
# numbers, in this process's memory only, which already holds them for the request).
RECENT = 16


@lru_cache(maxsize=RECENT)
def normalise(number: str) -> str | None:
    """E.164 form of a phone number (Kazakhstan assumed without a country code); None if not a number."""
    try:
        parsed = phonenumbers.parse(number, "KZ")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def calling_code(e164: str) -> str:
    """The country calling code of an E.164 number ("7" for Kazakhstan)."""
    return str(phonenumbers.parse(e164).country_code)


@lru_cache(maxsize=RECENT)
def region_of(e164: str) -> str | None:
    """The ISO region ("KZ", "RU") of an E.164 number; None if it is not a number.

    +7 is shared by Kazakhstan and Russia, so the calling code cannot tell them apart. A valid
    number is placed by phonenumbers' metadata; a number not (yet) assigned, by the leading digits
    of the regions sharing its code (+7 7.. is Kazakhstan), else by the code's main region.
    """
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    if region:
        return region
    national = str(parsed.national_number)
    candidates = phonenumbers.region_codes_for_country_code(parsed.country_code)
    metas = [(code, phonenumbers.PhoneMetadata.metadata_for_region(code)) for code in candidates]
    for code, meta in metas:
        if meta is not None and meta.leading_digits and re.match(meta.leading_digits, national):
            return code
    if len(candidates) == 1:
        return candidates[0]
    return next((code for code, meta in metas if meta is not None and meta.main_country_for_code), None)


def in_regions(e164: str, regions: Iterable[str]) -> bool:
    """True if the number belongs to one of `regions` (ISO codes; "*" admits every region)."""
    allowed = set(regions)
    return "*" in allowed or region_of(e164) in allowed


def known_region(code: str) -> bool:
    """An ISO region code phonenumbers has numbering data for ("KZ", "KG", ...)."""
    return code in phonenumbers.SUPPORTED_REGIONS


def mask(number: str | None) -> str:
    """'+7******4567': enough for support staff to tell numbers apart, not enough to call."""
    if not number:
        return "(none)"
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return "***"
    return "+" + digits[:1] + "*" * (len(digits) - 5) + digits[-4:]


# Anything that looks like a phone number: + and 9 to 15 digits, possibly spaced.
# Anything that looks like a phone number: an optional "+" (or "%2B", "+" URL-encoded, or "00"), then
# 9 to 15 digits with up to three separators (space, dash, dot, brackets) between any two:
# "+77011234567", "8 (701) 123-45-67", "+7 (701) 123 45 67", "From=%2B77011234567".
_PHONE = re.compile(r"(?<![\w%+])(?:\+|%2[Bb]|00)?\s?\(?\d(?:[\s\-().]{0,3}\d){8,14}(?![\w])")


class MaskingFilter(logging.Filter):
    """Last line of defence: masks anything that looks like a phone number in every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _mask_all(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:  # a library's exception text may quote a number
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _mask_all(record.exc_text)
        if record.stack_info:
            record.stack_info = _mask_all(record.stack_info)
        return True


def _mask_one(found: re.Match) -> str:
    text = found.group(0)
    return mask(text[3:] if text[:3].upper() == "%2B" else text)


def _mask_all(text: str) -> str:
    return _PHONE.sub(_mask_one, text)


def install_log_masking() -> None:
    """Attach the masking filter to every handler of the root logger (and future basicConfig)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
