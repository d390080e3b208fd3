"""Every Redis key name and retention period, in one place.

Keys carry Redis Cluster hash tags: everything about one person shares the tag {<hash>}, and
each reminder shard shares {r<n>}, so every atomic script touches a single slot.
"""
from __future__ import annotations

SHARDS = 16


def call(sid: str) -> str:
    return f"hl:call:{{{sid}}}"


def caller(h: str) -> str:
    """A returning caller's language (and nothing else)."""
    return f"hl:caller:{{{h}}}"


def subscriber(h: str) -> str:
    """Encrypted number, language, consents and deadlines of one subscriber."""
    return f"hl:sub:{{{h}}}"


def pending(h: str) -> str:
    """An SMS opt-in waiting for YES."""
    return f"hl:pending:{{{h}}}"


def daily_count(tag: str) -> str:
    """SMS sent to one number on one day in one budget. `tag` is a keyed hash of (day, budget, person)
    (messaging/sender.cap_key), so a counter cannot be tied to the person's other keys without the key."""
    return f"hl:cap:{{{tag}}}"


WHATSAPP_WINDOW_TTL = 2 * 86400  # the window is 24 hours; the key outlives it a little, then goes


def whatsapp_window(h: str) -> str:
    """When the person last wrote to the hotline on WhatsApp (a Unix time): the 24-hour window."""
    return f"hl:wa:{{{h}}}"


def person_keys(h: str) -> list[str]:
    """Everything stored about one number except the opt-out and the undo record (all in one slot)."""
    return [caller(h), subscriber(h), pending(h), whatsapp_window(h), verify_code(h)]


def shard_of(h: str) -> int:
    return int(h[:4], 16) % SHARDS


def due(shard: int) -> str:
    """Sorted set: reminder id -> send time (epoch seconds)."""
    return f"hl:due:{{r{shard}}}"


def jobs(shard: int) -> str:
    """Hash: reminder id -> reminder data (JSON, no phone number)."""
    return f"hl:jobs:{{r{shard}}}"


def inflight(shard: int) -> str:
    """Sorted set: reminder id -> lease expiry, while a worker holds it."""
    return f"hl:inflight:{{r{shard}}}"


def state(shard: int) -> str:
    """Hash: reminder id -> 'sending' / 'uncertain' while a worker is at it."""
    return f"hl:state:{{r{shard}}}"


def person_jobs(shard: int, h: str) -> str:
    """Set of one person's reminder ids (in the shard's slot, so STOP can cancel atomically)."""
    return f"hl:pjobs:{{r{shard}}}:{h}"


def stats(day: str) -> str:
    return f"hl:stats:{day}"


def message(sid: str) -> str:
    """Delivery status of one outgoing message."""
    return f"hl:msg:{{{sid}}}"


def operator_lock(ip_hash: str) -> str:
    """Failed dashboard logins from one client address (keyed hash), for the lockout."""
    return f"hl:oplock:{{{ip_hash}}}"


OUTBOX = "hl:outbox"


CONTENT_ERROR = "hl:content:error"


TTS_TEXT = "hl:tts:"


# ---- reaching a person (issue 12) ---------------------------------------------------------------

def caseworker(cid: str) -> str:
    """One caseworker: name, encrypted phone number, languages, order, on shift."""
    return f"hl:cw:{{{cid}}}"


CASEWORKERS = "hl:cws"  # set of caseworker ids


def item(iid: str) -> str:
    """One voice message or call-back request (the caller's number encrypted)."""
    return f"hl:item:{{{iid}}}"


def recording(iid: str) -> str:
    """The encrypted audio of a voice message (same tag as its item)."""
    return f"hl:rec:{{{iid}}}"


INBOX = "hl:inbox"  # sorted set: item id -> created (epoch seconds)


def person_items(h: str) -> str:
    """One person's item ids (in the person's slot), so STOP and DELETE find them."""
    return f"hl:pitems:{{{h}}}"


def taken(call_sid: str) -> str:
    """Set when a caseworker pressed 1 for this caller's call: exactly one takes it."""
    return f"hl:taken:{{{call_sid}}}"


def call_count(h: str, day: str) -> str:
    """Calls the hotline placed to one person on one day (the cap)."""
    return f"hl:callcap:{{{h}}}:{day}"


def auto_callback_day(h: str, day: str) -> str:
    """The one automatic call-back of a day for one person."""
    return f"hl:autocb:{{{h}}}:{day}"


# The automatic call-back queue: one slot ({cb}), one job per person (id = the person's hash).
CB_DUE = "hl:cbdue:{cb}"
CB_JOBS = "hl:cbjobs:{cb}"
CB_INFLIGHT = "hl:cbinflight:{cb}"
CB_STATE = "hl:cbstate:{cb}"
TTS_WAV = "hl:tts:wav:"     # + name: base64 of a synthesised 8 kHz WAV, shared by every process
TTS_LOCK = "hl:tts:lock:"   # + name: held by the one process synthesising it

# Studio recordings (hotline.store.recordings): the slot index, the audio by its hash, a version.
REC_INDEX = "hl:studio:index"
REC_WAV = "hl:studio:wav:"
REC_VERSION = "hl:studio:version"


# ---- operators (dashboard accounts; never a caller) ---------------------------------------------

OPERATORS = "hl:operators"


def operator(name: str) -> str:
    """One operator account: role, password hash, encrypted TOTP secret, recovery-code hashes, epoch."""
    return f"hl:op:{{{name}}}"


def operator_session(sid_hash: str) -> str:
    """One dashboard session (keyed by a hash of the cookie's id), TTL = the idle lifetime."""
    return f"hl:sess:{{{sid_hash}}}"


def operator_sessions(name: str) -> str:
    """The session keys of one operator, for "log out everywhere"."""
    return f"hl:opsess:{{{name}}}"


AUDIT = "hl:audit"


# ---- what stopping, proof and clean-up need (issue 14) -------------------------------------------

OPTOUT_FILTER = "hl:optout:filter"
"""Counting Bloom filter of everyone who said STOP (store/optout_filter.py): testable, not listable."""


def undo(h: str) -> str:
    """A stopped or cancelled person's consents and reminders, kept for the undo grace period only."""
    return f"hl:undo:{{{h}}}"


def verify_code(h: str) -> str:
    """The keyed hash of a code sent by SMS to prove a caller holds the phone (10 minutes)."""
    return f"hl:vcode:{{{h}}}"


def person_messages(h: str) -> str:
    """The SIDs of the status records of messages sent to one person (deleted with the person)."""
    return f"hl:pmsg:{{{h}}}"


MESSAGE_TTL = 30 * 86400
"""How long a message's delivery status is kept."""

PURGE = "hl:purge"
"""Sorted set: purge job id -> when to ask Twilio to delete a stopped person's message records."""


def purge_job(job: str) -> str:
    """The encrypted number whose Twilio message records are to be deleted, and the tries so far."""
    return f"hl:purgejob:{{{job}}}"


REMINDERS_FAILED = "hl:reminders:failed"
"""Sorted set: failed reminder id -> when it failed (kept FAILED_DAYS), details in REMINDERS_FAILED_INFO."""
REMINDERS_FAILED_INFO = "hl:reminders:failed:info"
FAILED_DAYS = 30
