"""Recordings against the texts they were made for: stale, unverified or stray files, what is still
synthesised, and whether every value a caller hears has recorded pieces."""
from __future__ import annotations

from datetime import date

from hotline.checks.synthesis import check_synthesis
from hotline.content.audio import AudioLibrary
from hotline.content.compose import value_rows
from hotline.content.model import Content, Language, Problem
from hotline.content.report import Table, problem_at
from hotline.content.script import VALUE_GROUPS, recording_slots, studio_slots
from hotline.content.yamlio import YamlError, load

AUDIO_STATUSES = ("recorded", "draft", "stale", "unverified", "synthesised", "twilio")


def slot_status(library: AudioLibrary, lang: Language, slot: str, text: str) -> str:
    """recorded / draft / stale / unverified, or how the caller hears it without a recording."""
    status = library.status(lang.code, slot, text)
    if status != "none":
        return status
    return "synthesised" if lang.speech == "play" else "twilio"


def audio_statuses(content: Content, library: AudioLibrary) -> dict[str, dict[str, str]]:
    """language -> recording slot -> status."""
    return {code: {slot: slot_status(library, lang, slot, text) for slot, text in recording_slots(content, code).items()}
            for code, lang in content.settings.languages.items()}


def _manifest_problem(content: Content) -> Problem | None:
    """audio/manifest.yaml must parse, or no recording can be matched to its text."""
    manifest = content.root / "audio" / "manifest.yaml"
    if not manifest.exists():
        return None
    try:
        load(manifest)
    except YamlError as exc:
        return Problem("audio/manifest.yaml", exc.line, exc.problem,
                       exc.fix or "Run `hotline audio import` again, or fix the file (compare with the YAML around it).")
    return None


def check_audio(content: Content, langs: list[str] | None = None, library=None) -> tuple[list[Problem], dict[str, dict[str, str]]]:
    """Recordings that no longer match their text, strays, and whether synthesis works (all or `langs`).

    `library` is what the hotline plays (hotline.runtime.speech.SoundLibrary: studio recordings and
    audio/); without it, the files in audio/ alone."""
    broken = _manifest_problem(content)
    problems = check_synthesis(content, langs)
    if broken:
        return problems + [broken], {}
    library = library or AudioLibrary(content.root / "audio")
    statuses = {code: s for code, s in audio_statuses(content, library).items() if not langs or code in langs}
    for code, slots in statuses.items():
        texts = recording_slots(content, code)
        heard_instead = "synthesised speech" if content.settings.languages[code].speech == "play" else "Twilio's voice"
        for slot, status in slots.items():
            if status not in ("stale", "unverified"):
                continue
            if (code, slot) not in library.files:  # a studio recording (Redis): there is no file to name
                problems.append(problem_at(
                    content, "dashboard: Studio", (), f"the studio recording of '{slot}' ({code}) was made for an older "
                    f"text, so callers hear {heard_instead} instead",
                    f"Record it again saying: \"{texts[slot]}\" (dashboard: Studio), or import {code}/{slot}.wav "
                    "with `hotline audio import`.", "warning"))
                continue
            file = f"audio/{code}/{library.files[(code, slot)].name}"
            if status == "stale":
                problems.append(problem_at(
                    content, file, (), f"this recording was made for an older text of '{slot}', so callers hear "
                    f"{heard_instead} instead",
                    f"Record it again saying: \"{texts[slot]}\", then run `hotline audio import`."
                    + (f" Or run `hotline audio draft --lang {code}`." if heard_instead != "Twilio's voice" else ""),
                    "warning"))
            else:
                problems.append(problem_at(
                    content, file, (), f"this recording of '{slot}' has no entry in audio/manifest.yaml, so nobody "
                    "can tell whether it says the current text; it is played as it is",
                    f"Import it with `hotline audio import --lang {code}` (that records its text), or delete it.",
                    "warning"))
        for (lang, slot), path in library.files.items():
            if lang == code and slot not in slots:
                problems.append(problem_at(
                    content, f"audio/{code}/{path.name}", (), f"no prompt is called '{slot}', so this recording is "
                    "never played", "Rename it to a name from `hotline audio status`, or delete it.", "warning"))
    return problems, statuses


def audio_summary_table(content: Content, statuses: dict[str, dict[str, str]]) -> Table:
    rows = []
    for code, slots in statuses.items():
        counts = [str(sum(1 for s in slots.values() if s == status)) for status in AUDIO_STATUSES]
        rows.append((code, content.settings.languages[code].speech, str(len(slots)), *counts))
    return Table("Recordings (details: hotline audio status)", ("language", "speech", "slots", *AUDIO_STATUSES),
                 tuple(rows))


def values_tables(content: Content, library, today: date) -> list[Table]:
    """For each played language: can every value a caller hears be heard in a recorded voice?

    A value is composed of pieces (hotline.content.compose: numbers, keys said by name, the words of
    a period, cities; a date's weekday, day, month and year), each a studio slot; a missing piece is
    synthesised alone. `library` is what the hotline plays (studio recordings too, from the dashboard
    or when the command line reaches the hotline's Redis; else the files in audio/)."""
    tables = []
    for code, lang in content.settings.languages.items():
        if lang.speech != "play":
            continue
        slots = studio_slots(content, code, today)

        def row(name: str, heard: str, keys: list[str], code: str = code, slots: dict = slots) -> tuple[str, ...]:
            gone = [k for k in keys if library.status(code, k, slots[k]) not in ("recorded", "draft", "unverified")]
            shown = ", ".join(gone[:6]) + (" ..." if len(gone) > 6 else "")
            return (name, heard, f"{len(keys) - len(gone)}/{len(keys)}", "yes" if not gone else f"no: synthesised {shown}")

        rows = []
        for name, pieces in value_rows(content, code):  # {filing}, {repeat}, ...: shared by many prompts
            keys = list(dict.fromkeys(p.key for p in pieces))
            if keys and all(k in slots for k in keys):  # only values a caller can hear
                rows.append(row(name, " ".join(p.text for p in pieces), keys))
        for prefix, title in VALUE_GROUPS:
            keys = [k for k in slots if k.startswith(prefix)]
            if keys and prefix != "value.":
                rows.append(row(title.lower(), f"{len(keys)} piece(s)", keys))
        readback = [k for k in slots if k.startswith("reminders.readback.")]
        if readback:
            rows.append(row("words around a read-back date", f"{len(readback)} piece(s)", readback))
        every = all(r[3] == "yes" for r in rows)
        title = (f"Values in {code}: {'every value is heard in a recorded voice' if every else 'some pieces are synthesised'}"
                 " (record them in the dashboard: Studio, or `hotline audio import`)")
        tables.append(Table(title, ("value", "heard as", "recorded", "fully recorded"), tuple(rows)))
    return tables
