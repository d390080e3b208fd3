"""`hotline audio`: drafts and imported recordings reach the caller, and an edited text retires them."""
from __future__ import annotations

import math
import struct
import wave
from datetime import date
from pathlib import Path

import yaml
from click.testing import CliRunner

from hotline.cli.audio import audio_group
from hotline.content.audio import text_sha
from hotline.content.loader import load_content
from hotline.content.script import recording_slots
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
    assert set(rows) == set(recording_slots(content, "kk"))
    assert rows["office.almaty"] == ["synthesised", "twilio", "twilio"]
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


def test_import_converts_for_the_phone_and_skips_unknown_names(tree: Path, tmp_path: Path) -> None:
    studio = tmp_path / "studio"
    studio_wav(studio / "office.almaty.wav")
    studio_wav(studio / "office.almati.wav")
    (studio / "notes.txt").write_text("take 3 was best", encoding="utf-8")
    result = audio(tree, "import", str(studio), "--lang", "kk")
    assert result.exit_code == 0, result.output
    assert "skipped office.almati.wav: no prompt is called 'office.almati'. Did you mean 'office.almaty.wav'?" in result.output
    assert "skipped notes.txt" in result.output
    assert recordings(tree / "audio" / "kk") == ["office.almaty.wav"]
    assert wav_format(tree / "audio" / "kk" / "office.almaty.wav") == (8000, 1, 16)
    text = recording_slots(load_content(tree, TODAY), "kk")["office.almaty"]
    assert manifest(tree) == {"kk": {"office.almaty": {"file": "office.almaty.wav", "text_sha": text_sha(text),
                                                        "draft": False}}}


def test_import_replaces_a_draft_and_reads_language_folders(tree: Path, tmp_path: Path) -> None:
    assert audio(tree, "draft").exit_code == 0
    studio_wav(tmp_path / "studio" / "kk" / "welcome.wav")
    studio_wav(tmp_path / "studio" / "en" / "welcome.wav")
    result = audio(tree, "import", str(tmp_path / "studio"))
    assert result.exit_code == 0, result.output
    assert manifest(tree)["kk"]["welcome"]["draft"] is False and manifest(tree)["en"]["welcome"]["draft"] is False
    assert manifest(tree)["kk"]["footer.main"]["draft"] is True, "other drafts stay"
    assert status_rows(audio(tree, "status").output)["welcome"] == ["recorded", "twilio", "recorded"]


def test_an_imported_recording_is_played_until_its_text_changes(tree: Path, tmp_path: Path, r, clock, tts_cache) -> None:
    studio_wav(tmp_path / "studio" / "office.almaty.wav")
    assert audio(tree, "import", str(tmp_path / "studio"), "--lang", "kk").exit_code == 0
    twilio = Twilio(make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(tree), CONTENT_RELOAD_SECONDS=0))

    def almaty_in_kazakh(sid: str) -> Call:
        call = Call(twilio, r, sid=sid)
        call.twilio.twiml("/voice", call.form())
        call.hear(call.twilio.twiml("/voice/key?n=apply&l=kk&p=0", call.form(Digits="2")))
        return call

    call = almaty_in_kazakh("CA" + "1" * 32)
    assert plays(call)[0] == "/audio/kk/office.almaty.wav"
    served = twilio.client.get("/audio/kk/office.almaty.wav")
    assert served.status_code == 200 and served.mimetype == "audio/wav" and served.data[:4] == b"RIFF"

    set_prompt(tree / "prompts" / "kk.yaml", "office.again", "Қайталаймын: {address}.")
    status = audio(tree, "status", "--lang", "kk")
    assert status_rows(status.output)["office.almaty"][0] == "stale" and "audio/kk/office.almaty.wav" in status.output
    call = almaty_in_kazakh("CA" + "2" * 32)
    assert plays(call)[0].startswith("/audio/tts/")
    assert "Қайталаймын: Достық даңғылы, 85." in call.heard[0]


def test_draft_never_overwrites_a_stale_human_recording(tree: Path, tmp_path: Path) -> None:
    studio_wav(tmp_path / "studio" / "welcome.wav")
    assert audio(tree, "import", str(tmp_path / "studio"), "--lang", "kk").exit_code == 0
    recorded = (tree / "audio" / "kk" / "welcome.wav").read_bytes()
    set_prompt(tree / "prompts" / "kk.yaml", "welcome", "Сәлем. Бұл тегін ақпарат.")
    result = audio(tree, "draft", "--lang", "kk")
    assert result.exit_code == 0, result.output
    assert "kept welcome.wav: it was recorded for an older text. Record it again saying \"Сәлем. Бұл тегін ақпарат.\"" in result.output
    assert (tree / "audio" / "kk" / "welcome.wav").read_bytes() == recorded
    assert manifest(tree)["kk"]["welcome"]["draft"] is False
