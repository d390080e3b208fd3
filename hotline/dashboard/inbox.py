"""Voice messages and call-back requests for caseworkers: claim, play, call back, record the outcome;
and shifts. Numbers are never shown in full; every listen and every call is in the audit log."""
from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from hotline.dashboard.auth import current_operator, requires
from hotline.dashboard.blueprint import operator_bp
from hotline.messaging import calls
from hotline.people import caseworkers, inbox
from hotline.runtime import audit
from hotline.runtime.hotline import current

RECORDING_LABELS = {"pending": "recording not yet received", "received": "recording", "failed": "recording failed at Twilio",
                    "absent": "no sound recorded", "": "no recording (call-back request)"}
OUTCOME_LABELS = {"reached": "reached", "no_answer": "no answer", "try_later": "try again later"}


def _me() -> str:
    return current_operator().name


@operator_bp.get("/inbox")
@requires("caseworker")
def inbox_page() -> ResponseReturnValue:
    hl = current()
    c = hl.content
    items = inbox.listing(hl)
    now = hl.now()
    names = {code: c.prompts[code]["language.name"] for code in c.settings.languages}
    team = caseworkers.load(hl.redis)
    mine = next((cw for cw in team if cw.name == _me()), None)
    return render_template("operator_inbox.html", items=items, now=now, names=names, team=team, mine=mine,
                           me=_me(), recording_labels=RECORDING_LABELS, outcome_labels=OUTCOME_LABELS,
                           topic=lambda t: _topic(c, t))


def _topic(c, topic: str) -> str:
    if topic and topic in c.nodes and topic != "main":
        return str(c.prompts["en"].get(f"label.{topic}", topic))
    return "-"


def _item_or_404(iid: str) -> inbox.Item:
    item = inbox.get(current(), iid)
    if item is None:
        abort(404, "This item no longer exists (closed and expired, or deleted by the caller).")
    return item


@operator_bp.post("/inbox/<iid>/claim")
@requires("caseworker")
def inbox_claim(iid: str) -> ResponseReturnValue:
    hl = current()
    result = inbox.claim(hl, iid, _me())
    if result == -1:
        abort(404, "This item no longer exists.")
    if result == 0:
        return render_template("operator_message.html", title="Already claimed",
                               message="Another caseworker claimed this item a moment ago."), 409
    if result == 1:
        audit.record(hl, actor=_me(), action="item.claim", item=iid)
    return redirect(url_for("operator.inbox_page") + f"#{iid}")


@operator_bp.get("/inbox/<iid>/audio")
@requires("caseworker")
def inbox_audio(iid: str) -> ResponseReturnValue:
    hl = current()
    item = _item_or_404(iid)
    if item.claimed_by != _me():  # even an admin: whoever listens has claimed it (yap #1375)
        abort(403, "Claim this item before you listen to it.")
    audio = inbox.recording(hl, iid)
    if audio is None:
        abort(404, "The recording has not been received (yet).")
    audit.record(hl, actor=_me(), action="voicemail.listen", item=iid)
    kind = "audio/wav" if audio[:4] == b"RIFF" else "audio/mpeg"  # Twilio's mp3, or the simulator's WAV
    return Response(audio, mimetype=kind, headers={"Cache-Control": "no-store"})


@operator_bp.post("/inbox/<iid>/call")
@requires("caseworker")
def inbox_call(iid: str) -> ResponseReturnValue:
    hl = current()
    item = _item_or_404(iid)
    if item.claimed_by != _me():
        abort(403, "Claim this item before you call back.")
    cw = caseworkers.get(hl.redis, request.form.get("caseworker", ""))
    if cw is None:
        abort(400, "Choose the phone that should ring first.")
    number = cw.phone(hl)
    if not number:
        abort(400, "That caseworker's number cannot be read (was the secret key changed?).")
    caller_gate = calls.permit(hl, inbox.phone(hl, iid) or "", "callback.check", caller=False)
    if not caller_gate.ok:
        abort(400, f"This caller cannot be called: {caller_gate.reason}.")
    result = calls.place(hl, number, "callback.bridge", f"/voice/person/bridge?i={iid}", caller=False,
                         then=f"on 1, a second leg to the caller {item.masked}, also from the hotline's number")
    audit.record(hl, actor=_me(), action="callback.place", item=iid, caseworker=cw.id,
                 result="placed" if result.ok else result.reason)
    if result.ok:
        inbox.update(hl, iid, last_dial="ringing caseworker")
    return redirect(url_for("operator.inbox_page") + f"#{iid}")


@operator_bp.post("/inbox/<iid>/outcome")
@requires("caseworker")
def inbox_outcome(iid: str) -> ResponseReturnValue:
    hl = current()
    item = _item_or_404(iid)
    outcome = request.form.get("outcome", "")
    if outcome not in inbox.OUTCOMES:
        abort(400, "Choose reached, no answer or try again later.")
    if item.claimed_by != _me():
        abort(403, "Claim this item first.")
    inbox.set_outcome(hl, iid, _me(), outcome)
    if outcome == "try_later":
        inbox.release(hl, iid)
    audit.record(hl, actor=_me(), action="callback.outcome", item=iid, outcome=outcome)
    return redirect(url_for("operator.inbox_page") + f"#{iid}")


@operator_bp.get("/shifts")
@requires("caseworker")
def shifts() -> ResponseReturnValue:
    hl = current()
    c = hl.content
    names = {code: c.prompts[code]["language.name"] for code in c.settings.languages}
    open_now = c.handoff.hours.open_at(hl.now())
    return render_template("operator_shifts.html", team=caseworkers.load(hl.redis), hl=hl, names=names,
                           me=_me(), role=current_operator().role, open_now=open_now,
                           strategy=c.handoff.strategy)


@operator_bp.post("/shifts/<cid>")
@requires("caseworker")
def shift_toggle(cid: str) -> ResponseReturnValue:
    hl = current()
    cw = caseworkers.get(hl.redis, cid)
    if cw is None:
        abort(404)
    if cw.name != _me() and current_operator().role != "admin":
        abort(403, "You can only change your own shift.")
    on = request.form.get("on") == "1"
    caseworkers.set_shift(hl.redis, cid, on)
    audit.record(hl, actor=_me(), action="shift.on" if on else "shift.off", caseworker=cid)
    return redirect(url_for("operator.shifts"))


@operator_bp.post("/caseworkers")
@requires("admin")
def caseworker_add() -> ResponseReturnValue:
    hl = current()
    langs = [l for l in request.form.getlist("languages") if l in hl.content.settings.languages]
    try:
        cw = caseworkers.add(hl, request.form.get("name", ""), request.form.get("phone", ""), langs)
    except ValueError as exc:
        abort(400, str(exc))
    audit.record(hl, actor=_me(), action="caseworker.add", caseworker=cw.id)
    return redirect(url_for("operator.shifts"))
