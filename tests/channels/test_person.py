"""Reaching a person (issue 12): key 0, caseworkers with a whisper, voice messages, call-backs,
the free missed-call number. Twilio is replaced only at HTTP (tests/fake_twilio.py); webhooks are
signed as Twilio signs them; TwiML is read as XML."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hotline.content.loader import load_content
from hotline.content.model import ContentError
from hotline.messaging import callbacks, recordings
from hotline.people import caseworkers, inbox
from hotline.store import keys, schedule
from support import CALLER, SECRET, Call, Twilio, make_app, outbox, rest_app
from support.person import AIGERIM, BOLAT, HOTLINE, MP3, SATURDAY_11, WEEKDAY_11, dashboard, on_shift, person_content


@pytest.fixture
def content_root(tmp_path: Path) -> Path:
    return person_content(tmp_path)


@pytest.fixture
def papp(r, clock, tmp_path, tts_cache, fake, content_root):
    app = rest_app(r, clock, tmp_path, tts_cache, fake, HOTLINE_CONTENT_DIR=str(content_root),
                   TWILIO_FROM_NUMBER=HOTLINE, TWILIO_VOICE_NUMBER=HOTLINE, OPERATOR_PASSWORD="pw-for-the-inbox")
    return app


@pytest.fixture
def phl(papp):
    return papp.extensions["hotline"]


@pytest.fixture
def tw(papp, fake) -> Twilio:
    return Twilio(papp, token=fake.token)


@pytest.fixture
def pcall(tw, r) -> Call:
    return Call(tw, r)


def to_russian_main(call: Call) -> None:
    call.start()
    call.press("2")


def post(tw: Twilio, url: str, form: dict) -> ET.Element:
    return tw.twiml(url, form)


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()).strip() for el in root.iter("Say")]


# ---- in office hours ----------------------------------------------------------------------------------

def test_key_0_in_hours_rings_the_caseworker_on_shift_with_a_whisper_and_the_hotline_number(phl, pcall, clock):
    clock.set(WEEKDAY_11)
    on_shift(phl, "Aigerim", AIGERIM, ["ru", "kk"])
    caseworkers.add(phl, "Off duty", BOLAT, ["ru"])  # not on shift: never rung
    to_russian_main(pcall)
    assert "Поговорить с сотрудником: нажмите 0." in pcall.heard
    pcall.press("0")
    assert pcall.heard == ["Соединяем вас с сотрудником. Пожалуйста, подождите."]
    dial = pcall.root.find("Dial")
    assert dial.get("callerId") == HOTLINE
    assert dial.get("timeout") == "20" and dial.get("answerOnBridge") == "true"
    assert dial.get("action").startswith("/voice/person/dialed?")
    numbers = dial.findall("Number")
    assert [n.text for n in numbers] == [AIGERIM]
    assert numbers[0].get("url").startswith("/voice/person/whisper?")


def test_the_whisper_names_language_and_topic_and_only_1_joins(phl, pcall, tw, clock):
    clock.set(WEEKDAY_11)
    on_shift(phl, "Aigerim", AIGERIM, ["ru"])
    to_russian_main(pcall)
    pcall.press("4")                       # the appeal topic
    pcall.press("0")
    number = pcall.root.find("Dial/Number")
    leg = {"CallSid": "CA" + "2" * 32, "ParentCallSid": pcall.sid, "From": HOTLINE, "To": AIGERIM,
           "Direction": "outbound-dial", "CallStatus": "in-progress"}
    whisper = post(tw, number.get("url"), leg)
    gather = whisper.find("Gather")
    assert texts(gather) == ["Звонок горячей линии. Язык: русский. Тема: Отказ и обжалование. Чтобы принять звонок, нажмите 1."]
    assert whisper.find("Hangup") is not None, "no key: the caseworker's leg hangs up (their voicemail never takes the call)"
    wrong = post(tw, gather.get("action"), {**leg, "Digits": "2"})
    assert wrong.find("Hangup") is not None
    joined = post(tw, gather.get("action"), {**leg, "Digits": "1"})
    assert list(joined) == [], "an empty document: Twilio joins the caller"
    after = post(tw, pcall.root.find("Dial").get("action"), pcall.form(DialCallStatus="completed", DialCallDuration="240"))
    assert texts(after) == ["Спасибо за звонок. До свидания."] and after.find("Hangup") is not None


def test_nobody_presses_1_then_the_next_caseworker_then_the_options(phl, pcall, tw, clock):
    clock.set(WEEKDAY_11)
    on_shift(phl, "Aigerim", AIGERIM, ["ru"])
    on_shift(phl, "Bolat", BOLAT, ["ru"])
    to_russian_main(pcall)
    pcall.press("0")
    first = pcall.root.find("Dial")
    second = post(tw, first.get("action"), pcall.form(DialCallStatus="no-answer"))
    assert [n.text for n in second.iter("Number")] == [BOLAT]
    # answered by Bolat's own voicemail: the whisper hung up, nobody pressed 1 -> Dial "completed"
    fallback = post(tw, second.find("Dial").get("action"), pcall.form(DialCallStatus="completed", DialCallDuration="9"))
    assert texts(fallback) == ["Сейчас все сотрудники заняты.",
                               "Чтобы оставить голосовое сообщение, нажмите 1. Чтобы мы вам перезвонили, нажмите 2. "
                               "Главное меню: нажмите 7."]


def test_all_at_once_rings_everyone_in_one_dial(r, clock, tmp_path, tts_cache, fake, content_root):
    path = content_root / "config" / "handoff.yaml"
    path.write_text(path.read_text().replace("  strategy: in_order\n", "  strategy: all_at_once\n"))
    app = rest_app(r, clock, tmp_path, tts_cache, fake, HOTLINE_CONTENT_DIR=str(content_root), TWILIO_VOICE_NUMBER=HOTLINE,
                   TWILIO_FROM_NUMBER=HOTLINE)
    phl, pcall = app.extensions["hotline"], Call(Twilio(app, token=fake.token), r)
    assert phl.content.handoff.strategy == "all_at_once"
    clock.set(WEEKDAY_11)
    on_shift(phl, "Aigerim", AIGERIM, ["ru"])
    on_shift(phl, "Bolat", BOLAT, ["ru"])
    on_shift(phl, "Kazakh only", "+77011110003", ["kk"])
    to_russian_main(pcall)
    pcall.press("0")
    assert [n.text for n in pcall.root.iter("Number")] == [AIGERIM, BOLAT]


# ---- out of hours: hours, voice message, call-back -----------------------------------------------------

def test_out_of_hours_says_when_and_records_a_message_then_confirms_a_call_back(phl, pcall, tw, clock):
    clock.set(SATURDAY_11)
    on_shift(phl, "Aigerim", AIGERIM, ["ru"])   # on shift, but outside office hours nobody is rung
    to_russian_main(pcall)
    pcall.press("0")
    assert pcall.root.find("Dial") is None
    assert pcall.heard == [
        "Сейчас сотрудники не могут ответить.",
        "Сотрудники отвечают с понедельника по пятницу, с 9 до 18 по времени Астаны, кроме праздничных дней.",
        "Чтобы оставить голосовое сообщение, нажмите 1. Чтобы мы вам перезвонили, нажмите 2. Главное меню: нажмите 7."]
    pcall.press("1")
    assert pcall.heard == ["После сигнала скажите ваше сообщение. У вас есть до 2 минут. Когда закончите, нажмите решётку."]
    rec = pcall.root.find("Record")
    assert rec.get("maxLength") == "120" and rec.get("finishOnKey") == "#" and rec.get("playBeep") == "true"
    assert rec.get("recordingStatusCallback").startswith("/voice/person/recording?i=vm")
    [item] = inbox.listing(phl)
    assert (item.kind, item.recording, item.lang, item.masked) == ("voicemail", "pending", "ru", "+7******4567")
    done = post(tw, rec.get("action"), pcall.form(RecordingUrl="https://api.twilio.com/x", RecordingDuration="12", Digits="#"))
    pcall.hear(done)
    assert pcall.heard == ["Спасибо. Мы получили ваше сообщение.",
                           "Хотите, чтобы мы вам перезвонили? Чтобы подтвердить, нажмите 1. Если нет, нажмите 2."]
    pcall.press("1")
    assert pcall.heard[0] == "Мы перезвоним вам с номера этой горячей линии в течение одного рабочего дня."
    assert pcall.heard[1].startswith("Главное меню.") and pcall.root.find("Gather") is not None
    [item] = inbox.listing(phl)
    assert item.callback and item.kind == "voicemail"


def test_call_back_request_without_a_message_and_help_on_silence_and_wrong_keys(phl, pcall, clock):
    clock.set(SATURDAY_11)
    to_russian_main(pcall)
    pcall.press("0")
    pcall.press("5")
    assert pcall.heard[0] == "Извините, такой клавиши нет в этом меню."
    assert pcall.heard[-1].startswith("Чтобы оставить голосовое сообщение, нажмите 1.")
    pcall.silence()
    assert pcall.heard[0] == "Я не услышала нажатия клавиши."
    pcall.press("2")
    assert pcall.heard == ["Хотите, чтобы мы вам перезвонили? Чтобы подтвердить, нажмите 1. Если нет, нажмите 2."]
    pcall.press("1")
    assert pcall.heard[0] == "Мы перезвоним вам с номера этой горячей линии в течение одного рабочего дня."
    [item] = inbox.listing(phl)
    assert (item.kind, item.callback, item.recording) == ("callback", True, "")


def test_kazakh_and_english_callers_hear_the_same_flow(phl, tw, r, clock):
    clock.set(SATURDAY_11)
    for key, lang, closed, options in (
            ("1", "kk", "Қазір қызметкерлер жауап бере алмайды.",
             "Дауыстық хабар қалдыру үшін 1 пернесін басыңыз. Сізге қайта қоңырау шалуымызды сұрау үшін 2 пернесін "
             "басыңыз. Басты мәзір үшін 7 пернесін басыңыз."),
            ("3", "en", "No caseworker can answer right now.",
             "To leave a voice message, press 1. To ask us to call you back, press 2. For the main menu, press 7.")):
        c = Call(tw, r, caller=f"+7701999000{key}", sid="CA" + key * 32)
        c.start()
        c.press(key)
        c.press("0")
        assert c.heard[0] == closed and c.heard[2] == options, lang


def test_with_redis_down_the_caller_hears_the_hours_is_connected_from_memory_and_told_to_retry(
        clock, tmp_path, tts_cache, content_root):
    from hotline.store.connection import connect
    from support import start_redis
    proc, sock = start_redis(tmp_path / "own-redis")
    try:
        app = make_app(connect(f"unix://{sock}", tmp_path), clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(content_root),
                       TWILIO_VOICE_NUMBER=HOTLINE)
        hl = app.extensions["hotline"]
        tw = Twilio(app)
        clock.set(WEEKDAY_11)
        on_shift(hl, "Aigerim", AIGERIM, ["ru"])
        first = Call(tw, None, sid="CA" + "a" * 32)
        to_russian_main(first)
        first.press("0")                            # Redis up: the routing is read (and kept in memory)
        proc.kill()
        proc.wait()
        c = Call(tw, None, sid="CA" + "b" * 32)
        to_russian_main(c)
        c.press("0")
        assert [n.text for n in c.root.iter("Number")] == [AIGERIM]
        clock.set(SATURDAY_11)
        c = Call(tw, None, sid="CA" + "c" * 32)
        to_russian_main(c)
        c.press("0")
        assert c.heard[1].startswith("Сотрудники отвечают с понедельника по пятницу")
        c.press("1")
        assert c.heard[0] == "Извините, сейчас это невозможно. Попробуйте через несколько минут."
    finally:
        if proc.poll() is None:
            proc.kill()


# ---- the recording callback: fetch, encrypt, delete at Twilio -------------------------------------------

def voicemail_item(hl, number: str = CALLER) -> str:
    return inbox.create(hl, "voicemail", number, "ru", "appeal", "CA" + "1" * 32, recording="pending")


def test_recording_callback_fetches_encrypts_and_deletes_at_twilio(phl, tw, fake, r):
    iid = voicemail_item(phl)
    sid, url = fake.add_recording(MP3)
    form = {"AccountSid": fake.account_sid, "CallSid": "CA" + "1" * 32, "RecordingSid": sid, "RecordingUrl": url,
            "RecordingStatus": "completed", "RecordingDuration": "7"}
    assert tw.post(f"/voice/person/recording?i={iid}", form, signature="forged").status_code == 403
    assert fake.media_fetches == [] and sid in fake.recordings
    assert tw.post(f"/voice/person/recording?i={iid}", form).status_code == 204
    assert fake.media_fetches == [sid]
    assert fake.deleted == [sid] and sid not in fake.recordings
    stored = r.get(keys.recording(iid))
    assert stored and MP3[:16] not in stored.encode() and "fake-mp3" not in stored
    assert inbox.recording(phl, iid) == MP3
    item = inbox.get(phl, iid)
    assert (item.recording, item.duration) == ("received", 7)


def test_a_recording_for_a_deleted_item_is_only_deleted_at_twilio(phl, tw, fake, r):
    iid = voicemail_item(phl)
    inbox.forget_items(r, phl.vault.hash(CALLER))
    sid, url = fake.add_recording(MP3)
    assert tw.post(f"/voice/person/recording?i={iid}", {"RecordingSid": sid, "RecordingUrl": url,
                                                         "RecordingStatus": "completed"}).status_code == 204
    assert fake.media_fetches == [] and fake.deleted == [sid]
    assert not r.exists(keys.recording(iid)) and not r.exists(keys.item(iid))


def test_twilio_down_then_the_worker_fetches_it_and_a_lost_callback_is_found(phl, tw, fake, r, clock):
    iid = voicemail_item(phl)
    sid, url = fake.add_recording(MP3)
    fake.media_down = True
    tw.post(f"/voice/person/recording?i={iid}", {"RecordingSid": sid, "RecordingUrl": url, "RecordingStatus": "completed"})
    assert inbox.get(phl, iid).recording == "failed" and sid in fake.recordings
    fake.media_down = False
    assert recordings.sweep(phl) == 1
    assert inbox.recording(phl, iid) == MP3 and fake.deleted == [sid]
    # a callback that never came: after 10 minutes the worker asks Twilio for the call's recording
    lost = inbox.create(phl, "voicemail", CALLER, "ru", "", "CA" + "8" * 32, recording="pending")
    sid2, _ = fake.add_recording(MP3 + b"2", call_sid="CA" + "8" * 32)
    assert recordings.sweep(phl) == 0 and inbox.get(phl, lost).recording == "pending"
    clock.advance(minutes=11)
    assert recordings.sweep(phl) == 1
    assert inbox.recording(phl, lost) == MP3 + b"2" and sid2 in fake.deleted


def test_a_callback_that_never_arrives_leaves_the_item_visible(phl, papp):
    iid = voicemail_item(phl)
    client, _ = dashboard(papp)
    page = client.get("/operator/inbox").get_data(as_text=True)
    assert iid in page and "recording not yet received" in page and "+7******4567" in page
    assert CALLER not in page


def test_stop_deletes_messages_recordings_and_call_back_requests_at_once(phl, tw, fake, r):
    iid = voicemail_item(phl)
    sid, url = fake.add_recording(MP3)
    tw.post(f"/voice/person/recording?i={iid}", {"RecordingSid": sid, "RecordingUrl": url, "RecordingStatus": "completed"})
    other = inbox.create(phl, "callback", CALLER, "ru", "", "CA" + "3" * 32)
    kept = voicemail_item(phl, "+77019998877")
    assert r.exists(keys.recording(iid))
    tw.sms("STOP")
    for key in (keys.item(iid), keys.recording(iid), keys.item(other), keys.person_items(phl.vault.hash(CALLER))):
        assert not r.exists(key), key
    assert [i.id for i in inbox.listing(phl)] == [kept]


# ---- claims: exactly one wins, across two processes ---------------------------------------------------

CLAIMER = r"""
import sys, time, redis
from hotline import create_app
from hotline.people import inbox
sock, content, data, who, iid = sys.argv[1:6]
app = create_app({"REDIS_URL": "unix://" + sock, "HOTLINE_SECRET_KEY": %r, "HOTLINE_CONTENT_DIR": content,
                  "HOTLINE_DATA_DIR": data, "TWILIO_AUTH_TOKEN": "t", "TTS_PRERENDER": False})
