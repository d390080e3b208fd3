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
from hotline.runtime.speech import SoundLibrary
from hotline.store import keys as store
from hotline.store.recordings import Recordings

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
                 first: Content | None = None, renderer=None, render_wait: float = 120.0) -> None:
        """`first`: content already loaded from `root` (snapshots are immutable, so processes' apps
        may share one); otherwise it is loaded here, and that first load must succeed. `renderer`
        synthesises every sound of a snapshot in the background (hotline.runtime.render)."""
        self.root, self.interval, self.redis, self.clock = Path(root), interval, redis_client, clock
        self.renderer, self.render_wait = renderer, render_wait
        self._lock = threading.Lock()
        self._checked = 0.0
        self._seen = self._fingerprint()
        if first is not None and Path(first.root) != self.root:
            raise ValueError(f"content loaded from {first.root} cannot serve {self.root}")
        self.content: Content = first or load_content(self.root, clock().date())
        self.recordings = Recordings(redis_client) if redis_client is not None else None
        self._studio: dict = {}
        self._studio_version = "-"
        self._shipped = AudioLibrary(self.root / "audio")
        self._refresh_studio()
        self.library = SoundLibrary(self._shipped, self._studio, self._studio_version)
        self.error: str | None = None
        self._publish(None)
        if self.renderer is not None:  # the first seconds of a call now, everything else in the background
            self.renderer.first_heard(self.content, self.library)
            self.renderer.submit(self.content)

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
                if self._refresh_studio():
                    self.library = SoundLibrary(self._shipped, self._studio, self._studio_version)
            finally:
                self._lock.release()
        return self.content

    def _refresh_studio(self) -> bool:
        """Studio recordings changed (any process saved one)? One GET per check; the index only then."""
        if self.recordings is None:
            return False
        try:
            version = self.recordings.version()
            if version == self._studio_version:
                return False
            self._studio, self._studio_version = self.recordings.entries(), version
            return True
        except redis.RedisError:
            return False  # keep playing what we knew

    def sound_version(self) -> str:
        """Changes whenever what a call plays may change: content, shipped files, studio recordings."""
        self.current()
        return f"{self.content.version}:{self._studio_version}:{hash(self._seen) & 0xffffffff:x}"

    def _reload(self) -> None:
        try:
            content = load_content(self.root, self.clock().date())
        except ContentError as exc:
            self.error = str(exc)
            log.error("content edit refused, still serving version %s:\n%s", self.content.version, exc)
            self._publish(self.error)
            return
        shipped = AudioLibrary(self.root / "audio")

        def swap() -> None:
            self.content, self._shipped, self.error = content, shipped, None
            self.library = SoundLibrary(shipped, self._studio, self._studio_version)
            log.info("content reloaded: version %s", content.version)
            self._publish(None)

        if self.renderer is None:
            swap()
        elif self.render_wait <= 0:  # serve the edit at once; its new sounds follow
            swap()
            self.renderer.submit(content)
        else:  # the new texts are synthesised first, so no caller waits for them
            self.renderer.submit(content, then=swap, max_wait=self.render_wait)

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

