"""Serving sound to Twilio: synthesised speech (by hash) and operators' recordings."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_file

from hotline.content.audio import AUDIO_TYPES, AudioLibrary
from hotline.runtime.hotline import current
from hotline.runtime.speech import Synthesiser

audio_bp = Blueprint("audio", __name__, url_prefix="/audio")


@audio_bp.get("/tts/<name>")
def tts_file(name: str) -> Response:
    synth: Synthesiser = current().synth
    if not name.endswith(".wav") or "/" in name or not all(c.isalnum() or c == "." for c in name):
        abort(404)
    path = synth.dir / name
    if not path.exists() and not synth.regenerate(name):
        abort(404)
    resp = send_file(path.resolve(), mimetype="audio/wav", conditional=True)
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return resp


@audio_bp.get("/<lang>/<name>")
def recording(lang: str, name: str) -> Response:
    library: AudioLibrary = current().library
    path = library.dir / lang / name
    kind = AUDIO_TYPES.get(Path(name).suffix)
    if kind is None or (lang, Path(name).stem) not in library.files or library.files[(lang, Path(name).stem)] != path:
        abort(404)
    resp = send_file(path.resolve(), mimetype=kind, conditional=True)
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
