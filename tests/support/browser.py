"""Headless Chromium for the dashboard tests: the one browser `make test` installs."""
from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium() -> str:
    """The browser to launch. Without it the test fails: a skipped browser test would prove nothing,
    and `make test` installs Chromium (the Makefile's `system` target)."""
    if not CHROMIUM.exists():
        pytest.fail("needs /usr/bin/chromium: run `make test`, which installs it (the Makefile's `system` target)")
    return str(CHROMIUM)
