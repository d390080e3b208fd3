"""Reaching a person by phone: key 0 -> caseworkers on shift (whisper, press 1), else a voice message
and/or a call-back request; the caseworker's call-back bridge; the free missed-call number.

Every step is a signed webhook. The call never shows anyone's private number: caseworkers are
rung with the hotline's number as caller ID, and a call-back rings the caseworker first, then the
caller, both from the hotline's number.
"""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from hotline.channels.call import Call, render
from hotline.channels.call import int_arg as _int
from hotline.channels.call import twiml_response as _twiml
from hotline.channels.call import voice_url as _url
from hotline.channels.webhooks import twilio_signed
from hotline.content.audio import Utterance
from hotline.messaging import callbacks, calls, recordings
from hotline.people import caseworkers, inbox
from hotline.rules.phones import normalise
from hotline.runtime import stats
from hotline.store import keys

log = logging.getLogger(__name__)
person_bp = Blueprint("voice_person", __name__, url_prefix="/voice")
TAKEN_SECONDS = 4 * 3600
TALKED_SECONDS = 15  # with Redis down: a completed Dial this long is taken as a conversation


def start(call: Call, topic: str = "") -> VoiceResponse:
    """Key 0: connect to a caseworker when the line is staffed, else say when it is and offer options."""
    stats.count("person.asked", call.hl)
    handoff = call.content.handoff
    if not handoff.hours.open_at(call.hl.now()):
        stats.count("person.closed", call.hl)
        return options(call, [call.u("person.closed"), call.u("person.hours")], topic)
    resp = VoiceResponse()
    call.speaker.add(resp, call.lang, [call.u("person.connecting")])
    dialed = dial(call, resp, topic, 0)
    if not dialed:
        stats.count("person.nobody_on_shift", call.hl)
        return options(call, [call.u("person.busy")], topic)
    return resp


def dial(call: Call, resp: VoiceResponse, topic: str, index: int) -> bool:
    """Add the <Dial> for try number `index`; False when there is nobody (left) to ring."""
    handoff = call.content.handoff
    try:
        team = caseworkers.on_shift(call.hl.redis, call.lang.code)
    except redis.RedisError:
        return False
    if handoff.strategy == "all_at_once":
        batch = team[:10] if index == 0 else []
    else:
        batch = team[index:index + 1] if index < handoff.max_tries else []
    numbers = [n for n in (c.phone(call.hl) for c in batch) if n]
    if not numbers:
        return False
    l = call.lang.code
    d = resp.dial(caller_id=calls.hotline_number(call.hl) or call.form.get("To") or None,
                  timeout=handoff.ring_seconds, answer_on_bridge=True, method="POST",
                  action=_url("person/dialed", l=l, t=topic, i=index + len(batch)))
    for number in numbers:
        d.number(number, url=_url("person/whisper", l=l, t=topic, p=call.sid), method="POST")
    stats.count("person.dialed", call.hl, len(numbers))
    return True


def options(call: Call, notices: list[Utterance], topic: str = "", silences: int = 0) -> VoiceResponse:
    l = call.lang.code
    return call.gather(_url("person/choose", l=l, t=topic), notices + [call.u("person.options")],
                       _url("person/choose", l=l, t=topic, s=silences + 1))


# ---- the caseworker's side of a call ------------------------------------------------------------

@person_bp.post("/person/whisper")
@twilio_signed
def whisper() -> Response:
    """Runs on the caseworker's phone after they answer, before the caller is joined."""
    call = Call()
    handoff = call.content.handoff
    topic = call.args.get("t", "")
    label = _topic_label(call, topic)
    text = handoff.whisper_text("call", language=handoff.language_name(call.args.get("l", "")), topic=label)
    return _twiml(_whisper(call, VoiceResponse(), text, _url("person/accept", p=call.args.get("p", "")), 8))


def _whisper(call: Call, resp: VoiceResponse, text: str, action: str, timeout: int) -> VoiceResponse:
    """What a caseworker hears before anyone is joined: `text`, then 1 to take it; else "missed"."""
    handoff = call.content.handoff
    wlang = call.content.lang(handoff.whisper_language)
    g = resp.gather(num_digits=1, timeout=timeout, method="POST", action_on_empty_result=False, action=action)
    call.speaker.add(g, wlang, [Utterance(text)])
    call.speaker.add(resp, wlang, [Utterance(handoff.whisper_text("missed"))])
    resp.hangup()
    return resp


@person_bp.post("/person/accept")
@twilio_signed
def accept() -> Response:
    call = Call()
    resp = VoiceResponse()
    parent = call.args.get("p", "")[:64]
    if call.form.get("Digits") != "1" or not parent:
        resp.hangup()
        return _twiml(resp)
    try:
        won = call.hl.redis.set(keys.taken(parent), call.form.get("CallSid", "")[:64] or "1", nx=True,
                                ex=TAKEN_SECONDS)
    except redis.RedisError:
        won = True  # no store: Twilio itself connects only one answered leg
    if not won:
        resp.hangup()
        return _twiml(resp)
    stats.count("person.taken", call.hl)
    return _twiml(resp)  # an empty document: Twilio joins the two calls


