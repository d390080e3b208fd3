"""Voice messages from Twilio to us: fetch the audio, keep it encrypted, delete it at Twilio.

One path for the signed recording callback and for the worker's sweep, which picks up what that
callback could not finish (Twilio unreachable, a callback that never arrived): an item never stays
"recording not yet received" while Twilio holds its audio, and Twilio never keeps a copy we took.
"""
from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import requests
from twilio.base.exceptions import TwilioException

from hotline.messaging.sender import twilio_client
from hotline.people import inbox
from hotline.runtime import stats

if TYPE_CHECKING:
    from hotline.runtime.hotline import Hotline

log = logging.getLogger(__name__)
MEDIA = re.compile(r"^https://api\.twilio\.com/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/RE[0-9a-f]{32}$")
# `hotline simulate` plays Twilio's part of <Record> in local mode: the same path, from its own
# loopback server. Accepted only with no Twilio credentials at all and outside production.
SIMULATED_MEDIA = re.compile(r"^http://(127\.0\.0\.1|\[::1\]):[0-9]{1,5}/2010-04-01/Accounts/AC[0-9a-f]{32}/Recordings/RE[0-9a-f]{32}$")
SWEEP_AFTER_SECONDS = 10 * 60   # a callback this late is taken as lost: ask Twilio
SWEEP_GIVE_UP_SECONDS = 2 * 86400


def media_url(hl: "Hotline", sid: str) -> str:
    return f"https://api.twilio.com/2010-04-01/Accounts/{hl.config.get('TWILIO_ACCOUNT_SID', '')}/Recordings/{sid}"


def simulated(cfg: dict, url: str) -> bool:
    """A recording the local simulator serves: never in production, never with Twilio credentials."""
    local = not (cfg.get("TWILIO_AUTH_TOKEN") or cfg.get("TWILIO_ACCOUNT_SID")) and cfg.get("HOTLINE_ENV") != "production"
    return local and bool(SIMULATED_MEDIA.match(url))


def acceptable(hl: "Hotline", url: str) -> bool:
    """Twilio's media URL (anything else would let a forged callback make us fetch it), or the simulator's."""
    return bool(MEDIA.match(url)) or simulated(hl.config, url)


def take(hl: "Hotline", iid: str, sid: str, url: str, duration: int) -> str:
    """Fetch, encrypt, store, delete at Twilio. Returns stored, gone (item deleted: only deleted at
    Twilio), or failed (left for the sweep)."""
    if not acceptable(hl, url):
        return "failed"
    if inbox.get(hl, iid) is None:  # STOP or DELETE came first: keep nothing, leave nothing there
        delete_at_twilio(hl, sid)
        return "gone"
    audio = _fetch(hl, url + ".mp3")
    if audio is None:
        inbox.update(hl, iid, recording="failed", recording_sid=sid)
        return "failed"
    if not inbox.store_recording(hl, iid, audio, duration):
        delete_at_twilio(hl, sid)
        return "gone"
    stats.count("person.recording_stored", hl)
    if not delete_at_twilio(hl, sid):
        inbox.update(hl, iid, twilio_copy=sid)  # the sweep deletes it later
    return "stored"


def _fetch(hl: "Hotline", url: str) -> bytes | None:
    cfg = hl.config
    base = str(cfg.get("TWILIO_API_URL") or "").rstrip("/")
    target = re.sub(r"^https?://[^/]+", base, url) if base and not simulated(cfg, url[:-4]) else url
    try:
        resp = requests.get(target, auth=(cfg.get("TWILIO_ACCOUNT_SID", ""), cfg.get("TWILIO_AUTH_TOKEN", "")), timeout=10)
    except requests.RequestException as exc:
        log.warning("could not fetch a recording from Twilio: %s", type(exc).__name__)
        return None
    if resp.status_code != 200 or not resp.content:
        log.warning("could not fetch a recording from Twilio: HTTP %s", resp.status_code)
        return None
    return resp.content


def delete_at_twilio(hl: "Hotline", sid: str) -> bool:
    client = twilio_client(hl.config)
    if client is None or not sid:
        return False
    try:
        client.recordings(sid).delete()
    except (TwilioException, OSError) as exc:
        if getattr(exc, "status", None) == 404:
            return True  # already gone there
        log.warning("could not delete recording %s at Twilio: %s", sid[:8], type(exc).__name__)
        stats.count("person.recording_delete_failed", hl)
        return False
    stats.count("person.recording_deleted_at_twilio", hl)
    return True


def sweep(hl: "Hotline") -> int:
    """What the callback left undone: fetch failed or late recordings, delete copies left at Twilio."""
    if twilio_client(hl.config) is None:
        return 0
    done = 0
    now = hl.now().timestamp()
    for item in inbox.listing(hl, limit=500):
        age = now - item.created
        if item.twilio_copy and delete_at_twilio(hl, item.twilio_copy):
            inbox.update(hl, item.id, twilio_copy="")
            done += 1
        if item.kind != "voicemail" or item.recording not in ("pending", "failed") or age > SWEEP_GIVE_UP_SECONDS:
            continue
        sid = item.recording_sid
        if not sid and item.recording == "pending" and age > SWEEP_AFTER_SECONDS and item.call_sid:
            sid = _find(hl, item.call_sid)
            if sid is None:
                continue
        if sid and take(hl, item.id, sid, media_url(hl, sid), item.duration) == "stored":
            stats.count("person.recording_swept", hl)
            done += 1
    return done


def _find(hl: "Hotline", call_sid: str) -> str | None:
    client = twilio_client(hl.config)
    try:
        found = client.recordings.list(call_sid=call_sid, limit=5)
    except (TwilioException, OSError) as exc:
        log.warning("could not list recordings at Twilio: %s", type(exc).__name__)
        return None
    done = [r for r in found if (r.status or "completed") == "completed"]
    return done[0].sid if done else None
