"""`hotline audio ...`: which prompts are recorded, synthesised drafts, importing and exporting recordings.

Each recording is tied to the text it was made from (its hash in audio/manifest.yaml). When an
operator edits a prompt, its recording goes stale and callers hear synthesis until it is redone,
never a recording that says something else.
"""
from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

import click
import redis
import yaml

from hotline.checks.checker import render_problems
from hotline.checks.recordings import check_audio
from hotline.checks.synthesis import check_synthesis
from hotline.cli.check import default_root, root_option, studio_library
from hotline.content.audio import AUDIO_TYPES, AudioLibrary, text_sha
from hotline.content.loader import load_content
from hotline.content.model import Content, ContentError, Language
from hotline.content.report import Table
from hotline.content.script import is_slow, recording_slots
from hotline.runtime import audiofx
from hotline.runtime.recording import Outcome, export_archive, import_archive, import_folder
from hotline.runtime.synthesis import Synthesiser
from hotline.store.connection import connect, data_dir
from hotline.store.recordings import Recordings

MANIFEST = "manifest.yaml"


def _load(root: Path | None) -> Content:
    """The current content, or a plain explanation of why it cannot be used yet."""
    try:
        return load_content(root or default_root(), date.today())
    except ContentError as exc:
        click.echo(render_problems(exc.problems))
        click.echo("\nFix these first (`hotline check` shows everything): recordings are matched to the current texts.")
        sys.exit(1)


def _languages(content: Content, code: str | None) -> list[Language]:
    languages = content.settings.languages
    if code is None:
        return list(languages.values())
    if code not in languages:
        raise click.BadParameter(f"there is no language '{code}'. Use one of: {', '.join(languages)}.",
                                 param_hint="--lang")
    return [languages[code]]


