"""What a newcomer sees on the dashboard: words instead of internal names, an honest local mode,
pages that fit a 390 px phone screen, and a browser phone that says one thing at a time."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.runtime import stats
from support import make_app, rest_app
from support.browser import ARGS as BROWSER_ARGS
from support.browser import chromium as chromium_path
from support.server import browser_dashboard, serving

PASSWORD = "correct horse battery staple"
ARGS = [*BROWSER_ARGS, "--autoplay-policy=no-user-gesture-required"]
NARROW = {"width": 390, "height": 844}
PAGES = ["/operator/", "/operator/menu", "/operator/phone", "/operator/checks", "/operator/reminders", "/operator/audit"]


def logged_in_client(app):
    client = app.test_client()
    page = client.get("/operator/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/operator/login", data={"csrf": csrf, "name": "operator", "password": PASSWORD}).status_code == 302
    return client


def test_the_overview_speaks_in_words_not_internal_names(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)
    hl = app.extensions["hotline"]
    office = next(n for n in hl.content.nodes.values() if n.type == "office")
    city = hl.content.offices[office.office].city["en"]
    for name in (f"node.{office.id}", f"hangup.{office.id}", "sms.refused.opted_out", "sms.refused.daily_cap"):
        stats.count(name, hl)
    html = logged_in_client(app).get("/operator/").get_data(as_text=True)
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", html)
    assert f"{city} office" in labels
    assert "the number had sent STOP" in labels and "over the daily limit for one number" in labels
    assert office.id not in labels and "opted_out" not in labels and "daily_cap" not in labels


def test_local_mode_says_it_has_no_delivery_reports(r, clock, tmp_path, tts_cache, fake) -> None:
    local = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)
    html = logged_in_client(local).get("/operator/").get_data(as_text=True)
    assert "local mode has no delivery reports" in html
    assert "SMS delivered</div>" not in html and "<th>Delivered</th>" not in html
    real = rest_app(r, clock, tmp_path, tts_cache, fake, OPERATOR_PASSWORD=PASSWORD, TWILIO_FROM_NUMBER="+77000000000")
    html = logged_in_client(real).get("/operator/").get_data(as_text=True)
    assert "SMS delivered</div>" in html and "<th>Delivered</th>" in html
    assert "no delivery reports" not in html


def test_the_menu_tree_names_nodes_in_words_with_the_id_beside_them(r, clock, tmp_path, tts_cache) -> None:
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD)
    hl = app.extensions["hotline"]
    office = next(n for n in hl.content.nodes.values() if n.type == "office")
    html = logged_in_client(app).get("/operator/menu?lang=en").get_data(as_text=True)
    assert f"<strong>{hl.content.offices[office.office].city['en']} office</strong>" in html
    assert f"<strong>{office.id}</strong>" not in html
    assert f"<code>{office.id}</code>" in html, "the id is still there for whoever edits config/menu.yaml"


# ---- in Chromium ----------------------------------------------------------------------------------

@pytest.fixture
def server(r, clock, tmp_path, tts_cache):
    """The dashboard on a real HTTP server, over the test Redis; yields its base URL."""
    with serving(browser_dashboard(r, clock, tmp_path, tts_cache, PASSWORD)) as url:
        yield url


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield browser
        browser.close()


def log_in(page, server: str) -> None:
    page.goto(server + "/operator/login")
    page.fill("#name", "operator")  # local mode: OPERATOR_PASSWORD is the account "operator"
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/operator/")


@pytest.mark.browser
def test_every_page_fits_a_390_px_screen(server: str, chromium, tmp_path: Path) -> None:
    page = chromium.new_page(viewport=NARROW)
    page.set_default_timeout(15_000)
    page.goto(server + "/operator/login")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    log_in(page, server)
    for path in PAGES:
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW["width"], f"{path} is {width} px wide"
        for control in (page.locator("nav >> text=Checks"), page.get_by_role("button", name="Log out", exact=True),
                        page.get_by_role("button", name="Log out everywhere")):
            box = control.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], (path, box)
    page.goto(server + "/operator/")
    page.screenshot(path=str(tmp_path / "overview-390.png"), full_page=True)


@pytest.mark.browser
def test_the_phone_says_one_thing_at_a_time(server: str, chromium) -> None:
    from playwright.sync_api import expect

    page = chromium.new_page()
    page.set_default_timeout(15_000)
    log_in(page, server)
    page.goto(server + "/operator/phone")
    expect(page.locator("#status")).to_have_text("Waiting for a key.")
    playing = "[...document.querySelectorAll('#transcript audio')].filter(a => !a.paused && !a.ended).length"
    kazakh = page.locator("button.key[data-key='1']")
    kazakh.click()                      # Kazakh: every prompt is played audio
    expect(page.locator("#transcript audio").nth(2)).to_be_attached()
    for _ in range(100):                # a prompt is playing (so this test can see any overlap)
        if page.evaluate(playing) == 1:
            break
        page.wait_for_timeout(100)
    assert page.evaluate(playing) == 1, "a prompt plays on its own"
    for key in ("9", "9"):              # two quick presses of "repeat"
        page.click(f"button.key[data-key='{key}']")
    counts = []
    for _ in range(15):
        counts.append(page.evaluate(playing))
        page.wait_for_timeout(100)
    assert max(counts) <= 1, counts
    assert page.evaluate("[...document.querySelectorAll('#transcript audio')].length") >= 3
