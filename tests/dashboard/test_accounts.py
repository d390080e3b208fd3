"""Operator accounts (issue 14, O1/O2): per-person logins with a second factor, server-side sessions,
roles, the lockout, the audit log and `hotline operators`."""
from __future__ import annotations

import io
import math
import re
import struct
import wave

import pyotp
import pytest
from click.testing import CliRunner

from hotline.dashboard import accounts
from hotline.runtime import audit
from hotline.store import keys as store
from support import SECRET, make_app

SESSION_KEY = "test-session-key-not-the-vault-key-0123456789"


@pytest.fixture
def dash(r, clock, tmp_path, tts_cache):
    return make_app(r, clock, tmp_path, tts_cache, HOTLINE_SESSION_KEY=SESSION_KEY)


def hl_of(app):
    return app.extensions["hotline"]


def add(app, name: str = "alice", role: str = "admin", totp: bool = True, password: str | None = None):
    return accounts.create(hl_of(app), name, role, password=password, totp=totp)


def csrf(client) -> str:
    page = client.get("/operator/login").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def code_of(created, clock) -> str:
    return pyotp.TOTP(created.totp_secret).at(clock())


def login(client, created, clock, code: str | None = None, password: str | None = None, **environ):
    form = {"csrf": csrf(client), "name": created.name, "password": password or created.password,
            "code": code_of(created, clock) if code is None else code}
    return client.post("/operator/login", data=form, environ_base=environ)


def logged_in(client) -> bool:
    return client.get("/operator/").status_code == 200


def cookie(client) -> str:
    return client.get_cookie("hotline_session").value


# ---- O1: sessions ---------------------------------------------------------------------------------

def test_a_logged_out_session_cookie_no_longer_works(dash, clock) -> None:
    """Before: the session was a signed cookie, so a copy kept from before logout still logged in."""
    alice = add(dash)
    client = dash.test_client()
    assert login(client, alice, clock).status_code == 302
    stolen = cookie(client)
    csrf_token = re.search(r'name="csrf" value="([^"]+)"', client.get("/operator/").get_data(as_text=True)).group(1)
    client.post("/operator/logout", data={"csrf": csrf_token})
    thief = dash.test_client()
    thief.set_cookie("hotline_session", stolen)
    resp = thief.get("/operator/")
    assert resp.status_code == 302 and "/operator/login" in resp.headers["Location"]


def test_a_session_used_every_25_minutes_still_ends_after_12_hours(dash, clock) -> None:
    alice = add(dash)
    client = dash.test_client()
    assert login(client, alice, clock).status_code == 302
    for _ in range(28):  # 28 x 25 min = 11 h 40 min
        clock.advance(minutes=25)
        assert logged_in(client)
    clock.advance(minutes=25)  # 12 h 05 min after login
    assert not logged_in(client)


def test_the_session_ends_after_30_idle_minutes(dash, clock) -> None:
    alice = add(dash)
    client = dash.test_client()
    login(client, alice, clock)
    clock.advance(minutes=29)
    assert logged_in(client)
    clock.advance(minutes=31)
    resp = client.get("/operator/")
    assert resp.status_code == 302 and "expired=1" in resp.headers["Location"]


def test_log_out_everywhere_ends_every_session_of_that_operator_only(dash, clock) -> None:
    alice, bob = add(dash), add(dash, "bob", "viewer")
    phone, laptop, other = dash.test_client(), dash.test_client(), dash.test_client()
    login(phone, alice, clock)
    clock.advance(seconds=31)  # a new TOTP step: each code works once
    login(laptop, alice, clock)
    login(other, bob, clock)
    assert logged_in(phone) and logged_in(laptop) and logged_in(other)
    token = re.search(r'name="csrf" value="([^"]+)"', laptop.get("/operator/").get_data(as_text=True)).group(1)
    assert laptop.post("/operator/logout/everywhere", data={"csrf": token}).status_code == 302
    assert not logged_in(phone) and not logged_in(laptop)
    assert logged_in(other)


def test_sessions_are_signed_with_their_own_key_and_rotating_it_keeps_every_subscription(
        r, clock, tmp_path, tts_cache) -> None:
    """Before: the session key was HOTLINE_SECRET_KEY, so revoking sessions meant losing every number."""
    from datetime import date

    from hotline.reminders.schedule import subscribe
    first = make_app(r, clock, tmp_path, tts_cache, HOTLINE_SESSION_KEY=SESSION_KEY)
    assert first.secret_key == SESSION_KEY != SECRET
    alice = add(first)
    client = first.test_client()
    login(client, alice, clock)
    subscribe(hl_of(first), "+77011234567", "ru", "filing", date(2026, 12, 4), channel="sms")
    rotated = make_app(r, clock, tmp_path, tts_cache, HOTLINE_SESSION_KEY=SESSION_KEY[::-1])
    again = rotated.test_client()
    again.set_cookie("hotline_session", cookie(client))
    assert again.get("/operator/").status_code == 302, "every session ended with the old key"
    h = hl_of(rotated).vault.hash("+77011234567")
    assert hl_of(rotated).vault.decrypt(r.hget(store.subscriber(h), "phone")) == "+77011234567"


