"""Where content lives for tests: the frozen fixture (behaviour tests) and the shipped one.

Behaviour tests run on FIXTURE, a frozen copy under tests/fixtures/content/: an operator editing
config/ or prompts/ at the repository root never breaks them. Only tests/test_shipped_content.py
reads the shipped content (ROOT), and it discovers what to expect from it.
"""
from __future__ import annotations

import functools
import shutil
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]            # the repository: hotline/, config/, prompts/, audio/
FIXTURE = ROOT / "tests" / "fixtures" / "content"     # config/, prompts/, audio/ of the frozen fixture
TODAY = date(2026, 12, 5)                             # the tests' clock starts on this day


@functools.cache
def fixture_content():
    """The fixture content, loaded once per test process (it never changes; snapshots are immutable)."""
    from hotline.content.loader import load_content
    return load_content(FIXTURE, TODAY)


def content_copy(where: Path, source: Path = FIXTURE) -> Path:
    """A private copy of content (the fixture by default) for a test to edit or break."""
    where.mkdir(parents=True, exist_ok=True)
    for part in ("config", "prompts", "audio"):
        shutil.copytree(source / part, where / part)
    return where


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first `old` in a content file (which must contain it)."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def set_prompt(path: Path, key: str, text: str) -> None:
    """Replace the one-line prompt `key`, whatever it says now."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (i,) = [i for i, line in enumerate(lines) if line.startswith(f"{key}:")]
    lines[i] = f'{key}: "{text}"\n'
    path.write_text("".join(lines), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line containing `needle`."""
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)
