"""Our own synthesis, for languages Twilio cannot speak (Kazakh): a sound is named by a hash of its text
and the synthesis settings, made in the background (never while a caller waits), kept on disk and
shared between processes through Redis (its text, a lock while one process makes it, the WAV).
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from hotline.content.model import Content, Language
from hotline.content.script import sound_jobs
from hotline.runtime import audiofx
from hotline.store import keys as store

log = logging.getLogger(__name__)

# espeak-ng's Kazakh is clearer slower than its default 175 words a minute; slow = addresses, dates.
ESPEAK = "espeak-ng -v {voice} -s {rate} --stdin -w {out}"
RATES = {False: 140, True: 115}
FX_VERSION = "2"  # bump when audiofx changes what a synthesised file sounds like: every name changes
TTS_TTL = 90 * 86400
LOCK_SECONDS = 30


def command_of(lang: Language) -> str:
    return lang.tts_command or ESPEAK


def _rate(lang: Language, slow: bool) -> int:
    """Words a minute: the language's tts_rate (slow parts at 82% of it), else the defaults."""
    if not lang.tts_rate:
        return RATES[slow]
    return round(lang.tts_rate * 0.82) if slow else lang.tts_rate


def command_binary(lang: Language) -> str | None:
    """The program the synthesis command runs, if it is installed."""
    try:
        first = shlex.split(command_of(lang))[0]
    except (ValueError, IndexError):
        return None
    return shutil.which(first)