def test_redis_never_holds_the_session_id_of_the_cookie(dash, r, clock) -> None:
    alice = add(dash)
    client = dash.test_client()
    login(client, alice, clock)
    sid = cookie(client)
    for key in r.keys("*"):
        assert sid not in key
        if r.type(key) == "hash":
            assert not any(sid in v for v in r.hgetall(key).values())


# ---- O2: passwords, second factor, lockout -----------------------------------------------------

@pytest.mark.parametrize("weak", ["pw", "password", "password1234", "qwertyuiop123", "hotlinehotline1"])
def test_weak_passwords_are_refused(dash, weak: str) -> None:
    with pytest.raises(accounts.AccountError):
        add(dash, password=weak)
    assert accounts.check_password_strength("correct horse battery staple") is None


def test_production_refuses_a_shared_password_and_unsafe_settings(r, clock, tmp_path, tts_cache) -> None:
    """Before: OPERATOR_PASSWORD=pw was accepted in production."""
    safe = {"HOTLINE_ENV": "production", "HOTLINE_SESSION_KEY": SESSION_KEY}
    make_app(r, clock, tmp_path, tts_cache, **safe)  # the test settings with a session key: starts
    for extra, words in [({"OPERATOR_PASSWORD": "pw"}, "OPERATOR_PASSWORD"),
                         ({"PUBLIC_URL": ""}, "PUBLIC_URL"),
                         ({"PUBLIC_URL": "http://hotline.example.org"}, "PUBLIC_URL"),
                         ({"HOTLINE_SESSION_KEY": SECRET}, "HOTLINE_SESSION_KEY"),
                         ({"HOTLINE_SESSION_KEY": ""}, "HOTLINE_SESSION_KEY"),
                         ({"PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}, "PASSWORD_HASH_METHOD")]:
        with pytest.raises(RuntimeError, match=words):
            make_app(r, clock, tmp_path, tts_cache, **{**safe, **extra})


def test_production_accounts_need_a_second_factor(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, HOTLINE_ENV="production", HOTLINE_SESSION_KEY=SESSION_KEY)
    with pytest.raises(accounts.AccountError, match="second factor"):
        add(app, totp=False)
    add(app, "dana", totp=True, password="correct horse battery staple 9")
    stored = r.hget(store.operator("dana"), "pw")
    assert stored.startswith("scrypt:32768:8:1$"), "production hashes with werkzeug's scrypt at N=32768"


def test_tests_hash_cheaply_and_a_login_still_checks_the_hash(dash, r, clock) -> None:
    """The suite's cheaper hash (support.TEST_PASSWORD_HASH) is a real scrypt hash, checked at login."""
    alice = add(dash)
    assert r.hget(store.operator("alice"), "pw").startswith("scrypt:1024:8:1$")
    client = dash.test_client()
    assert login(client, alice, clock, password="wrong " + alice.password).status_code == 401
    assert login(client, alice, clock).status_code == 302


def test_login_needs_the_password_and_a_fresh_totp_code_each_used_once(dash, clock) -> None:
    alice = add(dash)
    client = dash.test_client()
    assert login(client, alice, clock, code="000000" if code_of(alice, clock) != "000000" else "111111").status_code == 401
    assert login(client, alice, clock, password="wrong " + alice.password).status_code == 401
    assert login(client, alice, clock, code="").status_code == 401
    assert login(client, alice, clock).status_code == 302 and logged_in(client)
    replay = dash.test_client()
    assert login(replay, alice, clock).status_code == 401, "the same code a second time is refused"
    clock.advance(seconds=30)
    assert login(replay, alice, clock).status_code == 302


def test_a_recovery_code_works_once(dash, clock) -> None:
    alice = add(dash)
    code = alice.recovery_codes[3]
    assert login(dash.test_client(), alice, clock, code=code).status_code == 302
    assert login(dash.test_client(), alice, clock, code=code).status_code == 401


def test_new_forwarded_for_headers_never_escape_the_lockout(r, clock, tmp_path, tts_cache) -> None:
    """Before: with PROXY_HOPS=1 and the app port reachable, 60 guesses with a new X-Forwarded-For each
    were never locked out. Now the wrong logins of one name lock that name, whatever the address."""
    app = make_app(r, clock, tmp_path, tts_cache, PROXY_HOPS=1)
    alice = add(app)
    codes = []
    for i in range(60):
        client = app.test_client()
        forged = {"HTTP_X_FORWARDED_FOR": f"203.0.113.{i}"}
        page = client.get("/operator/login", environ_base=forged).get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        codes.append(client.post("/operator/login", environ_base=forged, data={
            "csrf": token, "name": "alice", "password": f"guess {i}", "code": "123456"}).status_code)
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert login(app.test_client(), alice, clock, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429, \
        "even the right password waits out the lock"
    actions = [e["action"] for e in audit.recent(hl_of(app), 100)]
    assert actions.count("login.failed") == 5 and actions.count("login.locked") == 56


def test_a_request_that_bypasses_the_proxy_is_warned_about_and_counted(r, clock, tmp_path, tts_cache, caplog) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, PROXY_HOPS=1)
    client = app.test_client()
    client.get("/healthz", environ_base={"HTTP_X_FORWARDED_FOR": "198.51.100.7"})
    assert "reached the app port directly" not in caplog.text
    client.get("/healthz")
    client.get("/healthz")
    assert caplog.text.count("reached the app port directly") == 1
    from hotline.runtime import stats
    hl = hl_of(app)
    assert r.hget(store.stats(stats.today(clock(), hl.content.policy.tz)), "security.direct_request") == "2"


# ---- roles and audit ------------------------------------------------------------------------------

def test_roles_decide_what_each_operator_may_open(dash, clock) -> None:
    admin, viewer = add(dash), add(dash, "vera", "viewer")
    a, v = dash.test_client(), dash.test_client()
    login(a, admin, clock)
    login(v, viewer, clock)
    assert a.get("/operator/audit").status_code == 200
    assert v.get("/operator/audit").status_code == 403
    assert v.get("/operator/").status_code == 200
    entries = audit.recent(hl_of(dash), 20)
    assert [(e["actor"], e["action"]) for e in entries[:3]] == [("vera", "denied"), ("vera", "login"), ("alice", "login")]


def test_only_editors_record_and_every_saved_recording_is_audited(dash, clock) -> None:
    """The studio changes what every caller hears: editors (and admins) only, each save in the audit log."""
    editor, viewer, caseworker = add(dash, "erlan", "editor"), add(dash, "vera", "viewer"), add(dash, "dana", "caseworker")
    clients = {}
    for who in (editor, viewer, caseworker):
        clients[who.name] = dash.test_client()
        login(clients[who.name], who, clock)
    assert clients["vera"].get("/operator/studio").status_code == 403
    assert clients["dana"].get("/operator/studio").status_code == 403
    assert "Studio" not in clients["vera"].get("/operator/").get_data(as_text=True), "no tab it cannot open"
    assert clients["erlan"].get("/operator/studio").status_code == 200
    form = {"csrf": csrf(clients["vera"]), "file": (io.BytesIO(b"RIFF"), "welcome.wav")}
    assert clients["vera"].post("/operator/studio/kk/welcome", data=form).status_code == 403
    form = {"csrf": csrf(clients["erlan"]), "file": (io.BytesIO(tone_wav()), "welcome.wav")}
    assert clients["erlan"].post("/operator/studio/kk/welcome", data=form).status_code == 200
    entries = audit.recent(hl_of(dash), 20)
    assert {k: entries[0][k] for k in ("actor", "action", "lang", "slot")} == {
        "actor": "erlan", "action": "recording.save", "lang": "kk", "slot": "welcome"}
    assert [(e["actor"], e["action"]) for e in entries[1:4]] == [("vera", "denied"), ("dana", "denied"), ("vera", "denied")]


def tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """One second of a 440 Hz tone: a recording the studio takes."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(i * 2 * math.pi * 440 / rate)))
                               for i in range(int(rate * seconds))))
    return buf.getvalue()


def test_requires_refuses_unknown_roles() -> None:
    from hotline.dashboard.auth import requires
    with pytest.raises(ValueError):
        requires("superuser")


# ---- hotline operators --------------------------------------------------------------------------

def test_the_cli_adds_lists_resets_and_removes_operators(dash, r, clock, redis_socket, tmp_path) -> None:
    from hotline.cli.main import main
    env = {"REDIS_URL": f"unix://{redis_socket}", "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_SESSION_KEY": SESSION_KEY,
           "HOTLINE_DATA_DIR": str(tmp_path / "cli")}
    runner = CliRunner()
    added = runner.invoke(main, ["operators", "add", "dana", "--role", "caseworker"], env=env)
    assert added.exit_code == 0, added.output
    password = re.search(r"password:\s+(\S+)", added.output).group(1)
    secret = re.search(r"authenticator secret: (\S+)", added.output).group(1)
    assert len(re.findall(r"^    \w{8}-\w{8}$", added.output, re.M)) == 10
    assert "dana" in runner.invoke(main, ["operators", "list"], env=env).output
    client = dash.test_client()
    form = {"csrf": csrf(client), "name": "dana", "password": password, "code": pyotp.TOTP(secret).at(clock())}
    assert client.post("/operator/login", data=form).status_code == 302 and logged_in(client)
    assert runner.invoke(main, ["operators", "reset", "dana"], env=env).exit_code == 0
    assert not logged_in(client), "a reset ends the operator's sessions at once"
    assert runner.invoke(main, ["operators", "remove", "dana"], env=env).exit_code == 0
    assert accounts.get(hl_of(dash), "dana") is None
    assert runner.invoke(main, ["operators", "add", "weak", "--role", "viewer", "--password"], env=env,
                         input="pw\npw\n").exit_code != 0