@person_bp.post("/person/dialed")
@twilio_signed
def dialed() -> Response:
    """The Dial ended: a conversation happened, or try the next caseworker, or offer the options."""
    call = Call()
    status = call.form.get("DialCallStatus", "")
    topic = call.args.get("t", "")
    try:
        taken = bool(call.hl.redis.get(keys.taken(call.sid)))
    except redis.RedisError:
        taken = status == "completed" and _int(call.form.get("DialCallDuration")) >= TALKED_SECONDS
    if taken and status == "completed":
        resp = VoiceResponse()
        call.speaker.add(resp, call.lang, [call.u("person.goodbye")])
        resp.hangup()
        return _twiml(resp)
    stats.count("person.no_answer", call.hl)
    resp = VoiceResponse()
    if dial(call, resp, topic, _int(call.args.get("i"))):
        return _twiml(resp)
    return _twiml(options(call, [call.u("person.busy")], topic))


# ---- the caller's options: voice message, call-back ---------------------------------------------

@person_bp.post("/person/choose")
@twilio_signed
def choose() -> Response:
    return _twiml(on_choose(Call()))


def on_choose(call: Call) -> VoiceResponse | str:
    """A key (or silence) on the options when nobody can take the call: 1 a voice message, 2 a call-back."""
    topic = call.args.get("t", "")
    digits = call.form.get("Digits", "")
    keys_ = call.content.settings.keys
    if not digits:
        silences = _int(call.args.get("s"))
        if silences > call.content.settings.max_silences:
            return _goodbye(call)
        return options(call, [call.u("error.silence")], topic, silences)
    if digits == "1":
        return record(call, topic)
    if digits == "2":
        return confirm_callback(call, topic, "")
    if digits == keys_.main:
        return render(call, "main")
    if digits == keys_.repeat:
        return options(call, [], topic)
    return options(call, [call.u("error.wrong_key")], topic)


def record(call: Call, topic: str) -> VoiceResponse:
    handoff = call.content.handoff
    number = normalise(call.caller) or ""
    try:
        iid = inbox.create(call.hl, "voicemail", number, call.lang.code, topic, call.sid, recording="pending")
    except redis.RedisError:
        return options(call, [call.u("error.try_later")], topic)
    resp = VoiceResponse()
    call.speaker.add(resp, call.lang, [call.u("person.record")])
    resp.record(max_length=handoff.max_record_seconds, finish_on_key=handoff.finish_key, play_beep=True,
                timeout=10, trim="trim-silence", method="POST",
                action=_url("person/recorded", l=call.lang.code, t=topic, i=iid),
                recording_status_callback=_url("person/recording", i=iid),
                recording_status_callback_method="POST",
                recording_status_callback_event="completed absent")
    return resp


@person_bp.post("/person/recorded")
@twilio_signed
def recorded() -> Response:
    """<Record> ended (the finish key, silence or the time limit)."""
    call = Call()
    iid, topic = call.args.get("i", ""), call.args.get("t", "")
    if call.form.get("Digits") == "hangup":
        return _twiml(VoiceResponse())
    if _int(call.form.get("RecordingDuration")) < 1 and not call.form.get("RecordingUrl"):
        return _twiml(options(call, [call.u("person.no_message")], topic))
    stats.count("person.voicemail", call.hl)
    return _twiml(confirm_callback(call, topic, iid, [call.u("person.recorded")]))


def confirm_callback(call: Call, topic: str, iid: str, notices: list[Utterance] | None = None,
                     silences: int = 0) -> VoiceResponse:
    if not normalise(call.caller):
        return render(call, "main", notices=(notices or []) + [call.u("person.no_number")])
    l = call.lang.code
    return call.gather(_url("person/callback", l=l, t=topic, i=iid), (notices or []) + [call.u("person.callback_ask")],
                       _url("person/callback", l=l, t=topic, i=iid, s=silences + 1))


@person_bp.post("/person/callback")
@twilio_signed
def callback() -> Response:
    return _twiml(on_callback(Call()))


def on_callback(call: Call) -> VoiceResponse | str:
    """1 (yes) or 2 (no) to "shall we call you back?"; silence asks again."""
    iid, topic = call.args.get("i", ""), call.args.get("t", "")
    digits = call.form.get("Digits", "")
    if not digits:
        silences = _int(call.args.get("s"))
        if silences > call.content.settings.max_silences:
            return _goodbye(call)
        return confirm_callback(call, topic, iid, [call.u("error.silence")], silences)
    if digits == "2":
        return render(call, "main", notices=[call.u("person.callback_declined")])
    if digits != "1":
        return confirm_callback(call, topic, iid, [call.u("error.wrong_key")])
    number = normalise(call.caller) or ""
    try:
        if not (iid and inbox.update(call.hl, iid, callback="1")):  # a request without a message
            inbox.create(call.hl, "callback", number, call.lang.code, topic, call.sid, callback=True)
    except redis.RedisError:
        return render(call, "main", notices=[call.u("error.try_later")])
    stats.count("person.callback_requested", call.hl)
    return render(call, "main", notices=[call.u("person.callback_confirmed")])


