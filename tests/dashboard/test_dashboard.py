"""The operator dashboard, through Flask's test client: login, lockout, CSRF, expiry, and what pages show."""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

import support
from hotline.content.audio import text_sha
from hotline.content.script import recording_slots
from hotline.dashboard import accounts, auth, phone, views
from hotline.rules.deadlines import ALMATY
from hotline.runtime import stats
from hotline.store import keys as store
from support import CALLER, Call, Twilio, make_app, masked, outbox

PASSWORD = "correct horse battery staple"
ANY_NUMBER = re.compile(r"(?<![\w])\+?\d(?:[\s\-().]?\d){8,14}(?![\w])")  # 9-15 digits, however written
PAGES = ["/operator/", "/operator/menu", "/operator/menu?lang=kk", "/operator/menu?lang=en", "/operator/phone",
         "/operator/checks"]


@pytest.fixture
def dash(r, clock, tmp_path, tts_cache):
    return make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)


def token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, password: str = PASSWORD, name: str = "operator", **environ: str):
    """OPERATOR_PASSWORD gives local mode an admin account called "operator" (no second factor)."""
    page = client.get("/operator/login", environ_base=environ)
    return client.post("/operator/login", data={"csrf": token(page.get_data(as_text=True)), "name": name,
                                                "password": password}, environ_base=environ)


@pytest.fixture
def browser(dash):
    """A logged-in client."""
    client = dash.test_client()
    assert login(client).status_code == 302
    return client


def csrf_of(client) -> str:
    return token(client.get("/operator/phone").get_data(as_text=True))


def step(client, **body: str):
    return client.post("/operator/phone/step", json=body, headers={"X-CSRF-Token": csrf_of(client)})


def logged_in(client) -> bool:
    return client.get("/operator/").status_code == 200


def today_stats(r, clock) -> dict[str, int]:
    return {k: int(v) for k, v in r.hgetall(store.stats(stats.today(clock(), ALMATY))).items()}


def content_copy(tmp_path: Path) -> Path:
    return support.content_copy(tmp_path / "content")


# ---- login ------------------------------------------------------------------------------------

def test_disabled_without_a_password_and_says_how_to_enable(app) -> None:
    client = app.test_client()
    for path in ["/operator/", "/operator/login", "/operator/phone"]:
        resp = client.get(path)
        assert resp.status_code == 503
        assert "hotline operators add" in resp.get_data(as_text=True)
    assert client.post("/operator/login", data={"password": ""}).status_code == 503


def test_every_page_needs_login(dash, r, clock) -> None:
    client = dash.test_client()
    for path in PAGES:
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/operator/login"), path
    resp = client.post("/operator/phone/step", json={"do": "new"}, headers={"X-CSRF-Token": "x"})
    assert resp.status_code == 302
    assert not r.keys("hl:call:*") and "call.started" not in today_stats(r, clock)


def test_plaintext_password_is_hashed_at_startup_and_dropped(dash) -> None:
    hl = dash.extensions["hotline"]
    assert dash.config["OPERATOR_PASSWORD"] == "" and hl.config["OPERATOR_PASSWORD"] == ""
    stored = accounts.get(hl, "operator").pw_hash
    assert PASSWORD not in stored and check_password_hash(stored, PASSWORD)


