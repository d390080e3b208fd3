"""Trust no caller ID (issue 14): what a forged number can no longer destroy, learn or block.

Each test is one finding of the adversarial run (S1-S3, P1-P2, W0, I2, L1-L2): it failed before the
change and passes after. Calls and SMS are signed webhooks from a real twilio library, TwiML is
parsed as XML, Redis is a real server, Twilio's REST API is replaced only at HTTP (fake_twilio).
"""
from __future__ import annotations

import logging
import re
import shutil
import stat
import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from hotline.content.loader import ContentError, load_content
from hotline.messaging import sender
from hotline.reminders import schedule as reminders
from hotline.reminders import worker
from hotline.rules.phones import MaskingFilter
from hotline.runtime import stats
from hotline.store import keys as store
from hotline.store import optout_filter
from hotline.store.schedule import claim, claim_leased
from support import CALLER, FIXTURE, Call, Twilio, make_app, outbox, rest_app

VICTIM = CALLER
STRANGER = "+77017654321"

# What callers hear, written out here (English): the code under test must produce exactly these.
SENT_CODE = "We have sent a code by SMS to the phone you are calling from. When it arrives, enter its six digits."
WRONG_CODE = "That code is not right. Please enter it again."
REQUESTED = "We are sending this by SMS to the phone you are calling from."
WRONG_KEY = "Sorry, that key is not in this menu."


def day_stats(r, hl) -> dict[str, int]:
    return {k: int(v) for k, v in r.hgetall(store.stats(stats.today(hl.now(), hl.content.policy.tz))).items()}


def due_ids(r, hl, number: str = VICTIM) -> set[str]:
    h = hl.vault.hash(number)
    shard = store.shard_of(h)
    return {rid for rid in r.smembers(store.person_jobs(shard, h)) if r.zscore(store.due(shard), rid) is not None}


def subscribe_victim(hl, number: str = VICTIM) -> set[str]:
    reminders.subscribe(hl, number, "en", "filing", date(2026, 12, 4), channel="sms")
    ids = due_ids(hl.redis, hl, number)
    assert ids, "the victim has reminders ahead"
    return ids


def reminders_menu(call: Call, hl) -> None:
    """Call, choose English, open the reminders menu (its key found in the menu, not assumed)."""
    call.start()
    call.press("3")
    key = next(k for k, target in hl.content.nodes["main"].options.items() if hl.content.nodes[target].type == "reminders")
    call.press(key)


def action_key(hl, action: str) -> str:
    """The reminders-menu key of filed, delete or undo (the fixture has no "your reminders and data" menu)."""
    from hotline.content.paths import reminder_options
    return next(key for key, _, what in reminder_options(hl.content) if what == action)


def last_sms(r, purpose_prefix: str) -> str:
    found = [e["body"] for e in outbox(r) if e["purpose"].startswith(purpose_prefix)]
    assert found, f"no SMS for {purpose_prefix} in the outbox"
    return found[-1]


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


# ---- S1: nothing destructive on caller ID alone ----------------------------------------------------

@pytest.mark.parametrize("action", ["delete", "filed"])
def test_a_forged_call_cannot_delete_or_cancel_without_the_code_sent_to_the_real_phone(
        twilio: Twilio, r, hl, action: str) -> None:
    """Before: keys 7 then 6 (delete) or 7 then 5 (filed) with the victim's number destroyed at once."""
    ids = subscribe_victim(hl)
    forged = Call(twilio, r, caller=VICTIM, sid="CA" + "f" * 32)
    reminders_menu(forged, hl)
    forged.press(action_key(hl, action))
    assert SENT_CODE in forged.text
    assert forged.gather().get("numDigits") == "6"
    code = code_in(last_sms(r, "code."))  # it went to the victim's phone, not to the forger
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(2):
        forged.press(wrong)
        assert WRONG_CODE in forged.text
    forged.press(wrong)  # the third wrong code uses the code up
    assert "That code no longer works." in forged.text
    assert due_ids(r, hl) == ids, "every reminder is still scheduled"
    assert r.hget(store.subscriber(hl.vault.hash(VICTIM)), "rule:filing")


