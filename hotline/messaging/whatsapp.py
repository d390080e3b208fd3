"""WhatsApp as a second text channel: the 24-hour window and the templates that go outside it.

Twilio carries WhatsApp on the same Messages API and webhooks as SMS, with `whatsapp:+E.164`
addresses in To and From. WhatsApp lets a business send free-form text only within 24 hours of
the person's last message to it (the "customer service window"); outside it only a template that
WhatsApp approved may be sent, as `ContentSid` + `ContentVariables` with no Body (Twilio error
63016 otherwise). So the hotline remembers, per person, when they last wrote on WhatsApp.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import redis

from hotline.store import keys as store

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

PREFIX = "whatsapp:"
WINDOW = timedelta(hours=24)
# Free-form text is sent only while this much of the window is left: a reminder claimed at 23:59
# must not arrive after the window closed.
MARGIN = timedelta(minutes=10)


def is_whatsapp(address: str) -> bool:
    return address.strip().lower().startswith(PREFIX)


def address(e164: str) -> str:
    return PREFIX + e164


def note_inbound(hl: "Hotline", h: str) -> None:
    """The person wrote to us on WhatsApp just now: the window is open for 24 hours."""
    hl.redis.set(store.whatsapp_window(h), str(hl.now().timestamp()), ex=store.WHATSAPP_WINDOW_TTL)


def window_open(hl: "Hotline", h: str) -> bool:
    """May free-form text go to this person on WhatsApp now? False when unknown (Redis down)."""
    try:
        raw = hl.redis.get(store.whatsapp_window(h))
    except redis.RedisError:
        return False
    if not raw:
        return False
    opened = datetime.fromtimestamp(float(raw), timezone.utc)
    return hl.now() < opened + WINDOW - MARGIN


def template(hl: "Hotline", rule: str, lang: str, deadline: str) -> tuple[str, dict[str, str]] | None:
    """The approved template of a reminder rule in a language, with its variables ({{1}} = the
    deadline as the SMS writes it); None when none is configured (`hotline check` reports that)."""
    sid = hl.content.settings.whatsapp.templates.get(rule, {}).get(lang)
    return (sid, {"1": deadline}) if sid else None
