"""The one way out for every outgoing SMS and WhatsApp message: opt-out, region allow-list and
daily cap are checked here, at the last moment, whatever asked for the message (a call, an SMS or
WhatsApp reply, a reminder). `via` is the channel: "sms" or "whatsapp"."""
from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import redis
import urllib3
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from hotline.messaging import outbox, whatsapp
from hotline.rules.phones import in_regions, mask, normalise
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import optout_filter

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
    status: str = ""          # Twilio's status on acceptance (queued, accepted, ...)


class PooledHttpClient(HttpClient):
    """The twilio library's HTTP side on urllib3 directly: keep-alive connections from one pool shared by
    every thread (as many kept as requests can be in flight), no retries (a retry could text twice: a
    request without an answer is settled by `already_sent`), and TWILIO_API_URL (a mock or a proxy)
    instead of api.twilio.com when set.

    The library's own TwilioHttpClient goes through requests, which costs about two and a half times
    the CPU per message (bench/RESULTS.md) and keeps only 10 connections per host, so a worker with
    more requests in flight than that opened a new connection for each of the others.
    """

    def __init__(self, base_url: str = "", timeout: float = 10, maxsize: int = 128) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), False, timeout)
        self.base_url = base_url.rstrip("/")
        kw: dict[str, Any] = {"maxsize": maxsize, "retries": False, "block": False}
        try:
            import certifi  # the CA bundle requests uses, when installed
            kw["ca_certs"] = certifi.where()
        except ImportError:
            pass
        proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
        self.pool = urllib3.ProxyManager(proxy, **kw) if proxy and not self.base_url else urllib3.PoolManager(**kw)

    def request(self, method: str, url: str, params: dict | None = None, data: dict | None = None,  # type: ignore[override]
                headers: dict | None = None, auth: tuple | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> TwilioResponse:
        if self.base_url:
            url = re.sub(r"^https?://[^/]+", self.base_url, url)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        head = dict(headers or {})
        if auth:
            head.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        body = None
        if data is not None:
            if head.get("Content-Type") in ("application/json", "application/scim+json"):
                body = json.dumps(data)
            else:
                body = urlencode(data, doseq=True)
                head["Content-Type"] = "application/x-www-form-urlencoded"
        wait = self.timeout if timeout is None else timeout
        resp = self.pool.request(method.upper(), url, body=body, headers=head, redirect=allow_redirects,
                                 timeout=urllib3.Timeout(connect=min(wait, 5.0), read=wait))
        return TwilioResponse(resp.status, resp.data.decode("utf-8"), resp.headers)


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
        _clients[key] = Client(sid, token, http_client=PooledHttpClient(cfg.get("TWILIO_API_URL", ""), timeout=10))
    return _clients[key]


Template = tuple[str, dict[str, str]]  # (ContentSid, ContentVariables) of an approved WhatsApp template


def send(hl: "Hotline", to: str, body: str, purpose: str, reminder_id: str = "", via: str = "sms",
         template: Template | None = None, writes=None) -> SendResult:
    """Send `body` to `to` unless a promise forbids it; every refusal is logged (masked) and counted.

    Two Redis round trips around the request: the permit (opt-out, cap) before it, and one pipeline
    after it (the message's status record, the counters, a refund of the cap if it did not leave).
    With `writes` (a pipeline the caller sends anyway, e.g. a webhook's one write) the latter are
    queued there instead, and the caller must execute it.
    """
    gate = permit(hl, to, purpose, via=via, writes=writes)
    if not gate.ok:
        return gate
    number = normalise(to) or to
    h = hl.vault.hash(number)
    day_key = cap_key(hl, h, budget_of(purpose))
    result = deliver(hl, number, body, purpose, via, template)
    own = writes is None
    pipe = hl.redis.pipeline(transaction=False) if own else writes
    after_delivery(pipe, hl, h, day_key, result, purpose, reminder_id, via=via)
    if own:
        try:
            pipe.execute()
        except redis.RedisError:
            if not result.ok:
                raise  # the refund of the cap is not best effort (as before: a failed DECR raised)
    if result.reason == f"twilio_{UNSUBSCRIBED}":
        from hotline.people.optout import opt_out_hash
        opt_out_hash(hl, h, "twilio-21610")
    return result


# Each kind of message has its own daily budget per number, so that using one up (eight faked
# "send me this" calls) never blocks another: a deadline reminder, the SMS that says how to undo a
# cancellation, or a code proving who holds the phone. The general cap (config: sms.daily_cap) is
# for answers to what the number asked for.
BUDGETS = {"reminder.": ("reminders", 4), "notice.": ("notices", 4), "code.": ("codes", 3)}


def cap_key(hl: "Hotline", h: str, budget: str) -> str:
    """Today's counter of one number in one budget (2 days' TTL)."""
    day = stats.today(hl.now(), hl.content.policy.tz)
    return store.daily_count(hl.vault.tag(f"cap|{day}|{budget}|{h}"))


def budget_of(purpose: str) -> str:
    return next((name for prefix, (name, _) in BUDGETS.items() if purpose.startswith(prefix)), "general")


def cap_of(hl: "Hotline", budget: str) -> int:
    return next((cap for name, cap in BUDGETS.values() if name == budget), hl.content.settings.daily_cap)


def permit_commands(pipe, h: str, day_key: str) -> None:
    """Queue the permit's reads on `pipe` (3 replies: the opt-out filter's counters, sent today,
    expire): one round trip; the filter and the day's count are in different slots, so no MULTI."""
    optout_filter.queue_test(pipe, h)
    pipe.incr(day_key)
    pipe.expire(day_key, 2 * 86400)


def pre_permit(hl: "Hotline", to: str, purpose: str, writes=None, count=None,
               via: str = "sms") -> tuple[SendResult | None, str, str, str]:
    """The checks that need no Redis: (refusal or None, number, hash, the day's cap key)."""
    number = normalise(to)
    if number is None:
        return _refuse(hl, to, "invalid_number", purpose, writes, count), to, "", ""
    settings = hl.content.settings
    if via == "whatsapp":
        if not settings.whatsapp.enabled:
            return _refuse(hl, number, "whatsapp_off", purpose, writes, count), number, "", ""
        if not in_regions(number, settings.whatsapp.allowed_regions):
            return _refuse(hl, number, "country_not_allowed", purpose, writes, count), number, "", ""
    elif not in_regions(number, settings.allowed_regions):
        return _refuse(hl, number, "country_not_allowed", purpose, writes, count), number, "", ""
    h = hl.vault.hash(number)
    return None, number, h, cap_key(hl, h, budget_of(purpose))


def verdict(hl: "Hotline", number: str, purpose: str, optout_counters: list | None, sent_today: int,
            ignore_optout: bool = False, writes=None, count=None) -> SendResult:
    """The permit's answer from its reads (see permit_commands)."""
    if optout_filter.member(optout_counters) and not ignore_optout:
        return _refuse(hl, number, "opted_out", purpose, writes, count)
    if sent_today > cap_of(hl, budget_of(purpose)):
        return _refuse(hl, number, "daily_cap", purpose, writes, count)
    return SendResult(True)


def permit(hl: "Hotline", to: str, purpose: str, ignore_optout: bool = False, via: str = "sms",
           writes=None) -> SendResult:
    """May one more message go to `to` now? Counts it against its budget's daily cap when it may.

    Inline TwiML replies pass through here too, so no path escapes these checks. Only the single
    confirmation of a STOP is sent with `ignore_optout`.
    """
    refused, number, h, day_key = pre_permit(hl, to, purpose, writes, via=via)
    if refused is not None:
        return refused
    try:
        pipe = hl.redis.pipeline(transaction=False)
        permit_commands(pipe, h, day_key)
        counters, sent_today, _ = pipe.execute()
    except redis.RedisError:
        # We cannot prove the person has not said STOP: do not send, try again later.
        return SendResult(False, "store_unavailable", transient=True)
    return verdict(hl, number, purpose, counters, sent_today, ignore_optout, writes)


def record_reply(hl: "Hotline", number: str, body: str, purpose: str) -> None:
    """An SMS reply goes out in the webhook's TwiML answer (Twilio sends it); in local mode, where no
    Twilio sends anything, it is also put in the local outbox so `hotline outbox` shows every SMS."""
    if twilio_client(hl.config) is None:
        outbox.put(hl, number, body, purpose, reply=True)


def _counter(hl: "Hotline", writes=None, count=None):
    """How a counter is added: by `count` (a caller's tally), on `writes` (a pipeline), or at once."""
    if count is not None:
        return count
    if writes is not None:
        return lambda name, n=1: stats.add(writes, hl, name, n)
    return lambda name, n=1: stats.count(name, hl, n)


def _refuse(hl: "Hotline", number: str, reason: str, purpose: str, writes=None, count=None) -> SendResult:
    log.info("SMS not sent to %s (%s, %s)", mask(number), reason, purpose)
    _counter(hl, writes, count)(f"sms.refused.{reason}")
    return SendResult(False, reason)


def after_delivery(pipe, hl: "Hotline", h: str, day_key: str, result: SendResult, purpose: str,
                   reminder_id: str = "", count=None, via: str = "sms") -> None:
    """Queue what follows a delivery on `pipe`: the status record and 'sms.sent', or the cap's refund
    (a message that did not leave does not use up the day's allowance) and 'sms.failed'. The caller
    handles a 21610 (opt_out_hash) itself."""
    if result.ok:
        if result.sid and result.sid != "outbox":
            key = store.message(result.sid)
            pipe.hset(key, mapping={"status": result.status or "queued", "person": h, "purpose": purpose,
                                    "reminder": reminder_id, "via": via})
            pipe.expire(key, store.MESSAGE_TTL)
            pipe.sadd(store.person_messages(h), result.sid)  # so STOP and DELETE erase the record
            pipe.expire(store.person_messages(h), store.MESSAGE_TTL)
        _counter(hl, pipe, count)(f"{via}.sent")
    else:
        pipe.decr(day_key)
        _counter(hl, pipe, count)(f"{via}.failed")


def deliver(hl: "Hotline", number: str, body: str, purpose: str, via: str = "sms",
            template: Template | None = None) -> SendResult:
    """The request itself (or the local outbox without credentials): no permit, no records."""
    cfg = hl.config
    sender_id = one_way_sender(hl) if via == "sms" else ""
    client = twilio_client(cfg, sender_id)
    if client is None:
        extra: dict[str, Any] = {} if via == "sms" else {"via": via}
        if template:
            extra["content_sid"], extra["content_variables"] = template
        outbox.put(hl, number, body, purpose, **extra)
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
    except (TwilioException, OSError, urllib3.exceptions.HTTPError) as exc:  # timeouts, refused connections, DNS
        if _may_have_left(exc):
            log.warning("no answer from Twilio for an SMS to %s (%s): it may have been sent", mask(number),
                        type(exc).__name__)
            return SendResult(False, "no_answer", ambiguous=True)
        log.warning("Twilio unreachable for an SMS to %s: %s", mask(number), type(exc).__name__)
        return SendResult(False, "unreachable", transient=True)
    return SendResult(True, sid=message.sid, status=message.status or "queued")


def one_way_sender(hl: "Hotline") -> str:
    """In one-way SMS mode, SMS come from the registered alphanumeric sender ID (sms.sender_id)
    unless a Messaging Service is set (it holds the sender ID then); "" in two-way mode."""
    settings = hl.content.settings
    return settings.sender_id if settings.one_way else ""


def _may_have_left(exc: BaseException) -> bool:
    """A request that got no answer after it was sent (read timeout, connection dropped mid-answer)
    may have been accepted: resending it could text the person twice. Only a connection that was
    never made (refused, DNS, connect timeout) is certainly safe to retry."""
    errors = urllib3.exceptions
    if isinstance(exc, (errors.ConnectTimeoutError, errors.NewConnectionError, errors.NameResolutionError)):
        return False  # never connected: nothing was sent
    if isinstance(exc, errors.ProxyError):
        return _may_have_left(exc.original_error) if isinstance(exc.original_error, BaseException) else True
    if isinstance(exc, ConnectionRefusedError):
        return False
    return isinstance(exc, (errors.HTTPError, OSError))  # read timeout, reset or closed mid-answer, TLS


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
    except (TwilioException, OSError, urllib3.exceptions.HTTPError) as exc:
        log.warning("could not ask Twilio about an earlier SMS to %s: %s", mask(number), type(exc).__name__)
        return None
    margin = since - timedelta(minutes=2)
    return any((template or m.body == body) and m.date_created is not None and m.date_created >= margin
               for m in recent)
