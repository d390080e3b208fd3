"""`hotline check`: the command around checks/, with the content folder option the other commands share."""
from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path

import click

from hotline.checks.checker import run_checks
from hotline.runtime.settings import content_dir


def default_root() -> Path:
    """The content folder the hotline itself would use."""
    return content_dir(os.environ.get("HOTLINE_CONTENT_DIR", ""))


root_option = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
                           help="Folder with config/, prompts/ and audio/ (default: the hotline's own).")


@click.command("check")
@root_option
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Check as if today were this date (YYYY-MM-DD), e.g. to see which offices will need checking.")
def check_command(root: Path | None, today: datetime | None) -> None:
    """Check everything operators edit. Exit code 1 when something must be fixed."""
    report = run_checks(root or default_root(), today.date() if today else date.today())
    click.echo(report.render())
    sys.exit(1 if report.errors else 0)