def _goodbye(call: Call) -> VoiceResponse:
    resp = VoiceResponse()
    call.speaker.add(resp, call.lang, [call.u("goodbye.silence")])
    resp.hangup()
    return resp


def _topic_label(call: Call, topic: str) -> str:
    handoff = call.content.handoff
    from hotline.content.render import text
    wl = handoff.whisper_language
    if topic and topic in call.content.nodes and topic != "main":
        try:
            return text(call.content, wl, f"label.{topic}")
        except KeyError:
            pass
    return handoff.whisper_text("no_topic")


# ---- Twilio's recording callback: fetch, encrypt, delete at Twilio -------------------------------

@person_bp.post("/person/recording")
@twilio_signed
def recording_status() -> Response:
    hl = Call().hl
    iid = request.args.get("i", "")[:40]
    sid = request.form.get("RecordingSid", "")[:64]
    status = request.form.get("RecordingStatus", "")
    url = request.form.get("RecordingUrl", "")
    if status != "completed" or not recordings.acceptable(hl, url):
        inbox.update(hl, iid, recording="absent" if status == "absent" else "failed")
        if sid:
            recordings.delete_at_twilio(hl, sid)
        return Response("", status=204)
    outcome = recordings.take(hl, iid, sid, url, _int(request.form.get("RecordingDuration")))
    stats.count(f"person.recording.{outcome}", hl)
    return Response("", status=204)


# ---- a caseworker's call-back: their phone first, then the caller, both from the hotline's number --

@person_bp.post("/person/bridge")
@twilio_signed
def bridge() -> Response:
    """The caseworker answered the hotline's call: say what it is, join the caller on 1."""
    call = Call()
    handoff = call.content.handoff
    iid = call.args.get("i", "")[:40]
    item = inbox.get(call.hl, iid)
    resp = VoiceResponse()
    if item is None:
        resp.hangup()
        return _twiml(resp)
    kind = handoff.whisper_text("voicemail" if item.kind == "voicemail" else "request")
    text = handoff.whisper_text("callback", language=handoff.language_name(item.lang), kind=kind)
    return _twiml(_whisper(call, resp, text, _url("person/bridge-go", i=iid), 10))


@person_bp.post("/person/bridge-go")
@twilio_signed
def bridge_go() -> Response:
    call = Call()
    iid = call.args.get("i", "")[:40]
    resp = VoiceResponse()
    number = inbox.phone(call.hl, iid) if call.form.get("Digits") == "1" else None
    if not number:
        resp.hangup()
        return _twiml(resp)
    gate = calls.permit(call.hl, number, "callback.bridge")
    if not gate.ok:
        inbox.update(call.hl, iid, last_dial=f"refused:{gate.reason}")
        resp.hangup()
        return _twiml(resp)
    d = resp.dial(caller_id=calls.hotline_number(call.hl) or call.form.get("From") or None,
                  timeout=30, method="POST", action=_url("person/bridged", i=iid))
    d.number(number)
    return _twiml(resp)


@person_bp.post("/person/bridged")
@twilio_signed
def bridged() -> Response:
    hl = Call().hl
    iid = request.args.get("i", "")[:40]
    status = request.form.get("DialCallStatus", "")[:20]
    item = inbox.get(hl, iid)
    if item:
        inbox.update(hl, iid, last_dial=status, attempts=item.attempts + 1)
    resp = VoiceResponse()
    resp.hangup()
    return _twiml(resp)


@person_bp.post("/person/call-status")
@twilio_signed
def call_status() -> Response:
    stats.count(f"call.status.{request.form.get('CallStatus', 'unknown')[:20]}", Call().hl)
    return Response("", status=204)


# ---- the free "call me back" number ----------------------------------------------------------------

@person_bp.post("/missed")
@twilio_signed
def missed() -> Response:
    """Never answered (<Reject> costs the caller nothing); the worker calls back once that day."""
    hl = Call().hl
    resp = VoiceResponse()
    resp.reject(reason="busy")
    caller = request.form.get("From", "")[:32]
    try:
        # A subscriber's language for the call back: only the real phone hears it (nothing else is
        # remembered about a caller, issue 14, S3).
        lang = hl.redis.hget(keys.subscriber(hl.vault.hash(caller)), "lang") if caller else None
        outcome = callbacks.enqueue(hl, caller, lang or "") if caller else "invalid_number"
    except redis.RedisError:
        outcome = "store_unavailable"
    stats.count(f"missed.{outcome}", hl)
    return _twiml(resp)
