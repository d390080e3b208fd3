"""Synthesis never while a caller waits: webhooks only name sounds, the background renders them,
every process shares them through Redis, and the default voice is phone audio of a plausible length."""
from __future__ import annotations

import io
import stat
import subprocess
import time
import wave
from pathlib import Path

from click.testing import CliRunner

from hotline.checks.synthesis import check_synthesis
from hotline.cli.check import check_command
from hotline.content.loader import load_content
from hotline.content.model import Language
from hotline.runtime.recording import store_recording
from hotline.runtime.synthesis import Synthesiser
from hotline.store import keys
from hotline.store.recordings import Recordings
from support import Call, Twilio, edit, make_app

KAZAKH = Language("kk", "1", "play", "kk_KZ", tts_voice="kk")
WELCOME_KK = "Сәлеметсіз бе. Бұл Қазақстанда қорғау сұрау туралы тегін ақпарат."
SENTENCE = "Сәлеметсіз бе. Бұл Қазақстанда қорғау сұрау туралы тегін ақпарат."  # 9 words


def wav_info(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth() * 8, w.getnframes() / w.getframerate()


def tts_plays(call: Call) -> list[str]:
    return [el.text for el in call.root.iter("Play") if "/audio/tts/" in (el.text or "")]


def kazakh_call(twilio: Twilio, r, sid: str = "CA" + "7" * 32) -> Call:
    """A first-time caller at the language menu."""
    call = Call(twilio, r, sid=sid)
    call.root = twilio.twiml("/voice", call.form())
    return call


def counter(r, name: str) -> int:
    return sum(int(r.hget(k, name) or 0) for k in r.scan_iter("hl:stats:*"))


def test_a_webhook_names_speech_and_never_makes_it(r, clock, tmp_path: Path) -> None:
    app = make_app(r, clock, tmp_path, tmp_path / "tts", TTS_PRERENDER=False)
    twilio = Twilio(app)
    call = kazakh_call(twilio, r)
    call.root = twilio.twiml(call.gather().get("action"), call.form(Digits="1"))  # Kazakh
    urls = tts_plays(call)
    assert len(urls) >= 3, "welcome, main menu, footer"
    assert not list((tmp_path / "tts").glob("*.wav")), "nothing was synthesised while the webhook ran"
    assert not any(r.exists(keys.TTS_WAV + u.rsplit("/", 1)[-1]) for u in urls)
    # Twilio fetches the sound: only then, and only because nothing had rendered it, is it made
    resp = twilio.client.get(urls[0])
    assert resp.status_code == 200 and resp.mimetype == "audio/wav"
    assert wav_info(resp.data)[:3] == (8000, 1, 16)
    assert counter(r, "tts.render_on_fetch") == 1


def test_every_kazakh_sound_is_ready_before_the_first_call_and_shared(r, clock, tmp_path: Path) -> None:
    app = make_app(r, clock, tmp_path / "a", tmp_path / "a-tts")  # a fresh data directory
    hl = app.extensions["hotline"]
    kk = hl.content.lang("kk")
    for text in ("Қазақ тілі үшін 1 басыңыз.", WELCOME_KK):  # made before the app serves at all
        assert r.exists(keys.TTS_WAV + hl.synth.name(text, kk)), text
    assert hl.holder.renderer.idle(300), "the background pass finishes"
    assert hl.holder.renderer.last["failed"] == 0 and hl.holder.renderer.last["jobs"] >= 90
    twilio = Twilio(app)
    call = kazakh_call(twilio, r)
    call.press("1")      # Kazakh: welcome and the main menu
    call.press("1")      # where and how to apply
    call.press("2")      # Almaty, read slowly
    urls = [u for root in call.history for u in (el.text for el in root.iter("Play")) if "/audio/tts/" in u]
    assert len(urls) >= 6
    for url in urls:
        assert r.exists(keys.TTS_WAV + url.rsplit("/", 1)[-1]), f"{url} is in Redis for every process"
    assert counter(r, "tts.render_on_fetch") == 0, "no caller waited for synthesis"
    # a second process (another machine: its own empty disk) plays them without synthesising
    second = Twilio(make_app(r, clock, tmp_path / "b", tmp_path / "b-tts", TTS_PRERENDER=False))
    for url in urls:
        resp = second.client.get(url)
        assert resp.status_code == 200 and resp.data == (tmp_path / "a-tts" / url.rsplit("/", 1)[-1]).read_bytes()
    assert counter(r, "tts.render_on_fetch") == 0, "the second process synthesised nothing"


def test_an_edit_is_served_once_its_speech_exists(tree: Path, r, clock, tmp_path: Path, tts_cache: Path) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(tree), CONTENT_RELOAD_SECONDS=0,
                   TTS_RENDER_WAIT=60)
    hl = app.extensions["hotline"]
    assert hl.holder.renderer.idle(300)
    twilio = Twilio(app)
    new = "Қош келдіңіз. Бұл баспана сұрау туралы тегін желі."
    edit(tree / "prompts" / "kk.yaml", "welcome: Сәлеметсіз бе. Бұл Қазақстанда қорғау сұрау туралы тегін ақпарат.",
         f"welcome: {new}")
    name = hl.synth.name(new, hl.content.lang("kk"))
    deadline = time.monotonic() + 60
    n = 0
    while time.monotonic() < deadline:
        n += 1  # a new caller each time (a returning one would skip the language menu)
        call = Call(twilio, r, caller=f"+7701555{n:04d}", sid=f"CA{n:032d}")
        call.root = twilio.twiml("/voice", call.form())
        call.root = twilio.twiml(call.gather().get("action"), call.form(Digits="1"))
        if any(u.endswith(name) for u in tts_plays(call)):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the edit was never served")
    assert (tts_cache / name).exists(), "the new welcome was synthesised before any call could ask for it"
    assert counter(r, "tts.render_on_fetch") == 0


