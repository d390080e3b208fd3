"""Phone numbers at rest: a keyed hash for look-ups and Fernet encryption for sending.

Both keys are derived from HOTLINE_SECRET_KEY with HKDF, so one secret serves both purposes
without reusing key material.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hotline.rules.phones import normalise


class Vault:
    """Keyed hashing and encryption, both derived from HOTLINE_SECRET_KEY."""

    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("HOTLINE_SECRET_KEY must be at least 16 characters")
        material = secret.encode()
        self._hash_key = self._derive(material, b"hotline phone hash")
        self._fernet = Fernet(base64.urlsafe_b64encode(self._derive(material, b"hotline phone encryption")))
        self._audio = Fernet(base64.urlsafe_b64encode(self._derive(material, b"hotline voice message encryption")))
        self._tag_key = self._derive(material, b"hotline short-lived codes")
        self._material = material

    @staticmethod
    def _derive(material: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)

    def hash(self, number: str) -> str:
        """A stable pseudonym for a number: the same number always gives the same id."""
        canonical = normalise(number) or number.strip()
        return hmac.new(self._hash_key, canonical.encode(), hashlib.sha256).hexdigest()[:32]

    def tag(self, text: str) -> str:
        """A keyed hash of a short secret (a code) so that Redis never holds the secret itself."""
        return hmac.new(self._tag_key, text.encode(), hashlib.sha256).hexdigest()[:32]

    def fernet_for(self, info: bytes) -> Fernet:
        """Encryption with a key of its own for another kind of secret (e.g. operators' TOTP seeds)."""
        return Fernet(base64.urlsafe_b64encode(self._derive(self._material, info)))

    def encrypt(self, number: str) -> str:
        return self._fernet.encrypt(number.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            return None

    def encrypt_bytes(self, data: bytes) -> str:
        """A voice message at rest (its own derived key: a number's token never opens a recording)."""
        return self._audio.encrypt(data).decode()

    def decrypt_bytes(self, token: str) -> bytes | None:
        try:
            return self._audio.decrypt(token.encode())
        except (InvalidToken, ValueError):
            return None
