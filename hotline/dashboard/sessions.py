"""Dashboard sessions kept in Redis: the cookie holds only a random id.

Why our own SessionInterface rather than Flask-Session: we need (1) "log out everywhere", so each
operator's sessions are indexed; (2) an absolute lifetime besides the idle one, both on the
hotline's clock (which tests move); (3) the Redis key to be a hash of the cookie's id, so someone
who can read Redis cannot ride a session; (4) a save that never resurrects a session revoked while a
slow request was still running. Flask-Session does none of these; the whole thing is ~100 lines.

Flask-Login puts the operator's id in this session and loads the operator on each request.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any

import redis
from flask import Flask, Request, Response
from flask.sessions import NullSession, SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 3600
COOKIE = "hotline_session"

# Update a session only while it exists: a logout (DEL) wins over a slow request's late save.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'seen', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'seen', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


def request_endpoint() -> str | None:
    from flask import request
    return request.endpoint


def _key(sid: str) -> str:
    """Keyed by an HMAC of the cookie's id under the session key: Redis never holds a usable id, and
    rotating HOTLINE_SESSION_KEY ends every session at once (no subscription depends on that key)."""
    from flask import current_app
    digest = hmac.new(str(current_app.secret_key).encode(), sid.encode(), hashlib.sha256).hexdigest()[:40]
    return store.operator_session(digest)


class RedisSession(CallbackDict, SessionMixin):
    def __init__(self, initial: dict | None = None, sid: str | None = None, created: float = 0.0) -> None:
        def on_update(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, on_update)
        self.sid, self.created = sid, created
        self.modified = False
        self.rotate = False  # set by regenerate(): a new id at the next save (login)
        self.expired = False  # the cookie named a session that ran out (idle or absolute lifetime)
        self.store_down = False  # Redis could not be asked

    def regenerate(self) -> None:
        """A new id for this session (at login: a fixed or stolen id from before is worth nothing)."""
        self.rotate = True
        self.modified = True


class RedisSessionInterface(SessionInterface):
    """Sessions for the dashboard's pages (under `prefix`) only: every other request (a webhook, a
    sound Twilio fetches, /healthz) gets Flask's null session, so it never parses a cookie, asks
    Redis or sets one (a webhook's CPU is the hotline's capacity, bench/RESULTS.md)."""

    def __init__(self, hl: "Hotline", prefix: str) -> None:
        self.hl, self.prefix = hl, prefix.rstrip("/") + "/"

    def open_session(self, app: Flask, request: Request) -> RedisSession | NullSession:  # type: ignore[override]
        if not (request.path + "/").startswith(self.prefix):
            return self.make_null_session(app)
        sid = request.cookies.get(COOKIE, "")
        if not sid or len(sid) > 100:
            return RedisSession()
        try:
            raw = self.hl.redis.hgetall(_key(sid))
        except redis.RedisError:  # no session while Redis is down: nobody is logged in, logins wait
            down = RedisSession()
            down.store_down = True
            return down
        now = self.hl.now().timestamp()
        if not raw:
            gone = RedisSession()
            gone.expired = True  # ran out in Redis (its TTL is the idle lifetime), or revoked
            return gone
        created, seen = float(raw.get("created") or 0), float(raw.get("seen") or 0)
        if now - seen > idle(app) or now - created > absolute(app):
            self.hl.redis.delete(_key(sid))
            fresh = RedisSession()
            fresh.expired = True
            return fresh
        return RedisSession(json.loads(raw.get("data") or "{}"), sid, created)

    def save_session(self, app: Flask, session: RedisSession, response: Response) -> None:  # type: ignore[override]
        try:
            self._save(app, session, response)
        except redis.RedisError:
            pass  # Redis went away: the session is not saved (the next request finds none)

    def _save(self, app: Flask, session: RedisSession, response: Response) -> None:
        r, now = self.hl.redis, self.hl.now().timestamp()
        cookie = dict(domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                      secure=self.get_cookie_secure(app), httponly=True, samesite=self.get_cookie_samesite(app))
        if session.rotate and session.sid:
            revoke(self.hl, session.sid)
            session.sid = None
        if not session:
            if session.sid:
                revoke(self.hl, session.sid)
                response.delete_cookie(COOKIE, **cookie)
            return
        if session.sid and not session.modified:
            # Nothing changed: a dashboard page counts as activity (idle clock), anything else (a static
            # file, audio) leaves the session alone, so a slow response cannot write back older data.
            if (request_endpoint() or "").startswith("operator."):
                r.eval(_TOUCH, 1, _key(session.sid), now, idle(app))
            return
        data = json.dumps(dict(session))
        if session.sid is None:
            session.sid, session.created = secrets.token_urlsafe(32), now
            user = str(session.get("_user_id") or "").rpartition(":")[0]
            pipe = r.pipeline(transaction=False)
            pipe.hset(_key(session.sid), mapping={"data": data, "seen": now, "created": now, "user": user})
            pipe.expire(_key(session.sid), idle(app))
            if user:
                pipe.sadd(store.operator_sessions(user), _key(session.sid))
                pipe.expire(store.operator_sessions(user), absolute(app))
            pipe.execute()
        elif not r.eval(_UPDATE, 1, _key(session.sid), data, now, idle(app)):
            return  # revoked meanwhile: do not bring it back
        response.set_cookie(COOKIE, session.sid, max_age=absolute(app), **cookie)

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        return True


def idle(app: Flask) -> int:
    return int(app.config.get("OPERATOR_IDLE_SECONDS") or IDLE_SECONDS)


def absolute(app: Flask) -> int:
    return int(app.config.get("OPERATOR_ABSOLUTE_SECONDS") or ABSOLUTE_SECONDS)


def revoke(hl: "Hotline", sid: str) -> None:
    key = _key(sid)
    user = hl.redis.hget(key, "user")
    hl.redis.delete(key)
    if user:
        hl.redis.srem(store.operator_sessions(user), key)


def revoke_all(hl: "Hotline", name: str) -> int:
    """Every session of this operator ends now (log out everywhere, reset, removal)."""
    index = store.operator_sessions(name)
    keys = list(hl.redis.smembers(index))
    if keys:
        hl.redis.delete(*keys)
    hl.redis.delete(index)
    return len(keys)
