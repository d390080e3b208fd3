"""Serving sound to Twilio: synthesised speech (by hash), studio recordings (by hash), shipped files."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import redis
from flask import Blueprint, Response, abort, send_file

from hotline.content.audio import AUDIO_TYPES
from hotline.runtime import stats
from hotline.runtime.hotline import current
from hotline.runtime.synthesis import known_sounds

log = logging.getLogger(__name__)
audio_bp = Blueprint("audio", __name__, url_prefix="/audio")
HASHED = re.compile(r"^[0-9a-f]{24}\.wav$")


def _immutable(path: Path) -> Response:
    resp = send_file(path.resolve(), mimetype="audio/wav", conditional=True)
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"  # the name is the hash of the sound
    return resp


@audio_bp.get("/tts/<name>")
def tts_file(name: str) -> Response:
    """Made in the background when the content loaded; made now only if a caller is quicker than that."""
    hl = current()
    if not HASHED.match(name):
        abort(404)
    path = hl.synth.fetch(name)
    if path is None:
        stats.count("tts.render_on_fetch", hl)
        log.warning("a caller asked for speech not rendered yet (%s): making it now", name)
        job = known_sounds(hl.content, hl.synth).get(name)
        if job:
            hl.synth.remember(name, hl.synth.spec(*job))
        made = hl.synth.render(name, hl.synth.spec(*job)) if job else hl.synth.regenerate(name)
        if not made:
            abort(404)
        path = hl.synth.local(name)
    return _immutable(path)


@audio_bp.get("/rec/<name>")
def studio_recording(name: str) -> Response:
    """A studio recording by the hash of its audio, cached on local disk after the first fetch."""
    hl = current()
    if not HASHED.match(name):
        abort(404)
    cache = Path(hl.config.get("HOTLINE_DATA_DIR") or "var") / "recordings"
    path = cache / name
    if not path.exists():
        try:
            data = hl.holder.recordings.wav(name.removesuffix(".wav")) if hl.holder.recordings else None
        except redis.RedisError:
            data = None
        if not data:
            abort(404)
        cache.mkdir(parents=True, exist_ok=True)
        part = cache / f".{name}.part"
        part.write_bytes(data)
        part.replace(path)
    return _immutable(path)


@audio_bp.get("/<lang>/<name>")
def recording(lang: str, name: str) -> Response:
    library = current().library
    path = library.dir / lang / name
    kind = AUDIO_TYPES.get(Path(name).suffix)
    if kind is None or (lang, Path(name).stem) not in library.files or library.files[(lang, Path(name).stem)] != path:
        abort(404)
    resp = send_file(path.resolve(), mimetype=kind, conditional=True)
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
