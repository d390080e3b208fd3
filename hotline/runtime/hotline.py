"""What one process shares between requests: connections, the current content, the clock."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import redis
from flask import current_app

from hotline.content.model import Content
from hotline.runtime.reload import ContentHolder
from hotline.runtime.speech import SoundLibrary, Speaker
from hotline.runtime.synthesis import Synthesiser
from hotline.store.vault import Vault

log = logging.getLogger(__name__)


@dataclass
class Hotline:
    """Per-process services: connections, the current content, the clock. Views reach it with `current()`."""

    config: dict
    redis: redis.Redis
    vault: Vault
    holder: ContentHolder
    synth: Synthesiser
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    ttl_sent: dict[str, float] = field(default_factory=dict)  # keys whose TTL this process sent lately (stats.add)

    @property
    def content(self) -> Content:
        return self.holder.current()

    @property
    def library(self) -> SoundLibrary:
        self.holder.current()
        return self.holder.library

    def sound_version(self) -> str:
        """Changes whenever what a played-language call sounds like may change (content or recordings):
        a cache of TwiML must be keyed on it, not on the content version alone."""
        return self.holder.sound_version()

    def speaker(self) -> Speaker:
        return Speaker(self.content, self.library, self.synth, self.config.get("AUDIO_BASE_URL", ""))

    def now(self) -> datetime:
        return self.clock()


def current() -> Hotline:
    """The running hotline, from inside a request: the one way views reach it."""
    return current_app.extensions["hotline"]
