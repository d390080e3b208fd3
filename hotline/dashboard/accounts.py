"""Operator accounts: one per person, in Redis. A name, a strong password, a second factor, a role.

- Passwords: at least 12 characters and not guessable (zxcvbn's score >= 3: its lists hold the
  common passwords, names, words and keyboard walks); stored as werkzeug scrypt hashes.
- Second factor: TOTP (pyotp, RFC 6238, any authenticator app), each code usable once, plus ten
  single-use recovery codes (stored hashed). Required in production; a local-mode account may go
  without (the first-run admin, issue 16).
- The TOTP secret is stored Fernet-encrypted with a key of its own (derived from
  HOTLINE_SECRET_KEY with HKDF, info "hotline operator totp"), never with the session key.
- `epoch` grows on every reset and "log out everywhere": a session made under an older epoch is
  refused even if its record survived.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyotp
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.runtime.settings import PASSWORD_HASH_DEFAULT
from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

ROLES = ("viewer", "editor", "caseworker", "admin")
MIN_PASSWORD = 12
NAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
RECOVERY_CODES = 10
ISSUER = "Hotline"


class AccountError(ValueError):
    """A refused account change; the message says why, in words an operator can act on."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    pw_hash: str
    totp: str            # encrypted TOTP secret, "" = no second factor (local mode only)
    recovery: list[str]  # hashes of unused recovery codes
    epoch: int
    created: str
    one_time: bool = False

    @property
    def has_second_factor(self) -> bool:
        return bool(self.totp)


@dataclass(frozen=True)
class Created:
    """What to tell the new operator once (never stored in the clear)."""

    name: str
    role: str
    password: str
    totp_secret: str | None
    totp_uri: str | None
    recovery_codes: list[str] = field(default_factory=list)


def check_password_strength(password: str, name: str = "") -> str | None:
    """None if the password may be used, else why not."""
    if len(password) < MIN_PASSWORD:
        return f"at least {MIN_PASSWORD} characters (this one has {len(password)})"
    from zxcvbn import zxcvbn
    verdict = zxcvbn(password[:100], user_inputs=[name, "hotline", "operator", "kazakhstan", "asylum"])
    if verdict["score"] < 3:
        hint = verdict.get("feedback", {}).get("warning") or "it is too easy to guess"
        return f"too easy to guess: {hint.rstrip('.')}. Use four or more unrelated words"
    return None


def _generated_password() -> str:
    words = [secrets.token_urlsafe(4) for _ in range(4)]
    return "-".join(words)


def _totp_fernet(hl: "Hotline"):
    return hl.vault.fernet_for(b"hotline operator totp")


def _load(name: str, raw: dict) -> Account:
    return Account(name=name, role=raw.get("role", "viewer"), pw_hash=raw.get("pw", ""), totp=raw.get("totp", ""),
                   recovery=json.loads(raw.get("recovery") or "[]"), epoch=int(raw.get("epoch") or 0),
                   created=raw.get("created", ""), one_time=raw.get("one_time") == "1")


def get(hl: "Hotline", name: str) -> Account | None:
    raw = hl.redis.hgetall(store.operator(name)) if NAME.match(name or "") else {}
    return _load(name, raw) if raw else None


def list_all(hl: "Hotline") -> list[Account]:
    return [a for a in (get(hl, n) for n in sorted(hl.redis.smembers(store.OPERATORS))) if a]


def production(hl: "Hotline") -> bool:
    return hl.config.get("HOTLINE_ENV") == "production"


def create(hl: "Hotline", name: str, role: str, password: str | None = None, totp: bool = True,
           one_time: bool = False, replace: bool = False) -> Created:
    """A new account (or, with replace, new credentials for an existing one)."""
    if not NAME.match(name or ""):
        raise AccountError("a name is 2-32 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if production(hl) and not totp:
        raise AccountError("in production every operator needs a second factor (TOTP)")
    if production(hl) and one_time:
        raise AccountError("one-time accounts exist only in local mode")
    old = get(hl, name)
    if old and not replace:
        raise AccountError(f"an operator called {name!r} already exists (use reset)")
    password = password or _generated_password()
    if reason := check_password_strength(password, name):
        raise AccountError(f"password refused: {reason}")
    secret = pyotp.random_base32() if totp else None
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)] if totp else []
    record = {"role": role, "pw": hash_password(hl, password), "totp": _totp_fernet(hl).encrypt(secret.encode()).decode()
              if secret else "", "recovery": json.dumps([_recovery_tag(hl, name, c) for c in codes]),
              "epoch": (old.epoch + 1) if old else 0, "created": hl.now().isoformat(timespec="seconds"),
              "one_time": "1" if one_time else "0", "totp_last": -1}
    pipe = hl.redis.pipeline(transaction=False)
    pipe.delete(store.operator(name))
    pipe.hset(store.operator(name), mapping=record)
    pipe.sadd(store.OPERATORS, name)
    pipe.execute()
    uri = pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER) if secret else None
    return Created(name, role, password, secret, uri, codes)


