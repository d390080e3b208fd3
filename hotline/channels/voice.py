"""The voice channel: every step of a call is a signed webhook answered with TwiML.

Navigation state travels in the Gather/Redirect URLs (node, language, part, silences), so any web
process can answer any step; Redis holds the call's language and the caller's memory.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from urllib.parse import urlencode

import redis
from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from hotline.channels.webhooks import twilio_signed
from hotline.content import render as P
from hotline.content.audio import Utterance
from hotline.content.model import Content, Language, Node
from hotline.content.script import REMINDER_RULES, node_utterances
from hotline.messaging import sender
from hotline.people.optout import forget
from hotline.reminders import schedule as reminders
from hotline.rules import deadlines as dl
from hotline.rules.dates import DateError, parse_keypad
from hotline.runtime import stats
from hotline.runtime.hotline import current
from hotline.store import keys as store

log = logging.getLogger(__name__)
voice_bp = Blueprint("voice", __name__, url_prefix="/voice")

DATE_DIGITS_TIMEOUT = 12




def _twiml(resp: VoiceResponse) -> Response:
    return Response(str(resp), mimetype="text/xml")


def _url(path: str, **params: object) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"/voice/{path}" + (f"?{urlencode(clean)}" if clean else "")


class Call:
    """One webhook's view of the call: who, which language, and how to speak."""

    def __init__(self) -> None:
        self.hl = current()
        self.content: Content = self.hl.content
        self.sid = request.form.get("CallSid", "")[:64]
        self.caller = request.form.get("From", "")[:32]
        wanted = request.args.get("l", "")
        self.lang: Language = self.content.lang(wanted or self._stored_lang())
        self.speaker = self.hl.speaker()

    def _stored_lang(self) -> str | None:
        if not self.sid:
            return None
        try:
            return self.hl.redis.hget(store.call(self.sid), "lang")
        except redis.RedisError:
            return None

    def t(self, key: str, /, **values: object) -> str:
        return P.text(self.content, self.lang.code, key, **values)

    def u(self, key: str, /, **values: object) -> Utterance:
        """A fixed prompt (recordable) when it has no values, else a made-up-on-the-fly one."""
        return Utterance(self.t(key, **values), None if values else key)

    def remember(self, node: str) -> None:
        """Per-call state (language, where the caller is) with a TTL, and the node's visit counter,
        in one round trip; best effort."""
        try:
            pipe = self.hl.redis.pipeline(transaction=False)  # the keys are in different slots
            if self.sid:
                key = store.call(self.sid)
                pipe.hset(key, mapping={"lang": self.lang.code, "node": node})
                pipe.expire(key, self.content.settings.call_state_ttl_minutes * 60)
            stats.add(pipe, self.hl, f"node.{node}")
            pipe.execute()
        except redis.RedisError:
            pass

    def remember_caller(self) -> None:
        """Keep the caller's language for next time, under a keyed hash of the number only."""
        if not self.caller:
            return
        try:
            self.hl.redis.set(store.caller(self.hl.vault.hash(self.caller)), self.lang.code,
                              ex=self.content.settings.caller_memory_days * 86400)
        except redis.RedisError:
            pass

    def gather(self, action: str, utterances: list[Utterance], silence_url: str, digits: int = 1,
               timeout: int | None = None) -> VoiceResponse:
        resp = VoiceResponse()
        g = resp.gather(num_digits=digits, action=action, method="POST", finish_on_key="",
                        timeout=timeout or self.content.settings.gather_timeout, action_on_empty_result=False)
        self.speaker.add(g, self.lang, utterances)
        resp.redirect(silence_url, method="POST")
        return resp


# ---- what each node says -------------------------------------------------------------------


