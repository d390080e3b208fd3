"""The SMS and WhatsApp channel: keywords in, short discreet replies out, and delivery status callbacks.

Twilio posts WhatsApp messages to the same webhook as SMS, with From "whatsapp:+7...": the same
keywords, replies and opt-in work there; `via` says which channel a message came on.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import date

import redis
from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse

from hotline.channels.webhooks import twilio_signed
from hotline.content import render as P
from hotline.messaging import sender, whatsapp
from hotline.people import grace
from hotline.people.optout import forget, opt_in, opt_out, opt_out_hash
from hotline.reminders import schedule as reminders
from hotline.rules import deadlines as dl
from hotline.rules.dates import DateError, parse_text
from hotline.rules.keywords import Match
from hotline.rules.phones import in_regions, mask, normalise, region_of
from hotline.runtime import stats
from hotline.runtime.hotline import Hotline, current
from hotline.store import keys as store

log = logging.getLogger(__name__)
sms_bp = Blueprint("sms", __name__, url_prefix="/sms")
PENDING_TTL = 86400
MAX_BODY = 1600
# What must be stored to be true: while Redis is down these are answered "try again shortly".
STORED_INTENTS = frozenset({"stop", "start", "yes", "remind", "filed", "delete", "undo"})
# In one-way SMS mode (nobody can text the hotline) an SMS that still arrives is answered only for
# what must be honoured; anything else gets sms.oneway_reply, which points to the phone line.
ONE_WAY_ANSWERED = frozenset({"stop", "start", "delete", "filed", "undo"})
# Replies that say what was stopped and how to undo it: their own daily budget (issue 14, S2).
NOTICE_INTENTS = frozenset({"stop", "start", "filed", "delete", "undo"})
# What may follow UNDO: the code from our SMS, typed with or without spaces or dashes.
UNDO_CODE = re.compile(r"[0-9](?:[ .-]?[0-9])*")
STATUSES = {"accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read", "canceled",
            "scheduled", "receiving", "received"}




def _reply(text: str | None) -> Response:
    resp = MessagingResponse()
    if text:
        resp.message(text)
    return Response(str(resp), mimetype="text/xml")


class Conversation:
    """One inbound SMS: who sent it (hashed), in which language to answer, and the answer."""

    def __init__(self, hl: Hotline, number: str, body: str, via: str = "sms") -> None:
        self.hl, self.number, self.body, self.via = hl, number, body, via
        self.content = hl.content
        self.h = hl.vault.hash(number)
        self.match: Match | None = self.content.vocabulary.match(body)
        if self.match and self.match.intent == "undo" and not UNDO_CODE.fullmatch(self.match.argument):
            self.match = None  # "верни документы": the word without a code is no undo (keywords.yaml)
        self.lang = self._language()

    def _language(self) -> str:
        """The saved language, else the matched keyword's, else a guess from the text."""
        saved = None
        try:
            saved = self.hl.redis.hget(store.subscriber(self.h), "lang")
        except redis.RedisError:
            pass
        guess = self.content.vocabulary.guess_language(self.body) if any(c.isalpha() for c in self.body) else None
        for candidate in (saved, self.match.lang if self.match else None, guess):
            if candidate in self.content.prompts:
                return candidate
        return self.content.settings.default_language

    def today(self) -> date:
        return self.hl.now().astimezone(self.content.policy.tz).date()

    def t(self, key: str, /, **values: object) -> str:
        """The prompt in the person's language; {example} is today's date as REMIND takes it."""
        values.setdefault("example", P.example_date(self.today()))
        return P.text(self.content, self.lang, key, via=self.via, **values)

    def answer(self) -> str:
        """The reply text for this message (the view decides whether it may be sent)."""
        intent = self.match.intent if self.match else "help"
        handler = getattr(self, f"on_{intent}", self.on_help)
        stats.count(f"sms.in.{intent}", self.hl)
        if self.via == "sms" and self.content.settings.one_way and intent not in ONE_WAY_ANSWERED:
            stats.count("sms.in.one_way", self.hl)
            return self.t("sms.oneway_reply")
        return handler()

    def on_help(self) -> str:
        return self.t("sms.help")

    def on_addresses(self) -> str:
        city = self.match.city if self.match else None
        if city in self.content.offices:
            return self.t("sms.office", **P.office_values(self.content, self.lang, city))
        return P.addresses_sms(self.content, self.lang)

    def on_deadlines(self) -> str:
        return self.t("sms.deadlines")

    def on_rights(self) -> str:
        return self.t("sms.rights")

    def on_remind(self) -> str:
        rule, rest = split_rule(self.content.vocabulary, self.content.policy.date_alone,
                                self.match.argument if self.match else "")
        if not rest.strip():
            return self.t("sms.remind_usage")
        today = self.today()
        try:
            start = parse_text(rest, today)
        except DateError as exc:
            return self.t(f"sms.date_error.{exc.reason if exc.reason in ('impossible', 'future', 'empty') else 'unreadable'}")
        schedule = reminders.plan(self.hl, rule, start)
        said = {"deadline": P.short_date(self.content, self.lang, schedule.deadline, today),
                "start": P.short_date(self.content, self.lang, start, today)}
        policy = self.content.policy
        if dl.deadline_end(policy.rules[rule], start, policy) <= self.hl.now():
            return self.t(P.own_key(self.content, self.lang, "sms.remind_passed", rule), **said)
        if not schedule.times:
            return self.t("sms.remind_none", **said)
        pending = {"rule": rule, "start": start.isoformat(), "lang": self.lang}
        self.hl.redis.set(store.pending(self.h), json.dumps(pending), ex=PENDING_TTL)
        # the reminder days, weeks before the deadline: their year is the deadline's, said there
        dates = ", ".join(P.short_date(self.content, self.lang, t.date()) for t in schedule.times)
        return self.t("sms.remind_ask", dates=dates, **said)

    def on_yes(self) -> str:
        raw = self.hl.redis.get(store.pending(self.h))
        if not raw:
            return self.t("sms.nothing_pending")
        pending = json.loads(raw)
        reminders.subscribe(self.hl, self.number, pending["lang"], pending["rule"],
                            date.fromisoformat(pending["start"]), channel=self.via, via=self.via)
        self.hl.redis.delete(store.pending(self.h))
        return self.t(P.confirmation_key(self.content, self.lang, pending["rule"]))

    # The sender may be forged, and the reply goes to the real phone: each of these says how to undo it.
    def on_filed(self) -> str:
        suspended = reminders.mark_filed(self.hl, self.number)
        return self.t("sms.filed", code=suspended.code)

    def on_delete(self) -> str:
        suspended = forget(self.hl, self.h, "delete", self.number)
        stats.count("person.deleted", self.hl)
        return self.t("sms.deleted", code=suspended.code)

    def on_undo(self) -> str:
        code = "".join(c for c in self.match.argument if c in "0123456789")
        if grace.restore(self.hl, self.h, code) == "restored":
            stats.count("reminders.undone", self.hl)
            return self.t("sms.undo_done")
        return self.t("sms.undo_wrong")


