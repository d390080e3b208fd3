"""`hotline check`: everything an operator can edit, checked at once, in words an operator can act on.

`load_content` already refuses content the hotline cannot serve. This adds what would load but
still mislead or fail a caller: a hard-coded period that disagrees with config/deadlines.yaml, a
house number that differs between languages, an SMS that costs more segments than allowed, and
recordings that no longer match their text or a language that cannot be synthesised.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from hotline.checks import words as caller
from hotline.checks.deployment import check_one_way, check_whatsapp, messaging_table
from hotline.checks.facts import check_house_numbers, check_periods
from hotline.checks.menu import handoff_table, keys_table, menu_table
from hotline.checks.recordings import audio_summary_table, check_audio, values_tables
from hotline.checks.synthesis import synthesis_table
from hotline.content.audio import AudioLibrary
from hotline.content.budget import check_sms
from hotline.content.loader import load_content
from hotline.content.model import Content, ContentError, Problem
from hotline.content.report import Table


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

    def add(self, problems: list[Problem]) -> None:
        """Problems not found already (two checks may see the same line)."""
        seen = {(p.file, p.line, p.message) for p in self.problems}
        self.problems += [p for p in problems if (p.file, p.line, p.message) not in seen]

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
    try:
        content = load_content(Path(root), today)
        report = Report(list(content.warnings))
    except ContentError as exc:
        report = Report(list(exc.problems), loaded=False)
        if exc.partial is None:
            report.skipped = ["SMS sizes", "periods and house numbers", "recordings"]
            return report
        content = exc.partial
    for name, check in CHECKS:
        try:
            check(content, report, library, today)
        except Exception:  # noqa: BLE001 - it needs what the errors above broke: say so, check the rest
            if report.loaded:
                raise
            report.skipped.append(name)
    return report


# Each check adds its problems and tables to the report; `library` is what the hotline plays (None: audio/).
Check = Callable[[Content, Report, AudioLibrary | None, date], None]


def _menu(content: Content, report: Report, library: AudioLibrary | None, today: date) -> None:
    menu_problems, seconds_table = caller.check_menus(content)
    report.add(menu_problems)
    report.tables[:0] = [t for t in (menu_table(content), seconds_table, keys_table(content),
                                     messaging_table(content), handoff_table(content)) if t]


def _words(content: Content, report: Report, library: AudioLibrary | None, today: date) -> None:
    report.add(caller.check_keyword_safety(content) + caller.check_discretion(content) + caller.check_listening(content))


def _facts(content: Content, report: Report, library: AudioLibrary | None, today: date) -> None:
    report.add(check_periods(content) + check_house_numbers(content))


def _messaging(content: Content, report: Report, library: AudioLibrary | None, today: date) -> None:
    report.add(check_one_way(content) + check_whatsapp(content))


def _sms(content: Content, report: Report, library: AudioLibrary | None, today: date) -> None:
    if set(content.prompts) != set(content.settings.languages):
        raise LookupError("a prompts file did not load")
    problems, table = check_sms(content, fill_errors=report.loaded)
    report.add(problems)
    report.tables.append(table)


def _audio(content: Content, report: Report, library: AudioLibrary | None, today: date) -> None:
    problems, statuses = check_audio(content, library=library)
    report.add(problems)
    if statuses:
        report.tables.append(audio_summary_table(content, statuses))
    if table := synthesis_table(content):
        report.tables.append(table)
    report.tables.extend(values_tables(content, library or AudioLibrary(content.root / "audio"), today))


CHECKS: tuple[tuple[str, Check], ...] = (
    ("the menu table", _menu),
    ("keywords, reminders' words and sentence length", _words),
    ("periods and house numbers", _facts),
    ("one-way and WhatsApp texts", _messaging),
    ("SMS sizes", _sms),
    ("recordings", _audio),
)
