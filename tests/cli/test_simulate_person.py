"""`hotline simulate` plays Twilio's part of <Record> and <Dial> in local mode (issue 12's make run),
and a production-configured hotline never fetches what it serves."""
from __future__ import annotations

import threading
import wave
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli.simulate import simulate_command
from hotline.dashboard import accounts
from hotline.people import inbox
from hotline.store import keys
from support import CALLER, Twilio, make_app
from support.person import AIGERIM, HOTLINE, SATURDAY_11, WEEKDAY_11, dashboard, on_shift, person_content
from support.server import serving

MEDIA_PATH = "/2010-04-01/Accounts/AC" + "0" * 32 + "/Recordings/RE" + "a" * 32


def local_app(r, clock, tmp_path: Path, **overrides):
    """The hotline as `make run` starts it: no Twilio credentials, no signatures."""
    return make_app(r, clock, tmp_path, tmp_path / "var" / "tts", HOTLINE_CONTENT_DIR=str(person_content(tmp_path)),
                    TWILIO_AUTH_TOKEN="", PUBLIC_URL="", TWILIO_VOICE_NUMBER=HOTLINE,
                    **overrides)


@pytest.fixture
def served(r, clock, tmp_path: Path):
    app = local_app(r, clock, tmp_path)
    with serving(app) as url:
        yield app, url


def message(tmp_path: Path) -> Path:
    path = tmp_path / "message.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x10\x20" * 8000 * 3)  # 3 s
    return path


def test_a_local_call_outside_hours_leaves_a_message_a_caseworker_plays(served, r, clock, tmp_path: Path) -> None:
    app, url = served
    hl = app.extensions["hotline"]
    clock.set(SATURDAY_11)
    wav = message(tmp_path)
    env = {"REDIS_URL": "", "TWILIO_AUTH_TOKEN": "", "HOTLINE_DATA_DIR": str(tmp_path / "cli")}
    result = CliRunner().invoke(simulate_command, ["--url", url, "--keys", "2 0 1 2", "--message", str(wav)], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Сейчас сотрудники не могут ответить." in out
    assert "[beep: the caller leaves a 3-second message and presses #]" in out
    assert "[recording ready: the hotline fetched it from the simulator, like Twilio's media URL]" in out
    assert "Спасибо. Мы получили ваше сообщение." in out
    assert "Хорошо. Мы не будем вам перезванивать." in out
    assert CALLER not in out

    [item] = inbox.listing(hl)
    assert (item.kind, item.recording, item.duration, item.lang) == ("voicemail", "received", 3, "ru")
    stored = r.get(keys.recording(item.id))
    assert stored and b"RIFF" not in stored.encode() and b"\x10\x20" * 8 not in stored.encode(), "kept encrypted"

    accounts.create(hl, "dana", "caseworker", "pw-dana-caseworker", totp=False)
    client, csrf = dashboard(app, "pw-dana-caseworker", name="dana")
    page = client.get("/operator/inbox").get_data(as_text=True)
    assert "+7******4567" in page and CALLER not in page
    assert client.get(f"/operator/inbox/{item.id}/audio").status_code == 403, "not before the claim"
    assert client.post(f"/operator/inbox/{item.id}/claim", data={"csrf": csrf}).status_code == 302
    audio = client.get(f"/operator/inbox/{item.id}/audio")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert audio.data == wav.read_bytes()


def test_a_local_call_in_hours_shows_the_ringing_masked(served, clock) -> None:
    app, url = served
    clock.set(WEEKDAY_11)
    on_shift(app.extensions["hotline"], "Aigerim", AIGERIM, ["ru"])
    result = CliRunner().invoke(simulate_command, ["--url", url, "--keys", "2 0"], env={"REDIS_URL": "", "TWILIO_AUTH_TOKEN": ""})
    assert result.exit_code == 0, result.output
    assert "Соединяем вас с сотрудником. Пожалуйста, подождите." in result.output
    assert "[ringing the caseworker on shift at +7******0001 ...]" in result.output
    assert "Сейчас все сотрудники заняты." in result.output, "nobody presses 1: the options follow"
    assert AIGERIM not in result.output


@pytest.mark.parametrize("config", [{"TWILIO_ACCOUNT_SID": "AC" + "1" * 32}, {}], ids=["credentials", "token"])
def test_a_configured_hotline_refuses_a_loopback_recording_url(r, clock, tmp_path: Path, config: dict) -> None:
    """Production's fetch stays api.twilio.com only: a loopback RecordingUrl would be SSRF."""
    app = make_app(r, clock, tmp_path, tmp_path / "var" / "tts", HOTLINE_CONTENT_DIR=str(person_content(tmp_path)),
                   **config)
    hl = app.extensions["hotline"]
    iid = inbox.create(hl, "voicemail", CALLER, "ru", "", "CA" + "2" * 32, recording="pending")
    fetched: list[str] = []

    class Media(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"RIFF")

    httpd = HTTPServer(("127.0.0.1", 0), Media)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    form = {"CallSid": "CA" + "2" * 32, "RecordingSid": "RE" + "a" * 32,
            "RecordingUrl": f"http://127.0.0.1:{httpd.server_port}{MEDIA_PATH}",
            "RecordingDuration": "3", "RecordingStatus": "completed", "AccountSid": "AC" + "0" * 32}
    try:
        assert Twilio(app).post(f"/voice/person/recording?i={iid}", form).status_code == 204, "signed as Twilio signs it"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    assert fetched == [], "nothing fetched from loopback"
    assert inbox.get(hl, iid).recording == "failed"
    assert r.get(keys.recording(iid)) is None
