"""The one way out for every outgoing call (a caseworker's call-back bridge, an automatic call-back
after a missed call): opt-out, country allow-list, quiet hours and a per-number daily cap are checked
here, at the last moment, whatever asked for the call. Like `sender` for SMS.

Without Twilio credentials the call goes to a local call outbox (`hotline outbox` and `make run`
print it), so the whole flow can be tried on a laptop.

Automatic call-backs are a small lease queue like reminders (due -> in flight -> sending -> done):
two workers never place the same call, and a worker killed during the request leaves it
"uncertain" (never placed twice) instead of "active" forever (verboice #900).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import redis
from twilio.base.exceptions import TwilioException, TwilioRestException

from hotline.messaging.sender import _may_have_left, twilio_client
from hotline.rules.hours import in_quiet
from hotline.rules.phones import in_regions, mask, normalise
from hotline.runtime import stats
from hotline.store import keys, optout_filter

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)
LEASE_SECONDS = 120
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class CallResult:
    ok: bool
    reason: str = ""
    sid: str = ""
    transient: bool = False
    ambiguous: bool = False


def hotline_number(hl: "Hotline") -> str:
    """The caller ID every outgoing leg shows: the hotline's own number, never a person's."""
    cfg = hl.config
    return str(cfg.get("TWILIO_VOICE_NUMBER") or cfg.get("TWILIO_FROM_NUMBER") or "")


def public(hl: "Hotline", path: str) -> str:
    return str(hl.config.get("PUBLIC_URL", "")).rstrip("/") + path


def permit(hl: "Hotline", to: str, purpose: str, caller: bool = True) -> CallResult:
    """May the hotline call `to` now? `caller`: a person who rang us (STOP, quiet hours and the cap
    apply); False for a caseworker's own phone (they asked for it by pressing "call back")."""
    number = normalise(to)
    if number is None:
        return _refuse(hl, to, "invalid_number", purpose)
    if not in_regions(number, hl.content.settings.allowed_regions):
        return _refuse(hl, number, "country_not_allowed", purpose)
    if not caller:
        return CallResult(True)
    handoff = hl.content.handoff
    if in_quiet(hl.now(), handoff.hours.tz, handoff.quiet_start, handoff.quiet_end):
        return _refuse(hl, number, "quiet_hours", purpose, transient=True)
    h = hl.vault.hash(number)
    day_key = keys.call_count(h, stats.today(hl.now(), handoff.hours.tz))
    try:
        pipe = hl.redis.pipeline(transaction=False)  # the opt-out filter and the person's count: two slots
        optout_filter.queue_test(pipe, h)
        pipe.incr(day_key)
        pipe.expire(day_key, 2 * 86400)
        counters, today, _ = pipe.execute()
        opted_out = optout_filter.member(counters)
    except redis.RedisError:
        return CallResult(False, "store_unavailable", transient=True)
    if opted_out:
        hl.redis.decr(day_key)
        return _refuse(hl, number, "opted_out", purpose)
    if today > handoff.call_daily_cap:
        hl.redis.decr(day_key)
        return _refuse(hl, number, "daily_cap", purpose)
    return CallResult(True)


def _refuse(hl: "Hotline", number: str, reason: str, purpose: str, transient: bool = False) -> CallResult:
    log.info("call not placed to %s (%s, %s)", mask(number), reason, purpose)
    stats.count(f"call.refused.{reason}", hl)
    return CallResult(False, reason, transient=transient)


def place(hl: "Hotline", to: str, purpose: str, path: str, caller: bool = True, then: str = "") -> CallResult:
    """Ring `to` from the hotline's number; when answered Twilio fetches `path` (a /voice webhook).
    `then`: for the local outbox, what that webhook will do next (a bridge's second leg)."""
    gate = permit(hl, to, purpose, caller)
    if not gate.ok:
        return gate
    number = normalise(to) or to
    client = twilio_client(hl.config)
    if client is None:
        entry = {"kind": "call", "to": mask(number), "to_enc": hl.vault.encrypt(number), "purpose": purpose,
                 "url": path, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "body": f"(phone call from the hotline's number; when answered, Twilio would fetch {path})"
                         + (f"; then {then}" if then else "")}
        pipe = hl.redis.pipeline()
        pipe.rpush(keys.OUTBOX, json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(keys.OUTBOX, -1000, -1)
        pipe.execute()
        log.info("call to %s put in the local outbox (%s)", mask(number), purpose)
        stats.count("call.placed", hl)
        return CallResult(True, sid="outbox")
    params: dict[str, Any] = {"to": number, "from_": hotline_number(hl), "url": public(hl, path),
                              "status_callback": public(hl, "/voice/person/call-status"),
                              "status_callback_event": ["completed"],
                              "timeout": hl.content.handoff.ring_seconds + 10}
    try:
        call = client.calls.create(**params)
    except TwilioRestException as exc:
        log.warning("Twilio refused a call to %s: HTTP %s, code %s", mask(number), exc.status, exc.code)
        return CallResult(False, f"twilio_{exc.code or exc.status}", transient=exc.status == 429 or exc.status >= 500)
    except (TwilioException, OSError) as exc:
        if _may_have_left(exc):
            log.warning("no answer from Twilio for a call to %s: it may have been placed", mask(number))
            return CallResult(False, "no_answer", ambiguous=True)
        return CallResult(False, "unreachable", transient=True)
    stats.count("call.placed", hl)
    log.info("call placed to %s (%s)", mask(number), purpose)
    return CallResult(True, sid=call.sid)


def already_placed(hl: "Hotline", to: str, since: datetime) -> bool | None:
    """Did Twilio take a call to `to` since `since`? None: cannot tell now (asked before any retry)."""
    client = twilio_client(hl.config)
    number = normalise(to)
    if client is None or number is None:
        return False
    try:
        recent = client.calls.list(to=number, limit=20)
    except (TwilioException, OSError):
        return None
    margin = since - timedelta(minutes=2)
    return any(c.date_created is not None and c.date_created >= margin for c in recent)
