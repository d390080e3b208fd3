"""Nothing destructive on caller ID alone: by voice, "already filed" and "delete my data" first text a
code to the number and need it on the keypad; a cancellation is undone with the code of our SMS.

Caller ID can be forged. Only someone holding the phone reads the SMS, and entering a code needs no
credit and no two-way SMS (Kazakh networks do not carry replies to our sender). Every answer here is
the same whoever calls: "we sent a code" is said even when nothing could be sent (a number that
said STOP), and a wrong code and a code with nothing to undo sound alike, so no caller learns
anything about a number they do not hold.

voice.py sends the reminders menu's keys for these here (start); voice_reminders.py sends the
steps' key presses and silences here (STAGES).
"""
from __future__ import annotations

import logging

import redis

from hotline.channels.call import Call, render
from hotline.channels.call import int_arg as _int
from hotline.channels.call import voice_url as _url
from hotline.content.audio import Utterance
from hotline.messaging import sender
from hotline.people import grace, verify
from hotline.people.optout import forget
from hotline.reminders import schedule as reminders

log = logging.getLogger(__name__)
ACTIONS = ("filed", "delete")  # need the code we text now
PROOF_ACTIONS = ("filed", "delete", "undo")  # the reminders-menu keys handled here
CODE_TIMEOUT = 20  # seconds to type six digits read from an SMS
MAX_UNDO_TRIES = 3


def keypad_code(digits: str | None) -> str | None:
    """Six ASCII digits, or None (anything else, e.g. '²' or '١', is simply a wrong code)."""
    return digits if digits and len(digits) == grace.CODE_DIGITS and digits.isascii() and digits.isdigit() else None


def _ask(call: Call, stage: str, notices: list[Utterance], silences: int = 0, **args: object) -> str:
    l = call.lang.code
    return call.gather(_url("key", n="reminders", st=stage, l=l, **args), notices,
                       _url("node", n="reminders", st=stage, l=l, s=silences + 1, **args),
                       digits=grace.CODE_DIGITS, timeout=CODE_TIMEOUT)


def start(call: Call, action: str) -> str:
    """filed/delete: text a code to the calling number and ask for it (the same words whether or not
    it could go); undo: ask for the code of our SMS."""
    if action == "undo":
        return _ask(call, "undo", [call.u("undo.enter")])
    h = call.hl.vault.hash(call.caller)
    try:
        code = verify.issue(call.hl, h, action)
        sender.send(call.hl, call.caller, call.t("sms.code", code=code), purpose="code.voice")
    except redis.RedisError:
        return render(call, "reminders", notices=[call.u("error.try_later")])
    call.count(f"verify.asked.{action}")
    return _ask(call, "verify", [call.u("verify.sent")], a=action)


def verify_step(call: Call, silences: int, notices: list[Utterance], digits: str | None) -> str:
    action = call.args.get("a", "")
    if action not in ACTIONS:
        return render(call, "reminders")
    keys = call.content.settings.keys
    if digits is None:  # silence: say it again, then back to the menu
        if silences > call.content.settings.max_silences:
            return render(call, "reminders")
        return _ask(call, "verify", notices + [call.u("verify.sent")], silences, a=action)
    if digits in (keys.main, keys.back):
        return render(call, "main" if digits == keys.main else "reminders")
    h = call.hl.vault.hash(call.caller)
    try:
        verdict = verify.check(call.hl, h, action, keypad_code(digits) or "-")
        if verdict == "wrong":
            return _ask(call, "verify", [call.u("verify.wrong")], a=action)
        if verdict == "gone":
            return render(call, "reminders", notices=[call.u("verify.gone")])
        return _do(call, action, h)
    except redis.RedisError:
        return render(call, "reminders", notices=[call.u("error.try_later")])


def _do(call: Call, action: str, h: str) -> str:
    """The proven action, and the one SMS that says how to undo it."""
    hl = call.hl
    if action == "delete":
        suspended = forget(hl, h, "delete", call.caller)
        call.count("person.deleted")
        text, said = call.t("sms.deleted", code=suspended.code), "reminders.deleted"
    else:
        suspended = reminders.mark_filed(hl, call.caller)
        text, said = call.t("sms.filed", code=suspended.code), "reminders.filed_done"
    sender.send(hl, call.caller, text, purpose=f"notice.{action}")
    return render(call, "main", notices=[call.u(said)])


def undo_step(call: Call, silences: int, notices: list[Utterance], digits: str | None) -> str:
    keys = call.content.settings.keys
    tries = _int(call.args.get("t"))
    if digits is None:
        if silences > call.content.settings.max_silences:
            return render(call, "reminders")
        return _ask(call, "undo", notices + [call.u("undo.enter")], silences, t=tries or None)
    if digits in (keys.main, keys.back):
        return render(call, "main" if digits == keys.main else "reminders")
    try:
        verdict = grace.restore(call.hl, call.hl.vault.hash(call.caller), keypad_code(digits) or "-")
    except redis.RedisError:
        return render(call, "reminders", notices=[call.u("error.try_later")])
    if verdict == "restored":
        call.count("reminders.undone")
        return render(call, "main", notices=[call.u("undo.done")])
    if tries + 1 >= MAX_UNDO_TRIES:
        return render(call, "reminders", notices=[call.u("verify.wrong")])
    return _ask(call, "undo", [call.u("verify.wrong")], t=tries + 1)


STAGES = {"verify": verify_step, "undo": undo_step}
