"""The operator dashboard in a real browser: the pages render under the CSP and the phone drives the hotline."""
from __future__ import annotations

from pathlib import Path

import pytest

from support.browser import ARGS, chromium
from support.server import browser_dashboard, serving

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.browser


@pytest.fixture
def server(r, clock, tmp_path, tts_cache):
    """The dashboard on a real HTTP server, over the test Redis; yields its base URL."""
    with serving(browser_dashboard(r, clock, tmp_path, tts_cache, PASSWORD)) as url:
        yield url


@pytest.fixture
def browser(server):
    """A Chromium page, and the console errors and CSP violations it reports."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        yield page, errors
        browser.close()


def test_login_overview_menu_and_phone(server: str, browser, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page, errors = browser
    page.goto(server + "/operator/")
    expect(page).to_have_url(server + "/operator/login")
    page.fill("#name", "operator")  # local mode: OPERATOR_PASSWORD is the account "operator"
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(server + "/operator/")

    bars = page.locator("svg.chart rect.bar")
    expect(bars.first).to_be_attached()
    heights = bars.evaluate_all("rects => rects.map(r => r.getBBox().height)")
    assert any(h > 0 for h in heights), "the three calls of today are drawn"

    page.click("nav >> text=Menu")
    page.click(".langs >> text=English")
    expect(page.locator("ul.tree")).to_contain_text("85 Dostyk Avenue")
    page.click(".langs >> text=Русский")
    expect(page.locator("ul.tree")).to_contain_text("проспект Достык, дом 85")

    page.click("nav >> text=Phone")
    transcript, status = page.locator("#transcript"), page.locator("#status")
    expect(transcript).to_contain_text("For English, press 3.")
    expect(status).to_have_text("Waiting for a key.")
    kazakh = page.locator("#transcript audio").first.get_attribute("src")
    assert kazakh.startswith("/audio/tts/") and page.request.get(server + kazakh).ok
    for key, heard in (("3", "Main menu."), ("1", "Where and how to apply."), ("2", "85 Dostyk Avenue")):
        page.click(f"button.key[data-key='{key}']")
        expect(transcript).to_contain_text(heard)

    shot = tmp_path / "phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 1000
    assert not errors, errors


def test_silence_and_a_new_call_in_the_browser(server: str, browser) -> None:
    from playwright.sync_api import expect

    page, errors = browser
    page.goto(server + "/operator/login")
    page.fill("#name", "operator")  # local mode: OPERATOR_PASSWORD is the account "operator"
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(server + "/operator/phone")
    transcript = page.locator("#transcript")
    expect(page.locator("#status")).to_have_text("Waiting for a key.")
    page.click("#silence")
    expect(transcript).to_contain_text("(silence)")
    page.click("#new-call")
    expect(page.locator("#status")).to_have_text("Waiting for a key.")
    expect(transcript).to_contain_text("For English, press 3.")
    expect(transcript).not_to_contain_text("(silence)")
    page.keyboard.press("3")
    expect(transcript).to_contain_text("Main menu.")
    assert not errors, errors
