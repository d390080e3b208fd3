"""The recording studio: every slot of a played language, recorded in the browser or uploaded.

A saved recording is converted for the phone line on the server (hotline.runtime.audiofx), kept in
Redis with the hash of the text it says (hotline.store.recordings), and played by every process
from the next call on. Editing a prompt makes its recording stale: callers hear synthesis until
someone records the new text. The recording script (a page to print, and CSV) lists the same
slots with the file names `hotline audio import` matches.
"""
from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import redis
from flask import Response, abort, jsonify, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge

from hotline.content.audio import Utterance, text_sha
from hotline.content.script import is_slow, script_groups, studio_slots
from hotline.dashboard.auth import current_operator, requires
from hotline.dashboard.blueprint import operator_bp
from hotline.runtime import audiofx, audit
from hotline.runtime.hotline import current
from hotline.runtime.recording import export_archive, import_archive, store_recording

UPLOAD_LIMIT = 40 * 1024 * 1024    # 30 minutes of 8 kHz 16-bit audio is 29 MB: refused for its length, clearly
ARCHIVE_LIMIT = 300 * 1024 * 1024
COUNTDOWN = 3
BIG = {"operator.studio_save": UPLOAD_LIMIT, "operator.studio_import": ARCHIVE_LIMIT}


@operator_bp.before_app_request
def _room_for_recordings() -> None:
    """Webhooks stay capped at 64 KB; a recording or an archive may be larger (set before any parsing)."""
    if request.endpoint in BIG:
        request.max_content_length = BIG[request.endpoint]


@dataclass(frozen=True)
class SlotView:
    key: str
    text: str
    sha: str
    status: str   # recorded / stale / synthesised (draft / unverified: files shipped in audio/)
    url: str      # what callers hear now
    file: str     # the file name in the recording script
    same_as: str = ""  # recorded through another slot that says the same words


def same_words_as(sound, lang: str, key: str, sha: str) -> str:
    """The slot whose recording this one plays because it says the same words ("" if it has its own)."""
    own = sound.studio.get((lang, key))
    same = sound.same_words.get((lang, sha))
    return same.slot if same is not None and same.slot != key and not (own and own.text_sha == sha) else ""


def played_languages() -> list[str]:
    return [code for code, lang in current().content.settings.languages.items() if lang.speech == "play"]


def _lang(value: str | None) -> str:
    played = played_languages()
    if not played:
        abort(404, "No language is played from recordings (speech: play in config/hotline.yaml).")
    return value if value in played else played[0]


def status_of(sound, lang: str, key: str, text: str) -> str:
    status = sound.status(lang, key, text)
    return "synthesised" if status == "none" else status


def slot_views(lang: str) -> list[tuple[str, list[SlotView]]]:
    hl = current()
    c, sound, speaker = hl.content, hl.library, hl.speaker()
    language = c.settings.languages[lang]
    slots = studio_slots(c, lang, hl.now().date())
    out = []
    for title, keys in script_groups(c, lang, hl.now().date()):
        views = [SlotView(k, slots[k], text_sha(slots[k]), status_of(sound, lang, k, slots[k]),
                          speaker.url(language, Utterance(slots[k], k, slow=is_slow(k))) or "", f"{lang}/{k}.wav",
                          same_words_as(sound, lang, k, text_sha(slots[k])))
                 for k in keys]
        out.append((title, views))
    return out


def _counts(groups: list[tuple[str, list[SlotView]]]) -> dict[str, int]:
    every = [s for _, views in groups for s in views]
    return {"total": len(every), "recorded": sum(s.status in ("recorded", "draft") for s in every),
            "stale": sum(s.status == "stale" for s in every)}


@operator_bp.get("/studio")
@requires("editor")
def studio() -> ResponseReturnValue:
    lang = _lang(request.args.get("lang"))
    groups = slot_views(lang)
    c = current().content
    names = {code: c.prompts[code]["language.name"] for code in c.settings.languages}
    return render_template("operator_studio.html", lang=lang, groups=groups, counts=_counts(groups), names=names,
                           played=played_languages(), countdown=COUNTDOWN, accept=",".join(audiofx.accepted_types()),
                           notice=request.args.get("notice"))


def refuse(message: str, status: int = 422) -> ResponseReturnValue:
    return jsonify(error=message), status


@operator_bp.post("/studio/<lang>/<slot>")
@requires("editor")
def studio_save(lang: str, slot: str) -> ResponseReturnValue:
    """One recording (from the browser's microphone, or a file): converted, stored, played from the next call."""
    hl = current()
    if lang not in played_languages():
        return refuse(f"'{lang}' is not a language played from recordings.", 404)
    slots = studio_slots(hl.content, lang, hl.now().date())
    if slot not in slots:
        return refuse(f"There is no slot '{slot}' in {lang}. Reload the studio page.", 404)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return refuse("No file came with the request. Choose a file or record again.", 400)
    seen = request.form.get("text_sha", "")
    if seen and seen != text_sha(slots[slot]):
        return refuse("The text of this slot changed since the page was loaded. Reload the page and record "
                      f"the new text: \"{slots[slot]}\"", 409)
    if hl.holder.recordings is None:
        return refuse("Recordings need Redis, and this process has none.", 503)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        upload.save(path)
        try:
            entry = store_recording(hl.holder.recordings, lang, slot, slots[slot], path, upload.filename,
                                    "studio" if upload.filename == f"{slot}.wav" else "upload")
        except audiofx.Refused as exc:
            return refuse(str(exc))
        except redis.RedisError:
            return refuse("The recording could not be stored (Redis did not answer). Nothing changed; try again.", 503)
    hl.holder.current()
    audit.record(hl, actor=current_operator().name, action="recording.save", lang=lang, slot=slot)
    return jsonify(status="recorded", seconds=entry.seconds, url=url_for("audio.studio_recording", name=f"{entry.audio}.wav"),
                   message=f"Saved ({entry.seconds:.1f} s): the next call plays this recording.")


