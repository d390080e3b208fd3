"""The floor: what every webhook of a signed Twilio hotline must do on this stack, and nothing more.

Issue 17 asks the per-request work to be "the signature check and one pipelined Redis write". This
app does exactly that with the same libraries as the hotline: werkzeug parses the form, twilio's
RequestValidator checks X-Twilio-Signature (403 if wrong), redis-py sends one pipeline (the call's
state with its TTL and a counter), and it answers the bare app's fixed TwiML. Under the same gunicorn,
its throughput beside the bare app's is the best ratio any hotline built this way can reach here.

    gunicorn --workers 2 --timeout 15 "bench.floor_app:create_app()"
    gunicorn --workers 2 --timeout 15 "bench.floor_app:create_app(write=False)"   # the signature alone

The second shows what the one Redis round trip costs: the difference between the two is that write.
"""
from __future__ import annotations

import hmac
import os

import redis
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

from .bare_app import TWIML


def create_app(write: bool = True) -> Flask:
    app = Flask(__name__)
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    public = os.environ["PUBLIC_URL"].rstrip("/")
    r = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)

    @app.post("/", defaults={"path": ""})
    @app.post("/<path:path>")
    def twiml(path: str) -> Response:
        query = request.query_string.decode("latin-1")
        url = public + request.path + (f"?{query}" if query else "")
        # One HMAC, as the hotline checks it (channels/webhooks._valid): RequestValidator.validate always
        # computes two (the URL with and without its port), which would make the floor dearer than the hotline.
        if not hmac.compare_digest(validator.compute_signature(url, request.form),
                                   request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        if not write:
            return Response(TWIML, mimetype="text/xml")
        pipe = r.pipeline(transaction=False)
        pipe.set(f"floor:call:{{{request.form.get('CallSid', '')}}}", f"ru {path}", ex=7200)
        pipe.hincrby("floor:stats", f"node.{path}", 1)
        pipe.execute()
        return Response(TWIML, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200

    return app
