"""Dashboard login: per-person accounts, server-side sessions, roles, CSRF and a lockout.

Libraries, and where we kept our own:
- Flask-Login holds the logged-in operator (`current_user`, `login_user`, `logout_user`); its
  user loader refuses a session made before the operator's last reset ("epoch").
- Flask-WTF's CSRFProtect checks a token on every dashboard POST (not app-wide: Twilio's signed
  webhooks are POSTs without one). Its SSL "strict referrer" check is off because every page sends
  `Referrer-Policy: no-referrer`; SameSite=Strict cookies cover what it would add.
- `limits` (the Redis-backed engine of Flask-Limiter) counts login attempts per operator name and
  per client address in Redis, shared by every process. Its decorators are not used: a lockout must
  count an attempt *before* the password is checked (so parallel guesses cannot slip past) and must
  be cleared by a good login, which the per-request decorator cannot express.
- Sessions: our own Redis SessionInterface (sessions.py says why).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any, Callable

import redis
from flask import Flask, abort, current_app, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.dashboard import accounts, sessions
from hotline.dashboard.blueprint import operator_bp
from hotline.runtime import audit, stats
from hotline.runtime.hotline import Hotline, current
from hotline.store import keys as store

log = logging.getLogger(__name__)

PER_NAME = parse("5 per 15 minutes")      # wrong logins for one operator name lock that name ...
PER_ADDRESS = parse("30 per 15 minutes")  # ... and any one client address gets this many tries
LOCK_LIMIT, LOCK_SECONDS = 5, 15 * 60
ROLES = accounts.ROLES
LIMITER = "operator_limiter"  # app.extensions key

login_manager = LoginManager()
login_manager.session_protection = None  # the session lives in Redis; its id is rotated at login
csrf = CSRFProtect()


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """What an unknown name's password is checked against, so it takes as long as a known one's."""
    return generate_password_hash("not a password of anyone", method=method)


@dataclass
class Operator:
    """The logged-in person (Flask-Login's user)."""

    name: str
    role: str
    epoch: int
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return f"{self.name}:{self.epoch}"

    def may(self, *roles: str) -> bool:
        return self.role == "admin" or "viewer" in roles or self.role in roles


@login_manager.user_loader
def _load(user_id: str) -> Operator | None:
    name, _, epoch = user_id.rpartition(":")
    acct = accounts.get(current(), name)
    if acct is None or str(acct.epoch) != epoch:
        return None  # removed, reset or logged out everywhere since this session began
    return Operator(acct.name, acct.role, acct.epoch)


def current_operator() -> Operator:
    return current_user  # type: ignore[return-value]


def requires(*roles: str) -> Callable:
    """Only operators with one of `roles` (admin always) may use the view: 403 for the others."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}; use {ROLES}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("operator.login"))
            if not current_user.may(*roles):
                audit.record(current(), actor=current_user.name, action="denied", page=request.path[:100])
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate


@operator_bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    hl: Hotline = app.extensions["hotline"]
    app.session_interface = sessions.RedisSessionInterface(hl, operator_bp.url_prefix or "/")
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_FIELD_NAME="csrf", WTF_CSRF_TIME_LIMIT=None,
                      WTF_CSRF_HEADERS=["X-CSRF-Token", "X-CSRFToken"], WTF_CSRF_SSL_STRICT=False)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "operator.login"
    if str(app.config.get("PUBLIC_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.extensions[LIMITER] = FixedWindowRateLimiter(_limit_storage(hl))
    _local_password_account(hl, app.config.get("OPERATOR_PASSWORD", ""), app.config.get("OPERATOR_PASSWORD_HASH", ""))
    for cfg in (app.config, hl.config):
        cfg["OPERATOR_PASSWORD"] = ""


LOCAL_OPERATOR = "operator"


def _local_password_account(hl: Hotline, password: str, given_hash: str) -> None:
    """Local mode only (production refuses these settings): OPERATOR_PASSWORD or _HASH gives an admin
    account called "operator" without a second factor. Idempotent, so every web process may run it."""
    if not (password or given_hash):
        return
    try:
        acct = accounts.get(hl, LOCAL_OPERATOR)
        if password:
            if acct and accounts.check_password(acct, password):
                return
            accounts.create(hl, LOCAL_OPERATOR, "admin", password, totp=False, replace=True)
        elif not (acct and acct.pw_hash == given_hash):
            accounts.adopt_hash(hl, LOCAL_OPERATOR, "admin", given_hash)
    except accounts.AccountError as exc:
        log.error("OPERATOR_PASSWORD not used: %s. Create an account with `hotline operators add`.", exc)
    except redis.RedisError as exc:
        log.warning("OPERATOR_PASSWORD account not stored now (%s)", type(exc).__name__)


def _limit_storage(hl: Hotline):
    url = str(hl.config.get("REDIS_URL") or "")
    if url.startswith("redis-cluster://"):
        from limits.storage import RedisClusterStorage
        return RedisClusterStorage("redis+cluster://" + url.removeprefix("redis-cluster://"))
    return RedisStorage("redis://", connection_pool=hl.redis.connection_pool, key_prefix="hl:limit")


@operator_bp.app_template_global("operator_csrf")
def csrf_token() -> str:
    return generate_csrf()


@operator_bp.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError) -> ResponseReturnValue:
    missing = (exc.description or "") == "The CSRF token is missing."  # else invalid, expired, or no session token
    text = ("This form has no security token. Reload the page and try again." if missing else
            "This form's security token is out of date. Reload the page and try again.")
    return text, 400 if missing else 403


def _address_key(ip: str) -> str:
    """Client addresses are keyed-hashed: Redis never holds operators' addresses."""
    return hmac.new(str(current_app.secret_key).encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]


def _name_key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:32]