def test_the_code_from_the_sms_deletes_and_one_sms_says_how_to_undo_it_by_voice(twilio: Twilio, r, hl) -> None:
    ids = subscribe_victim(hl)
    call = Call(twilio, r)
    reminders_menu(call, hl)
    call.press(action_key(hl, "delete"))
    call.press(code_in(last_sms(r, "code.")))
    assert "Done. Your reminders are stopped." in call.text
    h = hl.vault.hash(VICTIM)
    assert not due_ids(r, hl) and not r.exists(store.subscriber(h))
    notice = last_sms(r, "notice.delete")
    assert notice.startswith("Reminders stopped. Your data is deleted after 2 calendar days. Not you? Call us, press ")
    assert 0 < r.ttl(store.undo(h)) <= 2 * 86400
    again = Call(twilio, r, sid="CA" + "2" * 32)
    reminders_menu(again, hl)
    again.press(action_key(hl, "undo"))
    again.press(code_in(notice))
    assert "Done. Your reminders are back." in again.text
    assert due_ids(r, hl) == ids and not r.exists(store.undo(h))


def test_a_forged_sms_stop_stops_at_once_but_the_real_phone_can_undo_it_with_start(twilio: Twilio, r, hl) -> None:
    """Before: a forged STOP wiped everything for good."""
    ids = subscribe_victim(hl)
    (reply,) = twilio.sms("STOP")
    assert reply == ("You will get no more messages from us. Your data is deleted after 2 calendar days. "
                     "To undo this before then, text START.")
    assert not due_ids(r, hl), "sending stops at once"
    assert sender.permit(hl, VICTIM, "reminder.filing").reason == "opted_out"
    (back,) = twilio.sms("START")
    assert back == "Messages are on again and your reminders are back. Text HELP for the menu."
    assert due_ids(r, hl) == ids


def test_a_forged_sms_delete_or_filed_tells_the_real_phone_the_undo_code(twilio: Twilio, r, hl) -> None:
    ids = subscribe_victim(hl)
    (reply,) = twilio.sms("FILED")
    assert reply.startswith("Noted: no more reminders to apply. Not you? Within 2 calendar days call us, press ")
    assert not due_ids(r, hl)
    assert twilio.sms("UNDO 000000" if code_in(reply) != "000000" else "UNDO 111111") == [
        "This code does not work. Check the code in our last SMS."]
    assert twilio.sms(f"UNDO {code_in(reply)}") == ["Done: your reminders are back."]
    assert due_ids(r, hl) == ids


def test_undo_with_nothing_to_undo_sounds_like_a_wrong_code(twilio: Twilio, r, hl) -> None:
    """So a forged UNDO cannot learn whether the number cancelled anything."""
    assert twilio.sms("UNDO 123456", sender=STRANGER) == ["This code does not work. Check the code in our last SMS."]


# ---- S2: reminders have their own budget ---------------------------------------------------------

def test_a_full_daily_cap_never_blocks_a_reminder(twilio: Twilio, r, hl, clock) -> None:
    """Before: eight forged "press 8" requests filled the cap and the 10:00 reminder failed (daily_cap)."""
    subscribe_victim(hl)
    clock.set("2026-12-07T08:00:00+05:00")
    for _ in range(12):
        twilio.sms("ADDRESS")  # each reply counts against the general cap
    assert sender.permit(hl, VICTIM, "sms.help").reason == "daily_cap"
    clock.set("2026-12-07T10:00:00+05:00")
    report = worker.run_once(hl)
    assert report.sent == 1 and report.failed == 0
    assert last_sms(r, "reminder.").startswith("Reminder:")


