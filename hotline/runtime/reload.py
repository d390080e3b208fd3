"""The last good content, swapped for a valid edit within seconds; a broken edit never replaces it."""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

import redis

from hotline.content.audio import AudioLibrary
from hotline.content.loader import fingerprint, load_content
from hotline.content.model import Content, ContentError
from hotline.store import keys as store

log = logging.getLogger(__name__)


def _audio_fingerprint(audio_dir: Path) -> str:
    parts = []
    for p in [audio_dir, audio_dir / "manifest.yaml", *sorted(x for x in audio_dir.glob("*") if x.is_dir())]:
        try:
            parts.append(f"{p}:{p.stat().st_mtime_ns}")
        except FileNotFoundError:
            parts.append(f"{p}:-")
    return ";".join(parts)


class ContentHolder:
    """The last good content; rechecks the files every few seconds and swaps in a valid edit.

    A broken edit is logged and published to Redis for the dashboard, and the previous content
    keeps serving. Each process checks on its own, so every web process picks up a save.
    """

    def __init__(self, root: Path, interval: float, redis_client: redis.Redis | None, clock: Callable[[], datetime],
                 first: Content | None = None) -> None:
        """`first`: content already loaded from `root` (snapshots are immutable, so processes' apps
        may share one); otherwise it is loaded here, and that first load must succeed."""
        self.root, self.interval, self.redis, self.clock = Path(root), interval, redis_client, clock
        self._lock = threading.Lock()
        self._checked = 0.0
        self._seen = self._fingerprint()
        if first is not None and Path(first.root) != self.root:
            raise ValueError(f"content loaded from {first.root} cannot serve {self.root}")
        self.content: Content = first or load_content(self.root, clock().date())
        self.library = AudioLibrary(self.root / "audio")
        self.error: str | None = None
        self._publish(None)

    def _fingerprint(self) -> str:
        return fingerprint(self.root) + _audio_fingerprint(self.root / "audio")

    def current(self) -> Content:
        now = time.monotonic()
        if now - self._checked >= self.interval and self._lock.acquire(blocking=False):
            try:
                self._checked = now
                seen = self._fingerprint()
                if seen != self._seen:
                    self._seen = seen
                    self._reload()
            finally:
                self._lock.release()
        return self.content

    def _reload(self) -> None:
        try:
            content = load_content(self.root, self.clock().date())
        except ContentError as exc:
            self.error = str(exc)
            log.error("content edit refused, still serving version %s:\n%s", self.content.version, exc)
            self._publish(self.error)
            return
        self.content, self.library, self.error = content, AudioLibrary(self.root / "audio"), None
        log.info("content reloaded: version %s", content.version)
        self._publish(None)

    def refused_edit(self) -> str | None:
        """The refused edit: this process's own, or one another process published to Redis."""
        self.current()  # lets this process notice a fresh edit first
        if self.error or self.redis is None:
            return self.error
        try:
            raw = self.redis.get(store.CONTENT_ERROR)
            return json.loads(raw).get("error") if raw else None
        except (redis.RedisError, ValueError, AttributeError):
            return None

    def _publish(self, error: str | None) -> None:
        if self.redis is None:
            return
        try:
            if error:
                self.redis.set(store.CONTENT_ERROR, json.dumps({"error": error, "at": self.clock().isoformat()}))
            else:
                self.redis.delete(store.CONTENT_ERROR)
        except redis.RedisError:
            pass

