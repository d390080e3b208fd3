"""`hotline simulate`: a phone call in the terminal, through the same webhooks Twilio calls.

Nothing is special-cased for the simulator: it posts the same signed forms, reads the same TwiML,
follows the same Gather actions and Redirects. What it prints is what a caller would hear, and the
SMS that would reach their phone (from the local outbox, number masked).
"""
from __future__ import annotations

import io
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import wave
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import click
import redis

from hotline.cli.sim_transport import InProcess, OverHttp, SimulationError, Transport, local_path
from hotline.rules.phones import mask
from hotline.store.connection import connect, data_dir, running_embedded

DEFAULT_CALLER = "+77011234567"
HOTLINE_NUMBER = "+77000000000"
SILENCE = "."
PLAYERS = (("aplay", "-q"), ("paplay",), ("play", "-q"))


@dataclass(frozen=True)
class Heard:
    """One thing the caller hears: text (for <Say> and synthesised audio), and how it sounds."""

    text: str
    language: str = ""  # <Say> language, e.g. en-US
    audio_url: str = ""  # <Play>


def heard(root: ET.Element, transport: Transport) -> list[Heard]:
    """What the caller hears from one TwiML answer, in order."""
    out = []
    for el in root.iter():
        if el.tag == "Say":
            out.append(Heard("".join(el.itertext()).strip(), language=el.get("language", "")))
        elif el.tag == "Play":
            url = (el.text or "").strip()
            text = transport.spoken_text(url)
            recording = "/tts/" not in url
            out.append(Heard(text or (f"[recording: {url}]" if recording else f"[audio: {url}]"), audio_url=url))
    return out


class Loudspeaker:
    """--speak: <Say> through espeak-ng, <Play> as the audio itself, on the first player found."""

    def __init__(self) -> None:
        self.espeak = shutil.which("espeak-ng")
        self.player = next(([shutil.which(p[0]), *p[1:]] for p in PLAYERS if shutil.which(p[0])), None)

    def missing(self) -> str:
        if self.player is None:
            return "no audio player found (aplay, paplay or play): printing only."
        return "" if self.espeak else "espeak-ng is not installed: <Say> lines are printed only."

    def speak(self, item: Heard, transport: Transport) -> None:
        if self.player is None:
            return
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "say.wav"
            if item.audio_url:
                data = transport.audio(item.audio_url)
                if data is None:
                    return
                wav.write_bytes(data)
            elif self.espeak:
                voice = item.language.split("-")[0].lower() or "en"
                subprocess.run([self.espeak, "-v", voice, "-w", str(wav), item.text], capture_output=True, timeout=30)
            if wav.exists():
                subprocess.run([*self.player, str(wav)], capture_output=True, timeout=120)


def simulate_call(transport: Transport, caller: str, next_key: Callable[[int], str | None],
                  echo: Callable[[str], None] = click.echo, speaker: Loudspeaker | None = None,
                  message: bytes | None = None) -> None:
    """Drive one call to its end: speak each answer, show new SMS, ask for keys, follow redirects."""
    form = {"CallSid": "CA" + secrets.token_hex(16), "From": caller, "To": HOTLINE_NUMBER,
            "AccountSid": "AC" + "0" * 32, "CallStatus": "in-progress"}
    sent = len(transport.outbox(0))
    step: tuple[str, dict[str, str]] | None = ("/voice", {})
    while step is not None:
        path, extra = step
        root = ET.fromstring(transport.post(path, {**form, **extra}))
        for item in heard(root, transport):
            echo(f"  {item.text}")
            if speaker:
                speaker.speak(item, transport)
        sent = show_new_sms(transport, sent, echo)
        step = _twilio_part(root, transport, form, message, echo) or _next_step(root, next_key, echo)
    transport.post("/voice/status", {**form, "CallStatus": "completed"})
    echo("[call ended]")


