"""The caseworker's inbox in a real browser (headless Chromium): claim, play, call back, outcome."""
from __future__ import annotations

from pathlib import Path

import pytest

from hotline.people import caseworkers, inbox
from support import CALLER, rest_app
from support.browser import ARGS, chromium
from support.person import AIGERIM, HOTLINE, MP3, person_content
from support.server import serving

PASSWORD = "inbox password for the browser"
pytestmark = pytest.mark.browser


@pytest.fixture
def served(r, clock, tmp_path, tts_cache, fake):
    app = rest_app(r, clock, tmp_path, tts_cache, fake, HOTLINE_CONTENT_DIR=str(person_content(tmp_path)),
                   OPERATOR_PASSWORD=PASSWORD, PUBLIC_URL="", TWILIO_FROM_NUMBER=HOTLINE, TWILIO_VOICE_NUMBER=HOTLINE)
    with serving(app) as url:
        yield url, app.extensions["hotline"]


def test_claim_play_and_call_back_in_the_browser(served, fake, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, hl = served
    cw = caseworkers.add(hl, "admin", AIGERIM, ["ru"])
    iid = inbox.create(hl, "voicemail", CALLER, "ru", "appeal", "CA" + "1" * 32, recording="pending")
    assert inbox.store_recording(hl, iid, MP3, 7)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(base + "/operator/login")
        page.fill("#name", "operator")  # local mode: OPERATOR_PASSWORD is the account "operator"
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.click("nav >> text=Inbox")
        item = page.locator(f"li#{iid}")
        expect(item).to_contain_text("Voice message")
        expect(item).to_contain_text("+7******4567")
        expect(item).not_to_contain_text(CALLER)
        expect(item.locator("audio")).to_have_count(0)  # not before a claim
        item.locator("button.claim").click()
        expect(item).to_contain_text("Claimed by operator")
        src = item.locator("audio").get_attribute("src")
        audio = page.request.get(base + src)
        assert audio.ok and audio.headers["content-type"] == "audio/mpeg" and audio.body() == MP3
        item.locator("select[name=caseworker]").select_option(cw.id)
        item.locator("button.call-back").click()
        expect(page.locator(f"li#{iid}")).to_contain_text("Claimed by operator")
        assert [(c["to"], c["from"]) for c in fake.calls] == [(AIGERIM, HOTLINE)]
        page.locator(f"li#{iid} button[value=reached]").click()
        expect(page.locator(f"li#{iid}")).to_contain_text("Closed by operator: reached")
        page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)
        browser.close()
    assert not [e for e in errors if "Failed to load resource" not in e], errors
