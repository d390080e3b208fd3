"""Twilio as the hotline sees it: signed form webhooks, TwiML answers parsed as XML."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import redis
from twilio.request_validator import RequestValidator

from support.app import CALLER, PUBLIC, TOKEN


class Twilio:
    """Plays Twilio: posts form webhooks signed exactly as Twilio signs them."""

    def __init__(self, app, token: str = TOKEN, public: str = PUBLIC) -> None:
        self.client = app.test_client()
        self.token, self.public = token, public

    def sign(self, path: str, form: dict) -> str:
        return RequestValidator(self.token).compute_signature(self.public + path, form)

    def post(self, path: str, form: dict | None = None, signature: str | None = None):
        form = {k: v for k, v in (form or {}).items() if v is not None}
        sig = self.sign(path, form) if signature is None else signature
        return self.client.post(path, data=form, headers={"X-Twilio-Signature": sig})

    def twiml(self, path: str, form: dict | None = None) -> ET.Element:
        resp = self.post(path, form)
        assert resp.status_code == 200, (path, resp.status_code, resp.data[:300])
        assert resp.mimetype == "text/xml"
        root = ET.fromstring(resp.data)
        assert root.tag == "Response"
        return root

    def sms(self, body: str, sender: str = CALLER) -> list[str]:
        """Text the hotline; return the inline replies."""
        root = self.twiml("/sms", {"From": sender, "To": "+77000000000", "Body": body, "MessageSid": "SM" + "0" * 32})
        return [m.text or "" for m in root.iter("Message")]


class Call:
    """A phone call driven through the webhooks: hears what the TwiML says, presses keys."""

    def __init__(self, twilio: Twilio, r: redis.Redis, caller: str = CALLER, sid: str = "CA" + "1" * 32) -> None:
        self.twilio, self.r, self.caller, self.sid = twilio, r, caller, sid
        self.root: ET.Element | None = None
        self.heard: list[str] = []
        self.history: list[ET.Element] = []

    def form(self, **extra: str) -> dict:
        return {"CallSid": self.sid, "From": self.caller, "To": "+77000000000", "AccountSid": "AC" + "0" * 32,
                "CallStatus": "in-progress", **extra}

    def hear(self, root: ET.Element) -> list[str]:
        """Take in one TwiML answer: every <Say> (which must name its language) and every <Play>."""
        self.root = root
        self.history.append(root)
        said = []
        for el in root.iter():
            if el.tag == "Say":
                said.append("".join(el.itertext()).strip())
                assert el.get("language"), "every <Say> names its language"
            elif el.tag == "Play":
                said.append(self.play_text(el.text or ""))
        self.heard = said
        return said

    def open(self, path: str, **extra: str) -> list[str]:
        """Post to one of the app's voice URLs as Twilio would mid-call (a key press is Digits=...)."""
        return self.hear(self.twilio.twiml(path, self.form(**extra)))

    def play_text(self, url: str) -> str:
        """Fetch a <Play> URL (it must serve audio) and recover the text it was made from."""
        resp = self.twilio.client.get(url)
        assert resp.status_code == 200, url
        assert resp.mimetype in ("audio/wav", "audio/mpeg"), resp.mimetype
        synth = self.twilio.client.application.extensions["hotline"].synth
        return synth.text_of(url.rsplit("/", 1)[-1]) or f"<recording {url}>"

    def start(self) -> list[str]:
        return self.open("/voice")

    def gather(self) -> ET.Element:
        g = self.root.find("Gather")
        assert g is not None, "expected a menu waiting for keys"
        return g

    def press(self, digits: str) -> list[str]:
        return self.open(self.gather().get("action"), Digits=digits)

    def silence(self) -> list[str]:
        redirect = self.root.find("Redirect")
        assert redirect is not None, "after a Gather there must be a Redirect for silence"
        return self.open(redirect.text)

    @property
    def text(self) -> str:
        return " ".join(self.heard)

    @property
    def hung_up(self) -> bool:
        return self.root is not None and self.root.find("Hangup") is not None
