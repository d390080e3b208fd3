"""`hotline check`: everything an operator can edit, checked at once, in words an operator can act on.

`load_content` already refuses content the hotline cannot serve. This adds what would load but
still mislead or fail a caller: a hard-coded period that disagrees with config/deadlines.yaml, a
house number that differs between languages, an SMS that costs more segments than allowed, and
recordings that no longer match their text or a language that cannot be synthesised.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from hotline.checks import words as caller
from hotline.checks.deployment import check_one_way, check_whatsapp, messaging_table
from hotline.content import render as P
from hotline.content.audio import AudioLibrary
from hotline.content.budget import check_sms
from hotline.content.compose import value_rows
from hotline.content.loader import load_content
from hotline.content.model import REFERENCE_LANG, UNIVERSAL, Content, ContentError, Language, Problem
from hotline.content.prompts_file import prompt_texts
from hotline.content.report import Table, doc_of, problem_at
from hotline.content.script import VALUE_GROUPS, recording_slots, studio_slots
from hotline.content.yamlio import YamlError, load
from hotline.runtime.speech import command_binary, command_of, fallback_voice, trial_synthesis

# Words for "hour" per language: 24 hours is how the irregular-crossing rule is spoken, and no
# prompt carries these words as plural forms. A language missing here skips only this check.
HOUR_WORDS = {"en": ("hour",), "ru": ("час",), "kk": ("сағат",)}
KEY_MEANINGS = {"repeat": "repeat", "back": "back (on the main menu: change language)", "main": "main menu",
                "sms": "send what was just heard by SMS", "more": "next part of a long topic",
                "person": "talk to a person (config/handoff.yaml)"}
AUDIO_STATUSES = ("recorded", "draft", "stale", "unverified", "synthesised", "twilio")


@dataclass
class Report:
    """What `hotline check` found: problems to fix, and tables that describe the content."""

    problems: list[Problem] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    loaded: bool = True  # False: the hotline refuses this content (a running one keeps the last good version)
    skipped: list[str] = field(default_factory=list)  # checks that could not run because of the errors found

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def summary(self) -> str:
        counts = f"{_count(len(self.errors), 'error')}, {_count(len(self.warnings), 'warning')}"
        if not self.loaded:
            return f"{counts}: the hotline will not load this content (a running hotline keeps the last good version)."
        if self.errors:
            return f"{counts}: the hotline would serve this, but callers would get wrong or broken information."
        if self.warnings:
            return f"No errors, {_count(len(self.warnings), 'warning')}. The hotline can serve this content."
        return "No errors. The hotline can serve this content."

    def render(self) -> str:
        parts = [t.render() for t in self.tables]
        if self.problems:
            parts.append(render_problems(self.problems))
        if self.skipped:
            parts.append(f"Not checked yet, because of the errors above: {', '.join(self.skipped)}. "
                         "Run the check again once they are fixed.")
        parts.append(self.summary())
        return "\n\n".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_problems(problems: list[Problem]) -> str:
    """Problems grouped by file: files with errors first, and in each file errors before warnings."""
    ordered = sorted(problems, key=lambda p: (p.severity != "error", p.file, p.line or 0))
    groups: dict[str, list[Problem]] = {}
    for p in ordered:
        groups.setdefault(p.file, []).append(p)
    lines = []
    for file, items in groups.items():
        lines.append(file)
        for p in items:
            where = f", line {p.line}" if p.line else ""
            lines.append(f"  {p.severity.upper()}{where}: {p.message}")
            if p.fix:
                lines.append(f"    How to fix: {p.fix}")
    return "\n".join(lines)


def run_checks(root: Path, today: date, library=None) -> Report:
    """Every check, as data: the CLI prints it, tests and the dashboard read it.

    Content the hotline refuses is still checked as far as it can be, so an operator sees every
    error at once instead of one stage at a time.
    """
    root = Path(root)
    try:
        content = load_content(root, today)
        report = Report(list(content.warnings))
    except ContentError as exc:
        report = Report(list(exc.problems), loaded=False)
        if exc.partial is None:
            report.skipped = ["SMS sizes", "periods and house numbers", "recordings"]
            return report
        content = exc.partial

    def attempt(name: str, check) -> None:  # noqa: ANN001 - a check on possibly broken content
        try:
            check()
        except Exception:  # noqa: BLE001 - it needs what the errors above broke: say so, check the rest
            if not report.loaded:
                report.skipped.append(name)
            else:
                raise

    def menu() -> None:
        menu_problems, seconds_table = caller.check_menus(content)
        add(menu_problems)
        report.tables[:0] = [t for t in (menu_table(content), seconds_table, keys_table(content),
                                         messaging_table(content), handoff_table(content)) if t]

    def words() -> None:
        add(caller.check_keyword_safety(content) + caller.check_discretion(content) + caller.check_listening(content))

    def facts() -> None:
        add(check_periods(content) + check_house_numbers(content))

    def messaging() -> None:
        add(check_one_way(content) + check_whatsapp(content))

    def sms() -> None:
        if set(content.prompts) != set(content.settings.languages):
            raise LookupError("a prompts file did not load")
        problems, table = check_sms(content, fill_errors=report.loaded)
        add(problems)
        report.tables.append(table)

    def audio() -> None:
        problems, statuses = check_audio(content, library=library)
        add(problems)
        if statuses:
            report.tables.append(audio_summary_table(content, statuses))
        if table := synthesis_table(content):
            report.tables.append(table)
        report.tables.extend(values_tables(content, library or AudioLibrary(content.root / "audio"), today))

    def add(problems: list[Problem]) -> None:
        seen = {(p.file, p.line, p.message) for p in report.problems}
        report.problems += [p for p in problems if (p.file, p.line, p.message) not in seen]

    attempt("the menu table", menu)
    attempt("keywords, reminders' words and sentence length", words)
    attempt("periods and house numbers", facts)
    attempt("one-way and WhatsApp texts", messaging)
    attempt("SMS sizes", sms)
    attempt("recordings", audio)
    return report


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


# ---- menu ----------------------------------------------------------------------------------

def menu_paths(content: Content) -> dict[str, tuple[str, ...]]:
    """The fewest key presses from the main menu to each node (the caller has chosen a language)."""
    paths: dict[str, tuple[str, ...]] = {"main": ()}
    todo = deque(["main"])
    while todo:
        nid = todo.popleft()
        for key, target in content.nodes[nid].options.items():
            if target not in paths and target in content.nodes:
                paths[target] = paths[nid] + (key,)
                todo.append(target)
    return paths


def menu_table(content: Content) -> Table:
    paths = menu_paths(content)
    rows = []
    for node in content.nodes.values():
        if node.type == "office" and node.id in paths:
            keys = paths[node.id]
            rows.append((content.offices[node.office].city[REFERENCE_LANG], str(len(keys)), " then ".join(keys)))
    return Table("Office addresses: key presses after choosing a language", ("office", "presses", "keys"), tuple(rows))


def keys_table(content: Content) -> Table:
    keys = content.settings.keys
    return Table("Universal keys (the same on every menu, in every language)", ("key", "meaning"),
                 tuple((getattr(keys, name), KEY_MEANINGS[name]) for name in UNIVERSAL if getattr(keys, name)))


def handoff_table(content: Content) -> Table | None:
    """When a person answers and how calls ring them (config/handoff.yaml), for the operator to confirm."""
    h = content.handoff
    if h is None:
        return None
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    hours = "; ".join(f"{days[d]} " + ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in h.hours.week[d])
                      for d in sorted(h.hours.week))
    auto = (f"once a day per number, {h.auto_when.replace('_', ' ')}" if h.auto_enabled else "off")
    rows = (("office hours", hours), ("holidays", str(len(h.hours.holidays))),
            ("routing", f"{h.strategy.replace('_', ' ')}, {h.ring_seconds} s each, up to {h.max_tries} tries"),
            ("voice message", f"up to {h.max_record_seconds} s, finish with {h.finish_key}, kept {h.keep_days_after_closed} "
                              f"days after closing ({h.keep_days_open} at most)"),
            ("automatic call-back", auto),
            ("no calls to callers", f"{h.quiet_start:%H:%M}-{h.quiet_end:%H:%M}, at most {h.call_daily_cap} a day"),
            ("caseworkers hear", h.whisper_text("call", language=h.language_name("ru"), topic="...")))
    return Table("Reaching a person (config/handoff.yaml; caseworkers: `hotline caseworkers list`)", ("what", "setting"), rows)


# ---- facts ---------------------------------------------------------------------------------

def _unit_words(forms: object) -> set[str]:
    """The unit noun of each plural form: '{n} calendar days' -> 'days'."""
    return {t.split()[-1].lower() for t in prompt_texts(forms) if t.split()}


def _periods_in(text: str, words: tuple[str, ...] | set[str]) -> list[tuple[int, str]]:
    """Numbers written next to a unit word ('5 calendar days', '3 айға'): (number, the words)."""
    if not words:
        return []
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.,])(\d+)\s+(?:[^\W\d]+\s+)?(?:{alternatives})\w*", re.IGNORECASE)
    return [(int(m.group(1)), m.group(0)) for m in pattern.finditer(text)]


def check_periods(content: Content) -> list[Problem]:
    """A period typed into a prompt as a number must match some rule in config/deadlines.yaml."""
    rules = content.policy.rules.values()
    days = {r.days for r in rules if r.days}
    allowed = {"day": days, "month": {r.months for r in rules if r.months}, "hour": {24 * d for d in days}}
    configured = ", ".join(f"{r.id} {r.days} days" if r.days else f"{r.id} {r.months} months" for r in rules)
    problems = []
    for lang, table in content.prompts.items():
        doc = doc_of(content, f"prompts/{lang}.yaml")
        units = {"day": _unit_words(table.get("period.days")), "month": _unit_words(table.get("period.months")),
                 "hour": HOUR_WORDS.get(lang, ())}
        for key, value in table.items():
            for i, text in enumerate(prompt_texts(value)):
                at = (key, i) if isinstance(value, list) else (key,)
                for unit, words in units.items():
                    for n, said in _periods_in(text, words):
                        if n not in allowed[unit]:
                            problems.append(problem_at(
                                content, doc, at,
                                f"prompt '{key}' says \"{said}\", but no rule in config/deadlines.yaml is {n} "
                                f"{unit}s long (the rules are: {configured})",
                                "Write the period as a placeholder such as {filing} or {appeal}, so the text "
                                "always follows config/deadlines.yaml, or correct the number."))
    return problems


def check_house_numbers(content: Content) -> list[Problem]:
    """The house number of the English address must be in the address of every language (and the SMS one)."""
    doc = doc_of(content, "config/offices.yaml")
    problems = []
    for oid, office in content.offices.items():
        wanted = re.findall(r"\d+", office.address[REFERENCE_LANG])
        for lang in content.settings.languages:
            for name in ("address", "short"):
                text = getattr(office, name)[lang]
                missing = [n for n in wanted if n not in re.findall(r"\d+", text)]
                if missing:
                    problems.append(problem_at(
                        content, doc, ("offices", oid, name, lang),
                        f"office '{oid}': the {lang} {name} \"{text}\" does not have the number "
                        f"{' and '.join(missing)} of the English address \"{office.address[REFERENCE_LANG]}\"",
                        f"Use the same house number in every language. Check which one is right with the "
                        f"source ({office.source})."))
    return problems


# ---- SMS -----------------------------------------------------------------------------------


# ---- audio ---------------------------------------------------------------------------------

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


def espeak_voices() -> set[str] | None:
    """Every name espeak-ng accepts for a voice (language codes, voice names, files); None if it is missing."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    try:
        listing = subprocess.run([binary, "--voices"], capture_output=True, text=True, timeout=20).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5:
            names |= {cols[1].lower(), cols[3].lower(), cols[4].lower(), cols[4].rsplit("/", 1)[-1].lower()}
    return names