def hash_method(hl: "Hotline") -> str:
    """werkzeug's method for operators' passwords (settings.PASSWORD_HASH_METHOD)."""
    return hl.config.get("PASSWORD_HASH_METHOD", PASSWORD_HASH_DEFAULT)


def hash_password(hl: "Hotline", password: str) -> str:
    """The stored hash of a password, by the configured method."""
    return generate_password_hash(password, method=hash_method(hl))


def adopt_hash(hl: "Hotline", name: str, role: str, pw_hash: str) -> None:
    """Local mode: an account from OPERATOR_PASSWORD_HASH (a werkzeug hash made elsewhere)."""
    if production(hl):
        raise AccountError("in production create operators with `hotline operators add`")
    try:
        usable = pw_hash.count("$") >= 2 and not check_password_hash(pw_hash, "")
    except ValueError:
        usable = False
    if not usable:
        raise AccountError("OPERATOR_PASSWORD_HASH is not a werkzeug password hash")
    old = get(hl, name)
    record = {"role": role, "pw": pw_hash, "totp": "", "recovery": "[]", "epoch": (old.epoch + 1) if old else 0,
              "created": hl.now().isoformat(timespec="seconds"), "one_time": "0", "totp_last": -1}
    pipe = hl.redis.pipeline(transaction=False)
    pipe.delete(store.operator(name))
    pipe.hset(store.operator(name), mapping=record)
    pipe.sadd(store.OPERATORS, name)
    pipe.execute()


def remove(hl: "Hotline", name: str) -> bool:
    from . import sessions
    sessions.revoke_all(hl, name)
    pipe = hl.redis.pipeline(transaction=False)
    pipe.delete(store.operator(name))
    pipe.srem(store.OPERATORS, name)
    return bool(pipe.execute()[0])


def reset(hl: "Hotline", name: str, password: str | None = None, totp: bool = True) -> Created:
    """New password and second factor; every session of this operator ends at once."""
    old = get(hl, name)
    if old is None:
        raise AccountError(f"no operator called {name!r}")
    from . import sessions
    created = create(hl, name, old.role, password, totp=totp, replace=True)
    sessions.revoke_all(hl, name)
    return created


def set_role(hl: "Hotline", name: str, role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if not get(hl, name):
        raise AccountError(f"no operator called {name!r}")
    hl.redis.hset(store.operator(name), "role", role)


def bump_epoch(hl: "Hotline", name: str) -> int:
    return int(hl.redis.hincrby(store.operator(name), "epoch", 1))


def _recovery_tag(hl: "Hotline", name: str, code: str) -> str:
    """Recovery codes are random (64 bits): a keyed hash is enough, and checking ten is instant."""
    return hl.vault.tag(f"recovery|{name}|{code}")


def check_password(account: Account, password: str) -> bool:
    return bool(account.pw_hash) and check_password_hash(account.pw_hash, password)


def check_second_factor(hl: "Hotline", account: Account, code: str) -> bool:
    """A TOTP code of now (±30 s), each time step accepted once; or an unused recovery code (used up)."""
    code = (code or "").strip().replace(" ", "")
    if not account.totp:
        return True
    if code.isascii() and code.isdigit() and len(code) == 6:
        secret = _totp_fernet(hl).decrypt(account.totp.encode()).decode()
        totp = pyotp.TOTP(secret)
        now = hl.now()
        for step in (0, -1, 1):
            at = now.timestamp() + step * totp.interval
            if secrets.compare_digest(totp.at(at), code):
                counter = totp.timecode(now) + step
                # each code once: a script compares and sets the last used step atomically
                used = hl.redis.eval(_TOTP_ONCE, 1, store.operator(account.name), counter)
                return bool(used)
        return False
    tag = _recovery_tag(hl, account.name, code.lower())
    for i, hashed in enumerate(account.recovery):
        if secrets.compare_digest(hashed, tag):
            left = account.recovery[:i] + account.recovery[i + 1:]
            hl.redis.hset(store.operator(account.name), "recovery", json.dumps(left))
            return True
    return False


_TOTP_ONCE = """
local last = tonumber(redis.call('HGET', KEYS[1], 'totp_last') or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('HSET', KEYS[1], 'totp_last', ARGV[1])
return 1
"""
