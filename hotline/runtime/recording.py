"""Turning a file an operator gives us into a studio recording every process plays.

The file is checked (type, size, length), converted for the phone line (hotline.runtime.audiofx),
and stored in Redis with the hash of the text it says (hotline.store.recordings).
"""
from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hotline.content.audio import text_sha
from hotline.runtime import audiofx
from hotline.store.recordings import Entry, Recordings, audio_sha


def store_recording(recordings: Recordings, lang: str, slot: str, text: str, src: Path, name: str, source: str,
                    sha: str | None = None) -> Entry:
    """Check, convert and store `src` as the recording of `slot`; raises audiofx.Refused with the reason.

    `sha` is the hash of the text the recording says (default: `text`, the slot's current text);
    an archive keeps each recording's own, so a stale recording stays stale.
    """
    audiofx.check_upload(Path(src), name)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "phone.wav"
        seconds = audiofx.phone_quality(Path(src), out)
        data = out.read_bytes()
    entry = Entry(lang, slot, sha or text_sha(text), text, audio_sha(data), round(seconds, 2),
                  datetime.now(timezone.utc).isoformat(timespec="seconds"), source)
    recordings.save(entry, data)
    return entry