def test_a_reminder_over_its_own_budget_is_deferred_to_the_next_day_never_failed(r, hl, clock) -> None:
    subscribe_victim(hl)
    clock.set("2026-12-07T10:00:00+05:00")
    for _ in range(sender.BUDGETS["reminder."][1]):
        assert sender.send(hl, VICTIM, "earlier", purpose="reminder.filing").ok
    report = worker.run_once(hl)
    assert report.deferred == 1 and report.failed == 0 and report.sent == 0
    h = hl.vault.hash(VICTIM)
    shard = store.shard_of(h)
    (rid,) = [i for i in r.smembers(store.person_jobs(shard, h))
              if r.zscore(store.due(shard), i) and r.zscore(store.due(shard), i) > clock().timestamp()][:1]
    clock.set("2026-12-08T09:30:00+05:00")
    assert worker.run_once(hl).sent >= 1


# ---- S3: the same first answer for every caller -----------------------------------------------------

def test_every_caller_gets_the_same_first_answer(twilio: Twilio, r, hl) -> None:
    """Before: a known number skipped the language menu and spoke in its remembered language."""
    subscribe_victim(hl)
    known = Call(twilio, r, caller=VICTIM, sid="CA" + "3" * 32)
    known.start()
    known.press("2")  # chose Russian once
    first = ET.tostring(twilio.twiml("/voice", Call(twilio, r, caller=VICTIM, sid="CA" + "5" * 32).form()))
    stranger = ET.tostring(twilio.twiml("/voice", Call(twilio, r, caller=STRANGER, sid="CA" + "5" * 32).form()))
    assert first == stranger
    assert not r.keys("hl:caller:*"), "no language is remembered for a number"


def test_key_8_sounds_the_same_for_a_number_that_said_stop(twilio: Twilio, r, hl) -> None:
    """Before: "You asked us not to send SMS" told any caller that this number had opted out."""
    twilio.sms("STOP", sender=VICTIM)
    heard = {}
    for number, sid in ((VICTIM, "6"), (STRANGER, "7")):
        call = Call(twilio, r, caller=number, sid="CA" + sid * 32)
        call.start()
        call.press("3")
        content_key = next(k for k, t in hl.content.nodes["main"].options.items()
                           if hl.content.nodes[t].type == "content")
        call.press(content_key)
        call.press(hl.content.settings.keys.sms)
        heard[number] = call.text
    assert REQUESTED in heard[VICTIM] and heard[VICTIM] == heard[STRANGER]


def test_who_said_stop_cannot_be_listed_from_redis(twilio: Twilio, r, hl) -> None:
    """Before: one hl:optout:{hash} key per number, for ever, even after DELETE."""
    subscribe_victim(hl)
    twilio.sms("STOP", sender=VICTIM)
    twilio.sms("DELETE", sender=VICTIM)
    h = hl.vault.hash(VICTIM)
    assert optout_filter.contains(r, h) and not optout_filter.contains(r, hl.vault.hash(STRANGER))
    assert not r.keys("hl:optout:{*"), "no key per opted-out number"
    for key in r.keys("*"):
        assert h not in key or key == store.undo(h), key  # only the undo record, which expires
    assert 0 < r.ttl(store.undo(h)) <= 2 * 86400


# ---- P1: STOP and DELETE leave nothing that links the person -----------------------------------------

def test_stop_erases_message_records_and_asks_twilio_to_delete_the_numbers_messages(
        r, clock, tmp_path, tts_cache, fake) -> None:
    """Before: hl:msg:{SID} kept the hashed number, topic and status for 30 days; Twilio's log, for ever."""
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000")
    hl = app.extensions["hotline"]
    twilio = Twilio(app, token=fake.token)
    subscribe_victim(hl)
    assert sender.send(hl, VICTIM, "the office address", purpose="voice.office.almaty").ok
    fake.inbound(VICTIM, "ADDRESS")
    sid = fake.messages[0]["sid"]
    assert r.hget(store.message(sid), "person") == hl.vault.hash(VICTIM)
    twilio.sms("STOP")
    assert not r.exists(store.message(sid)) and not r.keys("hl:pmsg:*")
    fake.settle("delivered")
    clock.advance(minutes=11)
    worker.run_once(hl)
    assert sid in fake.deleted
    assert not [m for m in fake.messages if VICTIM in (m["to"], m["from"])], "Twilio keeps nothing of the number"
    assert not r.zcard(store.PURGE) and not r.keys("hl:purgejob:*")


