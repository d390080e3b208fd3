"""Rendering every fixed sound in the background, so no caller ever waits for synthesis.

When content loads or changes, every slot of every played language (and every piece a spoken
date can need) is synthesised in the order callers hear them (the language menu first), unless
some process already made it (Redis). An edit is swapped in only once its new sounds exist (or
after `max_wait` seconds), so the first call after an edit never waits either.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from hotline.content.model import Content
from hotline.content.script import first_heard, sound_jobs
from hotline.runtime.synthesis import Synthesiser, known_sounds

log = logging.getLogger(__name__)


@dataclass
class Batch:
    content: Content
    then: Callable[[], None] | None
    max_wait: float


class Renderer:
    """One daemon thread per process; a newer submission replaces one not yet started."""

    def __init__(self, synth: Synthesiser, enabled: bool = True) -> None:
        self.synth, self.enabled = synth, enabled
        self._cv = threading.Condition()
        self._next: Batch | None = None
        self._busy = False
        self._thread: threading.Thread | None = None
        self.rendered = 0      # files this process synthesised
        self.last: dict = {}   # the last finished batch: version, jobs, rendered, seconds

    def submit(self, content: Content, then: Callable[[], None] | None = None, max_wait: float = 120.0) -> None:
        if not self.enabled:
            if then:
                then()
            return
        with self._cv:
            self._next = Batch(content, then, max_wait)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="hotline-render", daemon=True)
                self._thread.start()
            self._cv.notify()

    def first_heard(self, content: Content, library=None) -> int:
        """Render now, before the process serves, what every call hears in its first seconds (the
        language menu, the welcome, the main menu): a handful of sounds, shared through Redis, so even
        the first call after a fresh start never waits. A sentence with values is made whole, and
        also piece by piece when `library` (hotline.runtime.speech.SoundLibrary) has one of its pieces
        recorded, since callers then hear it in pieces. Returns how many this process synthesised."""
        if not self.enabled:
            return 0
        made = 0
        self.synth.remember_many(sound_jobs(content))
        known_sounds(content, self.synth)  # the names of every sound, once, not in the first Kazakh webhook
        for code, language in content.settings.languages.items():
            if language.speech != "play":
                continue
            for u in first_heard(content, code):
                missing = [p for p in u.parts if library is None or not library.play_path(code, p.key, p.text)]
                for sound in (u, *(missing if len(missing) < len(u.parts) else ())):
                    if self._one(sound.text, language, sound.slow) == "made":
                        made += 1
        self.rendered += made
        return made

    def _one(self, text: str, lang, slow: bool, wait: bool = True) -> str:
        """have / made / failed for one sound (or busy, without `wait`: another process is making it)."""
        name = self.synth.name(text, lang, slow)
        spec = self.synth.spec(text, lang, slow)
        if self.synth.local(name).exists():
            self.synth.describe(name, spec)
            return "have"
        self.synth.remember(name, spec)
        if self.synth.fetch(name):
            return "have"
        outcome = self.synth.make(name, spec, 20.0 if wait else 0.0)
        return "failed" if wait and outcome == "busy" else outcome

    def idle(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is queued or rendering (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._next is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._next is None:
                    if not self._cv.wait(300):
                        self._thread = None
                        return
                batch, self._next, self._busy = self._next, None, True
            try:
                self._render(batch)
            except Exception:  # noqa: BLE001 - a render failure must never stop the process
                log.exception("background rendering failed")
                if batch.then:
                    batch.then()
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _render(self, batch: Batch) -> None:
        start = time.monotonic()
        then = batch.then
        jobs = sound_jobs(batch.content)
        self.synth.remember_many(jobs)  # any process or tool can say what a name says at once
        known_sounds(batch.content, self.synth)  # named before the edit is swapped in, not by its first call
        made = failed = 0
        later: list = []
        for text, lang, slow in jobs:
            if then and time.monotonic() - start > batch.max_wait:
                log.warning("rendering takes longer than %.0fs: serving the edit now, the rest follows", batch.max_wait)
                then()
                then = None
            with self._cv:
                if self._next is not None:
                    then = None  # a newer edit arrived: render (and swap in) that one instead
                    break
            outcome = self._one(text, lang, slow, wait=False)
            if outcome == "busy":  # another process is making it: make the next one, come back after
                later.append((text, lang, slow))
            made += outcome == "made"
            failed += outcome == "failed"
        for text, lang, slow in later:
            with self._cv:
                if self._next is not None:
                    break
            outcome = self._one(text, lang, slow)
            made += outcome == "made"
            failed += outcome == "failed"
        if then:
            then()
        self.rendered += made
        self.last = {"version": batch.content.version, "jobs": len(jobs), "rendered": made, "failed": failed,
                     "seconds": round(time.monotonic() - start, 3)}
        log.info("speech ready for content %s: %d sounds, %d synthesised here, %d failed, %.1fs",
                 batch.content.version, len(jobs), made, failed, time.monotonic() - start)