def test_login_with_a_hash_sets_a_strict_short_cookie_and_logout_ends_it(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD_HASH=generate_password_hash(PASSWORD))
    client = app.test_client()
    assert login(client, "wrong").status_code == 401
    resp = login(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/operator/"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Expires=" in cookie
    assert logged_in(client)
    resp = client.post("/operator/logout", data={"csrf": csrf_of(client)})
    assert resp.status_code == 302 and not logged_in(client)


def test_an_unusable_hash_disables_the_dashboard(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD_HASH="plaintext-by-mistake")
    assert app.test_client().get("/operator/login").status_code == 503


def test_five_wrong_passwords_lock_the_name_for_every_process(dash, r, clock, tmp_path, tts_cache) -> None:
    other = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)  # a second web process
    a, b = dash.test_client(), other.test_client()
    for client in (a, a, b, a):
        assert login(client, "guess").status_code == 401
    resp = login(b, "guess")
    assert resp.status_code == 401 and "refused for 15 minutes" in resp.get_data(as_text=True)
    for client in (a, b):
        resp = login(client)  # the right password, too late
        assert resp.status_code == 429 and not logged_in(client)
    assert login(a, REMOTE_ADDR="10.0.0.7").status_code == 429, "the name is locked, whatever the address"
    keys = r.keys("hl:limit*")
    assert keys and not any("127.0.0.1" in k or "operator" in k for k in keys)
    assert all(0 < r.ttl(k) <= auth.LOCK_SECONDS for k in keys)
    assert today_stats(r, clock)["security.login_failed"] == 5
    accounts.create(dash.extensions["hotline"], "colleague", "viewer", PASSWORD, totp=False)
    assert login(a, name="colleague").status_code == 302, "another operator is not locked"


def test_parallel_guesses_cannot_slip_past_the_limit(dash, r, clock) -> None:
    clients = [dash.test_client() for _ in range(12)]
    forms = [{"csrf": token(c.get("/operator/login").get_data(as_text=True)), "name": "operator", "password": "guess"}
             for c in clients]
    with ThreadPoolExecutor(len(clients)) as pool:
        codes = list(pool.map(lambda cf: cf[0].post("/operator/login", data=cf[1]).status_code, zip(clients, forms)))
    assert sorted(codes) == [401] * auth.LOCK_LIMIT + [429] * (len(clients) - auth.LOCK_LIMIT)
    assert today_stats(r, clock)["security.login_failed"] == auth.LOCK_LIMIT, "only five passwords were tried"


def test_a_good_login_before_the_fifth_failure_clears_the_count(dash, r) -> None:
    client = dash.test_client()
    for _ in range(4):
        assert login(client, "guess").status_code == 401
    assert login(client).status_code == 302
    again = dash.test_client()
    for _ in range(4):
        assert login(again, "guess").status_code == 401, "the count started again"
    assert login(again).status_code == 302