def render(call: Call, node_id: str, part: int = 0, notices: list[Utterance] | None = None,
           silences: int = 0) -> VoiceResponse:
    """Speak a node inside a Gather whose silence path comes back here with one more silence."""
    node = call.content.nodes[node_id]
    call.remember(node_id)
    utterances = list(notices or []) + node_utterances(call.content, call.lang.code, node, part)
    l = call.lang.code
    return call.gather(_url("key", n=node_id, l=l, p=part), utterances,
                       _url("node", n=node_id, l=l, p=part, s=silences + 1))


def language_menu(call: Call, silences: int = 0) -> VoiceResponse:
    """Each language offered in its own voice."""
    resp = VoiceResponse()
    g = resp.gather(num_digits=1, action=_url("lang"), method="POST", finish_on_key="",
                    timeout=call.content.settings.gather_timeout, action_on_empty_result=False)
    for code, lang in call.content.settings.languages.items():
        text = P.text(call.content, code, "language.choose", key=P.key_name(call.content, code, lang.key))
        call.speaker.add(g, lang, [Utterance(text, "language.choose")])
    resp.redirect(_url("lang", s=silences + 1), method="POST")
    return resp


def goodbye(call: Call) -> VoiceResponse:
    stats.count("call.silence_hangup", call.hl)
    resp = VoiceResponse()
    call.speaker.add(resp, call.lang, [call.u("goodbye.silence")])
    resp.hangup()
    return resp


# ---- webhooks ---------------------------------------------------------------------------------

@voice_bp.post("")
@twilio_signed
def incoming() -> Response:
    """A call comes in: a returning caller goes straight to the main menu in their language."""
    call = Call()
    stats.count("call.started", call.hl)
    known = None
    if call.caller:
        try:
            h = call.hl.vault.hash(call.caller)
            known = call.hl.redis.get(store.caller(h)) or call.hl.redis.hget(store.subscriber(h), "lang")
        except redis.RedisError:
            known = None
    if known in call.content.settings.languages:
        call.lang = call.content.lang(known)
        stats.count(f"call.lang.{known}", call.hl)
        call.remember_caller()  # refresh the memory window
        return _twiml(render(call, "main"))
    return _twiml(language_menu(call))


@voice_bp.post("/lang")
@twilio_signed
def choose_language() -> Response:
    call = Call()
    digits = request.form.get("Digits", "")
    if not digits:
        silences = _int(request.args.get("s"))
        if silences > call.content.settings.max_silences:
            return _twiml(goodbye(call))
        return _twiml(language_menu(call, silences))
    chosen = next((code for code, lang in call.content.settings.languages.items() if lang.key == digits), None)
    if chosen is None:
        return _twiml(language_menu(call))
    call.lang = call.content.lang(chosen)
    stats.count(f"call.lang.{chosen}", call.hl)
    call.remember_caller()
    return _twiml(render(call, "main", notices=[call.u("welcome")]))


@voice_bp.post("/node")
@twilio_signed
def node_view() -> Response:
    """Redirect target: the same node again, after silence (with a count) or a notice."""
    call = Call()
    node_id = request.args.get("n", "main")
    if node_id not in call.content.nodes:
        node_id = "main"  # content changed under a live call: start from the top, never fail
    silences = _int(request.args.get("s"))
    if silences > call.content.settings.max_silences:
        return _twiml(goodbye(call))
    notices = [call.u("error.silence")] if silences else []
    if call.content.nodes[node_id].type == "reminders" and request.args.get("st"):
        return _twiml(reminder_step(call, request.args.get("st", ""), silences, notices))
    return _twiml(render(call, node_id, _int(request.args.get("p")), notices, silences))


@voice_bp.post("/key")
@twilio_signed
def key_view() -> Response:
    """A key press on a node."""
    call = Call()
    node_id = request.args.get("n", "main")
    if node_id not in call.content.nodes:
        return _twiml(render(call, "main"))
    node = call.content.nodes[node_id]
    part = _int(request.args.get("p"))
    digits = request.form.get("Digits", "")
    if node.type == "reminders" and request.args.get("st"):
        return _twiml(reminder_step(call, request.args["st"], 0, [], digits))
    return _twiml(press(call, node, part, digits))


