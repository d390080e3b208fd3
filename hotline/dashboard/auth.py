"""Dashboard login: one shared password (hashed), CSRF on every POST, a lockout kept in Redis."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

import redis
from flask import Flask, abort, current_app, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from werkzeug.security import check_password_hash, generate_password_hash

from hotline.dashboard.blueprint import operator_bp
from hotline.runtime import stats
from hotline.runtime.hotline import current
from hotline.store import keys as store

log = logging.getLogger(__name__)


LOCK_LIMIT = 5                  # wrong passwords from one client IP ...


LOCK_SECONDS = 15 * 60          # ... within this window lock that IP out for this long


PASSWORD_HASH = "operator_password_hash"  # app.extensions key


@operator_bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    """Hash the password once at startup and blank the plaintext in every copy of the config."""
    app: Flask = state.app
    app.extensions[PASSWORD_HASH] = password_hash(app.config.get("OPERATOR_PASSWORD_HASH", ""),
                                                  app.config.get("OPERATOR_PASSWORD", ""))
    for cfg in (app.config, app.extensions["hotline"].config):
        cfg["OPERATOR_PASSWORD"] = ""
    # Only dashboard requests (which record activity) rewrite the session cookie: a static file or an
    # audio response finishing late must not put back an older session (a lost call, or a logout).
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    if str(app.config.get("PUBLIC_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True  # served over TLS: never send the session in clear


def password_hash(given_hash: str, plaintext: str) -> str | None:
    """The hash to check logins against; None (dashboard disabled) when none is set or it is unusable."""
    if not given_hash:
        return generate_password_hash(plaintext) if plaintext else None
    try:
        usable = given_hash.count("$") >= 2 and not check_password_hash(given_hash, "")  # never an empty password
    except ValueError:  # an unknown hash method
        usable = False
    if not usable:
        log.error("OPERATOR_PASSWORD_HASH is not a werkzeug password hash: the operator dashboard is disabled")
        return None
    return given_hash


def lock_key(ip: str) -> str:
    """Per client IP, keyed-hashed so Redis never holds operators' addresses."""
    digest = hmac.new(str(current_app.secret_key).encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]
    return store.operator_lock(digest)


def take_attempt(r: redis.Redis, key: str) -> int:
    """Number this login attempt in the IP's window before the password is checked, so parallel
    guesses cannot slip past the limit; a good login deletes the count."""
    pipe = r.pipeline()
    pipe.set(key, 0, ex=LOCK_SECONDS, nx=True)
    pipe.incr(key)
    return int(pipe.execute()[1])


@operator_bp.app_template_global("operator_csrf")
def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """400 without a token, 403 with a wrong one: before the view changes anything."""
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    if not sent:
        abort(400, "This form has no security token. Reload the page and try again.")
    if not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
        abort(403, "This form's security token is out of date. Reload the page and try again.")


def logged_in() -> bool:
    """Signed in and active within PERMANENT_SESSION_LIFETIME (idle expiry, on the hotline's clock)."""
    seen = session.get("seen")
    now = current().now().timestamp()
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if not session.get("operator") or not isinstance(seen, (int, float)) or now - seen > lifetime:
        return False
    session["seen"] = now
    return True


@operator_bp.before_request
def gate() -> ResponseReturnValue | None:
    """Disabled without a password; every page but login needs a live session; every POST a CSRF token."""
    if not current_app.extensions.get(PASSWORD_HASH):
        return render_template("operator_disabled.html"), 503
    if request.endpoint != "operator.login" and not logged_in():
        expired = bool(session.get("operator"))
        session.clear()
        return redirect(url_for("operator.login", expired=1 if expired else None))
    if request.method == "POST":
        check_csrf()
    return None


@operator_bp.context_processor
def banner() -> dict[str, object]:
    return {"content_error": current().holder.refused_edit() if session.get("operator") else None}


@operator_bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("operator_login.html", expired=bool(request.args.get("expired")))
    hl, key = current(), lock_key(request.remote_addr or "unknown")
    try:
        attempt = take_attempt(hl.redis, key)
        if attempt > LOCK_LIMIT:
            return render_template("operator_login.html", error="locked"), 429
        if not check_password_hash(current_app.extensions[PASSWORD_HASH], request.form.get("password", "")):
            stats.count("security.login_failed", hl)
            if attempt == LOCK_LIMIT:
                hl.redis.expire(key, LOCK_SECONDS)  # locked for 15 minutes from the fifth wrong password
            return render_template("operator_login.html", error="locked" if attempt == LOCK_LIMIT else "wrong"), 401
        hl.redis.delete(key)
    except redis.RedisError:
        return render_template("operator_login.html", error="store"), 503  # the lockout cannot be enforced
    session.clear()
    session.permanent = True
    session.update(operator=True, seen=hl.now().timestamp(), csrf=secrets.token_urlsafe(32))
    return redirect(url_for("operator.overview"))


@operator_bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("operator.login"))
