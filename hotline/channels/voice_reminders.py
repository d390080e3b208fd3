"""Signing up for deadline reminders by phone: the date on the keypad, read back, confirmed by a key."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import redis

from hotline.channels import voice_person, voice_proof
from hotline.channels.call import DATE_DIGITS_TIMEOUT, Call, render, voice_url
from hotline.content import render as P
from hotline.content import script
from hotline.content.audio import Utterance
from hotline.content.script import mine_options, mine_utterances, reminder_rules
from hotline.messaging import sender
from hotline.reminders import schedule as reminders
from hotline.rules import deadlines as dl
from hotline.rules.dates import DateError, parse_keypad

log = logging.getLogger(__name__)


def reminder_step(call: Call, stage: str, silences: int, notices: list[Utterance], digits: str | None = None,
                  rule: str | None = None) -> str:
    """date: ask for DDMM; confirm: read the deadline back and wait for 1 (yes) or 2 (again);
    mine: the caller's reminders and data (already filed, delete, undo); verify and undo: the code
    steps of voice_proof.py."""
    if stage == "mine":
        return reminder_mine(call, silences, notices, digits)
    if stage in voice_proof.STAGES:
        return voice_proof.STAGES[stage](call, silences, notices, digits)
    rule = rule or call.args.get("r", "")
    if rule not in reminder_rules(call.content):
        return render(call, "reminders")
    keys = call.content.settings.keys
    l = call.lang.code
    if (away := _universal(call, digits)) is not None:
        return away
    if stage == "date":
        if digits is None or digits == keys.repeat:
            return call.gather(voice_url("key", n="reminders", st="date", r=rule, l=l),
                               notices + [enter_date(call)],
                               voice_url("node", n="reminders", st="date", r=rule, l=l, s=silences + 1),
                               digits=4, timeout=DATE_DIGITS_TIMEOUT)
        today = today_of(call)
        try:
            start = parse_keypad(digits, today)
        except DateError as exc:
            return reminder_step(call, "date", 0, [call.u(f"date.error.{_date_reason(exc)}")], rule=rule)
        return reminder_confirm(call, rule, start, [])
    if stage == "confirm":
        start = _date_arg(call.args.get("d", ""), today_of(call))
        if start is None:
            return reminder_step(call, "date", 0, [], rule=rule)
        if digits is None or digits == keys.repeat:
            return reminder_confirm(call, rule, start, notices, silences)
        if digits == "2":
            return reminder_step(call, "date", 0, [], rule=rule)
        if digits == "1":
            return reminder_subscribe(call, rule, start)
        if digits == WHATSAPP_KEY and call.content.settings.whatsapp.enabled:
            return reminder_subscribe(call, rule, start, via="whatsapp")
        return reminder_confirm(call, rule, start, [call.u("error.wrong_key")])
    return render(call, "reminders")


WHATSAPP_KEY = "3"  # on the confirm step (1 yes, 2 enter the date again): reminders on WhatsApp


def today_of(call: Call) -> date:
    return call.hl.now().astimezone(call.content.policy.tz).date()


def enter_date(call: Call) -> Utterance:
    """How to key a date, with today as the example: an example that is valid on every day."""
    today = today_of(call)
    return script.dated(call.content, call.lang.code, "reminders.enter_date", today, {"today": today},
                        keys=today.strftime("%d%m"))


def reminder_confirm(call: Call, rule: str, start: date, notices: list[Utterance], silences: int = 0) -> str:
    """Read back the date understood and the last day, in full; a passed day gets its rule's own words."""
    c, l = call.content, call.lang.code
    policy = c.policy
    r = policy.rules[rule]
    end = dl.deadline(r, start)
    now = call.hl.now()
    today = now.astimezone(policy.tz).date()
    dates = {"start": start, "date": end}
    readback = script.dated(c, l, f"reminders.readback.{rule}", today, dates)  # a played language: recorded pieces
    if dl.deadline_end(r, start, policy) <= now:
        call.count("reminders.optin_passed")
        passed = script.dated(c, l, P.own_key(c, l, "reminders.passed", rule), today, dates)
        return render(call, "main", notices=notices + [passed])
    if not dl.reminder_times(r, start, now, policy):
        return render(call, "main", notices=notices + [readback, call.u("reminders.nothing_left")])
    ask = [call.u("reminders.confirm")]
    if c.settings.whatsapp.enabled:  # the person may choose WhatsApp instead (templates outside its window)
        ask.append(call.u("reminders.confirm_whatsapp"))
    return call.gather(voice_url("key", n="reminders", st="confirm", r=rule, d=start.isoformat(), l=l),
                       notices + [readback, *ask],
                       voice_url("node", n="reminders", st="confirm", r=rule, d=start.isoformat(), l=l, s=silences + 1))