def test_espeak_kazakh_is_phone_audio_of_plausible_length(r, tmp_path: Path) -> None:
    synth = Synthesiser(tmp_path, r)
    normal = synth.ensure(SENTENCE, KAZAKH)
    slow = synth.ensure(SENTENCE, KAZAKH, slow=True)
    rate, channels, bits, seconds = wav_info((tmp_path / normal).read_bytes())
    assert (rate, channels, bits) == (8000, 1, 16)
    # 9 words at 140 a minute is 3.9 s of speech; espeak's Kazakh pauses at the full stops
    assert 2.5 < seconds < 8.0, seconds
    slow_seconds = wav_info((tmp_path / slow).read_bytes())[3]
    assert slow_seconds > seconds * 1.1, (slow_seconds, seconds)
    assert synth.text_of(normal) == SENTENCE


def fake_piper(tmp_path: Path) -> Path:
    """A stand-in with Piper's command line (text on stdin, --output_file), speaking with espeak-ng."""
    script = tmp_path / "fake-piper"
    script.write_text('#!/bin/sh\n# usage: fake-piper --model M --output_file OUT < text\n'
                      'out=""\nwhile [ $# -gt 0 ]; do [ "$1" = "--output_file" ] && out="$2"; shift; done\n'
                      'exec espeak-ng -v kk --stdin -w "$out"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_a_configured_command_stands_in_for_espeak(tree: Path, r, tmp_path: Path) -> None:
    piper = fake_piper(tmp_path)
    config = tree / "config" / "hotline.yaml"
    edit(config, "    tts_voice: kk\n", f"    tts_voice: kk\n    tts_command: {piper} --model kk.onnx --output_file {{out}}\n")
    content = load_content(tree)
    kk = content.lang("kk")
    assert kk.tts_command.startswith(str(piper))
    synth = Synthesiser(tmp_path / "tts", r)
    name = synth.ensure(SENTENCE, kk)
    assert name != synth.name(SENTENCE, KAZAKH), "another command is another sound"
    assert wav_info((tmp_path / "tts" / name).read_bytes())[:3] == (8000, 1, 16)
    assert check_synthesis(content) == []
    result = CliRunner().invoke(check_command, ["--root", str(tree)])
    assert "kk" in result.output and "fake-piper" in result.output


def test_hotline_check_names_a_synthesis_command_that_is_not_installed(tree: Path) -> None:
    config = tree / "config" / "hotline.yaml"
    edit(config, "    tts_voice: kk\n", "    tts_voice: kk\n    tts_command: piper-nowhere --output_file {out}\n")
    problems = check_synthesis(load_content(tree))
    assert [p.severity for p in problems] == ["error"]
    assert "'piper-nowhere', which is not installed" in problems[0].message
    assert problems[0].file == "config/hotline.yaml" and problems[0].line


def test_a_command_without_its_output_file_is_refused_when_content_loads(tree: Path) -> None:
    config = tree / "config" / "hotline.yaml"
    edit(config, "    tts_voice: kk\n", "    tts_voice: kk\n    tts_command: piper --model kk.onnx\n")
    result = CliRunner().invoke(check_command, ["--root", str(tree)])
    assert result.exit_code == 1
    assert "tts_command for 'kk' must be one line with {out} where the WAV file goes" in result.output


def test_once_a_piece_of_the_main_menu_is_recorded_its_other_pieces_are_ready_before_the_first_call(
        r, clock, tmp_path: Path) -> None:
    wav = tmp_path / "one.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "1", str(wav), "synth", "0.4", "sine", "300", "vol", "0.3"],
                   check=True)
    store_recording(Recordings(r), "kk", "value.number.1", "бір", wav, "value.number.1.wav", "studio")
    for key in r.scan_iter(keys.TTS_WAV + "*"):  # nothing synthesised anywhere yet
        r.delete(key)
    app = make_app(r, clock, tmp_path / "b", tmp_path / "b-tts")  # a fresh data directory, before it serves
    hl = app.extensions["hotline"]
    kk = hl.content.lang("kk")
    for text in ("Басты мәзір.", "Өтінішті қайда және қалай беру", "басыңыз.", "екі"):
        assert r.exists(keys.TTS_WAV + hl.synth.name(text, kk)), text
    call = kazakh_call(Twilio(app), r, sid="CA" + "8" * 32)
    call.press("1")
    plays = [el.text for el in call.root.iter("Play")]
    assert f"/audio/rec/{Recordings(r).entries()[('kk', 'value.number.1')].audio}.wav" in plays
    for url in plays:
        assert Twilio(app).client.get(url).status_code == 200
    assert counter(r, "tts.render_on_fetch") == 0, "no caller waited for synthesis"