def split_rule(vocabulary, date_alone: str, argument: str) -> tuple[str, str]:
    """'APPEAL 3.12' -> ('appeal', '3.12'); a bare date means `date_alone` (config/deadlines.yaml)."""
    words = argument.split(maxsplit=1)
    rule = vocabulary.rule_word(words[0]) if words else None
    if rule:
        return rule, words[1] if len(words) > 1 else ""
    return date_alone, argument


@sms_bp.post("")
@twilio_signed
def inbound() -> Response:
    hl = current()
    body = request.form.get("Body", "")[:MAX_BODY]
    sent_from = request.form.get("From", "")[:48]
    via = "whatsapp" if whatsapp.is_whatsapp(sent_from) else "sms"
    number = normalise(sent_from.removeprefix(whatsapp.PREFIX))
    if number is None:
        return _reply(None)  # nobody to answer (short code, alphanumeric sender, garbage)
    settings = hl.content.settings
    if via == "whatsapp" and not settings.whatsapp.enabled:
        log.info("WhatsApp message from %s: WhatsApp is not enabled in config/hotline.yaml", mask(number))
        stats.count("whatsapp.in.off", hl)
    regions = settings.whatsapp.allowed_regions if via == "whatsapp" else settings.allowed_regions
    if not in_regions(number, regions):
        # Read and counted, never dropped unseen: STOP is still honoured below; the reply is refused
        # (and counted) by the sender's allow-list, since we never text numbers outside the regions.
        log.info("%s from %s (region %s) is outside the allowed regions: not answered",
                 "WhatsApp message" if via == "whatsapp" else "SMS", mask(number), region_of(number) or "unknown")
        stats.count(f"{via}.in.out_of_region", hl)
    try:
        conv = Conversation(hl, number, body, via)
        if via == "whatsapp" and settings.whatsapp.enabled:
            whatsapp.note_inbound(hl, conv.h)  # free-form replies may go for 24 hours
        intent = conv.match.intent if conv.match else None
        # Replies that say what was stopped and how to undo it have their own budget (a flood of
        # other requests cannot silence them); the rest share the general daily cap.
        purpose = f"notice.{intent}" if intent in NOTICE_INTENTS else f"{via}.{intent or 'help'}"
        restored = False
        if intent == "stop":
            opt_out(hl, number, via)
            gate = sender.permit(hl, number, purpose, ignore_optout=True, via=via)
        elif intent == "start":
            restored = opt_in(hl, number)
            gate = sender.permit(hl, number, purpose, via=via)
        else:
            gate = sender.permit(hl, number, purpose, via=via)
        if gate.reason == "store_unavailable":
            return _store_down(hl, number, body)
        if not gate.ok:
            return _reply(None)  # opted out, capped, or not allowed: silence is the promise here
        if intent == "stop":
            text = conv.t("sms.stop")
        elif intent == "start":
            text = conv.t("sms.start_restored" if restored else "sms.start")
        else:
            text = conv.answer()
            stats.count(f"{via}.sent", hl)
        sender.record_reply(hl, number, text, f"sms.{intent or 'help'}")
        return _reply(text)
    except redis.RedisError:
        return _store_down(hl, number, body)


