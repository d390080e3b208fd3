"""Studio recordings in Redis: shared by every web process, kept across restarts and redeploys.

Redis is the one store every process already shares (managed Redis on a Procfile platform; the
embedded default keeps it in the data directory with append-only persistence), so a recording
saved through one process is heard through all of them at once, and nothing lives only on a
file system a redeploy throws away. Audio is content-addressed (the hash of the WAV), so a URL
never changes meaning and can be cached for ever.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass

import redis

from hotline.store.keys import REC_INDEX as INDEX
from hotline.store.keys import REC_VERSION as VERSION
from hotline.store.keys import REC_WAV as WAV


@dataclass(frozen=True)
class Entry:
    lang: str
    slot: str
    text_sha: str      # the text the recording was made from
    text: str
    audio: str         # sha of the WAV bytes (names the file)
    seconds: float
    at: str            # ISO time it was saved
    source: str        # studio / upload / import / archive


def audio_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:24]


class Recordings:
    def __init__(self, client: redis.Redis) -> None:
        self.r = client

    def version(self) -> str:
        return str(self.r.get(VERSION) or "0")

    def entries(self) -> dict[tuple[str, str], Entry]:
        out = {}
        for raw in (self.r.hgetall(INDEX) or {}).values():
            try:
                data = json.loads(raw)
                out[(data["lang"], data["slot"])] = Entry(**data)
            except (ValueError, TypeError, KeyError):
                continue
        return out

    def save(self, entry: Entry, wav: bytes) -> None:
        """Store the audio first, then point the slot at it and tell every process (a reader never
        finds a slot whose audio is missing); the audio it replaces goes when nothing uses it."""
        old = self.entries().get((entry.lang, entry.slot))
        self.r.set(WAV + entry.audio, base64.b64encode(wav).decode())
        pipe = self.r.pipeline(transaction=False)  # different keys (slots in a cluster)
        pipe.hset(INDEX, f"{entry.lang}/{entry.slot}", json.dumps(asdict(entry), ensure_ascii=False))
        pipe.incr(VERSION)
        pipe.execute()
        if old is not None and old.audio != entry.audio:
            self._forget_audio(old.audio)

    def delete(self, lang: str, slot: str) -> bool:
        old = self.entries().get((lang, slot))
        gone = self.r.hdel(INDEX, f"{lang}/{slot}")
        self.r.incr(VERSION)
        if old is not None:
            self._forget_audio(old.audio)
        return bool(gone)

    def _forget_audio(self, sha: str) -> None:
        if all(e.audio != sha for e in self.entries().values()):
            self.r.delete(WAV + sha)

    def wav(self, sha: str) -> bytes | None:
        raw = self.r.get(WAV + sha)
        return base64.b64decode(raw) if raw else None
