"""Live reload: a good edit reaches callers within seconds, in every process; a broken one never does."""
from __future__ import annotations

import json
import time
import wave
from pathlib import Path
from typing import Callable

import pytest
import yaml

from hotline.content.audio import text_sha
from hotline.content.script import recording_slots
from support import Call, Twilio, edit, make_app

WITHIN = 5.0  # seconds; the apps recheck the files every 0.2 s


def eventually(check: Callable[[], bool], within: float = WITHIN) -> bool:
    """Poll until `check` holds or the time is up (no fixed sleep: fast when the reload is fast)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture
def hotline(tree: Path, r, clock, tmp_path: Path, tts_cache: Path):
    """Make a hotline process serving the tree (several may share it)."""
    def make(name: str = "a") -> Twilio:
        return Twilio(make_app(r, clock, tmp_path / name, tts_cache, HOTLINE_CONTENT_DIR=str(tree),
                               CONTENT_RELOAD_SECONDS=0.2))
    return make


def almaty(twilio: Twilio, r) -> str:
    """What an English caller hears after pressing 2 (Almaty) on the 'where to apply' menu."""
    call = Call(twilio, r)
    call.hear(twilio.twiml("/voice/key?n=apply&l=en&p=0", call.form(Digits="2")))
    return call.text


def test_a_good_edit_is_served_within_seconds(tree: Path, hotline, r) -> None:
    twilio = hotline()
    assert "85 Dostyk Avenue." in almaty(twilio, r)
    edit(tree / "config" / "offices.yaml", "en: 85 Dostyk Avenue", "en: 85 Dostyk Avenue, 2nd floor")
    assert eventually(lambda: "85 Dostyk Avenue, 2nd floor." in almaty(twilio, r))
    assert r.get("hl:content:error") is None


def test_a_broken_edit_is_refused_published_and_cleared_when_fixed(tree: Path, hotline, r) -> None:
    twilio = hotline()
    menu = tree / "config" / "menu.yaml"
    edit(menu, '"2": office.almaty', '"2": office.almatyy')
    # each poll is a call, which is what makes the process look at the files
    assert eventually(lambda: almaty(twilio, r) != "" and r.get("hl:content:error") is not None)
    error = json.loads(r.get("hl:content:error"))["error"]
    assert "config/menu.yaml" in error and "'office.almatyy', which does not exist" in error
    assert "85 Dostyk Avenue." in almaty(twilio, r), "the last good content keeps serving"
    edit(menu, '"2": office.almatyy', '"2": office.almaty')
    assert eventually(lambda: almaty(twilio, r) != "" and r.get("hl:content:error") is None)
    assert "85 Dostyk Avenue." in almaty(twilio, r)


def test_every_process_picks_up_the_edit(tree: Path, hotline, r) -> None:
    first, second = hotline("a"), hotline("b")
    edit(tree / "config" / "offices.yaml", "en: 85 Dostyk Avenue", "en: 85 Dostyk Avenue, room 12")
    for process in (first, second):
        assert eventually(lambda: "room 12" in almaty(process, r))


def test_a_new_recording_with_its_manifest_entry_is_played(tree: Path, hotline, r) -> None:
    twilio = hotline()
    call = Call(twilio, r)
    call.start()
    assert [el.text for el in call.root.iter("Play") if "/audio/en/" in (el.text or "")] == []
    with wave.open(str(tree / "audio" / "en" / "language.choose.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    text = recording_slots(twilio.client.application.extensions["hotline"].content, "en")["language.choose"]
    entry = {"file": "language.choose.wav", "text_sha": text_sha(text), "draft": False}
    (tree / "audio" / "manifest.yaml").write_text(yaml.safe_dump({"en": {"language.choose": entry}}), encoding="utf-8")

    def played() -> bool:
        call.start()
        return "/audio/en/language.choose.wav" in [el.text for el in call.root.iter("Play")]

    assert eventually(played)
    assert "For English" not in call.text, "the recording replaces Twilio's voice"
    assert twilio.client.get("/audio/en/language.choose.wav").mimetype == "audio/wav"