def _store_down(hl: Hotline, number: str, body: str) -> Response:
    """Redis is down: what must be stored (STOP, YES, ...) is answered "try again shortly", never
    pretended; anything else stays silent, because we cannot check that the person has not said STOP.

    The daily cap cannot be counted either, so the country allow-list is the only limit left.
    """
    log.warning("SMS from %s not handled: Redis unavailable", mask(number))
    content = hl.content
    match = content.vocabulary.match(body)
    if not (match and match.intent in STORED_INTENTS):
        return _reply(None)
    if not in_regions(number, content.settings.allowed_regions):
        return _reply(None)
    lang = match.lang or content.vocabulary.guess_language(body)
    lang = lang if lang in content.prompts else content.settings.default_language
    return _reply(P.text(content, lang, "error.try_later"))


@sms_bp.post("/status")
@twilio_signed
def status() -> Response:
    """Delivery status: recorded per message; 21610 means the person unsubscribed at Twilio."""
    hl = current()
    sid = request.form.get("MessageSid", "")[:64]
    state = request.form.get("MessageStatus", "").lower()[:20]
    code = request.form.get("ErrorCode", "")[:10]
    if not sid or state not in STATUSES:
        return Response("unknown message or status", status=400)
    key = store.message(sid)
    try:
        record = hl.redis.hgetall(key)
        if record:  # a record erased by STOP or DELETE is not brought back by a late callback
            hl.redis.hset(key, mapping={"status": state, "error": code if code.isdigit() else ""})
            hl.redis.expire(key, store.MESSAGE_TTL)
        stats.count(f"sms.status.{state}", hl)
        if code == str(sender.UNSUBSCRIBED) and record.get("person"):
            opt_out_hash(hl, record["person"], "twilio-21610")
    except redis.RedisError:
        return Response("try again", status=503)  # Twilio retries status callbacks on 5xx
    return Response("", status=204)


@sms_bp.errorhandler(Exception)
def sms_error(exc: Exception) -> Response:
    from werkzeug.exceptions import HTTPException
    if isinstance(exc, HTTPException):
        return exc  # type: ignore[return-value]
    log.exception("SMS webhook failed: %s", type(exc).__name__)
    stats.count("sms.error", current())
    return _reply(None)
