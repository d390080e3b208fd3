"""The one way out for every outgoing SMS and WhatsApp message: opt-out, region allow-list and
daily cap are checked here, at the last moment, whatever asked for the message (a call, an SMS or
WhatsApp reply, a reminder). `via` is the channel: "sms" or "whatsapp"."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import redis
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hotline.messaging import whatsapp
from hotline.rules.phones import in_regions, mask, normalise
from hotline.runtime import stats
from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)

# Twilio error codes: worth another try later, or final (see FACTS: telephony).
TRANSIENT_CODES = {30003, 21611, 30001, 20429}
PERMANENT_CODES = {21610, 21211, 21635, 30006, 21614, 21408, 21612}
UNSUBSCRIBED = 21610


@dataclass(frozen=True)
class SendResult:
    ok: bool
    reason: str = ""          # why not: opted_out, invalid_number, country_not_allowed, daily_cap, twilio_<code>, ...
    sid: str = ""
    transient: bool = False   # True: the same message may succeed later
    ambiguous: bool = False   # True: it may have left (no answer after the request went out): never resend


class _RebasedHttpClient(TwilioHttpClient):
    """Sends the twilio library's requests to TWILIO_API_URL (a mock or a proxy) instead of api.twilio.com."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # type: ignore[override]
        return super().request(method, re.sub(r"^https?://[^/]+", self.base_url, url), *args, **kwargs)


_clients: dict[tuple, Client] = {}


def twilio_client(cfg: dict, sender_id: str = "") -> Client | None:
    """One REST client per process and credentials; None without credentials or anything to send
    from (then the local outbox): a Messaging Service, TWILIO_FROM_NUMBER or a sender ID."""
    sid, token = cfg.get("TWILIO_ACCOUNT_SID"), cfg.get("TWILIO_AUTH_TOKEN")
    if not (sid and token and (cfg.get("TWILIO_MESSAGING_SERVICE_SID") or cfg.get("TWILIO_FROM_NUMBER") or sender_id
                               or cfg.get("TWILIO_WHATSAPP_FROM"))):
        return None
    key = (sid, token, cfg.get("TWILIO_API_URL", ""))
    if key not in _clients:
        # twilio logs every request at INFO through one lock: a third of a worker's time, and noise
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
        http = (_RebasedHttpClient(cfg["TWILIO_API_URL"], timeout=10) if cfg.get("TWILIO_API_URL")
                else TwilioHttpClient(timeout=10))
        _clients[key] = Client(sid, token, http_client=http)
    return _clients[key]


Template = tuple[str, dict[str, str]]  # (ContentSid, ContentVariables) of an approved WhatsApp template


def send(hl: "Hotline", to: str, body: str, purpose: str, reminder_id: str = "", via: str = "sms",
         template: Template | None = None) -> SendResult:
    """Send `body` (or, on WhatsApp, `template`) to `to` unless a promise forbids it; every refusal
    is logged (masked) and counted. The same person's opt-out and daily cap hold on every channel."""
    gate = permit(hl, to, purpose, via=via)
    if not gate.ok:
        return gate
    number = normalise(to) or to
    h = hl.vault.hash(number)
    day_key = store.daily_count(h, stats.today(hl.now(), hl.content.policy.tz))
    result = _deliver(hl, number, h, body, purpose, reminder_id, via, template)
    if result.ok:
        stats.count(f"{via}.sent", hl)
    else:
        hl.redis.decr(day_key)  # a message that did not leave does not use up the day's allowance
        stats.count(f"{via}.failed", hl)
        if result.reason == f"twilio_{UNSUBSCRIBED}":
            from hotline.people.optout import opt_out_hash
            opt_out_hash(hl, h, "twilio-21610")
    return result


def permit(hl: "Hotline", to: str, purpose: str, ignore_optout: bool = False, via: str = "sms") -> SendResult:
    """May one more message go to `to` now? Counts it against the daily cap when it may.

    Inline TwiML replies pass through here too, so no path escapes these checks. Only the single
    confirmation of a STOP is sent with `ignore_optout`.
    """
    number = normalise(to)
    if number is None:
        return _refuse(hl, to, "invalid_number", purpose)
    h = hl.vault.hash(number)
    settings = hl.content.settings
    if via == "whatsapp":
        if not settings.whatsapp.enabled:
            return _refuse(hl, number, "whatsapp_off", purpose)
        if not in_regions(number, settings.whatsapp.allowed_regions):
            return _refuse(hl, number, "country_not_allowed", purpose)
    elif not in_regions(number, settings.allowed_regions):
        return _refuse(hl, number, "country_not_allowed", purpose)
    day_key = store.daily_count(h, stats.today(hl.now(), hl.content.policy.tz))
    try:  # one round trip: the opt-out and the day's count share the person's slot
        pipe = hl.redis.pipeline(transaction=True)
        pipe.exists(store.optout(h))
        pipe.incr(day_key)
        pipe.expire(day_key, 2 * 86400)
        opted_out, sent_today, _ = pipe.execute()
    except redis.RedisError:
        # We cannot prove the person has not said STOP: do not send, try again later.
        return SendResult(False, "store_unavailable", transient=True)
    if opted_out and not ignore_optout:
        return _refuse(hl, number, "opted_out", purpose)
    if sent_today > settings.daily_cap:
        return _refuse(hl, number, "daily_cap", purpose)
    return SendResult(True)


def _refuse(hl: "Hotline", number: str, reason: str, purpose: str) -> SendResult:
    log.info("SMS not sent to %s (%s, %s)", mask(number), reason, purpose)
    stats.count(f"sms.refused.{reason}", hl)
    return SendResult(False, reason)


