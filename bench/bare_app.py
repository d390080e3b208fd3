"""The ceiling: a bare Flask app under the same gunicorn, answering every POST with a fixed TwiML
string about as long as a real menu (no signature check, no Redis, no content).

    gunicorn --workers 2 --timeout 15 "bench.bare_app:create_app()"
"""
from __future__ import annotations

from flask import Flask, Response

# A main menu as the hotline answers it (same elements, similar size), fixed.
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice/key?n=main&amp;l=en&amp;p=0" '
    'actionOnEmptyResult="false" finishOnKey="" method="POST" numDigits="1" timeout="7">'
    '<Say language="en-US" voice="Polly.Joanna">Main menu. Where and how to apply: press 1. Deadlines: press 2. '
    'Fingerprints, certificate, interview and decision: press 3. Refusal and appeal: press 4. '
    'Your rights and duties: press 5. Children: press 6. Reminders of your deadlines by SMS: press 7.</Say>'
    '<Say language="en-US" voice="Polly.Joanna">Repeat: 9. Back: star. Main menu: 0.</Say></Gather>'
    '<Redirect method="POST">/voice/node?n=main&amp;l=en&amp;p=0&amp;s=1</Redirect></Response>'
).encode()


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/", defaults={"path": ""})
    @app.post("/<path:path>")
    def twiml(path: str) -> Response:
        return Response(TWIML, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200

    return app