def check_synthesis(content: Content, langs: list[str] | None = None) -> list[Problem]:
    """A played language must be synthesised in its own voice, or the caller hears another language."""
    voices = espeak_voices()
    doc = doc_of(content, "config/hotline.yaml")
    problems = []
    for code, lang in content.settings.languages.items():
        if lang.speech != "play" or (langs and code not in langs):
            continue
        spare = fallback_voice(content)
        fallback = (f"every prompt without a recording, and every date, would be read by the {spare.code} voice "
                    f"({spare.voice}) instead")
        if lang.tts_command:
            problems += _check_command(content, doc, lang, fallback)
            continue
        if voices is None:
            problems.append(problem_at(content, doc, ("languages", code, "tts_voice"),
                                     f"language '{code}' is played, but espeak-ng is not installed: {fallback}",
                                     "Install it: sudo apt-get install espeak-ng (or run: make system)."))
        elif lang.tts_voice.split("+")[0].lower() not in voices:
            problems.append(problem_at(content, doc, ("languages", code, "tts_voice"),
                                     f"language '{code}' has tts_voice '{lang.tts_voice}', which espeak-ng does not "
                                     f"have: {fallback}",
                                     f"Use a voice that `espeak-ng --voices={code}` lists (for Kazakh: kk)."))
    return problems