def test_csrf_missing_or_wrong_is_refused_and_changes_nothing(dash, browser, r, clock) -> None:
    fresh = dash.test_client()
    fresh.get("/operator/login")
    assert fresh.post("/operator/login", data={"name": "operator", "password": PASSWORD}).status_code == 400
    assert fresh.post("/operator/login", data={"name": "operator", "password": PASSWORD, "csrf": "forged"}).status_code == 403
    assert not logged_in(fresh)
    assert browser.post("/operator/logout", data={}).status_code == 400
    assert browser.post("/operator/logout", data={"csrf": "forged"}).status_code == 403
    assert logged_in(browser)
    assert browser.post("/operator/phone/step", json={"do": "new"}).status_code == 400
    assert browser.post("/operator/phone/step", json={"do": "new"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert not r.keys("hl:call:*") and "call.started" not in today_stats(r, clock)
    assert "security.login_failed" not in today_stats(r, clock), "a forged form is not a password attempt"


def test_session_ends_after_30_idle_minutes(browser, clock) -> None:
    clock.advance(minutes=29)
    assert logged_in(browser)
    clock.advance(minutes=29)
    assert logged_in(browser), "activity keeps the session alive"
    clock.advance(minutes=31)
    resp = browser.get("/operator/menu")
    assert resp.status_code == 302 and resp.headers["Location"] == "/operator/login?expired=1"
    assert "ended" in browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert not logged_in(browser)


def test_only_dashboard_requests_touch_the_session(browser, r) -> None:
    """A late static or audio response must not put back an older session (a lost call, or a logout);
    the session lives in Redis, where a dashboard page (activity) restarts its idle time."""
    audio = step(browser, do="new").get_json()["said"][0]["audio"]
    (key,) = r.keys("hl:sess:*")
    r.expire(key, 100)
    for path in ["/static/operator.css", "/static/operator-icon.svg", audio, "/healthz"]:
        assert "Set-Cookie" not in browser.get(path).headers, path
    assert r.ttl(key) <= 100, "not activity"
    browser.get("/operator/")
    assert r.ttl(key) > 1700, "activity restarts the idle time"


def test_pages_carry_security_headers_and_no_inline_script(browser) -> None:
    for path in PAGES + ["/operator/login"]:
        resp = browser.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src" not in csp
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Cache-Control"] == "no-store"
        html = resp.get_data(as_text=True)
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), path
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler on {path}"
        urls = re.findall(r'(?:src|href|action)="([^"]*)"', html)
        assert all(u.startswith("/") and not u.startswith("//") for u in urls), "everything is served by the app"
    assert browser.get("/static/operator.js").status_code == 200
    assert browser.get("/static/operator.css").status_code == 200


# ---- overview ---------------------------------------------------------------------------------

@pytest.fixture
def busy_day(dash, r) -> None:
    """Real signed traffic: an English call to the Almaty office, an SMS by key, a hang-up, an inbound SMS."""
    twilio = Twilio(dash)
    call = Call(twilio, r)
    call.start()
    for key in ("3", "1", "2", "8"):
        call.press(key)
    assert len(outbox(r)) == 1
    assert twilio.post("/voice/status", call.form(CallStatus="completed")).status_code == 204
    assert twilio.sms("HELP", sender="+77017654321")
    assert twilio.post("/sms/status", {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}).status_code == 204


def total(html: str, label: str) -> int:
    return int(re.search(rf"<span>(\d+)</span>{label}", html).group(1))


def test_overview_counts_real_calls_and_sms(busy_day, browser, clock) -> None:
    html = browser.get("/operator/").get_data(as_text=True)
    assert total(html, "calls") == 1
    assert total(html, "SMS sent") == 2 and total(html, "SMS failed") == 0
    assert "SMS delivered: local mode has no delivery reports" in html, "no Twilio here: nothing to report"
    assert f"<title>calls, {stats.today(clock(), ALMATY)}: 1</title>" in html
    assert "<title>English: 1</title>" in html and "<title>Русский: 0</title>" in html
    assert "<title>Almaty office: 1</title>" in html.split("Where callers hang up")[1]
    for node in ("Main menu", "Almaty office"):  # words, not node ids
        assert f"<title>{node}: 1</title>" in html.split("Visits per menu node")[1]
    assert "<title>office.almaty: 1</title>" not in html
    bars = re.findall(r'<rect class="bar s0"[^>]*height="([\d.]+)"><title>calls, ', html)
    assert len(bars) == views.DAYS and float(bars[-1]) > 0 and not any(float(h) for h in bars[:-1])


def test_no_phone_number_appears_anywhere(busy_day, browser) -> None:
    seen = [browser.get(p).get_data(as_text=True) for p in PAGES]
    step(browser, do="new")
    seen.append(step(browser, do="press", keys="3").get_data(as_text=True))
    for text in seen:
        text = re.sub(r'(?:content|value)="[^"]*"', "", text)  # CSRF tokens are random, not numbers
        for number in (CALLER, "+77017654321", phone.TEST_CALLER):
            assert number[1:] not in text and number[-7:] not in text
        assert not ANY_NUMBER.search(text), masked(ANY_NUMBER.search(text).group(0))


# ---- menu -------------------------------------------------------------------------------------

def test_menu_tree_per_language_with_the_audio_source_of_each_prompt(browser) -> None:
    ru = browser.get("/operator/menu?lang=ru").get_data(as_text=True)
    assert "проспект Достык, дом 85" in ru and "85 Dostyk Avenue" not in ru
    assert '<kbd>2</kbd> <strong>Almaty office</strong>' in ru
    assert ">twilio</span>" in ru and ">synthesised</span> <q>" not in ru
    kk = browser.get("/operator/menu?lang=kk").get_data(as_text=True)
    assert "Достық даңғылы, 85" in kk and ">synthesised</span> <q>" in kk and ">twilio</span> <q>" not in kk
    assert "<h1>The menu in Русский</h1>" in browser.get("/operator/menu?lang=xx").get_data(as_text=True)


def test_menu_shows_recorded_and_stale_recordings(r, clock, tmp_path, tts_cache) -> None:
    root = content_copy(tmp_path)
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, HOTLINE_CONTENT_DIR=str(root),
                   CONTENT_RELOAD_SECONDS=0)
    texts = recording_slots(app.extensions["hotline"].content, "en")
    for slot in ("office.almaty", "office.astana"):
        (root / "audio" / "en" / f"{slot}.wav").write_bytes(b"RIFF")
    manifest = {"en": {"office.almaty": {"text_sha": text_sha(texts["office.almaty"])},
                       "office.astana": {"text_sha": text_sha("an older text")}}}
    (root / "audio" / "manifest.yaml").write_text(json.dumps(manifest))
    client = app.test_client()
    login(client)
    html = client.get("/operator/menu?lang=en").get_data(as_text=True)
    assert re.search(r'>recorded</span> <q>Almaty\. The address is: 85 Dostyk Avenue', html)
    assert re.search(r'>stale</span> <q>Astana\.', html)


