"""`hotline audio`: drafts, recordings imported into the studio (a folder or an archive) reach the caller,
an edited text retires them, and the archive is the dashboard's."""
from __future__ import annotations

import base64
import io
import json
import math
import re
import struct
import subprocess
import wave
import zipfile
from datetime import date
from pathlib import Path

import yaml
from click.testing import CliRunner

from hotline.cli.audio import audio_group
from hotline.cli.check import check_command
from hotline.content.audio import text_sha
from hotline.content.loader import load_content
from hotline.content.script import recording_slots
from hotline.store import keys
from support import Call, Twilio, edit, make_app, set_prompt

TODAY = date(2026, 12, 5)


def audio(tree: Path, *args: str):
    return CliRunner().invoke(audio_group, [*args, "--root", str(tree)])


def manifest(tree: Path) -> dict:
    return yaml.safe_load((tree / "audio" / "manifest.yaml").read_text(encoding="utf-8"))


def recordings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def studio_wav(path: Path, rate: int = 44100, channels: int = 2, seconds: float = 0.3) -> None:
    """A recording as a studio app exports it: CD quality, stereo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(i / 20))) * channels for i in range(int(rate * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def wav_format(path: Path) -> tuple[int, int, int]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth() * 8


def status_rows(output: str) -> dict[str, list[str]]:
    """The `audio status` table: slot -> its columns (the text column, if any, stays whole)."""
    lines = output.split("\n\n")[0].splitlines()
    width = len(lines[1].split()) - 1
    return {cols[0]: cols[1:] for cols in (line.split(maxsplit=width) for line in lines[2:])}


def plays(call: Call) -> list[str]:
    return [el.text for el in call.root.iter("Play")]


def test_status_lists_every_slot_per_language(tree: Path) -> None:
    result = audio(tree, "status")
    assert result.exit_code == 0, result.output
    rows = status_rows(result.output)
    content = load_content(tree, TODAY)
    assert set(rows) == {*recording_slots(content, "kk"), *recording_slots(content, "ru"), *recording_slots(content, "en")}
    assert rows["office.almaty"] == ["synthesised", "twilio", "twilio"]
    assert rows["menu.main"] == ["-", "twilio", "twilio"], "Kazakh records the main menu as its pieces"
    assert rows["value.number.5"] == ["synthesised", "-", "-"] and rows["menu.option.after_key"][0] == "synthesised"
    one = status_rows(audio(tree, "status", "--lang", "kk").output)
    assert one["office.almaty"][0] == "synthesised" and one["office.almaty"][1].startswith("Алматы. Мекенжайы: Достық")


def test_unknown_language_is_named(tree: Path) -> None:
    result = audio(tree, "status", "--lang", "ky")
    assert result.exit_code == 2 and "there is no language 'ky'. Use one of: kk, ru, en." in result.output


def test_draft_synthesises_every_missing_kazakh_slot_once(tree: Path) -> None:
    result = audio(tree, "draft")
    assert result.exit_code == 0, result.output
    content = load_content(tree, TODAY)
    slots = recording_slots(content, "kk")
    entries = manifest(tree)["kk"]
    assert set(entries) == set(slots) and f"kk: {len(slots)} draft(s) made." in result.output
    for slot, text in slots.items():
        assert entries[slot] == {"file": f"{slot}.wav", "text_sha": text_sha(text), "draft": True}
        assert wav_format(tree / "audio" / "kk" / f"{slot}.wav") == (8000, 1, 16)
    assert set(manifest(tree)) == {"kk"}, "Twilio speaks ru and en: no robot drafts over Polly"
    assert (tree / "audio" / "manifest.yaml").read_text(encoding="utf-8").startswith("# Written by"), "header kept"
    assert recordings(tree / "audio" / "ru") == []
    assert "kk: 0 draft(s) made." in audio(tree, "draft").output
    assert status_rows(audio(tree, "status", "--lang", "kk").output)["office.almaty"][0] == "draft"


def test_draft_refuses_a_language_twilio_speaks(tree: Path) -> None:
    result = audio(tree, "draft", "--lang", "ru")
    assert result.exit_code == 1 and "spoken by Twilio's voice (Polly.Tatyana)" in result.output
    assert manifest(tree) == {} and recordings(tree / "audio" / "ru") == []


def test_draft_with_a_broken_voice_changes_nothing(tree: Path) -> None:
    edit(tree / "config" / "hotline.yaml", "tts_voice: kk", "tts_voice: bogus")
    result = audio(tree, "draft")
    assert result.exit_code == 1 and "tts_voice 'bogus'" in result.output
    assert manifest(tree) == {} and recordings(tree / "audio" / "kk") == []


def sox_wav(path: Path, seconds: float = 0.8, rate: int = 44100, channels: int = 2) -> Path:
    """A real recording file made by sox: a tone with silence before and after, CD quality, stereo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-n", "-r", str(rate), "-c", str(channels), "-b", "16", str(path),
                    "synth", str(seconds), "sine", "440", "vol", "0.3", "pad", "0.4", "0.4"], check=True)
    return path


