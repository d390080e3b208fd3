"""The studio in headless Chromium with a fake microphone: record a slot, listen, save, and a signed
Kazakh call plays it; edit the text and the slot shows stale while callers hear synthesis again."""
from __future__ import annotations

from pathlib import Path

import pytest

from support import Call, Twilio, edit, make_app
from support.browser import ARGS, chromium
from support.server import serving

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"
MIC = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"]
WELCOME = "Сәлеметсіз бе. Бұл Қазақстанда қорғау сұрау туралы тегін ақпарат."


@pytest.fixture
def served(tree: Path, r, clock, tmp_path: Path, tts_cache: Path):
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, PUBLIC_URL="",
                   HOTLINE_CONTENT_DIR=str(tree), CONTENT_RELOAD_SECONDS=0)
    with serving(app) as url:
        yield app, url


def welcome_plays(app, r, n: int) -> list[str]:
    call = Call(Twilio(app, public="http://localhost"), r, caller=f"+7701333{n:04d}", sid=f"CA{n:032d}")
    call.root = call.twilio.twiml("/voice", call.form())
    call.root = call.twilio.twiml(call.gather().get("action"), call.form(Digits="1"))
    return [el.text for el in call.root.iter("Play")]


def test_record_in_the_browser_and_the_next_call_plays_it(served, tree: Path, r) -> None:
    from playwright.sync_api import expect, sync_playwright

    app, base = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=ARGS + MIC)
        page = browser.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/operator/login")
        page.fill("#name", "operator")  # local mode: OPERATOR_PASSWORD is the account "operator"
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.click("nav >> text=Studio")
        row = page.locator('tr[data-slot="welcome"]')
        expect(row.locator(".audio")).to_have_text("synthesised")
        assert row.locator("audio.now").get_attribute("src").startswith("/audio/tts/")
        row.locator("button.record").click()
        expect(page.locator("#rec-text")).to_have_text(WELCOME)
        page.click("#rec-start")
        expect(page.locator("#rec-countdown")).to_have_text("3")
        levels = []
        for _ in range(100):  # the meter moves with the (fake) microphone's sound
            levels.append(page.locator("#rec-level").evaluate("el => el.value"))
            if max(levels) > 0.01:
                break
            page.wait_for_timeout(50)
        assert max(levels) > 0.01, levels
        expect(page.locator("#rec-stop")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(1500)
        page.click("#rec-stop")
        expect(page.locator("#rec-preview")).to_be_visible()
        assert page.locator("#rec-preview").get_attribute("src").startswith("blob:")
        page.click("#rec-retake")  # a second take replaces the first
        expect(page.locator("#rec-stop")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(1500)
        page.click("#rec-stop")
        expect(page.locator("#rec-save")).to_be_visible()
        page.click("#rec-save")
        expect(row.locator(".result")).to_contain_text("Saved")
        expect(row.locator(".audio")).to_have_text("recorded")
        url = row.locator("audio.now").get_attribute("src")
        assert url.startswith("/audio/rec/")
        assert url in welcome_plays(app, r, 1), "a signed Kazakh call plays the recording"
        assert page.request.get(base + url).ok
        # change the text: stale in the studio, synthesis for callers
        edit(tree / "prompts" / "kk.yaml", f"welcome: {WELCOME}", "welcome: Қош келдіңіз. Бұл тегін ақпарат желісі.")
        plays = welcome_plays(app, r, 2)
        assert url not in plays and plays[0].startswith("/audio/tts/")
        page.reload()
        expect(page.locator('tr[data-slot="welcome"] .audio')).to_have_text("stale")
        # a refused upload says why, in the page
        bad = Path(app.config["HOTLINE_DATA_DIR"]) / "notes.txt"
        bad.write_text("not a recording")
        page.locator('tr[data-slot="office.almaty"] input.upload').set_input_files(str(bad))
        expect(page.locator('tr[data-slot="office.almaty"] .result')).to_contain_text("is not a sound file the studio takes")
        assert not [e for e in errors if "422" not in e], errors
        browser.close()