def test_a_late_status_callback_does_not_bring_an_erased_record_back(twilio: Twilio, r, hl) -> None:
    twilio.sms("STOP")
    resp = twilio.post("/sms/status", {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered"})
    assert resp.status_code == 204 and not r.exists(store.message("SM" + "9" * 32))


# ---- P2: reminders whose worker died finish; leases on the server clock --------------------------------

@pytest.fixture
def leased(r, clock, tmp_path, tts_cache, fake):
    app = rest_app(r, clock, tmp_path, tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000", REMINDER_LEASE_SECONDS=1)
    hl = app.extensions["hotline"]
    subscribe_victim(hl)
    clock.set("2026-12-07T10:00:00+05:00")
    return hl


@pytest.mark.parametrize("reached_twilio", [True, False])
def test_a_reminder_whose_worker_died_mid_request_finishes_once_after_asking_twilio(
        leased, r, clock, fake, reached_twilio) -> None:
    """Before: it stayed 'uncertain' for ever, job and state hashes without expiry."""
    hl = leased
    shard = store.shard_of(hl.vault.hash(VICTIM))
    _, (rid,), _ = claim_leased(r, shard, clock().timestamp(), lease_seconds=1)  # the worker that will die
    r.hset(store.state(shard), rid, "sending")  # what process() marks just before the request
    body = "Reminder: the last day for your application is 9 December. Text STOP to end."  # what it sends
    if reached_twilio:
        assert sender.send(hl, VICTIM, body, purpose="reminder.filing", reminder_id=rid).ok
    time.sleep(1.1)  # the dead worker's lease runs out, on the Redis server's clock
    report = worker.run_once(hl)
    assert report.uncertain == 1
    assert len(fake.sent_to(VICTIM)) == 1, "sent exactly once, whether or not the dead worker's request left"
    assert not r.hexists(store.jobs(shard), rid) and not r.hexists(store.state(shard), rid)
    assert not r.zscore(store.inflight(shard), rid) and not r.zscore(store.due(shard), rid)


def test_a_worker_whose_clock_is_minutes_ahead_does_not_take_a_live_lease(leased, r, clock, fake, tmp_path,
                                                                           tts_cache) -> None:
    """Before: with worker clocks 3.5 minutes apart, live reminders were falsely marked uncertain."""
    hl = leased
    shard = store.shard_of(hl.vault.hash(VICTIM))
    app = rest_app(r, clock, tmp_path / "b", tts_cache, fake, TWILIO_FROM_NUMBER="+77000000000")  # 120 s leases
    (rid,), _ = claim(r, shard, clock().timestamp())  # worker A holds it
    clock.advance(seconds=210)  # worker B's clock is 3.5 minutes ahead
    report = worker.run_once(app.extensions["hotline"])
    assert report.uncertain == 0 and report.sent == 0
    assert r.zscore(store.inflight(shard), rid), "still held by worker A"


# ---- W0: a bad reminder never stops the worker ---------------------------------------------------------

def test_a_reminder_without_its_template_goes_to_the_failed_list_and_the_worker_goes_on(twilio, r, hl, clock) -> None:
    """Before: KeyError 'sms.reminder.certificate' in run_once, the reminder stuck in flight, the
    worker dying on it again after every lease."""
    subscribe_victim(hl)
    reminders.subscribe(hl, STRANGER, "en", "certificate", date(2026, 12, 4), channel="sms")
    clock.set("2027-03-03T10:00:00+05:00")
    report = worker.run_once(hl)
    assert report.failed >= 1
    failed = worker.failed_list(hl)
    assert failed and failed[0]["rule"] == "certificate" and "sms.reminder.certificate" in failed[0]["reason"]
    h = hl.vault.hash(STRANGER)
    shard = store.shard_of(h)
    assert not r.zcard(store.inflight(shard)), "nothing left in flight"
    assert worker.run_once(hl).failed == 0, "it does not come back"


def test_keyword_rules_are_checked_against_deadline_rules_and_templates(tmp_path: Path) -> None:
    """Before: `reminder_rules: certificate: [udostoverenie]` passed `hotline check`."""
    root = tmp_path / "content"
    for part in ("config", "prompts", "audio"):
        shutil.copytree(FIXTURE / part, root / part)
    kw = root / "config" / "keywords.yaml"
    text = kw.read_text(encoding="utf-8")
    assert "reminder_rules:" in text
    kw.write_text(text.replace("reminder_rules:", "reminder_rules:\n  certificate: [udostoverenie]", 1), encoding="utf-8")
    with pytest.raises(ContentError, match=r"sms\.reminder\.certificate"):
        load_content(root)
    kw.write_text(text.replace("reminder_rules:", "reminder_rules:\n  visa: [viza]", 1), encoding="utf-8")
    with pytest.raises(ContentError, match="has no rule 'visa'"):
        load_content(root)


# ---- I2, L1, L2 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("digits", ["²", "٣", "５", "۵۵", "1²"])
def test_non_ascii_digits_get_the_wrong_key_answer_on_every_step(twilio: Twilio, r, hl, digits: str, session_log) -> None:
    """Before: Digits=² on the reminders menu raised ValueError (int('²'))."""
    mark = session_log.mark()
    call = Call(twilio, r)
    reminders_menu(call, hl)
    call.press(digits)
    assert WRONG_KEY in call.text
    main = Call(twilio, r, sid="CA" + "8" * 32)
    main.start()
    main.press("3")
    main.press(digits)
    assert WRONG_KEY in main.text
    assert "voice.error" not in day_stats(r, hl)
    assert not [t for level, _, t in session_log.since(mark) if level >= logging.ERROR]


@pytest.mark.parametrize("text", ["call from 8 (701) 123-45-67 failed", "to +7 (701) 123 45 67.",
                                  "POST body From=%2B77011234567&Body=STOP", "8-701-123-45-67", "+77011234567"])
def test_log_masking_covers_kazakh_formats(text: str) -> None:
    record = logging.LogRecord("test", logging.INFO, __file__, 0, text, None, None)
    MaskingFilter().filter(record)
    masked = record.getMessage()
    assert "123" not in masked.replace("4567", "") and "4567" in masked, masked


def test_the_embedded_redis_files_are_owner_only(tmp_path: Path) -> None:
    """Before: the AOF and RDB files were 0644."""
    from hotline.store.connection import connect
    data = tmp_path / "data"
    client = connect(None, data)
    client.set("k", "v")
    client.bgsave()
    time.sleep(0.5)
    files = [p for p in data.rglob("*") if p.is_file() and (p.suffix in (".rdb", ".aof") or "appendonly" in p.name)]
    assert files
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_the_dashboard_shows_failed_reminders_with_what_to_do(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache)
    hl = app.extensions["hotline"]
    reminders.subscribe(hl, STRANGER, "en", "certificate", date(2026, 12, 4), channel="sms")
    clock.set("2027-03-03T10:00:00+05:00")
    worker.run_once(hl)
    import pyotp

    from hotline.dashboard import accounts
    created = accounts.create(hl, "vera", "viewer")
    client = app.test_client()
    page = client.get("/operator/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    client.post("/operator/login", data={"csrf": token, "name": "vera", "password": created.password,
                                         "code": pyotp.TOTP(created.totp_secret).at(clock())})
    html = client.get("/operator/reminders").get_data(as_text=True)
    assert "certificate" in html and "sms.reminder.certificate" in html and "What to do:" in html
    assert "+7" not in html and "4321" not in html