def _check_command(content: Content, doc, lang: Language, fallback: str) -> list[Problem]:
    """A configured synthesis command must be installed and turn a sentence into phone audio."""
    program = (lang.tts_command.split() or [""])[0]
    at = ("languages", lang.code, "tts_command")
    if command_binary(lang) is None:
        return [problem_at(content, doc, at, f"language '{lang.code}' has tts_command running '{program}', which is "
                           f"not installed (not found on PATH): {fallback}",
                           "Install it, write its full path, or remove tts_command to use espeak-ng.")]
    error = trial_synthesis(lang, P.text(content, lang.code, "language.choose", key=lang.key))[1]
    if error:
        return [problem_at(content, doc, at, f"language '{lang.code}': tts_command did not make speech ({error}): "
                           f"{fallback}", "Run the command by hand with a sentence on standard input and "
                           "check that it writes a WAV file where {out} stands.")]
    return []


def synthesis_table(content: Content) -> Table | None:
    """How each played language is synthesised, with a trial sentence: the command and its result."""
    rows = []
    for code, lang in content.settings.languages.items():
        if lang.speech != "play" or command_binary(lang) is None:
            continue
        seconds, error, took = trial_synthesis(lang, P.text(content, code, "language.choose", key=lang.key))
        rows.append((code, command_of(lang).replace("{", "").replace("}", ""),
                     error or f"{seconds:.1f} s of 8 kHz audio in {took:.2f} s"))
    if not rows:
        return None
    return Table("Speech synthesis for played languages (a trial sentence)", ("language", "command", "trial"),
                 tuple(rows))


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


# ---- command -------------------------------------------------------------------------------