@voice_bp.post("/status")
@twilio_signed
def status() -> Response:
    """Call status callback: counts where callers hang up (node only, no caller trail)."""
    hl = current()
    sid = request.form.get("CallSid", "")[:64]
    if request.form.get("CallStatus") == "completed" and sid:
        try:
            node = hl.redis.hget(store.call(sid), "node")
            hl.redis.delete(store.call(sid))
        except redis.RedisError:
            node = None
        if node:
            stats.count(f"hangup.{node}", hl)
    return Response("", status=204)


def press(call: Call, node: Node, part: int, digits: str) -> VoiceResponse:
    """What a key means on this node: universal keys first, then the node's own options."""
    keys = call.content.settings.keys
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
    if node.type == "reminders" and digits.isdigit():
        choice = int(digits)
        if 1 <= choice <= len(REMINDER_RULES):
            return reminder_step(call, "date", 0, [], rule=REMINDER_RULES[choice - 1])
        if choice == len(REMINDER_RULES) + 1:
            return reminder_filed(call)
        if choice == len(REMINDER_RULES) + 2:
            return reminder_delete(call)
    return render(call, node.id, part, [call.u("error.wrong_key")])


def send_node_sms(call: Call, node: Node) -> Utterance:
    """Text this node's content to the number that called, never to any other."""
    c, lang = call.content, call.lang.code
    if node.type == "office":
        body = P.text(c, lang, "sms.office", **P.office_values(c, lang, node.office))
    else:
        body = P.text(c, lang, node.sms)
    try:
        result = sender.send(call.hl, call.caller, body, purpose=f"voice.{node.id}")
    except redis.RedisError:  # Redis went away mid-send (the outbox, the cap's refund)
        return call.u("sms.not_sent")
    if result.ok:
        return call.u("sms.sent")
    return call.u("sms.blocked" if result.reason == "opted_out" else "sms.not_sent")


# ---- reminder sign-up by phone --------------------------------------------------------------

def reminder_step(call: Call, stage: str, silences: int, notices: list[Utterance], digits: str | None = None,
                  rule: str | None = None) -> VoiceResponse:
    """date: ask for DDMM; confirm: read the deadline back and wait for 1 (yes) or 2 (again)."""
    rule = rule or request.args.get("r", "")
    if rule not in REMINDER_RULES:
        return render(call, "reminders")
    keys = call.content.settings.keys
    l = call.lang.code
    if digits == keys.main:
        return render(call, "main")
    if digits == keys.back:
        return render(call, "reminders")
    if stage == "date":
        if digits is None or digits == keys.repeat:
            return call.gather(_url("key", n="reminders", st="date", r=rule, l=l),
                               notices + [call.u("reminders.enter_date")],
                               _url("node", n="reminders", st="date", r=rule, l=l, s=silences + 1),
                               digits=4, timeout=DATE_DIGITS_TIMEOUT)
        today = call.hl.now().astimezone(call.content.policy.tz).date()
        try:
            start = parse_keypad(digits, today)
        except DateError as exc:
            return reminder_step(call, "date", 0, [call.u(f"date.error.{_date_reason(exc)}")], rule=rule)
        return reminder_confirm(call, rule, start, [])
    if stage == "confirm":
        start = _date_arg(request.args.get("d", ""), call.hl.now().astimezone(call.content.policy.tz).date())
        if start is None:
            return reminder_step(call, "date", 0, [], rule=rule)
        if digits is None or digits == keys.repeat:
            return reminder_confirm(call, rule, start, notices, silences)
        if digits == "2":
            return reminder_step(call, "date", 0, [], rule=rule)
        if digits == "1":
            return reminder_subscribe(call, rule, start)
        return reminder_confirm(call, rule, start, [call.u("error.wrong_key")])
    return render(call, "reminders")