class Synthesiser:
    """Speech for languages Twilio cannot speak, from a configurable text -> WAV command.

    The default is espeak-ng; any command that reads the text on stdin and writes a WAV to {out}
    works (a Piper voice: `piper --model /srv/kk_KZ-issai-high.onnx --output_file {out}`).
    Every file is named by the hash of (command, voice, rate, text), kept in Redis (shared by
    every process and machine) and cached on local disk.
    """

    def __init__(self, cache_dir: Path, store_client: redis.Redis | None = None) -> None:
        self.dir = Path(cache_dir)
        self.store = store_client
        self._installed: dict[str, bool] = {}

    def usable(self, lang: Language) -> bool:
        """Is the synthesis command of `lang` installed here? (checked once per command)"""
        command = command_of(lang)
        if command not in self._installed:
            self._installed[command] = command_binary(lang) is not None
        return self._installed[command]

    # ---- names: pure, so a webhook can name a sound without any I/O
    def spec(self, text: str, lang: Language, slow: bool) -> dict:
        return {"text": text.strip(), "voice": lang.tts_voice, "command": command_of(lang),
                "rate": _rate(lang, slow),
                "fx": FX_VERSION}

    def name(self, text: str, lang: Language, slow: bool = False) -> str:
        spec = self.spec(text, lang, slow)
        key = json.dumps(spec, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(key.encode()).hexdigest()[:24] + ".wav"

    # ---- what exists
    def local(self, name: str) -> Path:
        return self.dir / name

    def have(self, name: str) -> bool:
        """Made already, here or by any process (Redis)?"""
        if self.local(name).exists():
            return True
        if self.store is None:
            return False
        try:
            return bool(self.store.exists(store.TTS_WAV + name))
        except redis.RedisError:
            return False

    def fetch(self, name: str) -> Path | None:
        """The local file, copied from Redis if another process made it; None if nobody has yet."""
        path = self.local(name)
        if path.exists():
            return path
        if self.store is None:
            return None
        try:
            raw = self.store.get(store.TTS_WAV + name)
        except redis.RedisError:
            return None
        if not raw:
            return None
        self._write_local(name, base64.b64decode(raw), self._spec_of(name))
        return path

    def text_of(self, name: str) -> str | None:
        """The text a synthesised file says (None if we never named it)."""
        spec = self._spec_of(name)
        return spec["text"] if spec else None

    def remember(self, name: str, spec: dict) -> None:
        """Keep the text of a name in Redis, so any process can make or describe the file."""
        if self.store is None:
            return
        try:
            self.store.set(store.TTS_TEXT + name, json.dumps(spec, ensure_ascii=False), ex=TTS_TTL)
        except redis.RedisError:
            pass

    def describe(self, name: str, spec: dict) -> None:
        """Keep the text beside a local file (for transcripts), if it is not there yet."""
        side = self.local(name).with_suffix(".json")
        if not side.exists():
            try:
                with tempfile.NamedTemporaryFile("w", dir=self.dir, suffix=".jpart", delete=False,
                                                 encoding="utf-8") as fh:
                    fh.write(json.dumps(spec, ensure_ascii=False))
                Path(fh.name).replace(side)
            except OSError:
                pass

    def remember_many(self, jobs: list[tuple[str, Language, bool]]) -> None:
        """The texts of many names in one round trip (a background pass starts with this)."""
        if self.store is None:
            return
        try:
            pipe = self.store.pipeline(transaction=False)
            for text, lang, slow in jobs:
                spec = self.spec(text, lang, slow)
                pipe.set(store.TTS_TEXT + self.name(text, lang, slow), json.dumps(spec, ensure_ascii=False), ex=TTS_TTL)
            pipe.execute()
        except redis.RedisError:
            pass

    def _spec_of(self, name: str) -> dict | None:
        try:
            return json.loads((self.dir / name).with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        if self.store is None:
            return None
        try:
            raw = self.store.get(store.TTS_TEXT + name)
            return json.loads(raw) if raw else None
        except (redis.RedisError, ValueError):
            return None

    # ---- making sound (background, or the last resort of the audio route)
    def ensure(self, text: str, lang: Language, slow: bool = False) -> str | None:
        """Make the file unless it exists (here or in Redis); returns its name, None on failure."""
        name = self.name(text, lang, slow)
        spec = self.spec(text, lang, slow)
        self.remember(name, spec)
        if self.have(name):
            self._touch(name)
            return name
        return name if self.render(name, spec) else None

    def render(self, name: str, spec: dict, wait: float = 20.0) -> bool:
        """Synthesise `name` once across all processes: the one holding the lock renders, others
        wait (up to `wait` s) for its file and use it."""
        return self.make(name, spec, wait) in ("made", "have")

    def make(self, name: str, spec: dict, wait: float = 20.0) -> str:
        """made (synthesised here) / have (another process made it) / failed / busy (another
        process still holds the lock after `wait` s; 0: look once). The file is in Redis before the
        lock is let go, and a process that gets the lock looks there first, so no sound is ever
        synthesised twice."""
        deadline = time.monotonic() + wait
        while True:
            outcome = self._make_unless_locked(name, spec)
            if outcome != "busy" or time.monotonic() >= deadline:
                return outcome
            time.sleep(0.05)

    def _make_unless_locked(self, name: str, spec: dict) -> str:
        if self.store is not None:
            try:
                got = self.store.set(store.TTS_LOCK + name, "1", nx=True, ex=LOCK_SECONDS)
            except redis.RedisError:
                got = True
            if not got:
                return "have" if self.fetch(name) else "busy"
            if self.fetch(name):  # made by another process between our look and our lock
                self._unlock(name)
                return "have"
        try:
            data = self._synthesise(spec)
            if data is None:
                return "failed"
            self._write_local(name, data, spec)
            if self.store is not None:
                try:
                    self.store.set(store.TTS_WAV + name, base64.b64encode(data).decode(), ex=TTS_TTL)
                except redis.RedisError:
                    pass
            return "made"
        finally:
            self._unlock(name)

    def _unlock(self, name: str) -> None:
        if self.store is not None:
            try:
                self.store.delete(store.TTS_LOCK + name)
            except redis.RedisError:
                pass

    def regenerate(self, name: str) -> bool:
        """Make a file another process named, from the text it left in Redis."""
        spec = self._spec_of(name)
        return bool(spec) and self.render(name, spec)

    def _touch(self, name: str) -> None:
        if self.store is None:
            return
        try:
            self.store.expire(store.TTS_WAV + name, TTS_TTL)
        except redis.RedisError:
            pass

    def _write_local(self, name: str, data: bytes, spec: dict | None = None) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.dir, delete=False, suffix=".part") as fh:
            fh.write(data)
        if spec is not None:
            side = Path(fh.name).with_suffix(".jpart")
            side.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
            side.replace(self.local(name).with_suffix(".json"))
        Path(fh.name).replace(self.local(name))  # atomic: nobody serves half a file

    def _synthesise(self, spec: dict) -> bytes | None:
        """Run the command (text on stdin, WAV to {out}), then make it phone quality."""
        with tempfile.TemporaryDirectory() as tmp:
            raw, out = Path(tmp) / "raw.wav", Path(tmp) / "tel.wav"
            try:
                args = [a.format(voice=spec["voice"], rate=spec["rate"], out=str(raw))
                        for a in shlex.split(spec["command"])]
            except (KeyError, IndexError, ValueError) as exc:
                log.error("synthesis command %r is not usable: %s", spec["command"], exc)
                return None
            try:
                # A session of its own: the terminal's Ctrl-C is for the hotline, not for a sentence
                # being synthesised in the background (it would exit without a WAV and be logged);
                # at a lower priority, so webhooks on the same cores go first.
                run = subprocess.run(audiofx.niced(args), input=spec["text"].encode(), capture_output=True, timeout=60,
                                     start_new_session=True)
            except (OSError, subprocess.SubprocessError) as exc:
                log.error("synthesis command failed to run: %s", exc)
                return None
            if run.returncode != 0 or not raw.exists() or raw.stat().st_size == 0:
                if Path(tmp).exists():  # else the process is exiting and took its temporary folder first
                    log.error("synthesis command exited %s without a WAV: %s", run.returncode,
                              run.stderr.decode(errors="replace")[-300:])
                return None
            try:
                audiofx.phone_quality(raw, out, trim=True, band=True, background=True)
            except audiofx.Refused as exc:
                if Path(tmp).exists():
                    log.error("synthesised speech could not be converted: %s", exc)
                return None
            return out.read_bytes()


_TRIALS: dict[tuple, tuple[float, str | None, float]] = {}


def trial_synthesis(lang: Language, text: str) -> tuple[float, str | None, float]:
    """Synthesise one sentence with the language's command: (seconds of audio, error, seconds taken).
    Remembered per command and text for the life of the process."""
    key = (command_of(lang), lang.tts_voice, lang.tts_rate, text)
    if key not in _TRIALS:
        with tempfile.TemporaryDirectory() as tmp:
            synth = Synthesiser(Path(tmp))
            start = time.monotonic()
            data = synth._synthesise(synth.spec(text, lang, False))
            took = time.monotonic() - start
        if data is None:
            _TRIALS[key] = (0.0, "no sound came out; the log says why", took)
        else:
            import io
            import wave
            with wave.open(io.BytesIO(data), "rb") as w:
                _TRIALS[key] = (w.getnframes() / w.getframerate(), None, took)
    return _TRIALS[key]


def known_sounds(content: Content, synth: Synthesiser) -> dict[str, tuple[str, Language, bool]]:
    """Every synthesised sound this content snapshot can play, by name (built once per snapshot)."""
    known = content.memo.get("tts-known")
    if known is None:
        known = content.memo["tts-known"] = {synth.name(t, l, s): (t, l, s) for t, l, s in sound_jobs(content)}
    return known