def _twilio_part(root: ET.Element, transport: Transport, form: dict[str, str], message: bytes | None,
                 echo: Callable[[str], None]) -> tuple[str, dict[str, str]] | None:
    """What Twilio does for <Dial> and <Record>, so a local call can reach the inbox (None: neither)."""
    dial, record = root.find("Dial"), root.find("Record")
    if dial is not None:
        for number in dial.findall("Number"):
            echo(f"[ringing the caseworker on shift at {mask((number.text or '').strip())} ...]")
        echo("[in the simulator nobody presses 1: no answer]")
        action = dial.get("action")
        return (local_path(action), {"DialCallStatus": "no-answer", "DialCallDuration": "0"}) if action else None
    if record is None:
        return None
    audio = message if message is not None else sample_message()
    sid, key = "RE" + secrets.token_hex(16), record.get("finishOnKey", "#")
    path = f"/2010-04-01/Accounts/{form['AccountSid']}/Recordings/{sid}"
    fields = {"RecordingSid": sid, "RecordingDuration": str(_seconds(audio))}
    echo(f"[beep: the caller leaves a {fields['RecordingDuration']}-second message and presses {key}]")
    callback = record.get("recordingStatusCallback")
    if callback and not transport.token:  # with Twilio credentials the real Twilio must do this
        with _serving(path + ".mp3", audio) as base:
            fields["RecordingUrl"] = base + path
            transport.post(local_path(callback), {**form, **fields, "RecordingStatus": "completed"})
        echo("[recording ready: the hotline fetched it from the simulator, like Twilio's media URL]")
    return local_path(record.get("action", "")), {**fields, "Digits": key}