def reminder_subscribe(call: Call, rule: str, start: date, via: str = "sms") -> str:
    """Store consent and the schedule, then confirm by SMS (which says how to stop). `via`: where the
    reminders go (WhatsApp when the caller pressed WHATSAPP_KEY).

    The deadline may have passed since the date was read back (a call across midnight): then say
    so, as the read-back would now, rather than confirm reminders that will never come.
    """
    policy = call.content.policy
    passed = dl.deadline_end(policy.rules[rule], start, policy) <= call.hl.now()
    if passed or not reminders.plan(call.hl, rule, start).times:
        return reminder_confirm(call, rule, start, [])
    try:
        reminders.subscribe(call.hl, call.caller, call.lang.code, rule, start, channel="voice", via=via)
    except reminders.NotAllowed:  # a number we never text (another country): trying later will not help
        return render(call, "reminders", notices=[call.u("region.sms_only")])
    except redis.RedisError as exc:
        log.warning("voice opt-in not stored: %s", type(exc).__name__)
        return render(call, "reminders", notices=[call.u("error.try_later")])
    try:
        sender.send(call.hl, call.caller, call.t(P.confirmation_key(call.content, call.lang.code, rule)),
                    purpose="reminders.confirmed")
    except redis.RedisError:
        pass  # the reminders are stored: the confirmation SMS is a courtesy, and they say how to stop
    return render(call, "main", notices=[call.u("reminders.confirmed")])


def _universal(call: Call, digits: str | None) -> str | None:
    """The keys that leave a reminders step the same way everywhere: main menu, a person, back."""
    keys = call.content.settings.keys
    if digits == keys.main:
        return render(call, "main")
    if keys.person and digits == keys.person and call.content.handoff is not None:
        return voice_person.start(call, "reminders")
    if digits == keys.back:
        return render(call, "reminders")
    return None


def reminder_mine(call: Call, silences: int, notices: list[Utterance], digits: str | None = None) -> str:
    """The reminders menu's last option: "I have applied" (no more filing reminders), delete my data,
    undo with the code of our SMS; each needs proof that the caller holds the phone (voice_proof.py)."""
    keys, l = call.content.settings.keys, call.lang.code
    if (away := _universal(call, digits)) is not None:
        return away
    action = next((a for key, _, a in mine_options(call.content) if key == digits), None)
    if action is not None:
        return voice_proof.start(call, action)
    if digits not in (None, keys.repeat):
        notices = notices + [call.u("error.wrong_key")]
    call.remember("reminders.mine")
    return call.gather(voice_url("key", n="reminders", st="mine", l=l), notices + mine_utterances(call.content, l),
                       voice_url("node", n="reminders", st="mine", l=l, s=silences + 1))


def _date_reason(exc: DateError) -> str:
    return exc.reason if exc.reason in ("impossible", "future") else "unreadable"


def _date_arg(value: str, today: date) -> date | None:
    """The start date a confirm URL carries, if a caller could have keyed it: DDMM dates are past,
    within a year (29 February: four). Anything else goes back to date entry, never into date maths."""
    try:
        start = date.fromisoformat(value)
        return start if today - timedelta(days=5 * 366) <= start <= today else None
    except ValueError:
        return None
