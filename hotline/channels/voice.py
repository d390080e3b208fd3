"""The voice channel: every step of a call is a signed webhook answered with TwiML.

Navigation state travels in the Gather/Redirect URLs (node, language, part, silences), so any web
process can answer any step; Redis holds the call's language (for this call only: nothing about a
number is remembered between calls, issue 14).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl, urlsplit

import redis
from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from hotline.channels import voice_person, voice_proof
from hotline.channels.call import (
    Call,
    call_state,
    flush_writes,
    goodbye,
    int_arg,
    language_menu,
    render,
    send_writes,
    twiml_response,
    voice_url,
    writes,
)
from hotline.channels.voice_proof import PROOF_ACTIONS
from hotline.channels.voice_reminders import reminder_mine, reminder_step
from hotline.channels.webhooks import twilio_signed
from hotline.content import render as P
from hotline.content.audio import Utterance
from hotline.content.model import KEYPAD, Node
from hotline.content.paths import reminder_options
from hotline.content.script import first_words
from hotline.messaging import sender, whatsapp
from hotline.rules.phones import in_regions, normalise
from hotline.runtime import stats
from hotline.runtime.hotline import current
from hotline.store import keys as store

log = logging.getLogger(__name__)
voice_bp = Blueprint("voice", __name__, url_prefix="/voice")
voice_bp.after_request(flush_writes)  # each webhook's writes: one pipeline, just before its answer


# ---- webhooks ---------------------------------------------------------------------------------

@voice_bp.post("")
@twilio_signed
def incoming() -> Response:
    return twiml_response(on_incoming(Call()))


@voice_bp.post("/lang")
@twilio_signed
def choose_language() -> Response:
    return twiml_response(on_language(Call()))


@voice_bp.post("/node")
@twilio_signed
def node_view() -> Response:
    return twiml_response(on_node(Call()))


@voice_bp.post("/key")
@twilio_signed
def key_view() -> Response:
    return twiml_response(on_key(Call()))


# ---- the steps of a call: what each webhook answers, also for the dashboard's phone ------------

def on_incoming(call: Call) -> str:
    """A call comes in: every caller hears the same first answer, the language menu.

    Nothing about the number is looked up: a remembered language that skipped this menu told anyone
    who forged a caller ID whether that number had called before (issue 14, S3).
    """
    call.count("call.started")
    spoken = call.args.get("l", "") if call.args.get("cb") else ""
    if spoken in call.content.settings.languages and call.content.handoff:
        # Our own call back to a number that called the missed-call line: Twilio signs this URL with
        # its language, and only the real phone hears it, so the caller ID here decides nothing.
        call.lang = call.content.lang(spoken)
        call.count(f"call.lang.{spoken}")
        return render(call, "main", notices=[call.u("person.calling_back")])
    return language_menu(call)


def on_language(call: Call) -> str:
    """A key (or silence) on the language menu."""
    digits = call.form.get("Digits", "")
    if not digits:
        silences = int_arg(call.args.get("s"))
        if silences > call.content.settings.max_silences:
            return goodbye(call)
        return language_menu(call, silences)
    chosen = next((code for code, lang in call.content.settings.languages.items() if lang.key == digits), None)
    if chosen is None:
        return language_menu(call)
    call.lang = call.content.lang(chosen)
    call.count(f"call.lang.{chosen}")
    return render(call, "main", notices=first_words(call.content, call.lang.code))


def on_node(call: Call) -> str:
    """Redirect target: the same node again, after silence (with a count) or a notice."""
    node_id = call.args.get("n", "main")
    if node_id not in call.content.nodes:
        node_id = "main"  # content changed under a live call: start from the top, never fail
    silences = int_arg(call.args.get("s"))
    if silences > call.content.settings.max_silences:
        return goodbye(call)
    notices = [call.u("error.silence")] if silences else []
    if call.content.nodes[node_id].type == "reminders" and call.args.get("st"):
        return reminder_step(call, call.args.get("st", ""), silences, notices)
    return render(call, node_id, int_arg(call.args.get("p")), notices, silences)


def on_key(call: Call) -> str | VoiceResponse:
    """A key press on a node."""
    node_id = call.args.get("n", "main")
    if node_id not in call.content.nodes:
        return render(call, "main")
    node = call.content.nodes[node_id]
    part = int_arg(call.args.get("p"))
    digits = call.form.get("Digits", "")
    if not set(digits) <= KEYPAD:  # '²', '٣', '５': isdigit() says yes, a keypad never sends them
        digits = "?"  # a key no step uses: each step answers it as a wrong key, never with an exception
    if node.type == "reminders" and call.args.get("st"):
        return reminder_step(call, call.args["st"], 0, [], digits)
    return press(call, node, part, digits)


# The steps a caller's keys and silences lead to, by webhook path (Gather and Redirect URLs).
STEPS: dict[str, Callable[[Call], str | VoiceResponse]] = {
    "/voice": on_incoming, "/voice/lang": on_language, "/voice/node": on_node, "/voice/key": on_key,
    "/voice/person/choose": voice_person.on_choose, "/voice/person/callback": voice_person.on_callback,
}


def answer(url: str, form: Mapping[str, str]) -> str:
    """One step of a call answered without HTTP (the dashboard's phone): the step the webhook at `url`
    runs, with its writes and, if it fails, the same apology. KeyError: not a step of a caller's call."""
    parts = urlsplit(url)
    step = STEPS[parts.path]
    call = Call(args=MultiDict(parse_qsl(parts.query)), form=form)
    try:
        return str(step(call))
    except Exception as exc:  # noqa: BLE001 - as the webhook would: the caller hears an apology
        return str(apology(exc, call.args, call.form))
    finally:
        send_writes()


@voice_bp.post("/status")
@twilio_signed
def status() -> Response:
    """Call status callback: counts where callers hang up (node only, no caller trail)."""
    hl = current()
    sid = request.form.get("CallSid", "")[:64]
    if request.form.get("CallStatus") == "completed" and sid:
        try:  # read and delete in one command
            _, node = call_state(hl.redis.getdel(store.call(sid)))
        except redis.RedisError:
            node = None
        if node:
            stats.count(f"hangup.{node}", hl)
    return Response("", status=204)


def press(call: Call, node: Node, part: int, digits: str) -> str:
    """What a key means on this node: universal keys first, then the node's own options."""
    keys = call.content.settings.keys
    if keys.person and digits == keys.person and call.content.handoff is not None:
        return voice_person.start(call, node.id)  # talk to a person: the same key on every menu
    if digits == keys.repeat:
        return render(call, node.id, part)
    if digits == keys.main:
        return render(call, "main")
    if digits == keys.back:
        if node.id == "main":
            return language_menu(call)
        return render(call, node.parent or "main")
    if digits == keys.more and node.type == "content":
        if part + 1 < len(call.content.prompts[call.lang.code][node.id]):
            return render(call, node.id, part + 1)
        return render(call, node.id, part, [call.u("error.no_more")])
    if digits == keys.sms and node.type in ("content", "office"):
        return render(call, node.id, part, [send_node_sms(call, node)])
    if node.type == "menu" and digits in node.options:
        return render(call, node.options[digits])
    if node.type == "reminders":
        action = next((a for key, _, a in reminder_options(call.content) if key == digits), None)
        if action == "mine":
            return reminder_mine(call, 0, [])
        if action in PROOF_ACTIONS:  # each needs proof that the caller holds the phone (voice_proof.py)
            return voice_proof.start(call, action)
        if action:
            return reminder_step(call, "date", 0, [], rule=action)
    return render(call, node.id, part, [call.u("error.wrong_key")])


def send_node_sms(call: Call, node: Node) -> Utterance:
    """Text this node's content to the number that called, never to any other."""
    c, lang = call.content, call.lang.code
    if node.type == "office":
        body = P.text(c, lang, "sms.office", **P.office_values(c, lang, node.office))
    else:
        body = P.text(c, lang, node.sms)
    if not in_regions(normalise(call.caller) or "", c.settings.allowed_regions):
        return out_of_region(call, body, f"voice.{node.id}")
    try:  # what follows the request (its status record, counters) goes with this webhook's one write
        result = sender.send(call.hl, call.caller, body, purpose=f"voice.{node.id}", writes=writes())
    except redis.RedisError:  # Redis went away mid-send (the outbox, the cap's refund)
        return call.u("sms.not_sent")
    # Whatever this number did before (got it, said STOP, used up today's cap) the caller hears the same
    # words: a caller ID can be forged, and "you asked us not to send SMS" told a stranger about the number.
    if result.ok or result.reason in PERSONAL_REASONS:
        return call.u("sms.requested")
    return call.u("sms.not_sent")


# Refusals that depend on what a number did before: never told apart by voice.
PERSONAL_REASONS = frozenset({"opted_out", "daily_cap", "twilio_21610"})


def out_of_region(call: Call, body: str, purpose: str) -> Utterance:
    """A caller whose number we never text by SMS (Russia's +7 9.., a foreign SIM): say so plainly.

    Where WhatsApp is on, it is sent there if the person wrote to us on WhatsApp within the last
    24 hours (free text may go only then), and they hear one answer either way, so the call never
    tells whether this number has written to us.
    """
    settings = call.content.settings
    number = normalise(call.caller)
    stats.count("voice.sms_out_of_region", call.hl)
    if not (settings.whatsapp.enabled and number and in_regions(number, settings.whatsapp.allowed_regions)):
        return call.u("region.sms_only")
    try:
        if whatsapp.window_open(call.hl, call.hl.vault.hash(number)):
            sender.send(call.hl, number, body, purpose=purpose, via="whatsapp")
    except redis.RedisError:
        pass  # the same answer: it says what to do if nothing comes
    return call.u("region.whatsapp")


@voice_bp.errorhandler(Exception)
def voice_error(exc: Exception) -> Response:
    """Never leave a caller in silence: apologise and go back to the main menu (or hang up politely)."""
    from werkzeug.exceptions import HTTPException
    if isinstance(exc, HTTPException):
        return exc  # type: ignore[return-value]
    return twiml_response(apology(exc, request.args, request.form))


def apology(exc: Exception, args: Mapping[str, str], form: Mapping[str, str]) -> VoiceResponse:
    """A step failed: say sorry, then the main menu once more (`e` counts the tries), else hang up."""
    log.exception("voice webhook failed: %s", type(exc).__name__)
    stats.count("voice.error", current())
    resp = VoiceResponse()
    try:
        call = Call(args, form)
        call.speaker.add(resp, call.lang, [call.u("error.try_later")])
        if int_arg(args.get("e")) < 1:
            resp.redirect(voice_url("node", n="main", l=call.lang.code, e=1), method="POST")
        else:
            resp.hangup()
    except Exception:  # noqa: BLE001 - the apology itself failed: end the call cleanly
        resp.hangup()
    return resp
