"""Phone numbers as text: E.164 form, calling code, masking for every log line and screen.

Pure functions (and one logging filter): the keyed hash and encryption live in store/vault.py.
"""
from __future__ import annotations

import logging
import re

import phonenumbers


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


def mask(number: str | None) -> str:
    """'+7******4567': enough for support staff to tell numbers apart, not enough to call."""
    if not number:
        return "(none)"
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return "***"
    return "+" + digits[:1] + "*" * (len(digits) - 5) + digits[-4:]


# Anything that looks like a phone number: + and 9 to 15 digits, possibly spaced.
_PHONE = re.compile(r"(?<![\w])\+?\d(?:[\s\-().]?\d){8,14}(?![\w])")


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


def _mask_all(text: str) -> str:
    return _PHONE.sub(lambda m: mask(m.group(0)), text)


def install_log_masking() -> None:
    """Attach the masking filter to every handler of the root logger (and future basicConfig)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
