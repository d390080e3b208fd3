"""The dashboard's day counters and a call's stored state: what a webhook writes, and how little."""
from __future__ import annotations

from hotline.runtime import stats
from hotline.store import keys as store
from support import Call, Twilio, make_app

DAY = 86400


def test_a_days_counters_get_their_ttl_without_an_expire_on_every_increment(r, clock, tmp_path, tts_cache) -> None:
    hl = make_app(r, clock, tmp_path / "a", tts_cache, TTS_PRERENDER=False).extensions["hotline"]
    key = store.stats(stats.today(hl.now(), hl.content.policy.tz))
    stats.count("call.started", hl)
    assert 399 * DAY < r.ttl(key) <= 400 * DAY, "the first increment sets the 400 days"
    r.persist(key)  # so any EXPIRE on the key from now on shows
    for _ in range(5):
        stats.count("call.started", hl)
    assert r.hget(key, "call.started") == "6"
    assert r.ttl(key) == -1, "this process sent the TTL a moment ago: not with every increment"
    other = make_app(r, clock, tmp_path / "b", tts_cache, TTS_PRERENDER=False).extensions["hotline"]  # another process
    stats.count("call.started", other)
    assert 399 * DAY < r.ttl(key) <= 400 * DAY, "each process sends it"
    clock.advance(days=1)
    stats.count("call.started", hl)
    tomorrow = store.stats(stats.today(hl.now(), hl.content.policy.tz))
    assert tomorrow != key and 399 * DAY < r.ttl(tomorrow) <= 400 * DAY, "a new day's key gets its own"


def test_the_call_state_is_one_key_with_a_ttl_and_the_hang_up_takes_it(r, clock, tmp_path, tts_cache) -> None:
    twilio = Twilio(make_app(r, clock, tmp_path, tts_cache))
    call = Call(twilio, r, sid="CA" + "c" * 32)
    call.start()
    call.press("2")
    call.press("1")
    key = store.call(call.sid)
    assert r.get(key) == "ru apply"
    assert 7000 < r.ttl(key) <= 120 * 60, "the fixture's call_state_ttl_minutes: 120"
    hl = twilio.client.application.extensions["hotline"]
    day = store.stats(stats.today(hl.now(), hl.content.policy.tz))
    before = int(r.hget(day, "hangup.apply") or 0)
    assert twilio.post("/voice/status", call.form(CallStatus="completed")).status_code == 204
    assert not r.exists(key), "nothing of the call is left"
    assert int(r.hget(day, "hangup.apply")) == before + 1


def test_a_call_state_an_older_release_stored_as_a_hash_ends_the_call_cleanly(r, clock, tmp_path, tts_cache) -> None:
    twilio = Twilio(make_app(r, clock, tmp_path, tts_cache))
    call = Call(twilio, r, sid="CA" + "d" * 32)
    r.hset(store.call(call.sid), mapping={"lang": "en", "node": "main"})
    r.expire(store.call(call.sid), 600)
    assert twilio.post("/voice/status", call.form(CallStatus="completed")).status_code == 204
    call.start()
    call.press("3")
    assert "Main menu." in call.text, "the call goes on: its state is written anew"
    assert r.get(store.call(call.sid)) == "en main"
