"""How long the person webhooks take (Twilio waits at most 15 s; a caller hears silence meanwhile).

Measured in-process against the real Redis and the fake Twilio (HTTP on loopback); the numbers go
to the test run's summary. The bounds are loose (shared CI machines), the figures are the point.
"""
from __future__ import annotations

import statistics
import time

import pytest

from hotline.people import inbox
from support import CALLER, SUMMARY, Call, Twilio, rest_app
from support.person import AIGERIM, HOTLINE, MP3, WEEKDAY_11, on_shift, person_content


@pytest.fixture
def papp(r, clock, tmp_path, tts_cache, fake):
    return rest_app(r, clock, tmp_path, tts_cache, fake, HOTLINE_CONTENT_DIR=str(person_content(tmp_path)),
                    TWILIO_FROM_NUMBER=HOTLINE, TWILIO_VOICE_NUMBER=HOTLINE)


@pytest.fixture
def phl(papp):
    return papp.extensions["hotline"]


@pytest.fixture
def tw(papp, fake):
    return Twilio(papp, token=fake.token)


@pytest.fixture
def pcall(tw, r):
    return Call(tw, r)


def _ms(fn, n: int = 30) -> tuple[float, float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def test_person_webhook_timings(phl, pcall, tw, fake, clock):
    clock.set(WEEKDAY_11)
    on_shift(phl, "Aigerim", AIGERIM, ["ru"])
    pcall.start()
    pcall.press("2")
    key = pcall.gather().get("action")
    form = pcall.form(Digits="0")
    results = {}
    results["key 0 -> Dial"] = _ms(lambda: tw.twiml(key, form))
    dial = tw.twiml(key, form).find("Dial")
    whisper = dial.find("Number").get("url")
    leg = {"CallSid": "CA" + "2" * 32, "ParentCallSid": pcall.sid, "From": "+77172000000", "To": AIGERIM}
    results["whisper"] = _ms(lambda: tw.twiml(whisper, leg))
    results["Dial action (no answer -> options)"] = _ms(lambda: tw.twiml(dial.get("action"), pcall.form(DialCallStatus="no-answer")))
    clock.set("2026-12-05T11:00:00+05:00")
    choose = "/voice/person/choose?l=ru"
    results["1 -> Record (item stored)"] = _ms(lambda: tw.twiml(choose, pcall.form(Digits="1")))

    def recording():
        iid = inbox.create(phl, "voicemail", CALLER, "ru", "", pcall.sid, recording="pending")
        sid, url = fake.add_recording(MP3)
        assert tw.post(f"/voice/person/recording?i={iid}", {"RecordingSid": sid, "RecordingUrl": url,
                                                             "RecordingStatus": "completed"}).status_code == 204
    results["recording callback (fetch, encrypt, delete at Twilio)"] = _ms(recording, 20)
    results["missed-call <Reject> + queue"] = _ms(lambda: tw.twiml("/voice/missed", {"From": CALLER, "CallSid": "CA" + "7" * 32}))
    SUMMARY.append("person webhooks (median / p95 ms, in-process, real Redis, fake Twilio on loopback):")
    for name, (p50, p95) in results.items():
        SUMMARY.append(f"  {name:<55} {p50:7.1f} / {p95:7.1f}")
        assert p95 < 2000, (name, p95)