def counting_espeak(tmp_path: Path) -> tuple[Path, Path]:
    """espeak-ng behind a script that adds a line to a file each time it runs: syntheses counted."""
    runs = tmp_path / "espeak-runs"
    script = tmp_path / "counting-espeak"
    script.write_text(f'#!/bin/sh\necho run >> "{runs}"\nexec espeak-ng "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, runs


def test_two_processes_starting_together_synthesise_each_sound_once(tree: Path, r, clock, tmp_path: Path) -> None:
    script, runs = counting_espeak(tmp_path)
    edit(tree / "config" / "hotline.yaml", "    tts_voice: kk\n",
         f"    tts_voice: kk\n    tts_command: {script} -v {{voice}} -s {{rate}} --stdin -w {{out}}\n")
    # two web processes of one hotline (two machines: each its own empty disk), one Redis
    apps = [make_app(r, clock, tmp_path / name, tmp_path / f"{name}-tts", HOTLINE_CONTENT_DIR=str(tree))
            for name in ("a", "b")]
    renderers = [app.extensions["hotline"].holder.renderer for app in apps]
    assert all(renderer.idle(300) for renderer in renderers)
    sounds = 188  # every Kazakh sound of the fixture content: slots, value pieces, sentences with values
    made = {path.name for name in ("a", "b") for path in (tmp_path / f"{name}-tts").glob("*.wav")}
    assert len(made) == sounds
    assert all(r.exists(keys.TTS_WAV + name) for name in made), "each is in Redis for every process"
    assert len(runs.read_text().splitlines()) == sounds, "espeak-ng ran once per sound, not once per process"
    assert sum(renderer.rendered for renderer in renderers) == sounds, "each says what it synthesised itself"
    for app in apps:
        assert app.extensions["hotline"].holder.renderer.last["failed"] == 0