@operator_bp.before_request
def gate() -> ResponseReturnValue | None:
    """Without any account: the page that says how to make one. Every page but login needs a live
    session; every POST a CSRF token."""
    down = getattr(session, "store_down", False)
    if not current_user.is_authenticated:
        try:
            anyone = bool(current().redis.scard(store.OPERATORS))
        except redis.RedisError:
            anyone = down = True  # the login page says that logins are paused
        if not anyone:
            return render_template("operator_disabled.html"), 503
    if request.endpoint in ("operator.login", "operator.static"):
        if request.method == "POST":
            if down:
                return render_template("operator_login.html", error="store"), 503  # the lockout cannot be counted
            csrf.protect()
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("operator.login", expired=1 if getattr(session, "expired", False) else None))
    if request.method == "POST":
        csrf.protect()
    return None


@operator_bp.context_processor
def banner() -> dict[str, object]:
    signed_in = current_user.is_authenticated
    return {"content_error": current().holder.refused_edit() if signed_in else None,
            "operator": current_user if signed_in else None}


@operator_bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    hl = current()
    try:
        anyone = bool(hl.redis.scard(store.OPERATORS))
    except redis.RedisError:
        return render_template("operator_login.html", error="store"), 503
    if not anyone:
        return render_template("operator_disabled.html"), 503
    if request.method == "GET":
        return render_template("operator_login.html", expired=bool(request.args.get("expired")))
    name = request.form.get("name", "").strip().lower()[:32]
    limiter: FixedWindowRateLimiter = current_app.extensions[LIMITER]
    try:
        if not (limiter.hit(PER_ADDRESS, "login-ip", _address_key(request.remote_addr or "?"))
                and limiter.hit(PER_NAME, "login-name", _name_key(name))):
            audit.record(hl, actor=name or "-", action="login.locked")
            return render_template("operator_login.html", error="locked"), 429
        acct = accounts.get(hl, name)
        good_password = check_password_hash(acct.pw_hash if acct else _dummy_hash(accounts.hash_method(hl)),
                                          request.form.get("password", ""))
        ok = bool(acct) and good_password and accounts.check_second_factor(hl, acct, request.form.get("code", ""))
        if not ok:
            stats.count("security.login_failed", hl)
            audit.record(hl, actor=name or "-", action="login.failed")
            left = limiter.get_window_stats(PER_NAME, "login-name", _name_key(name)).remaining
            return render_template("operator_login.html", error="locked" if left == 0 else "wrong"), 401
        limiter.clear(PER_NAME, "login-name", _name_key(name))
    except redis.RedisError:
        return render_template("operator_login.html", error="store"), 503  # the lockout cannot be enforced
    session.clear()
    session.regenerate()  # type: ignore[attr-defined]
    login_user(Operator(acct.name, acct.role, acct.epoch))
    audit.record(hl, actor=acct.name, action="login")
    return redirect(url_for("operator.overview"))


@operator_bp.post("/logout")
def logout() -> ResponseReturnValue:
    audit.record(current(), actor=current_user.name, action="logout")
    logout_user()
    session.clear()
    return redirect(url_for("operator.login"))


@operator_bp.post("/logout/everywhere")
def logout_everywhere() -> ResponseReturnValue:
    hl, name = current(), current_user.name
    accounts.bump_epoch(hl, name)
    n = sessions.revoke_all(hl, name)
    audit.record(hl, actor=name, action="logout.everywhere", sessions=str(n))
    logout_user()
    session.clear()
    return redirect(url_for("operator.login"))