def reminder_confirm(call: Call, rule: str, start: date, notices: list[Utterance], silences: int = 0) -> VoiceResponse:
    c, l = call.content, call.lang.code
    policy = c.policy
    r = policy.rules[rule]
    end = dl.deadline(r, start)
    now = call.hl.now()
    readback = Utterance(P.text(c, l, f"reminders.readback.{rule}", date=P.spoken_date(c, l, end)), slow=True)
    if dl.deadline_end(r, start, policy) <= now:
        stats.count("reminders.optin_passed", call.hl)
        return render(call, "main", notices=notices + [call.u("reminders.passed")])
    if not dl.reminder_times(r, start, now, policy):
        return render(call, "main", notices=notices + [readback, call.u("reminders.nothing_left")])
    return call.gather(_url("key", n="reminders", st="confirm", r=rule, d=start.isoformat(), l=l),
                       notices + [readback, call.u("reminders.confirm")],
                       _url("node", n="reminders", st="confirm", r=rule, d=start.isoformat(), l=l, s=silences + 1))


def reminder_subscribe(call: Call, rule: str, start: date) -> VoiceResponse:
    """Store consent and the schedule, then confirm by SMS (which says how to stop).

    The deadline may have passed since the date was read back (a call across midnight): then say
    so, as the read-back would now, rather than confirm reminders that will never come.
    """
    policy = call.content.policy
    passed = dl.deadline_end(policy.rules[rule], start, policy) <= call.hl.now()
    if passed or not reminders.plan(call.hl, rule, start).times:
        return reminder_confirm(call, rule, start, [])
    try:
        reminders.subscribe(call.hl, call.caller, call.lang.code, rule, start, channel="voice")
    except reminders.NotAllowed:  # a number we never text (another country): trying later will not help
        return render(call, "reminders", notices=[call.u("sms.not_sent")])
    except redis.RedisError as exc:
        log.warning("voice opt-in not stored: %s", type(exc).__name__)
        return render(call, "reminders", notices=[call.u("error.try_later")])
    try:
        sender.send(call.hl, call.caller, call.t("sms.remind_confirmed"), purpose="reminders.confirmed")
    except redis.RedisError:
        pass  # the reminders are stored: the confirmation SMS is a courtesy, and they say how to stop
    return render(call, "main", notices=[call.u("reminders.confirmed")])


def reminder_filed(call: Call) -> VoiceResponse:
    try:
        reminders.mark_filed(call.hl, call.caller)
    except redis.RedisError:
        return render(call, "reminders", notices=[call.u("error.try_later")])
    return render(call, "main", notices=[call.u("reminders.filed_done")])


def reminder_delete(call: Call) -> VoiceResponse:
    """'Delete my data' by phone: the same as the SMS keyword (reminders, language memory, consents)."""
    try:
        forget(call.hl, call.hl.vault.hash(call.caller))
    except redis.RedisError:
        return render(call, "reminders", notices=[call.u("error.try_later")])
    stats.count("person.deleted", call.hl)
    return render(call, "main", notices=[call.u("reminders.deleted")])


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


def _int(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 99))
    except ValueError:
        return 0


@voice_bp.errorhandler(Exception)
def voice_error(exc: Exception) -> Response:
    """Never leave a caller in silence: apologise and go back to the main menu (or hang up politely)."""
    from werkzeug.exceptions import HTTPException
    if isinstance(exc, HTTPException):
        return exc  # type: ignore[return-value]
    log.exception("voice webhook failed: %s", type(exc).__name__)
    stats.count("voice.error", current())
    resp = VoiceResponse()
    try:
        call = Call()
        call.speaker.add(resp, call.lang, [call.u("error.try_later")])
        if _int(request.args.get("e")) < 1:
            resp.redirect(_url("node", n="main", l=call.lang.code, e=1), method="POST")
        else:
            resp.hangup()
    except Exception:  # noqa: BLE001 - the apology itself failed: end the call cleanly
        resp.hangup()
    return _twiml(resp)


