"""A plain-text table, as `hotline check` and the dashboard show findings to operators."""
from __future__ import annotations

from dataclasses import dataclass

from hotline.content.model import Content, Problem
from hotline.content.yamlio import Located, load


@dataclass(frozen=True)
class Table:
    """Information for the operator, not a problem: a title, column names and rows."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def render(self) -> str:
        widths = [max(len(str(r[i])) for r in (self.header, *self.rows)) for i in range(len(self.header))]
        lines = [self.title]
        for row in (self.header, *self.rows):
            lines.append("  " + "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())
        return "\n".join(lines)


def doc_of(content: Content, relative: str) -> Located:
    """A content file with its line numbers (it loaded a moment ago, so it parses)."""
    return load(content.root / relative)


def problem_at(content: Content, doc: Located | str, keys: tuple, message: str, fix: str,
             severity: str = "error") -> Problem:
    if isinstance(doc, str):
        return Problem(doc, None, message, fix, severity)
    return Problem(str(doc.path.relative_to(content.root)), doc.line(*keys), message, fix, severity)
