"""A phone in the browser: the voice channel's own steps, from a test number that is never texted."""
from __future__ import annotations

import logging
import secrets
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from urllib.parse import parse_qs, urlsplit

from flask import abort, jsonify, render_template, request, session
from flask.typing import ResponseReturnValue

from hotline.channels import voice
from hotline.content.model import KEYPAD, Content
from hotline.content.paths import mine_options, reminder_options
from hotline.dashboard.blueprint import operator_bp
from hotline.runtime.hotline import current

log = logging.getLogger(__name__)


TEST_CALLER = "+77000000001"    # the number the browser phone calls from


class PhoneError(Exception):
    """The voice webhook did not answer with TwiML."""


@dataclass
class Turn:
    """What one webhook answer means for the person on the phone."""

    said: list[dict[str, str | None]]
    gather: str | None = None
    digits: int = 1
    redirect: str | None = None
    hung_up: bool = False


def local_path(url: str) -> str:
    """A TwiML URL as a path of this app; only the voice webhooks may be followed."""
    public = str(current().config.get("PUBLIC_URL", "")).rstrip("/")
    path = url.removeprefix(public) if public else url
    if not path.startswith("/voice"):
        raise PhoneError(f"the call went to {url}, which is not a voice webhook")
    return path


def take_step(path: str, sid: str, digits: str | None) -> ET.Element:
    """The step the voice webhook at `path` runs (voice.answer), as Twilio would post it from the test caller."""
    form = {"CallSid": sid, "From": TEST_CALLER, "CallStatus": "in-progress", "Direction": "inbound"}
    if digits is not None:
        form["Digits"] = digits
    try:
        return ET.fromstring(voice.answer(path, form))
    except KeyError:
        raise PhoneError(f"{path.split('?')[0]} is not a step the phone can follow") from None


def play_url(url: str) -> str:
    """The same sound from this app's /audio routes, so the browser plays it from the same origin."""
    base = str(current().config.get("AUDIO_BASE_URL", "")).rstrip("/")
    return "/audio" + url.removeprefix(base) if base and url.startswith(base) else url


def play_text(url: str) -> str:
    """What a <Play> says: synthesised speech left its text in Redis; a recording is named by its file."""
    name = url.rsplit("/", 1)[-1]
    if "/tts/" not in url:
        return f"(recording {name})"
    return current().synth.text_of(name) or "(synthesised speech made on another server)"


def read_turn(root: ET.Element) -> Turn:
    """The words (Say text, or the text a synthesised Play was made from), the waiting Gather, a hang-up."""
    turn = Turn(said=[])
    for el in root.iter():
        if el.tag == "Say":
            turn.said.append({"text": "".join(el.itertext()).strip(), "audio": None})
        elif el.tag == "Play":
            url = (el.text or "").strip()
            turn.said.append({"text": play_text(url), "audio": play_url(url)})
        elif el.tag == "Gather":
            turn.gather, turn.digits = el.get("action"), int(el.get("numDigits") or 1)
        elif el.tag == "Redirect":
            turn.redirect = (el.text or "").strip()
        elif el.tag == "Hangup":
            turn.hung_up = True
    return turn


def would_reach_out(c: Content, action: str, digits: str) -> bool:
    """Would this press text the test number or sign it up for reminders? Those never leave the dashboard.
    ("Already filed" and "delete" text a code to the number first.)"""
    query = parse_qs(urlsplit(action).query)
    node = c.nodes.get(query.get("n", [""])[0])
    if node is None:
        return False
    if node.type in ("content", "office") and digits == c.settings.keys.sms:
        return True
    if node.type == "reminders" and _menu_action(c, query.get("st", [""])[0], digits) in ("filed", "delete"):
        return True
    return node.type == "reminders" and query.get("st") == ["confirm"] and digits == "1"


def _menu_action(c: Content, stage: str, digits: str) -> str | None:
    """What a key does on the reminders menu ('' stage) or on "your reminders and your data" (mine)."""
    options = mine_options(c) if stage == "mine" else reminder_options(c) if not stage else []
    return next((action for key, _, action in options if key == digits), None)


@operator_bp.get("/phone")
def phone() -> ResponseReturnValue:
    return render_template("operator_phone.html", keys=list("123456789*0#"))


@operator_bp.post("/phone/step")
def phone_step() -> ResponseReturnValue:
    """One step of the browser's call: new call, key presses, or silence. The server keeps the call's URLs."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "send a JSON object")
    state = dict(session.get("phone") or {})
    what = data.get("do")
    digits: str | None = None
    if what == "new":
        state, path = {"sid": "CA" + secrets.token_hex(16)}, "/voice"
    elif what == "press":
        digits = str(data.get("keys", ""))
        if not digits or len(digits) > 20 or not set(digits) <= KEYPAD:
            abort(400, "keys must be keypad keys")
        if not state.get("gather"):
            return jsonify(note="Nobody is waiting for keys: start a new call.")
        if would_reach_out(current().content, state["gather"], digits):
            return jsonify(note="On a real call this key sends an SMS or signs up for reminders. "
                                "The dashboard phone never does, so nobody is texted.")
        path = state["gather"]
    elif what == "silence":
        if not state.get("redirect"):
            return jsonify(note="The call has ended: start a new call.")
        path = state["redirect"]
    else:
        abort(400, "do must be new, press or silence")
    try:
        turn = read_turn(take_step(local_path(path), state["sid"], digits))
    except (PhoneError, ET.ParseError) as exc:
        return jsonify(note=f"The hotline did not answer properly: {exc}"), 502
    session["phone"] = {"sid": state["sid"], "gather": turn.gather, "redirect": turn.redirect}
    return jsonify(asdict(turn))