def _deliver(hl: "Hotline", number: str, h: str, body: str, purpose: str, reminder_id: str, via: str = "sms",
             template: Template | None = None) -> SendResult:
    cfg = hl.config
    sender_id = one_way_sender(hl) if via == "sms" else ""
    client = twilio_client(cfg, sender_id)
    if client is None:
        entry = {"to": mask(number), "to_enc": hl.vault.encrypt(number), "body": body, "purpose": purpose,
                 "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if via != "sms":
            entry["via"] = via
        if template:
            entry["content_sid"], entry["content_variables"] = template
        pipe = hl.redis.pipeline()
        pipe.rpush(store.OUTBOX, json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(store.OUTBOX, -1000, -1)
        pipe.execute()
        log.info("SMS to %s put in the local outbox (%s)", mask(number), purpose)
        return SendResult(True, sid="outbox")
    params: dict[str, Any] = {"to": number, "body": body}
    if via == "whatsapp":
        params["to"] = whatsapp.address(number)
        if template:  # outside the 24-hour window: an approved template, and no Body (Twilio 63016)
            sid, variables = template
            params.pop("body")
            params["content_sid"], params["content_variables"] = sid, json.dumps(variables, ensure_ascii=False)
    if cfg.get("TWILIO_MESSAGING_SERVICE_SID"):  # the service picks the sender (its alphanumeric ID where set)
        params["messaging_service_sid"] = cfg["TWILIO_MESSAGING_SERVICE_SID"]
    elif via == "whatsapp":
        if not cfg.get("TWILIO_WHATSAPP_FROM"):
            log.warning("WhatsApp message to %s not sent: TWILIO_WHATSAPP_FROM is not set", mask(number))
            return SendResult(False, "whatsapp_not_configured")
        params["from_"] = whatsapp.address(normalise(cfg["TWILIO_WHATSAPP_FROM"]) or cfg["TWILIO_WHATSAPP_FROM"])
    elif sender_id or cfg.get("TWILIO_FROM_NUMBER"):
        params["from_"] = sender_id or cfg["TWILIO_FROM_NUMBER"]
    else:
        log.warning("SMS to %s not sent: no TWILIO_FROM_NUMBER, sender ID or Messaging Service", mask(number))
        return SendResult(False, "sms_not_configured")
    if cfg.get("PUBLIC_URL"):
        params["status_callback"] = cfg["PUBLIC_URL"].rstrip("/") + "/sms/status"
    try:
        message = client.messages.create(**params)
    except TwilioRestException as exc:
        code = exc.code or 0
        transient = code in TRANSIENT_CODES or exc.status == 429 or exc.status >= 500
        log.warning("Twilio refused an SMS to %s: HTTP %s, code %s", mask(number), exc.status, code)
        return SendResult(False, f"twilio_{code or exc.status}", transient=transient and code not in PERMANENT_CODES)
    except (TwilioException, OSError) as exc:  # timeouts, refused connections, DNS
        if _may_have_left(exc):
            log.warning("no answer from Twilio for an SMS to %s (%s): it may have been sent", mask(number),
                        type(exc).__name__)
            return SendResult(False, "no_answer", ambiguous=True)
        log.warning("Twilio unreachable for an SMS to %s: %s", mask(number), type(exc).__name__)
        return SendResult(False, "unreachable", transient=True)
    try:
        record = {"status": message.status or "queued", "person": h, "purpose": purpose, "reminder": reminder_id,
                  "via": via}
        pipe = hl.redis.pipeline(transaction=True)
        pipe.hset(store.message(message.sid), mapping=record)
        pipe.expire(store.message(message.sid), 30 * 86400)
        pipe.execute()
    except redis.RedisError:
        pass  # the message left; its status record is a convenience
    return SendResult(True, sid=message.sid)


def one_way_sender(hl: "Hotline") -> str:
    """In one-way SMS mode, SMS come from the registered alphanumeric sender ID (sms.sender_id)
    unless a Messaging Service is set (it holds the sender ID then); "" in two-way mode."""
    settings = hl.content.settings
    return settings.sender_id if settings.one_way else ""


def _may_have_left(exc: BaseException) -> bool:
    """A request that got no answer after it was sent (read timeout, connection dropped mid-answer)
    may have been accepted: resending it could text the person twice. Only a connection that was
    never made (refused, DNS, connect timeout) is certainly safe to retry."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = repr(exc)
        return not any(s in text for s in ("NewConnectionError", "Failed to establish", "NameResolution",
                                           "Connection refused"))
    return False


def already_sent(hl: "Hotline", to: str, body: str, since: datetime, via: str = "sms",
                 template: bool = False) -> bool | None:
    """Did a message with this body reach Twilio for `to` since `since`? None: we cannot tell now.

    Asked before resending after an unanswered request, so that a timeout is retried without ever
    texting the person twice. Lists the newest messages to the number (a queued message has no
    DateSent yet, so the date is checked here on date_created). A WhatsApp template's text is
    Twilio's, not ours: then any message to that address since then counts (at most once).
    """
    client = twilio_client(hl.config, one_way_sender(hl))
    number = normalise(to)
    if client is None or number is None:
        return False
    try:
        recent = client.messages.list(to=whatsapp.address(number) if via == "whatsapp" else number, limit=20)
    except (TwilioException, OSError) as exc:
        log.warning("could not ask Twilio about an earlier SMS to %s: %s", mask(number), type(exc).__name__)
        return None
    margin = since - timedelta(minutes=2)
    return any((template or m.body == body) and m.date_created is not None and m.date_created >= margin
               for m in recent)
