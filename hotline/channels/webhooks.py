"""What every Twilio webhook shares: the signature check and the security headers."""
from __future__ import annotations

import hmac
import logging
from functools import wraps
from typing import Any, Callable

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

from hotline.runtime.hotline import current

log = logging.getLogger(__name__)


def signed_url() -> str:
    """The URL Twilio signed: PUBLIC_URL + path + query when behind a proxy, else the request URL."""
    public = current().config.get("PUBLIC_URL", "").rstrip("/")
    if not public:
        return request.url
    query = request.query_string.decode("latin-1")
    return public + request.path + (f"?{query}" if query else "")


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse (403) any webhook without a valid X-Twilio-Signature, before anything is stored or sent."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = current().config.get("TWILIO_AUTH_TOKEN")
        if token:
            signature = request.headers.get("X-Twilio-Signature", "")
            if not signature or not _valid(token, signature):
                log.warning("refused a webhook to %s with a missing or wrong signature", request.path)
                from hotline.runtime.stats import count
                count("security.bad_signature", current())
                abort(403)
        return view(*args, **kwargs)

    return wrapper


_validators: dict[str, RequestValidator] = {}


def _valid(token: str, signature: str) -> bool:
    """Twilio's own check (twilio.request_validator). Its `validate` computes the HMAC twice, for the
    URL with and without its port (Twilio may sign either); the URL as we have it is one of those two,
    so it is tried alone first, and the library's full check runs only when it does not match."""
    validator = _validators.get(token)
    if validator is None:
        validator = _validators[token] = RequestValidator(token)
    try:
        url, form = signed_url(), request.form
        if hmac.compare_digest(validator.compute_signature(url, form), signature):
            return True
        return validator.validate(url, form, signature)
    except (TypeError, ValueError):  # a form Twilio cannot have signed (a multipart field without a name)
        return False


def install_security_headers(app: Flask) -> None:
    # Served over TLS (PUBLIC_URL is https): browsers must never fall back to plain HTTP for a year.
    tls_only = str(app.config.get("PUBLIC_URL", "")).startswith("https://")
    every = ((("Strict-Transport-Security", "max-age=31536000"),) if tls_only else ()) + (
        ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"))
    pages = (("Content-Security-Policy",
              "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
              "media-src 'self' blob:; frame-ancestors 'none'; form-action 'self'"),
             ("Cache-Control", "no-store"))

    @app.after_request
    def headers(resp: Response) -> Response:
        """Each header unless the view set its own: one look at what is there (werkzeug's setdefault
        scans the headers once per call, on every webhook)."""
        present = {name.lower() for name, _ in resp.headers.items()}
        wanted = every + pages if resp.mimetype == "text/html" else every
        for name, value in wanted:
            if name.lower() not in present:
                resp.headers.add(name, value)
        return resp


def install_proxy_check(app: Flask) -> None:
    """With PROXY_HOPS set, every request must have come through the proxy (which adds
    X-Forwarded-For). One without it reached the app port directly, where anyone can also forge the
    header: warn (once per process) and count it, so the operator closes that port."""
    hops = int(app.config.get("PROXY_HOPS") or 0)
    if not hops:
        return
    warned: list[bool] = []

    @app.before_request
    def direct() -> None:
        if request.headers.get("X-Forwarded-For") is None:
            from hotline.runtime import stats
            from hotline.runtime.hotline import current
            stats.count("security.direct_request", current())
            if not warned:
                warned.append(True)
                log.warning("PROXY_HOPS=%d but a request reached the app port directly (no X-Forwarded-For): "
                            "anyone who can reach it can forge client addresses. Let only the proxy reach it.", hops)