@operator_bp.post("/studio/<lang>/<slot>/delete")
@requires("editor")
def studio_delete(lang: str, slot: str) -> ResponseReturnValue:
    hl = current()
    if hl.holder.recordings is None or not hl.holder.recordings.delete(lang, slot):
        return redirect(url_for("operator.studio", lang=lang, notice=f"{slot} had no studio recording."))
    audit.record(hl, actor=current_operator().name, action="recording.delete", lang=lang, slot=slot)
    return redirect(url_for("operator.studio", lang=lang, notice=f"Deleted the recording of {slot}: callers hear "
                            "the server's voice again."))


@operator_bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    size = request.content_length or 0
    limit = BIG.get(request.endpoint or "", 0)
    if request.endpoint == "operator.studio_save":
        return refuse(f"This file is {size / 1e6:.0f} MB; a recording may be at most {limit // 2**20} MB (a prompt "
                      f"is at most {audiofx.MAX_SECONDS // 60} minutes). Cut it to the one prompt.", 413)
    if request.endpoint == "operator.studio_import":
        return redirect(url_for("operator.studio", notice=f"The archive is {size / 1e6:.0f} MB; at most "
                                f"{limit // 2**20} MB can be imported at once. Nothing was imported."))
    return Response("Too large.", status=413)


# ---- the recording script: to print, as CSV ---------------------------------------------------

def script_rows(lang: str) -> list[dict[str, str]]:
    """One row per slot; a slot that says the same words as an earlier one needs no recording of its
    own (one recording serves both), so the voice actor records those words once."""
    words = {"synthesised": "missing", "stale": "stale (the text changed)", "recorded": "recorded",
             "draft": "draft", "unverified": "unverified"}
    rows, first = [], {}
    for title, views in slot_views(lang):
        for s in views:
            status = words.get(s.status, s.status)
            if s.sha in first and s.status != "recorded":
                status = f"same words as {first[s.sha]}: recorded with it"
            first.setdefault(s.sha, s.key)
            rows.append({"group": title, "file": s.file, "slot": s.key, "status": status, "text": s.text})
    return rows


@operator_bp.get("/studio/script")
@requires("editor")
def studio_script() -> ResponseReturnValue:
    lang = _lang(request.args.get("lang"))
    rows = script_rows(lang)
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(row["group"], []).append(row)
    todo = sum(1 for r in rows if r["status"] != "recorded" and not r["status"].startswith("same words"))
    name = current().content.prompts[lang]["language.name"]
    return render_template("operator_script.html", lang=lang, groups=groups, todo=todo, total=len(rows), name=name)


@operator_bp.get("/studio/script.csv")
@requires("editor")
def studio_script_csv() -> ResponseReturnValue:
    lang = _lang(request.args.get("lang"))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["group", "file", "slot", "status", "text"])
    writer.writeheader()
    writer.writerows(script_rows(lang))
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",  # the BOM makes spreadsheets read UTF-8
                    headers={"Content-Disposition": f"attachment; filename=recording-script-{lang}.csv"})


# ---- every recording as one archive, and back --------------------------------------------------

@operator_bp.get("/studio/export")
@requires("editor")
def studio_export() -> ResponseReturnValue:
    """Every recording as one archive (the layout of audio/; `hotline audio export` writes the same)."""
    recs = current().holder.recordings
    if recs is None:
        return redirect(url_for("operator.studio", notice="Recordings need Redis, and this process has none."))
    return send_file(io.BytesIO(export_archive(recs)), mimetype="application/zip", as_attachment=True,
                     download_name="hotline-recordings.zip")


@operator_bp.post("/studio/import")
@requires("editor")
def studio_import() -> ResponseReturnValue:
    hl = current()
    upload = request.files.get("archive")
    if upload is None or not upload.filename:
        return redirect(url_for("operator.studio", notice="Choose an archive (.zip) to import."))
    if hl.holder.recordings is None:
        return redirect(url_for("operator.studio", notice="Recordings need Redis, and this process has none."))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "archive.zip"
        upload.save(path)
        outcomes = import_archive(hl.holder.recordings, hl.content, hl.now().date(), path)
    done = sum(o.status == "imported" for o in outcomes)
    audit.record(hl, actor=current_operator().name, action="recordings.import", imported=str(done))
    skipped = [f"{o.name}: {o.message}" for o in outcomes if o.status != "imported"]
    note = f"Imported {done} recording(s)." + (f" Skipped {len(skipped)}: " + "; ".join(skipped[:5]) if skipped else "")
    return redirect(url_for("operator.studio", notice=note))