# ---- phone ------------------------------------------------------------------------------------

def said(resp) -> str:
    assert resp.status_code == 200, resp.data
    return " ".join(item["text"] for item in resp.get_json()["said"])


def test_phone_drives_the_voice_steps_to_an_address(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)
    browser = app.test_client()
    login(browser)
    first = step(browser, do="new").get_json()
    assert "For English, press 3." in " ".join(s["text"] for s in first["said"])
    kazakh = next(s for s in first["said"] if s["audio"])
    assert kazakh["audio"].startswith("/audio/tts/") and "басыңыз" in kazakh["text"]
    audio = browser.get(kazakh["audio"])
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert "Main menu." in said(step(browser, do="press", keys="3"))
    step(browser, do="press", keys="1")
    last = step(browser, do="press", keys="2").get_json()
    assert "85 Dostyk Avenue" in " ".join(s["text"] for s in last["said"])
    assert last["gather"].startswith("/voice/key?n=office.almaty") and not last["hung_up"]
    assert today_stats(r, clock).get("security.bad_signature") is None and today_stats(r, clock)["call.lang.en"] == 1


def test_phone_silence_until_hang_up_then_a_new_call_starts_with_the_language_menu(browser, r) -> None:
    step(browser, do="new")
    step(browser, do="press", keys="3")
    assert "I did not hear a key press." in said(step(browser, do="silence"))
    step(browser, do="silence")
    end = step(browser, do="silence").get_json()
    assert end["hung_up"] and "Goodbye." in " ".join(s["text"] for s in end["said"])
    assert "start a new call" in step(browser, do="press", keys="1").get_json()["note"]
    again = said(step(browser, do="new"))
    assert "For English, press 3." in again and "Main menu." not in again, "no caller is remembered (issue 14)"
    assert len(r.keys("hl:call:*")) == 1, "the new call has its own CallSid and has chosen nothing yet"


def test_phone_never_texts_or_subscribes_the_test_number(browser, r, clock) -> None:
    step(browser, do="new")
    for keys in ("3", "1", "2"):
        step(browser, do="press", keys=keys)
    assert "nobody is texted" in step(browser, do="press", keys="8").get_json()["note"]
    for keys in ("0", "7", "1", "0312"):
        step(browser, do="press", keys=keys)
    assert step(browser, do="press", keys="1").get_json()["note"]
    assert not outbox(r) and not r.keys("hl:sub:*") and not r.keys("hl:due:*")
    counters = today_stats(r, clock)
    assert "sms.sent" not in counters and "reminders.optin" not in counters
    assert "Tuesday, 8 December" in said(step(browser, do="press", keys="9")), "the call goes on"


