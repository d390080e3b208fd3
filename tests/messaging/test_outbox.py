"""The local outbox shows every SMS the hotline would send, replies included, in Almaty time."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hotline.cli.main import main
from hotline.messaging import sender
from support import CALLER, FIXTURE, TOKEN, Twilio, outbox


def test_an_sms_reply_is_in_the_outbox_beside_what_the_sender_sent(twilio: Twilio, r, hl) -> None:
    replies = twilio.sms("HELP")
    assert len(replies) == 1
    with twilio.client.application.app_context():
        assert sender.send(hl, CALLER, "Almaty: 85 Dostyk Ave", purpose="voice.office.almaty").ok
    entries = outbox(r)
    assert [(e["purpose"], e.get("reply", False)) for e in entries] == [("sms.help", True),
                                                                        ("voice.office.almaty", False)]
    assert entries[0]["body"] == replies[0], "the outbox has the reply the phone gets"
    assert entries[0]["to"] == "+7******4567"


def test_a_stop_reply_is_in_the_outbox_too(twilio: Twilio, r) -> None:
    [reply] = twilio.sms("STOP")
    assert [(e["purpose"], e["body"]) for e in outbox(r)] == [("sms.stop", reply)]


def test_hotline_outbox_prints_almaty_time(r, redis_socket: str, tmp_path: Path) -> None:
    entry = {"to": "+7******4567", "to_enc": "x", "body": "Almaty: 85 Dostyk Ave", "purpose": "sms.help",
             "at": "2026-12-01T15:43:19+00:00", "reply": True}
    r.rpush("hl:outbox", json.dumps(entry))
    env = {"REDIS_URL": f"unix://{redis_socket}", "HOTLINE_CONTENT_DIR": str(FIXTURE), "HOTLINE_DATA_DIR": str(tmp_path),
           "TWILIO_AUTH_TOKEN": TOKEN}
    result = CliRunner().invoke(main, ["outbox"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2026-12-01 20:43:19  to +7******4567 (reply to an SMS: sms.help)",
        "    Almaty: 85 Dostyk Ave",
        "1 SMS; times are Asia/Almaty",
    ]