def in_redis(sock: str, *args: str, data: Path | None = None, tree: Path | None = None):
    """`hotline audio ...` against the test's Redis (REDIS_URL), or the embedded one in `data`."""
    env = {"REDIS_URL": f"unix://{sock}" if sock else "", "HOTLINE_DATA_DIR": str(data or "var")}
    return CliRunner().invoke(audio_group, [*args, *(["--root", str(tree)] if tree else [])], env=env)


def stored(r, lang: str, slot: str) -> dict:
    return json.loads(r.hget(keys.REC_INDEX, f"{lang}/{slot}"))


def stored_wav(r, entry: dict) -> bytes:
    return base64.b64decode(r.get(keys.REC_WAV + entry["audio"]))


def test_import_stores_converted_recordings_in_redis_by_the_script_names(tree: Path, tmp_path: Path, r,
                                                                          redis_socket: str) -> None:
    folder = tmp_path / "voice-actor"
    sox_wav(folder / "office.almaty.wav")
    sox_wav(folder / "value.number.5.wav", seconds=0.4)
    sox_wav(folder / "office.almati.wav")
    (folder / "notes.txt").write_text("take 3 was best", encoding="utf-8")
    result = in_redis(redis_socket, "import", str(folder), "--lang", "kk", tree=tree)
    assert result.exit_code == 0, result.output
    assert "skipped kk/office.almati.wav: no slot is called 'office.almati'. Did you mean 'office.almaty.wav'?" in result.output
    assert "skipped kk/notes.txt: only sound files are imported" in result.output
    assert "2 recording(s) stored in the Redis at REDIS_URL" in result.output
    content = load_content(tree, TODAY)
    almaty = stored(r, "kk", "office.almaty")
    assert almaty["text_sha"] == text_sha(recording_slots(content, "kk")["office.almaty"]) and almaty["source"] == "import"
    assert stored(r, "kk", "value.number.5")["text"] == "бес"
    with wave.open(io.BytesIO(stored_wav(r, almaty)), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert 0.7 < w.getnframes() / 8000 < 1.2, "silence trimmed at both ends (0.8 s of sound)"
    assert recordings(tree / "audio" / "kk") == [], "nothing written into the code's audio/ folder"


def test_import_reads_language_folders_and_refuses_what_is_not_audio(tree: Path, tmp_path: Path, r,
                                                                     redis_socket: str) -> None:
    sox_wav(tmp_path / "studio" / "kk" / "welcome.wav")
    sox_wav(tmp_path / "studio" / "en" / "welcome.wav")
    (tmp_path / "studio" / "kk" / "footer.main.wav").write_bytes(b"")
    result = in_redis(redis_socket, "import", str(tmp_path / "studio"), tree=tree)
    assert result.exit_code == 1, result.output
    assert "FAILED kk/footer.main.wav: 'footer.main.wav' is empty (0 bytes)." in result.output
    assert sorted(r.hkeys(keys.REC_INDEX)) == ["en/welcome", "kk/welcome"]


def test_an_imported_recording_is_played_until_its_text_changes(tree: Path, tmp_path: Path, r, clock, tts_cache,
                                                                 redis_socket: str) -> None:
    sox_wav(tmp_path / "studio" / "office.almaty.wav")
    assert in_redis(redis_socket, "import", str(tmp_path / "studio"), "--lang", "kk", tree=tree).exit_code == 0
    twilio = Twilio(make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(tree), CONTENT_RELOAD_SECONDS=0))

    def almaty_in_kazakh(sid: str) -> Call:
        call = Call(twilio, r, sid=sid)
        call.twilio.twiml("/voice", call.form())
        call.hear(call.twilio.twiml("/voice/key?n=apply&l=kk&p=0", call.form(Digits="2")))
        return call

    call = almaty_in_kazakh("CA" + "1" * 32)
    url = f"/audio/rec/{stored(r, 'kk', 'office.almaty')['audio']}.wav"
    assert plays(call)[0] == url
    served = twilio.client.get(url)
    assert served.status_code == 200 and served.mimetype == "audio/wav" and served.data[:4] == b"RIFF"

    set_prompt(tree / "prompts" / "kk.yaml", "office.again", "Қайталаймын: {address}.")
    call = almaty_in_kazakh("CA" + "2" * 32)
    assert plays(call)[0].startswith("/audio/tts/")
    assert "Қайталаймын: Достық даңғылы, 85." in call.heard[0]


