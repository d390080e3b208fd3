"""The immutable content snapshot: languages, keys, offices, menu nodes, prompts and policy.

Everything a caller hears or receives comes from `config/`, `prompts/` and `audio/`; the loader
(loader.py) builds one of these, and nothing changes it afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hotline.rules import deadlines as dl
from hotline.rules.keywords import Vocabulary

UNIVERSAL = ("repeat", "back", "main", "sms", "more", "person")


NODE_TYPES = ("menu", "content", "office", "reminders")


KEYPAD = set("0123456789*#")


KAZAKH_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


REFERENCE_LANG = "en"  # the language every other prompts file is compared with



@dataclass(frozen=True)
class Problem:
    """One finding, phrased for an operator: where, what, and how to fix it."""

    file: str
    line: int | None
    message: str
    fix: str = ""
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{self.severity.upper()} {where}: {self.message}"
        return f"{text}\n    How to fix: {self.fix}" if self.fix else text


class ContentError(Exception):
    """The content cannot be served; `problems` lists every error found."""

    def __init__(self, problems: list[Problem], partial: "Content | None" = None) -> None:
        self.problems = problems
        # What could be assembled despite the errors, so `hotline check` can go on checking the rest
        # (SMS sizes, facts, recordings) and show every error at once. Never served.
        self.partial = partial
        super().__init__("\n".join(str(p) for p in problems if p.severity == "error"))


@dataclass(frozen=True)
class Language:
    code: str
    key: str
    speech: str  # "say" (Twilio text-to-speech) or "play" (recordings / server synthesis)
    locale: str
    voice: str = ""
    say_language: str = ""
    tts_voice: str = ""
    tts_command: str = ""   # text on stdin -> WAV at {out}; empty: espeak-ng (hotline.runtime.synthesis.ESPEAK)
    tts_rate: int = 0       # words a minute for {rate}; 0: the default (140, slow parts 115)


@dataclass(frozen=True)
class Keys:
    repeat: str
    back: str
    main: str
    sms: str
    more: str
    person: str = "0"  # talk to a person (issue 12)

    def universal(self) -> dict[str, str]:
        """Key -> meaning, for every universal key."""
        return {getattr(self, name): name for name in UNIVERSAL if getattr(self, name)}


@dataclass(frozen=True)
class WhatsApp:
    """WhatsApp as a second text channel (config/hotline.yaml `whatsapp:`)."""

    enabled: bool = False
    number: str = ""  # the hotline's WhatsApp number as written in texts ({whatsapp})
    allowed_regions: tuple[str, ...] = ("*",)  # "*": WhatsApp reaches numbers of any country
    # Approved templates for reminders outside the 24-hour window: rule -> language -> ContentSid.
    templates: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    languages: dict[str, Language]
    default_language: str
    keys: Keys
    gather_timeout: int
    max_silences: int
    max_part_seconds: int
    max_segments: int
    daily_cap: int
    allowed_regions: tuple[str, ...]  # ISO codes of the numbers SMS may go to ("KZ")
    office_max_age_days: int
    call_state_ttl_minutes: int
    # Where the hotline is deployed (config/hotline.yaml, issue 15).
    sms_mode: str = "two-way"  # "one-way": nobody can reply by SMS (Kazakhstan: sender ID, no two-way)
    sender_id: str = ""  # the registered alphanumeric sender ID SMS come from in one-way mode
    phone_line: str = ""  # the number people call, as it is written in texts ({phone})
    whatsapp: WhatsApp = field(default_factory=WhatsApp)

    @property
    def one_way(self) -> bool:
        return self.sms_mode == "one-way"


@dataclass(frozen=True)
class Office:
    id: str
    city: dict[str, str]
    address: dict[str, str]
    short: dict[str, str]
    note: dict[str, str]
    source: str
    verified_on: date


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    options: dict[str, str] = field(default_factory=dict)
    office: str = ""
    sms: str = ""
    parent: str = ""


@dataclass(frozen=True)
class Content:
    """One validated snapshot of everything operators edit."""

    root: Path
    settings: Settings
    nodes: dict[str, Node]
    offices: dict[str, Office]
    prompts: dict[str, dict[str, Any]]
    policy: dl.Policy
    vocabulary: Vocabulary
    version: str
    warnings: tuple[Problem, ...] = ()
    handoff: Any = None  # content.handoff.Handoff from config/handoff.yaml (None: no one to reach)
    # Values derived from this snapshot alone (rendered periods, key names), computed once per
    # language; a reload builds a new snapshot, so nothing here can go stale.
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def lang(self, code: str | None) -> Language:
        """The language `code`, or the default one for anything unknown."""
        return self.settings.languages.get(code or "", self.settings.languages[self.settings.default_language])


# How long a stopped or cancelled person's reminders can be brought back (people/grace.py says why).
# Prompts say it as {undo_days}, from the same number.
UNDO_DAYS = 2