def test_phone_refuses_what_is_not_a_key(browser) -> None:
    step(browser, do="new")
    assert step(browser, do="press", keys="1; DROP").status_code == 400
    assert step(browser, do="dial").status_code == 400
    assert browser.post("/operator/phone/step", json=["new"], headers={"X-CSRF-Token": csrf_of(browser)}).status_code == 400


def test_phone_works_without_public_url(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, PUBLIC_URL="")
    client = app.test_client()
    login(client)
    assert "For English, press 3." in said(step(client, do="new"))


# ---- checks and the content error banner --------------------------------------------------------

def test_checks_show_findings_with_the_fix(r, clock, tmp_path, tts_cache) -> None:
    root = content_copy(tmp_path)
    offices = root / "config" / "offices.yaml"
    offices.write_text(offices.read_text(encoding="utf-8").replace("verified_on: 2026-11-01", "verified_on: 2025-01-01", 1),
                       encoding="utf-8")
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, HOTLINE_CONTENT_DIR=str(root))
    client = app.test_client()
    login(client)
    html = client.get("/operator/checks").get_data(as_text=True)
    assert "office &#39;astana&#39; was last verified on 2025-01-01" in html
    assert "How to fix: Check the address" in html and "config/offices.yaml:" in html


def test_a_refused_edit_is_shown_in_red_on_every_page(r, clock, tmp_path, tts_cache) -> None:
    root = content_copy(tmp_path)
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, HOTLINE_CONTENT_DIR=str(root),
                   CONTENT_RELOAD_SECONDS=0)
    client = app.test_client()
    login(client)
    assert "Your last edit was not loaded" not in client.get("/operator/").get_data(as_text=True)
    menu = root / "config" / "menu.yaml"
    menu.write_text(menu.read_text(encoding="utf-8").replace('"2": office.almaty', '"2": office.almatty'),
                    encoding="utf-8")
    for path in PAGES:
        html = client.get(path).get_data(as_text=True)
        assert "Your last edit was not loaded" in html and "office.almatty" in html, path
        assert "keeps serving the previous version" in html
    assert "ERROR" in client.get("/operator/checks").get_data(as_text=True)
    assert "проспект Достык, дом 85" in client.get("/operator/menu?lang=ru").get_data(as_text=True)


def test_the_banner_shows_an_error_another_process_published(dash, browser, r) -> None:
    r.set(store.CONTENT_ERROR, json.dumps({"error": "ERROR prompts/kk.yaml:3: broken quotes", "at": "now"}))
    html = browser.get("/operator/").get_data(as_text=True)
    assert "Your last edit was not loaded" in html and "prompts/kk.yaml:3: broken quotes" in html
    login_page = dash.test_client().get("/operator/login").get_data(as_text=True)
    assert "broken quotes" not in login_page, "content details only for operators who logged in"


def test_behind_a_proxy_the_lockout_counts_the_real_client(r, clock, tmp_path, tts_cache) -> None:
    """With PROXY_HOPS=1, two operators behind the same proxy do not lock each other out; the name
    that was guessed stays locked from any address (a forged X-Forwarded-For changes nothing)."""
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, PROXY_HOPS=1)
    accounts.create(app.extensions["hotline"], "colleague", "viewer", PASSWORD, totp=False)
    typo = app.test_client()
    for _ in range(6):
        login(typo, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.5")
    colleague = app.test_client()
    login(colleague, name="colleague", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert logged_in(colleague), "a colleague behind the same proxy can still log in"
    again = app.test_client()
    login(again, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert not logged_in(again), "the name that was guessed is locked"