def test_export_and_import_of_an_archive_match_the_dashboards(tree: Path, tmp_path: Path, r, clock, tts_cache,
                                                              redis_socket: str) -> None:
    sox_wav(tmp_path / "studio" / "welcome.wav")
    sox_wav(tmp_path / "studio" / "value.month.12.wav", seconds=0.5)
    assert in_redis(redis_socket, "import", str(tmp_path / "studio"), "--lang", "kk", tree=tree).exit_code == 0
    before = {k: stored(r, *k.split("/")) for k in r.hkeys(keys.REC_INDEX)}
    archive = tmp_path / "backup.zip"
    result = in_redis(redis_socket, "export", str(archive))
    assert result.exit_code == 0 and "2 recording(s) from the Redis at REDIS_URL written to" in result.output

    app = make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(tree), OPERATOR_PASSWORD="correct horse battery staple")
    client = app.test_client()
    page = client.get("/operator/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/operator/login", data={"csrf": csrf, "name": "operator",
                                                      "password": "correct horse battery staple"}).status_code == 302
    dashboard = zipfile.ZipFile(io.BytesIO(client.get("/operator/studio/export").data))
    ours = zipfile.ZipFile(archive)
    assert sorted(ours.namelist()) == sorted(dashboard.namelist()) == ["kk/value.month.12.wav", "kk/welcome.wav",
                                                                      "manifest.yaml"]
    assert ours.read("manifest.yaml") == dashboard.read("manifest.yaml")
    assert ours.read("kk/welcome.wav") == stored_wav(r, before["kk/welcome"])

    set_prompt(tree / "prompts" / "kk.yaml", "welcome", "Сәлем. Бұл тегін ақпарат.")
    r.delete(keys.REC_INDEX)
    result = in_redis(redis_socket, "import", str(archive), tree=tree)
    assert result.exit_code == 0, result.output
    after = {k: stored(r, *k.split("/")) for k in r.hkeys(keys.REC_INDEX)}
    assert {k: e["text_sha"] for k, e in after.items()} == {k: e["text_sha"] for k, e in before.items()}, \
        "each keeps the text it says: welcome is stale"
    assert after["kk/welcome"]["source"] == "archive"


def test_without_redis_url_recordings_go_to_the_embedded_redis_of_the_data_directory(tree: Path, tmp_path: Path) -> None:
    sox_wav(tmp_path / "studio" / "welcome.wav")
    data = tmp_path / "var"
    result = in_redis("", "import", str(tmp_path / "studio"), "--lang", "kk", data=data, tree=tree)
    assert result.exit_code == 0 and f"1 recording(s) stored in the embedded Redis in {data}" in result.output
    exported = in_redis("", "export", str(tmp_path / "out.zip"), data=data)
    assert exported.exit_code == 0, exported.output
    assert zipfile.ZipFile(tmp_path / "out.zip").namelist() == ["kk/welcome.wav", "manifest.yaml"]


def test_draft_never_overwrites_a_stale_human_recording(tree: Path, tmp_path: Path) -> None:
    studio_wav(tree / "audio" / "kk" / "welcome.wav")  # a person's recording shipped in audio/
    text = recording_slots(load_content(tree, TODAY), "kk")["welcome"]
    (tree / "audio" / "manifest.yaml").write_text(yaml.safe_dump(
        {"kk": {"welcome": {"file": "welcome.wav", "text_sha": text_sha(text), "draft": False}}}), encoding="utf-8")
    recorded = (tree / "audio" / "kk" / "welcome.wav").read_bytes()
    set_prompt(tree / "prompts" / "kk.yaml", "welcome", "Сәлем. Бұл тегін ақпарат.")
    result = audio(tree, "draft", "--lang", "kk")
    assert result.exit_code == 0, result.output
    assert "kept welcome.wav: it was recorded for an older text. Record it again saying \"Сәлем. Бұл тегін ақпарат.\"" in result.output
    assert (tree / "audio" / "kk" / "welcome.wav").read_bytes() == recorded
    assert manifest(tree)["kk"]["welcome"]["draft"] is False


def test_status_and_check_count_the_studios_recordings_when_its_redis_is_reachable(tree: Path, tmp_path: Path, r,
                                                                                   redis_socket: str) -> None:
    for slot in ("welcome", "value.number.5", "period.days.other.after_n"):
        sox_wav(tmp_path / "studio" / f"{slot}.wav", seconds=0.5)
    assert in_redis(redis_socket, "import", str(tmp_path / "studio"), "--lang", "kk", tree=tree).exit_code == 0
    status = status_rows(in_redis(redis_socket, "status", "--lang", "kk", tree=tree).output)
    assert status["welcome"][0] == "recorded" and status["value.number.5"][0] == "recorded"
    env = {"REDIS_URL": f"unix://{redis_socket}"}
    report = CliRunner().invoke(check_command, ["--root", str(tree)], env=env).output
    assert re.search(r"\{filing\}\s+бес күнтізбелік күн\s+2/2\s+yes", report), report
    assert re.search(r"\{appeal\}\s+үш ай\s+0/2\s+no: synthesised value.number.3, period.months.other.after_n", report)

    set_prompt(tree / "prompts" / "kk.yaml", "welcome", "Сәлем. Бұл тегін ақпарат.")
    report = CliRunner().invoke(check_command, ["--root", str(tree)], env=env).output
    assert "the studio recording of 'welcome' (kk) was made for an older text, so callers hear synthesised speech" in report
    without = CliRunner().invoke(check_command, ["--root", str(tree)], env={"REDIS_URL": ""}).output
    assert re.search(r"\{filing\}\s+бес күнтізбелік күн\s+0/2", without), "no Redis reached: audio/ alone"
