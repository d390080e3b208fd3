"""`hotline check`: the command around checks/, with the content folder option the other commands share."""
from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path

import click
import redis

from hotline.checks.checker import run_checks
from hotline.content.audio import AudioLibrary
from hotline.runtime.settings import content_dir
from hotline.runtime.speech import SoundLibrary
from hotline.store.connection import connect, data_dir, running_embedded
from hotline.store.recordings import Recordings


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
    root = root or default_root()
    report = run_checks(root, today.date() if today else date.today(), studio_library(root))
    click.echo(report.render())
    sys.exit(1 if report.errors else 0)


def studio_library(root: Path) -> SoundLibrary | None:
    """What a running hotline plays, when its Redis can be reached without starting one (REDIS_URL,
    or the embedded Redis `make run` started): its studio recordings with the files in audio/. None
    otherwise, and the checks read audio/ alone."""
    url = os.environ.get("REDIS_URL") or ""
    if not url and (sock := running_embedded(data_dir())):
        url = f"unix://{sock}"
    if not url:
        return None
    try:
        recordings = Recordings(connect(url, data_dir()))
        entries, version = recordings.entries(), recordings.version()
    except redis.RedisError:
        return None
    return SoundLibrary(AudioLibrary(Path(root) / "audio"), entries, version)