def _write_manifest(audio_dir: Path, manifest: dict) -> None:
    """Replace audio/manifest.yaml in one step (a running hotline never reads half a file), keeping its header."""
    path = audio_dir / MANIFEST
    old = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    header = "".join(itertools.takewhile(lambda line: line.startswith("#"), old))
    tmp = audio_dir / f".{MANIFEST}.tmp"
    tmp.write_text(header + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _partial(audio_dir: Path, lang: str, slot: str) -> Path:
    """Where a recording is written before it replaces the old one (the hotline ignores this name)."""
    folder = audio_dir / lang
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".{slot}.part"


def _install(manifest: dict, audio_dir: Path, lang: str, slot: str, wav: Path, text: str, draft: bool) -> None:
    """Put a finished 8 kHz WAV in place as the slot's only recording, and note the text it says."""
    part = _partial(audio_dir, lang, slot)
    if wav != part:
        shutil.copyfile(wav, part)
    folder = part.parent
    target = folder / f"{slot}.wav"
    os.replace(part, target)  # a running hotline never plays half a file
    for suffix in AUDIO_TYPES:  # an older .mp3 of the same slot would otherwise be played first
        other = folder / f"{slot}{suffix}"
        if other != target and other.exists():
            other.unlink()
    if not isinstance(manifest.get(lang), dict):
        manifest[lang] = {}
    manifest[lang][slot] = {"file": target.name, "text_sha": text_sha(text), "draft": draft}


@click.group("audio")
def audio_group() -> None:
    """Recordings: which prompts are recorded, synthesised drafts, and importing new recordings."""


@audio_group.command("status")
@root_option
@click.option("--lang", default=None, help="Only this language (e.g. kk).")
def status_command(root: Path | None, lang: str | None) -> None:
    """Each recording slot and how a caller hears it: recorded, draft, stale, synthesised, twilio."""
    content = _load(root)
    codes = [l.code for l in _languages(content, lang)]
    problems, statuses = check_audio(content, codes, studio_library(content.root))
    if statuses:
        click.echo(status_table(content, statuses).render())
    if problems:
        click.echo("\n" + render_problems(problems))
    sys.exit(1 if any(p.severity == "error" for p in problems) else 0)


def status_table(content: Content, statuses: dict[str, dict[str, str]]) -> Table:
    """One language: slot, status and text; several: a column per language."""
    codes = list(statuses)
    if len(codes) == 1:
        texts = recording_slots(content, codes[0])
        rows = tuple((slot, status, _short(texts[slot])) for slot, status in statuses[codes[0]].items())
        return Table(f"Recordings in {codes[0]}", ("slot", "status", "text"), rows)
    slots = list(dict.fromkeys(slot for code in codes for slot in statuses[code]))
    rows = tuple((slot, *(statuses[code].get(slot, "-") for code in codes)) for slot in slots)
    return Table("Recordings", ("slot", *codes), rows)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


@audio_group.command("draft")
@root_option
@click.option("--lang", default=None, help="Only this language (e.g. kk).")
def draft_command(root: Path | None, lang: str | None) -> None:
    """Synthesise a draft recording for every slot that has no usable recording (played languages only)."""
    content = _load(root)
    languages = _languages(content, lang)
    if lang and languages[0].speech != "play":
        click.echo(f"'{lang}' is spoken by Twilio's voice ({languages[0].voice}): drafts are only made for "
                   "languages that are played from recordings (speech: play in config/hotline.yaml).")
        sys.exit(1)
    played = [l for l in languages if l.speech == "play"]
    broken = check_synthesis(content, [l.code for l in played])
    if broken:
        click.echo(render_problems(broken))
        sys.exit(1)
    audio_dir = content.root / "audio"
    library = AudioLibrary(audio_dir)
    manifest = library.manifest
    with tempfile.TemporaryDirectory() as tmp:
        synth = Synthesiser(Path(tmp))
        for language in played:
            made, kept = _draft_language(content, language, library, synth, manifest)
            _write_manifest(audio_dir, manifest)
            click.echo(f"{language.code}: {made} draft(s) made" + (f", {kept} kept" if kept else "") + ".")


def _draft_language(content: Content, language: Language, library: AudioLibrary, synth: Synthesiser,
                    manifest: dict) -> tuple[int, int]:
    """Drafts for one language; a stale human recording is kept (never overwritten by a robot)."""
    made = kept = 0
    for slot, text in recording_slots(content, language.code).items():
        status = library.status(language.code, slot, text)
        if status in ("recorded", "draft", "unverified"):
            continue
        if status == "stale" and not manifest.get(language.code, {}).get(slot, {}).get("draft"):
            click.echo(f"  kept {library.files[(language.code, slot)].name}: it was recorded for an older text. "
                       f"Record it again saying \"{text}\". Callers hear synthesised speech meanwhile.")
            kept += 1
            continue
        name = synth.ensure(text, language, slow=is_slow(slot))
        if name is None:
            raise click.ClickException(f"espeak-ng could not synthesise '{slot}' with voice '{language.tts_voice}'.")
        _install(manifest, content.root / "audio", language.code, slot, synth.dir / name, text, draft=True)
        made += 1
    return made, kept


def _recordings() -> tuple[Recordings, str]:
    """The studio's recordings: the Redis of REDIS_URL, else the embedded one in HOTLINE_DATA_DIR (the
    one `make run` uses: joined while it runs, started for this command otherwise)."""
    url = os.environ.get("REDIS_URL") or None
    where = "the Redis at REDIS_URL" if url else f"the embedded Redis in {data_dir()}"
    return Recordings(connect(url, data_dir())), where


def _report(outcomes: list[Outcome], where: str) -> None:
    for o in outcomes:
        click.echo({"imported": "imported", "skipped": "skipped", "failed": "FAILED"}[o.status] + f" {o.name}: {o.message}")
    done = sum(o.status == "imported" for o in outcomes)
    click.echo(f"{done} recording(s) stored in {where}: a running hotline plays them from its next call "
               "(dashboard: Studio shows each one).")
    sys.exit(1 if any(o.status == "failed" for o in outcomes) else 0)


@audio_group.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@root_option
@click.option("--lang", default=None,
              help="The language of the recordings in a folder. Without it, the folder holds one folder per language (kk/, ru/, en/).")
def import_command(source: Path, root: Path | None, lang: str | None) -> None:
    """Import recordings into the studio: a folder of files named as in the recording script (e.g.
    welcome.wav, value.number.5.wav), or an archive the studio exported (.zip). Each is converted for
    the phone line like a studio recording."""
    content = _load(root)
    if audiofx.sox_binary() is None:
        click.echo("sox is not installed, and recordings must be converted for the phone line. "
                   "Install it: sudo apt-get install sox (or run: make system).")
        sys.exit(1)
    _languages(content, lang)
    recordings, where = _recordings()
    today = date.today()
    try:
        if source.is_file():
            outcomes = import_archive(recordings, content, today, source)
        else:
            if not lang and not any((source / code).is_dir() for code in content.settings.languages):
                click.echo(f"{source} has no folder named after a language ({', '.join(content.settings.languages)}). "
                           "Put the recordings in such a folder, or name the language with --lang.")
                sys.exit(1)
            outcomes = import_folder(recordings, content, today, source, lang)
    except redis.RedisError as exc:
        raise click.ClickException(f"{where} did not answer ({exc}). Nothing more was imported.") from None
    _report(outcomes, where)


@audio_group.command("export")
@click.argument("archive", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_command(archive: Path) -> None:
    """Write every studio recording to ARCHIVE (.zip): the dashboard's export, for a backup or to ship
    them in audio/ (unzip it there); `hotline audio import ARCHIVE` takes it back."""
    recordings, where = _recordings()
    try:
        data, count = export_archive(recordings), len(recordings.entries())
    except redis.RedisError as exc:
        raise click.ClickException(f"{where} did not answer ({exc}).") from None
    tmp = archive.with_name(f".{archive.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, archive)
    click.echo(f"{count} recording(s) from {where} written to {archive}.")
