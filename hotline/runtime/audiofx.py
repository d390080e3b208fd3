"""Making any recording sound like the rest of the line: 8 kHz mono, no silence at the ends, one loudness.

Every sound a caller hears (a studio recording, an imported file, synthesised speech) goes through
`phone_quality`, so prompts never jump in volume between a person and the machine.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

RATE = 8000
TARGET_RMS_DB = -20.0          # speech level every prompt is brought to
SILENT_RMS_DB = -55.0          # quieter than this after trimming: nothing was said
MAX_SECONDS = 180              # a prompt recording longer than this is a mistake (a whole session, a song)
MIN_SECONDS = 0.1              # "бір" said briskly (or synthesised) is 0.15 s once its silence is cut
# Formats sox reads here without extra packages; .mp3 only when libsox-fmt-mp3 is installed.
BASE_TYPES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


class Refused(ValueError):
    """An upload we cannot use, with the sentence to show the operator."""


def sox_binary() -> str | None:
    return shutil.which("sox")


def accepted_types() -> tuple[str, ...]:
    """File endings we can convert on this machine."""
    sox = sox_binary()
    if sox is None:
        return ()
    try:
        formats = subprocess.run([sox, "-h"], capture_output=True, text=True, timeout=10).stdout
    except (subprocess.SubprocessError, OSError):
        return BASE_TYPES
    line = next((l for l in formats.splitlines() if l.startswith("AUDIO FILE FORMATS")), "")
    return BASE_TYPES + ((".mp3",) if " mp3" in line else ())


def niced(args: list[str]) -> list[str]:
    """`args` at a lower CPU priority, for work done in the background (synthesis), so webhooks
    answering callers on the same cores go first."""
    nice = shutil.which("nice")
    return [nice, "-n", "10", *args] if nice else args


def _run(args: list[str], background: bool = False) -> subprocess.CompletedProcess:
    """sox in a session of its own, like the synthesiser: a Ctrl-C on `make run` stops the hotline,
    not a conversion half-way (which would be logged as a failure after "Stopped.")."""
    return subprocess.run(niced(args) if background else args, capture_output=True, text=True, timeout=60,
                          start_new_session=True)


def duration(path: Path) -> float:
    """Seconds, from the file's header (fast even for an hour of audio); Refused if it is not audio."""
    sox = sox_binary()
    if sox is None:
        raise Refused("sox is not installed on the server, so recordings cannot be converted. "
                      "Install it: sudo apt-get install sox (or run: make system).")
    run = _run([sox, "--i", "-D", str(path)])
    try:
        return float(run.stdout.strip())
    except ValueError:
        raise Refused("This file is not audio the server can read. Save it as WAV (or FLAC) and try again.") from None


def rms_db(path: Path) -> float:
    run = _run([sox_binary() or "sox", str(path), "-n", "stats"])
    m = re.search(r"RMS lev dB\s+(-?[\d.]+|-inf)", run.stderr)
    if not m or m.group(1) == "-inf":
        return float("-inf")
    return float(m.group(1))


def phone_quality(src: Path, dst: Path, *, trim: bool = True, band: bool = False, background: bool = False) -> float:
    """Convert `src` to what the phone line carries and write it to `dst` atomically; returns seconds.

    8 kHz mono 16-bit WAV; silence cut at both ends (a short pad kept, so pieces played one after
    the other do not run together); the RMS level brought to TARGET_RMS_DB with a limiter so no
    peak clips. `band` also filters to the telephone band (300-3400 Hz), for synthesised speech.
    """
    sox = sox_binary()
    if sox is None:
        raise Refused("sox is not installed on the server. Install it: sudo apt-get install sox.")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        first = Path(tmp) / "first.wav"
        effects = ["remix", "-", "highpass", "300" if band else "80"]
        if band:
            effects += ["lowpass", "3400"]
        if trim:
            effects += ["silence", "1", "0.03", "-45d", "reverse", "silence", "1", "0.03", "-45d", "reverse"]
        effects += ["rate", "-v", str(RATE)]
        run = _run([sox, str(src), "-b", "16", "-e", "signed-integer", str(first), *effects], background)
        if run.returncode != 0:
            raise Refused("This file is not audio the server can read. Save it as WAV (or FLAC) and try again.")
        seconds = duration(first)
        level = rms_db(first)
        if seconds < MIN_SECONDS or level < SILENT_RMS_DB:
            raise Refused("The recording is silent (or almost): check that the right microphone is chosen "
                          "and that it is not muted, then record again.")
        final = Path(tmp) / "final.wav"
        gain = TARGET_RMS_DB - level
        run = _run([sox, str(first), str(final), "gain", "-l", f"{gain:.2f}", "pad", "0.08", "0.12"], background)
        if run.returncode != 0:
            raise Refused(f"The server could not convert the recording ({run.stderr.strip()[-200:]}).")
        seconds = duration(final)
        final.replace(dst)
    return seconds


def check_upload(path: Path, name: str) -> float:
    """Refuse what must not become a recording, before converting it: returns its length in seconds."""
    suffix = Path(name).suffix.lower()
    types = accepted_types()
    if suffix not in types:
        hint = " (MP3 needs libsox-fmt-mp3 on the server)" if suffix == ".mp3" else ""
        raise Refused(f"'{name}' is not a sound file the studio takes{hint}. Use one of: {', '.join(types)}.")
    size = path.stat().st_size
    if size == 0:
        raise Refused(f"'{name}' is empty (0 bytes). Record or export it again.")
    seconds = duration(path)
    if seconds > MAX_SECONDS:
        raise Refused(f"'{name}' is {_minutes(seconds)} long; one prompt is at most {MAX_SECONDS // 60} minutes. "
                      "Cut it to the one prompt and upload that.")
    return seconds


def _minutes(seconds: float) -> str:
    if seconds >= 90:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"