hl = app.extensions["hotline"]
r = redis.Redis(unix_socket_path=sock)
r.incr("test:ready")
while not r.exists("test:go"):
    time.sleep(0.001)
print(inbox.claim(hl, iid, who))
""" % SECRET


def test_two_processes_claim_the_same_item_exactly_one_wins(phl, redis_socket, content_root, tmp_path, r):
    wins = []
    for round_ in range(5):
        iid = voicemail_item(phl)
        r.delete("test:go", "test:ready")
        procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, redis_socket, str(content_root), str(tmp_path / "var"),
                                   who, iid], stdout=subprocess.PIPE, text=True) for who in ("aigerim", "bolat")]
        deadline = time.monotonic() + 60
        while int(r.get("test:ready") or 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # both started and waiting
        r.set("test:go", "1")
        results = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
        assert results == ["0", "1"], (round_, results)
        wins.append(inbox.get(phl, iid).claimed_by)
    assert set(wins) <= {"aigerim", "bolat"}


def test_the_dashboard_shows_a_claim_to_everyone_and_refuses_a_second_claim(phl, papp):
    iid = voicemail_item(phl)
    client, csrf = dashboard(papp, "pw-for-the-inbox")
    assert client.post(f"/operator/inbox/{iid}/claim", data={"csrf": csrf}).status_code == 302
    inbox.update(phl, iid, claimed_by="someone else")
    resp = client.post(f"/operator/inbox/{iid}/claim", data={"csrf": csrf})
    assert resp.status_code == 409
    assert "Claimed by <strong>someone else</strong>" in client.get("/operator/inbox").get_data(as_text=True)


# ---- the call-back bridge: the caseworker first, then the caller, hotline number on both ---------------

def test_call_back_rings_the_caseworker_then_the_caller_from_the_hotline_number(phl, papp, tw, fake, r):
    cw = on_shift(phl, "admin", AIGERIM, ["ru"])
    iid = voicemail_item(phl)
    client, csrf = dashboard(papp, "pw-for-the-inbox")
    client.post(f"/operator/inbox/{iid}/claim", data={"csrf": csrf})
    assert client.post(f"/operator/inbox/{iid}/call", data={"csrf": csrf, "caseworker": cw.id}).status_code == 302
    [leg] = fake.calls
    assert (leg["to"], leg["from"]) == (AIGERIM, HOTLINE)
    assert leg["url"] == f"https://hotline.example.org/voice/person/bridge?i={iid}"
    assert fake.requests[-1]["From"] == HOTLINE and CALLER not in json.dumps(fake.requests)
    form = {"CallSid": leg["sid"], "From": HOTLINE, "To": AIGERIM, "Direction": "outbound-api", "CallStatus": "in-progress"}
    whisper = post(tw, f"/voice/person/bridge?i={iid}", form)
    assert texts(whisper.find("Gather")) == ["Обратный звонок горячей линии. Язык: русский. Голосовое сообщение. "
                                             "Чтобы соединить, нажмите 1."]
    joined = post(tw, whisper.find("Gather").get("action"), {**form, "Digits": "1"})
    dial = joined.find("Dial")
    assert dial.get("callerId") == HOTLINE and [n.text for n in dial.iter("Number")] == [CALLER]
    post(tw, dial.get("action"), {**form, "DialCallStatus": "completed", "DialCallDuration": "300"})
    assert client.post(f"/operator/inbox/{iid}/outcome", data={"csrf": csrf, "outcome": "reached"}).status_code == 302
    item = inbox.get(phl, iid)
    assert (item.state, item.outcome, item.outcome_by) == ("closed", "reached", "operator")  # the local account
    ttl = r.ttl(keys.item(iid))
    assert 13 * 86400 < ttl <= 14 * 86400, "closed: deleted keep_days_after_closed later"
    actions = [e[1]["action"] for e in r.xrange("hl:audit")]
    assert actions == ["login", "item.claim", "callback.place", "callback.outcome"]
    assert all(CALLER not in json.dumps(e[1]) and "4567" not in json.dumps(e[1]) for e in r.xrange("hl:audit"))


def test_play_needs_the_claim_and_is_audited(phl, papp, tw, fake, r):
    iid = voicemail_item(phl)
    sid, url = fake.add_recording(MP3)
    tw.post(f"/voice/person/recording?i={iid}", {"RecordingSid": sid, "RecordingUrl": url, "RecordingStatus": "completed"})
    client, csrf = dashboard(papp, "pw-for-the-inbox")
    assert client.get(f"/operator/inbox/{iid}/audio").status_code == 403
    client.post(f"/operator/inbox/{iid}/claim", data={"csrf": csrf})
    resp = client.get(f"/operator/inbox/{iid}/audio")
    assert resp.status_code == 200 and resp.mimetype == "audio/mpeg" and resp.data == MP3
    assert [e[1]["action"] for e in r.xrange("hl:audit")] == ["login", "item.claim", "voicemail.listen"]


def test_local_mode_puts_both_legs_in_the_outbox(r, clock, tmp_path, tts_cache, content_root):
    app = make_app(r, clock, tmp_path, tts_cache, HOTLINE_CONTENT_DIR=str(content_root),
                   OPERATOR_PASSWORD="correct horse battery staple")
    hl = app.extensions["hotline"]
    cw = on_shift(hl, "admin", AIGERIM, ["ru"])
    iid = voicemail_item(hl)
    client, csrf = dashboard(app, "correct horse battery staple")
    client.post(f"/operator/inbox/{iid}/claim", data={"csrf": csrf})
    client.post(f"/operator/inbox/{iid}/call", data={"csrf": csrf, "caseworker": cw.id})
    [entry] = outbox(r)
    assert (entry["kind"], entry["to"], entry["purpose"]) == ("call", "+7******0001", "callback.bridge")
    assert entry["body"].endswith("then on 1, a second leg to the caller +7******4567, also from the hotline's number")


# ---- the free missed-call number --------------------------------------------------------------------------

def missed(tw: Twilio, caller: str = CALLER) -> ET.Element:
    return post(tw, "/voice/missed", {"CallSid": "CA" + "9" * 32, "From": caller, "To": "+77172000001",
                                      "CallStatus": "ringing", "Direction": "inbound"})


def test_missed_call_is_rejected_and_called_back_once_that_day_by_the_worker(phl, tw, fake, clock):
    clock.set("2026-12-05T23:10:00+05:00")    # quiet hours (21:00-09:00)
    root = missed(tw)
    assert [el.tag for el in root] == ["Reject"], "the first and only verb: never answered, free for the caller"
    assert callbacks.run_once(phl).placed == 0 and fake.calls == []
    clock.set("2026-12-06T09:00:00+05:00")
    assert callbacks.run_once(phl).placed == 1
    [leg] = fake.calls_to(CALLER)
    assert leg["from"] == HOTLINE and "/voice?cb=auto" in leg["url"]
    missed(tw)                                  # again the same day: no second call
    clock.set("2026-12-06T12:00:00+05:00")
    assert callbacks.run_once(phl).placed == 0 and len(fake.calls_to(CALLER)) == 1
    clock.set("2026-12-07T10:00:00+05:00")     # the next day: one more
    missed(tw)
    assert callbacks.run_once(phl).placed == 1 and len(fake.calls_to(CALLER)) == 2


def test_a_number_on_stop_is_never_called_back(phl, tw, fake, clock):
    clock.set("2026-12-06T10:00:00+05:00")
    tw.sms("STOP")
    assert [el.tag for el in missed(tw)] == ["Reject"]
    assert callbacks.run_once(phl).placed == 0 and fake.calls == []


def test_stop_after_the_missed_call_cancels_the_call_back(phl, tw, fake, clock):
    clock.set("2026-12-05T23:10:00+05:00")
    missed(tw)
    tw.sms("STOP")
    clock.set("2026-12-06T09:30:00+05:00")
    assert callbacks.run_once(phl).placed == 0 and fake.calls == []


def test_two_workers_place_the_call_back_exactly_once(phl, tw, fake, clock):
    clock.set("2026-12-06T10:00:00+05:00")
    for i in range(20):
        missed(tw, f"+770122200{i:02d}")
    fake.delay = 0.02
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(callbacks.run_once(phl))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(rep.placed for rep in reports) == 20
    assert sorted(c["to"] for c in fake.calls) == sorted(f"+770122200{i:02d}" for i in range(20))


def test_a_worker_killed_while_placing_leaves_the_call_uncertain_not_twice(phl, tw, fake, clock, r):
    clock.set("2026-12-06T10:00:00+05:00")
    missed(tw)
    h = phl.vault.hash(CALLER)
    # what a worker killed -9 during its request leaves behind: the job claimed, marked sending, and
    # its lease run out (0 seconds: leases are on the Redis server's clock, which the test clock does not move)
    lease, ids, _, _ = schedule.claim_from(r, callbacks.QUEUE, clock.now.timestamp(), 10, lease_seconds=0, hold=True)
    assert ids == [h] and schedule.mark_in(r, callbacks.QUEUE, lease, ids) == [schedule.MARKED]
    clock.advance(minutes=5)
    report = callbacks.run_once(phl)
    assert (report.placed, report.uncertain) == (0, 1) and fake.calls == []


def test_the_automatic_call_back_runs_the_menu_for_the_person_called(phl, tw, r, clock):
    clock.set("2026-12-06T10:00:00+05:00")
    r.set(keys.caller(phl.vault.hash(CALLER)), "ru")
    root = post(tw, "/voice?cb=auto&l=ru", {"CallSid": "CA" + "5" * 32, "From": HOTLINE, "To": CALLER,
                                             "Direction": "outbound-api", "CallStatus": "in-progress"})
    said = texts(root)
    assert said[0] == "Здравствуйте. Это бесплатная информационная линия, на которую вы звонили. Мы вам перезваниваем."
    assert said[1].startswith("Главное меню.")


# ---- operator config checked by the loader and `hotline check` -------------------------------------------

def test_handoff_yaml_errors_name_the_line_and_the_fix(content_root, tmp_path):
    path = content_root / "config" / "handoff.yaml"
    text = path.read_text()
    path.write_text(text.replace("  strategy: in_order\n", "  strategy: round_robin\n"))
    with pytest.raises(ContentError) as err:
        load_content(content_root)
    line = next(i for i, l in enumerate(path.read_text().splitlines(), 1) if "round_robin" in l)
    assert f"config/handoff.yaml:{line}: unknown strategy 'round_robin'" in str(err.value)
    assert "How to fix: Use one of: in_order, all_at_once." in str(err.value)
    path.write_text(text.replace('  mon: ["09:00-18:00"]', '  mon: ["09:00-19:00"]'))
    with pytest.raises(ContentError) as err:
        load_content(content_root)
    for lang in ("kk", "ru", "en"):
        assert f"prompts/{lang}.yaml person.hours does not say 19, which config/handoff.yaml sets" in str(err.value)
    path.write_text(text)
    assert load_content(content_root).handoff.strategy == "in_order"
