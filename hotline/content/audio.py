"""Recordings operators made (audio/<lang>/ and the manifest of the text each was made from).

A recording is tied to the hash of its text, so an edited prompt never plays an old recording.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

AUDIO_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


@dataclass(frozen=True)
class Utterance:
    """One thing to say. `key` names a recording slot; None for text made on the fly (dates)."""

    text: str
    key: str | None = None
    slow: bool = False
    # A sentence with a value, for a played language: the pieces to play one after the other
    # (fixed words and the value's recorded pieces); `text` is still the whole sentence.
    parts: tuple["Utterance", ...] = ()


def text_sha(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()[:16]


class AudioLibrary:
    """Recordings under audio/<lang>/ and the manifest of the text each was made from."""

    def __init__(self, audio_dir: Path) -> None:
        self.dir = Path(audio_dir)
        manifest = self.dir / "manifest.yaml"
        try:
            data = yaml.safe_load(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}
        except (yaml.YAMLError, UnicodeDecodeError, OSError):
            data = None  # `hotline check` reports where; meanwhile no recording can be trusted
        self.broken = not isinstance(data, dict)
        self.manifest: dict[str, dict[str, dict]] = data if isinstance(data, dict) else {}
        self.files: dict[tuple[str, str], Path] = {}
        for path in sorted(self.dir.glob("*/*")):
            if path.suffix in AUDIO_TYPES:
                self.files.setdefault((path.parent.name, path.stem), path)

    def status(self, lang: str, key: str, text: str) -> str:
        """recorded / stale / unverified / none: whether a recording exists and matches `text`."""
        if (lang, key) not in self.files:
            return "none"
        entry = self.manifest.get(lang, {}).get(key)
        if not isinstance(entry, dict):
            return "unverified"
        if entry.get("text_sha") != text_sha(text):
            return "stale"
        return "draft" if entry.get("draft") else "recorded"

    def usable(self, lang: str, key: str | None, text: str) -> Path | None:
        """The recording to play for this text, if one fits it (a stale one never does)."""
        if key is None or self.broken:  # unknown text: speak the current prompt instead
            return None
        return self.files.get((lang, key)) if self.status(lang, key, text) in ("recorded", "draft", "unverified") else None