def sample_message() -> bytes:
    """A short spoken WAV (espeak-ng), or a second of a tone without it."""
    espeak = shutil.which("espeak-ng")
    if espeak:
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "message.wav"
            subprocess.run([espeak, "-v", "en", "-w", str(wav), "This is a test message from the simulator."],
                           capture_output=True, timeout=30)
            if wav.exists():
                return wav.read_bytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes(128 + (40 if (i // 9) % 2 else -40) for i in range(8000)))  # ~440 Hz square
    return out.getvalue()


def _seconds(audio: bytes) -> int:
    """Whole seconds of a WAV (at least 1); 1 for anything else (an mp3 given with --message)."""
    try:
        with wave.open(io.BytesIO(audio), "rb") as w:
            return max(1, round(w.getnframes() / w.getframerate()))
    except (wave.Error, EOFError):
        return 1


@contextmanager
def _serving(path: str, body: bytes) -> Iterator[str]:
    """Serve `body` at `path` on a loopback port while the hotline fetches it; yields the base URL."""

    class Media(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            found = self.path == path
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Media)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def show_new_sms(transport: Transport, seen: int, echo: Callable[[str], None]) -> int:
    """Print the SMS the hotline sent since `seen` (replies are printed from the webhook answer)."""
    new = transport.outbox(seen)
    for sms in new:
        if not sms.get("reply"):
            echo(f"[SMS to {sms['to']}] {sms['body']}")
    return seen + len(new)


def simulate_sms(transport: Transport, sender: str, body: str, echo: Callable[[str], None] = click.echo) -> None:
    """One incoming SMS through the real /sms webhook: print the reply as the phone would show it."""
    seen = len(transport.outbox(0))
    form = {"MessageSid": "SM" + secrets.token_hex(16), "From": sender, "To": HOTLINE_NUMBER, "Body": body,
            "AccountSid": "AC" + "0" * 32, "NumMedia": "0"}
    echo(f"> SMS from {mask(sender)}: {body}")
    root = ET.fromstring(transport.post("/sms", form))
    replies = ["".join(m.itertext()).strip() for m in root.iter("Message")]
    for text in replies:
        echo(f"[SMS reply] {text}")
    if not replies:
        echo("[no reply: the hotline stays silent for this number (opted out, over the daily limit, or not allowed)]")
    show_new_sms(transport, seen, echo)


def _next_step(root: ET.Element, next_key: Callable[[int], str | None],
               echo: Callable[[str], None]) -> tuple[str, dict[str, str]] | None:
    """Where the call goes next: a key press, silence (the Redirect), or nowhere (hung up)."""
    if root.find("Hangup") is not None:
        return None
    gather, redirect = root.find("Gather"), root.find("Redirect")
    if gather is None:
        return (local_path(redirect.text or ""), {}) if redirect is not None else None
    digits = int(gather.get("numDigits", "1"))
    echo(f"[waiting for {digits} key{'s' if digits > 1 else ''}: 0-9 * #; '{SILENCE}' = silence]")
    key = next_key(digits)
    if key is None:
        echo("[caller hangs up]")
        return None
    echo(f"> {key}")
    if key == SILENCE:
        return (local_path(redirect.text or ""), {}) if redirect is not None else None
    return local_path(gather.get("action", "")), {"Digits": key}


def scripted(keys: str) -> Callable[[int], str | None]:
    """--keys "2 1 2 8": one entry per menu (a date is one entry: 0312); the call ends after the last."""
    presses: Iterator[str] = iter(keys.split())
    return lambda _digits: next(presses, None)


def typed(_digits: int) -> str | None:
    """A key from the terminal: Enter alone or '.' is silence; 'q' or end of input hangs up."""
    try:
        line = input().strip()
    except EOFError:
        return None
    if line.lower() == "q":
        return None
    return line or SILENCE


@click.command("simulate")
@click.option("--url", default=None, help="A running hotline, e.g. http://127.0.0.1:5000 (default: the one `make run` "
                                         "started from this folder, else the hotline in this process).")
@click.option("--keys", default=None, help='Keys to press, one entry per menu, e.g. "2 1 2 8" ("." = silence). '
                                           "Without it, type each key and press Enter.")
@click.option("--sms", "sms_body", default=None, metavar="TEXT", help='Send one SMS instead of calling, e.g. "HELP".')
@click.option("--from", "caller", default=DEFAULT_CALLER, show_default=True, help="The caller's number.")
@click.option("--speak", is_flag=True, help="Say it aloud (espeak-ng and aplay/paplay/play).")
@click.option("--message", "message_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The voice message to leave when asked to record (WAV or mp3; default: a short spoken test message).")
def simulate_command(url: str | None, keys: str | None, sms_body: str | None, caller: str, speak: bool,
                     message_file: Path | None) -> None:
    """A call (or an SMS) in the terminal through the real webhooks: hear the menus, press keys, see the SMS."""
    from hotline.cli.serve import running_url

    token = os.environ.get("TWILIO_AUTH_TOKEN", "")
    local = running_url()
    url = url or local
    if url:
        r, missing = _redis_of(url, local)
        transport: Transport = OverHttp(url, token, os.environ.get("PUBLIC_URL", ""), r, data_dir() / "tts")
        click.echo(f"Talking to {url} from {mask(caller)}." + (f" {missing}" if missing else ""))
    else:
        from hotline import create_app
        # In this process SMS always go to the local outbox, never to a real phone.
        transport = InProcess(create_app({"TWILIO_MESSAGING_SERVICE_SID": "", "TWILIO_FROM_NUMBER": "",
                                          "STARTUP_WARNINGS": False}))
        click.echo(f"No hotline is running from this folder (make run): using one in this process, from "
                   f"{mask(caller)}. SMS go to the local outbox only.")
    try:
        if sms_body is not None:
            simulate_sms(transport, caller, sms_body)
            return
        speaker = Loudspeaker() if speak else None
        if speaker and speaker.missing():
            click.echo(speaker.missing())
        simulate_call(transport, caller, scripted(keys) if keys is not None else typed, speaker=speaker,
                      message=message_file.read_bytes() if message_file else None)
    except SimulationError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("\n[caller hangs up]")


def _redis_of(url: str, local: str | None) -> tuple[redis.Redis | None, str]:
    """The Redis of the hotline at `url`, to show SMS and synthesised text; else why not (one line)."""
    if os.environ.get("REDIS_URL"):
        return connect(os.environ["REDIS_URL"], data_dir()), ""
    sock = running_embedded(data_dir()) if local and url.rstrip("/") == local.rstrip("/") else None
    if sock:
        return connect(f"unix://{sock}", data_dir()), ""
    return None, ("SMS it sends and the text of synthesised speech are not shown: that needs its Redis "
                  "(run the hotline from this folder with `make run`, or set REDIS_URL to its Redis).")
