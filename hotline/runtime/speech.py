"""How each utterance reaches the caller's ear: a recording, Twilio's voice, or our own synthesis.

A recording wins when it was made from the prompt's current text. Languages Twilio cannot speak
(Kazakh) are synthesised on the server with espeak-ng, cached by text hash, rather than read out
in another language.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from twilio.twiml import TwiML

from hotline.content.audio import AudioLibrary, Utterance
from hotline.content.model import Content, Language

log = logging.getLogger(__name__)


class Synthesiser:
    """espeak-ng speech for languages Twilio cannot speak; files named by hash so any process can share them."""

    def __init__(self, cache_dir: Path, store=None) -> None:
        self.dir = Path(cache_dir)
        self.store = store
        self.binary = shutil.which("espeak-ng")
        self.sox = shutil.which("sox")

    def name(self, text: str, voice: str, slow: bool) -> str:
        return hashlib.sha256(f"{voice}|{int(slow)}|{text}".encode()).hexdigest()[:24] + ".wav"

    def ensure(self, text: str, voice: str, slow: bool = False) -> str | None:
        """Synthesise once; return the file name, or None if espeak-ng is missing or failed.

        The text is kept beside the audio (for operators' transcripts) and in Redis (so another
        machine behind the same URL can make the file again).
        """
        name = self.name(text, voice, slow)
        if self.store is not None:  # refreshed on every use, so the text never expires while in use
            try:
                self.store.set(f"hl:tts:{name}", f"{voice}|{int(slow)}|{text}", ex=86400 * 30)
            except Exception:  # noqa: BLE001 - the local file is enough on one machine
                pass
        if (self.dir / name).exists():
            return name
        return name if self._render(name, text, voice, slow) else None

    def text_of(self, name: str) -> str | None:
        """The text a synthesised file says (None if we never made it)."""
        try:
            return (self.dir / name).with_suffix(".txt").read_text(encoding="utf-8")
        except (FileNotFoundError, ValueError):
            return None

    def regenerate(self, name: str) -> bool:
        """Recreate a file another process or machine named, from the text it left in Redis."""
        if self.store is None:
            return False
        try:
            spec = self.store.get(f"hl:tts:{name}")
        except Exception:  # noqa: BLE001
            return False
        if not spec:
            return False
        voice, slow, text = spec.split("|", 2)
        return self._render(name, text, voice, slow == "1")

    def _render(self, name: str, text: str, voice: str, slow: bool) -> bool:
        if not self.binary:
            return False
        self.dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.dir) as tmp:
            raw = Path(tmp) / "raw.wav"
            cmd = [self.binary, "-v", voice, "-s", "125" if slow else "150", "-w", str(raw), text]
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=20)
                final = raw
                if self.sox:  # phone-quality: 8 kHz mono is what the line carries, and 5x smaller
                    final = Path(tmp) / "tel.wav"
                    subprocess.run([self.sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", str(final)],
                                   check=True, capture_output=True, timeout=20)
                (Path(tmp) / "text").write_text(text, encoding="utf-8")
                (Path(tmp) / "text").replace((self.dir / name).with_suffix(".txt"))
                final.replace(self.dir / name)  # atomic: other processes never see half a file
                return True
            except (subprocess.SubprocessError, OSError) as exc:
                log.error("speech synthesis failed for voice %s: %s", voice, exc)
                return False


def fallback_voice(content: Content) -> Language:
    """Last resort when synthesis fails: the default language's Twilio voice, else any Twilio voice.

    Better than silence; `hotline check` makes this an error so operators fix it first.
    """
    langs = content.settings.languages
    default = langs[content.settings.default_language]
    return default if default.speech == "say" else next(l for l in langs.values() if l.speech == "say")


class Speaker:
    """Adds utterances to TwiML in one language, picking the source for each."""

    def __init__(self, content: Content, library: AudioLibrary, synth: Synthesiser, audio_base: str = "") -> None:
        self.content, self.library, self.synth = content, library, synth
        self.base = audio_base.rstrip("/") or "/audio"

    def source(self, lang: Language, u: Utterance) -> str:
        """recording / twilio / synthesised: where this utterance's sound comes from."""
        if self.library.usable(lang.code, u.key, u.text):
            return "recording"
        return "twilio" if lang.speech == "say" else "synthesised"

    def add(self, parent: TwiML, lang: Language, utterances: list[Utterance]) -> None:
        for u in utterances:
            recording = self.library.usable(lang.code, u.key, u.text)
            if recording is not None:
                parent.play(f"{self.base}/{lang.code}/{recording.name}")
                continue
            if lang.speech == "play":
                name = self.synth.ensure(u.text, lang.tts_voice, u.slow)
                if name:
                    parent.play(f"{self.base}/tts/{name}")
                    continue
                fallback = fallback_voice(self.content)
                log.error("no recording and no synthesis for a %s prompt: reading it with the %s voice",
                          lang.code, fallback.code)
                parent.say(u.text, voice=fallback.voice, language=fallback.say_language)
                continue
            if u.slow:  # addresses and numbers: slower, for bad lines and note-taking
                parent.say(voice=lang.voice, language=lang.say_language).prosody(u.text, rate="85%")
            else:
                parent.say(u.text, voice=lang.voice, language=lang.say_language)


