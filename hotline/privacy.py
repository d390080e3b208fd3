"""Phone numbers are the most sensitive thing we hold: hash them for look-ups, encrypt them for
sending, mask them for anything a human or a log sees."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re

import phonenumbers
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


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


class Vault:
    """Keyed hashing and encryption, both derived from HOTLINE_SECRET_KEY."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("HOTLINE_SECRET_KEY must be at least 16 characters")
        material = secret.encode()
        self._hash_key = self._derive(material, b"hotline phone hash")
        self._fernet = Fernet(base64.urlsafe_b64encode(self._derive(material, b"hotline phone encryption")))

    @staticmethod
    def _derive(material: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)

    def hash(self, number: str) -> str:
        """A stable pseudonym for a number: the same number always gives the same id."""
        canonical = normalise(number) or number.strip()
        return hmac.new(self._hash_key, canonical.encode(), hashlib.sha256).hexdigest()[:32]

    def encrypt(self, number: str) -> str:
        return self._fernet.encrypt(number.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            return None


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
