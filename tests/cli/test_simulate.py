"""`hotline simulate`: a terminal call through the real webhooks, in-process or against a running server."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli.sim_transport import InProcess
from hotline.cli.simulate import scripted, simulate_call, simulate_command
from support import CALLER, FIXTURE, PUBLIC, SECRET, TOKEN, make_app
from support.server import serving

LANGS = {"kk": "1", "ru": "2", "en": "3"}
MASKED = "+7******4567"


def run(app, keys: str) -> str:
    lines: list[str] = []
    simulate_call(InProcess(app), CALLER, scripted(keys), lines.append)
    return "\n".join(lines)


@pytest.mark.parametrize("lang", LANGS)
def test_scripted_call_reaches_an_office_and_texts_it(app, lang: str) -> None:
    city, address = {"kk": ("Алматы", "Достық даңғылы, 85"), "ru": ("Алматы", "проспект Достык, дом 85"),
                     "en": ("Almaty", "85 Dostyk Avenue")}[lang]
    out = run(app, f"{LANGS[lang]} 1 2 8")
    heard, sms = out.split(f"[SMS to {MASKED}] ")
    assert f"{city}. " in heard and address in heard
    assert sms.splitlines()[0].startswith(f"{city}: {address}.")
    assert out.rstrip().endswith("[caller hangs up]\n[call ended]")
    assert CALLER not in out and CALLER[1:] not in out


def test_silence_follows_the_redirect_and_the_call_state_is_cleared(app, r) -> None:
    out = run(app, "3 . .")
    assert out.count("I did not hear a key press.") == 2
    assert "[waiting for 1 key: 0-9 * #; '.' = silence]" in out
    assert r.keys("hl:call:*") == [], "the status callback ended the call"


def test_keys_typed_in_the_terminal(r, redis_socket: str, tmp_path: Path) -> None:
    """The real command, in-process, signing with the token from the environment."""
    env = {"REDIS_URL": f"unix://{redis_socket}", "HOTLINE_CONTENT_DIR": str(FIXTURE), "HOTLINE_DATA_DIR": str(tmp_path),
           "HOTLINE_SECRET_KEY": SECRET, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
           "TWILIO_FROM_NUMBER": "+77000000000"}
    result = CliRunner().invoke(simulate_command, [], input="3\n1\n2\n8\nq\n", env=env)
    assert result.exit_code == 0, result.output
    assert "85 Dostyk Avenue" in result.output
    assert f"[SMS to {MASKED}] Almaty: 85 Dostyk Avenue." in result.output, "to the outbox, even with Twilio credentials"
    assert CALLER not in result.output


@pytest.fixture
def server(r, clock, tmp_path: Path):
    """A hotline listening on a real port, as `hotline run` would serve it."""
    with serving(make_app(r, clock, tmp_path, tmp_path / "var" / "tts")) as url:
        yield url


def test_against_a_running_server(server: str, redis_socket: str, tmp_path: Path) -> None:
    env = {"TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_URL": PUBLIC, "REDIS_URL": f"unix://{redis_socket}",
           "HOTLINE_DATA_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(simulate_command, ["--url", server, "--keys", "1 1 2 8"], env=env)
    assert result.exit_code == 0, result.output
    assert "Алматы. Мекенжайы: Достық даңғылы, 85." in result.output, "synthesised Kazakh is shown as text"
    assert f"[SMS to {MASKED}] Алматы: Достық даңғылы, 85." in result.output


def test_a_wrong_token_is_refused_and_explained(server: str) -> None:
    env = {"TWILIO_AUTH_TOKEN": "not-the-token", "PUBLIC_URL": PUBLIC, "REDIS_URL": ""}
    result = CliRunner().invoke(simulate_command, ["--url", server, "--keys", "3"], env=env)
    assert result.exit_code == 1
    assert "the hotline answered 403 to /voice (is TWILIO_AUTH_TOKEN the server's token?)" in result.output
