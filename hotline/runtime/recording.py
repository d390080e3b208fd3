"""Turning files an operator gives us into studio recordings every process plays.

A file is checked (type, size, length), converted for the phone line (hotline.runtime.audiofx),
and stored in Redis with the hash of the text it says (hotline.store.recordings). The studio's
upload, its archive import and `hotline audio import` (a folder or an archive) all come through
here, so they match the same names (the recording script's) and convert the same way; the archive
the dashboard exports is the one `hotline audio export` writes.
"""
from __future__ import annotations

import difflib
import io
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath

import yaml

from hotline.content.audio import text_sha
from hotline.content.model import Content
from hotline.content.script import studio_slots
from hotline.runtime import audiofx
from hotline.store.recordings import Entry, Recordings, audio_sha

MANIFEST = "manifest.yaml"
MEMBER_LIMIT = audiofx.MAX_SECONDS * 8000 * 2 * 4  # read no more of one archive member than 4x a longest prompt


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


@dataclass(frozen=True)
class Outcome:
    """What became of one file: imported / skipped (not a slot, not audio by its name) / failed (refused)."""

    name: str     # as the operator named it: kk/welcome.wav
    status: str
    message: str  # the sentence to show


def import_files(recordings: Recordings, content: Content, today: date, files: list[tuple[str, Path, str]],
                 manifest: dict | None = None, source: str = "import") -> list[Outcome]:
    """Store each (language, local file, name) as the recording of the slot its name says.

    Names are the recording script's (`welcome.wav`, `value.number.5.wav`). `manifest` (an exported
    archive's) gives each recording the text it was made from; without it, the slot's current text.
    """
    out = []
    for lang, path, name in files:
        label, stem, suffix = f"{lang}/{PurePosixPath(name).name}", PurePosixPath(name).stem, PurePosixPath(name).suffix
        if lang not in content.settings.languages:
            out.append(Outcome(label, "skipped", f"there is no language '{lang}' in config/hotline.yaml."))
            continue
        if suffix.lower() not in audiofx.accepted_types():
            out.append(Outcome(label, "skipped", f"only sound files are imported ({', '.join(audiofx.accepted_types())})."))
            continue
        slots = studio_slots(content, lang, today)
        meta = ((manifest or {}).get(lang) or {}).get(stem) or {}
        if stem not in slots and not meta:
            close = difflib.get_close_matches(stem, slots, n=1)
            hint = f" Did you mean '{close[0]}{suffix}'?" if close else " The recording script (dashboard: Studio) has the names."
            out.append(Outcome(label, "skipped", f"no slot is called '{stem}'.{hint}"))
            continue
        text = str(meta.get("text") or slots.get(stem, ""))
        try:
            store_recording(recordings, lang, stem, text, path, name, source,
                            sha=str(meta["text_sha"]) if meta.get("text_sha") else None)
        except audiofx.Refused as exc:
            out.append(Outcome(label, "failed", str(exc)))
            continue
        shown = text if len(text) <= 60 else text[:57] + "..."
        out.append(Outcome(label, "imported", f"\"{shown}\""))
    return out


def import_folder(recordings: Recordings, content: Content, today: date, folder: Path, lang: str | None) -> list[Outcome]:
    """A folder of one language's recordings (`lang`), or of one folder per language (kk/, ru/)."""
    sources = {lang: folder} if lang else {code: folder / code for code in content.settings.languages
                                           if (folder / code).is_dir()}
    files = [(code, path, path.name) for code, src in sources.items()
             for path in sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))]
    return import_files(recordings, content, today, files)


def import_archive(recordings: Recordings, content: Content, today: date, archive: Path) -> list[Outcome]:
    """An archive as export_archive writes it: manifest.yaml and <lang>/<slot>.wav."""
    try:
        z = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        return [Outcome(archive.name, "failed", "this is not a .zip archive exported from the studio.")]
    with z, tempfile.TemporaryDirectory() as tmp:
        try:
            manifest = yaml.safe_load(z.read(MANIFEST).decode("utf-8")) if MANIFEST in z.namelist() else {}
        except (yaml.YAMLError, UnicodeDecodeError):
            manifest = None
        if not isinstance(manifest, dict):
            return [Outcome(archive.name, "failed", f"the archive's {MANIFEST} cannot be read.")]
        files, out = [], []
        for i, info in enumerate(z.infolist()):
            path = PurePosixPath(info.filename)
            if info.is_dir() or path.name == MANIFEST:
                continue
            if len(path.parts) != 2:
                out.append(Outcome(info.filename, "skipped", "not <language>/<slot>.wav"))
                continue
            local = Path(tmp) / f"{i}{path.suffix}"
            with z.open(info) as src:
                local.write_bytes(src.read(MEMBER_LIMIT))
            files.append((path.parts[0], local, path.name))
        return out + import_files(recordings, content, today, files, manifest, source="archive")


def export_archive(recordings: Recordings) -> bytes:
    """Every studio recording as one zip: manifest.yaml + <lang>/<slot>.wav, the layout of audio/
    (unzip it there to ship the recordings with the code), each with the text it was made from."""
    buf = io.BytesIO()
    manifest: dict[str, dict[str, dict]] = {}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for (lang, slot), e in sorted(recordings.entries().items()):
            data = recordings.wav(e.audio)
            if not data:
                continue
            z.writestr(f"{lang}/{slot}.wav", data)
            manifest.setdefault(lang, {})[slot] = {"file": f"{slot}.wav", "text_sha": e.text_sha, "text": e.text,
                                                   "draft": False, "seconds": e.seconds, "at": e.at}
        z.writestr(MANIFEST, "# Exported from the hotline studio: the text each recording was made from.\n"
                   + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=True))
    return buf.getvalue()
