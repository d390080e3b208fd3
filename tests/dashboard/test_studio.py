"""The studio on the server: a recording is converted, stored in Redis with its text hash, played by
every process; refusals change nothing; the script and the archive carry the same names."""
from __future__ import annotations

import csv
import io
import math
import re
import struct
import wave
import zipfile
from pathlib import Path

import pytest

from hotline.checks.checker import run_checks
from hotline.content.audio import text_sha
from hotline.content.script import studio_slots
from hotline.store import keys
from support import TODAY, Call, Twilio, edit, make_app

PASSWORD = "correct horse battery staple"
WELCOME = "Сәлеметсіз бе. Бұл Қазақстанда қорғау сұрау туралы тегін ақпарат."


def token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client):
    page = client.get("/operator/login")
    return client.post("/operator/login", data={"csrf": token(page.get_data(as_text=True)), "name": "operator",
                                                "password": PASSWORD})


def studio_wav(seconds: float = 1.0, rate: int = 44100, channels: int = 2, lead: float = 0.5, amp: int = 6000) -> bytes:
    """What a studio app exports: CD quality, stereo, with silence before and after the words."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        quiet = b"\0\0" * channels * int(rate * lead)
        tone = b"".join(struct.pack("<h", int(amp * math.sin(i * 2 * math.pi * 440 / rate))) * channels
                        for i in range(int(rate * seconds)))
        w.writeframes(quiet + tone + quiet)
    return buf.getvalue()


def info(data: bytes) -> tuple[int, int, int, float]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth() * 8, w.getnframes() / w.getframerate()


@pytest.fixture
def studio(tree: Path, r, clock, tmp_path: Path, tts_cache: Path):
    app = make_app(r, clock, tmp_path, tts_cache, OPERATOR_PASSWORD=PASSWORD, HOTLINE_CONTENT_DIR=str(tree),
                   CONTENT_RELOAD_SECONDS=0)
    client = app.test_client()
    assert login(client).status_code == 302
    return app, client


def upload(client, slot: str, data: bytes, name: str, lang: str = "kk", sha: str | None = None):
    page = client.get(f"/operator/studio?lang={lang}").get_data(as_text=True)
    form = {"file": (io.BytesIO(data), name)}
    if sha:
        form["text_sha"] = sha
    return client.post(f"/operator/studio/{lang}/{slot}", data=form, headers={"X-CSRF-Token": token(page)},
                       content_type="multipart/form-data")


def kazakh_welcome(app, r, n: int = 1) -> list[str]:
    call = Call(Twilio(app), r, caller=f"+7701444{n:04d}", sid=f"CA{n:032d}")
    call.root = call.twilio.twiml("/voice", call.form())
    call.root = call.twilio.twiml(call.gather().get("action"), call.form(Digits="1"))
    return [el.text for el in call.root.iter("Play")]


def test_a_recording_is_converted_stored_and_played_until_its_text_changes(studio, tree: Path, r) -> None:
    app, client = studio
    resp = upload(client, "welcome", studio_wav(), "welcome.wav", sha=text_sha(WELCOME))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "recorded" and body["url"].startswith("/audio/rec/")
    entry = app.extensions["hotline"].holder.recordings.entries()[("kk", "welcome")]
    assert entry.text_sha == text_sha(WELCOME) and entry.text == WELCOME
    served = client.get(body["url"])
    rate, channels, bits, seconds = info(served.data)
    assert (rate, channels, bits) == (8000, 1, 16), "what the phone line carries"
    assert 1.0 <= seconds < 1.4, "half a second of silence cut at each end, a short pad kept"
    assert r.exists(keys.REC_WAV + entry.audio)
    # the next call plays it, in this process and in another one on the same Redis
    assert body["url"] in kazakh_welcome(app, r, 1)
    other = make_app(r, app.extensions["hotline"].clock, Path(app.config["HOTLINE_DATA_DIR"]).parent / "other",
                     app.extensions["hotline"].synth.dir, HOTLINE_CONTENT_DIR=str(tree))
    assert body["url"] in kazakh_welcome(other, r, 2)
    assert Twilio(other).client.get(body["url"]).data == served.data
    page = client.get("/operator/studio?lang=kk").get_data(as_text=True)
    assert 'data-slot="welcome"' in page and 'data-status="recorded"' in page.split('data-slot="welcome"')[1][:400]
    # the text changes: stale in the studio, synthesis for callers
    edit(tree / "prompts" / "kk.yaml", f"welcome: {WELCOME}", "welcome: Қош келдіңіз. Бұл тегін ақпарат желісі.")
    plays = kazakh_welcome(app, r, 3)
    assert body["url"] not in plays and plays[0].startswith("/audio/tts/")
    page = client.get("/operator/studio?lang=kk").get_data(as_text=True)
    assert 'data-status="stale"' in page.split('data-slot="welcome"')[1][:400]


@pytest.mark.parametrize("data,name,status,says", [
    (b"This is a letter, not a recording.\n" * 20, "welcome.wav", 422, "not audio the server can read"),
    (b"", "welcome.wav", 422, "is empty (0 bytes)"),
    (None, "welcome.docx", 422, "is not a sound file the studio takes"),
    ("long", "welcome.wav", 422, "30 minutes long; one prompt is at most 3 minutes"),
    ("huge", "welcome.wav", 413, "a recording may be at most 40 MB"),
])
def test_a_file_that_is_no_prompt_recording_is_refused_and_changes_nothing(studio, r, data, name, status, says) -> None:
    app, client = studio
    if data is None:
        data = studio_wav(0.5)
    elif data == "long":  # 30 minutes of 8 kHz 8-bit audio: 14 MB, under the size limit, refused for its length
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(1)
            w.setframerate(8000)
            w.writeframes(b"\x80" * 8000 * 1800)
        data = buf.getvalue()
    elif data == "huge":
        data = b"RIFF" + b"\0" * (41 * 1024 * 1024)
    before = dict(r.hgetall(keys.REC_INDEX)), r.get(keys.REC_VERSION)
    resp = upload(client, "welcome", data, name)
    assert resp.status_code == status
    assert says in resp.get_json()["error"]
    assert (dict(r.hgetall(keys.REC_INDEX)), r.get(keys.REC_VERSION)) == before, "nothing changed"
    assert not any(u.startswith("/audio/rec/") for u in kazakh_welcome(app, r))


def test_a_recording_of_an_old_text_is_refused(studio, r) -> None:
    _, client = studio
    resp = upload(client, "welcome", studio_wav(), "welcome.wav", sha="0" * 16)
    assert resp.status_code == 409 and "changed since the page was loaded" in resp.get_json()["error"]
    assert not r.hgetall(keys.REC_INDEX)


def test_the_script_lists_every_slot_with_its_file_name_grouped_by_menu(studio, r) -> None:
    app, client = studio
    assert upload(client, "welcome", studio_wav(), "welcome.wav").status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get("/operator/studio/script.csv?lang=kk").get_data(as_text=True)
                                           .lstrip("\ufeff"))))
    content = app.extensions["hotline"].content
    slots = studio_slots(content, "kk")
    assert {row["slot"] for row in rows} == set(slots)
    by_slot = {row["slot"]: row for row in rows}
    assert by_slot["welcome"] == {"group": "First things a caller hears", "file": "kk/welcome.wav", "slot": "welcome",
                                  "status": "recorded", "text": WELCOME}
    assert by_slot["office.almaty"]["status"] == "missing" and by_slot["office.almaty"]["file"] == "kk/office.almaty.wav"
    assert by_slot["value.month.12"]["text"] == "желтоқсан" and by_slot["value.day.8"]["text"] == "сегізінші"
    assert by_slot["value.weekday.2"]["group"] == "Dates: weekdays"
    page = client.get("/operator/studio/script?lang=kk").get_data(as_text=True)
    assert "kk/office.almaty.wav" in page and "@media print" in client.get("/static/operator.css").get_data(as_text=True)


def test_every_recording_goes_out_as_one_archive_and_back_stale_ones_stay_stale(studio, tree: Path, r) -> None:
    app, client = studio
    assert upload(client, "welcome", studio_wav(), "welcome.wav").status_code == 200
    assert upload(client, "value.month.12", studio_wav(0.4), "value.month.12.wav").status_code == 200
    edit(tree / "prompts" / "kk.yaml", f"welcome: {WELCOME}", "welcome: Қош келдіңіз. Бұл тегін ақпарат желісі.")
    archive = client.get("/operator/studio/export")
    assert archive.mimetype == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(archive.data))
    assert sorted(z.namelist()) == ["kk/value.month.12.wav", "kk/welcome.wav", "manifest.yaml"]
    r.delete(keys.REC_INDEX)
    r.incr(keys.REC_VERSION)
    page = client.get("/operator/studio").get_data(as_text=True)
    resp = client.post("/operator/studio/import", data={"archive": (io.BytesIO(archive.data), "rec.zip"), "csrf": token(page)},
                       content_type="multipart/form-data")
    assert resp.status_code == 302 and "Imported 2 recording" in resp.headers["Location"].replace("+", " ").replace("%20", " ")
    entries = app.extensions["hotline"].holder.recordings.entries()
    assert entries[("kk", "welcome")].text_sha == text_sha(WELCOME), "still tied to the text it says"
    page = client.get("/operator/studio?lang=kk").get_data(as_text=True)
    assert 'data-status="stale"' in page.split('data-slot="welcome"')[1][:400]
    assert 'data-status="recorded"' in page.split('data-slot="value.month.12"')[1][:400]


def test_a_kazakh_date_is_read_back_in_recorded_pieces_where_they_exist(studio, r) -> None:
    app, client = studio
    urls = {}
    for slot in ("reminders.readback.filing", "value.day.8", "value.month.12"):
        resp = upload(client, slot, studio_wav(0.6), f"{slot}.wav")
        assert resp.status_code == 200, resp.get_json()
        urls[slot] = resp.get_json()["url"]
    call = Call(Twilio(app), r)
    call.start()
    call.press("1")      # Kazakh
    call.press("7")      # reminders
    call.press("1")      # the filing deadline: arrival on 3 December is read back as Tuesday, 8 December
    call.press("0312")
    plays = [el.text for el in call.root.iter("Play")]
    start = plays.index(urls["reminders.readback.filing"])
    weekday = plays[start + 1]
    assert weekday.startswith("/audio/tts/"), "Tuesday has no recording: only that piece is synthesised"
    assert app.extensions["hotline"].synth.text_of(weekday.rsplit("/", 1)[-1]) == "сейсенбі"
    assert plays[start + 2:start + 4] == [urls["value.day.8"], urls["value.month.12"]]
    report = client.get("/operator/checks").get_data(as_text=True)
    assert "Values in kk: some pieces are synthesised" in report


def kazakh_main_menu(app, r, n: int) -> list[str]:
    """The sounds of the Kazakh main menu (after the welcome), in a new signed call from a new number."""
    call = Call(Twilio(app), r, caller=f"+7701555{n:04d}", sid=f"CA{n:032d}")
    call.start()
    call.press("1")
    return [el.text for el in call.root.iter("Play")][1:]


def said(app, url: str) -> str:
    """What a synthesised sound says (the text the server synthesised for it)."""
    return app.extensions["hotline"].synth.text_of(url.rsplit("/", 1)[-1])


def test_a_kazakh_menu_is_heard_whole_until_its_pieces_are_recorded_then_in_pieces(studio, r) -> None:
    app, client = studio
    before = kazakh_main_menu(app, r, 1)
    assert said(app, before[0]).startswith("Басты мәзір. Өтінішті қайда және қалай беру: 1 басыңыз. Мерзімдер: 2 басыңыз.")
    urls = {}
    for slot in ("value.number.1", "menu.option.after_key", "value.city.almaty"):
        resp = upload(client, slot, studio_wav(0.4), f"{slot}.wav")
        assert resp.status_code == 200, resp.get_json()
        urls[slot] = resp.get_json()["url"]
    menu = kazakh_main_menu(app, r, 2)
    assert [said(app, u) for u in menu[:2]] == ["Басты мәзір.", "Өтінішті қайда және қалай беру"]
    assert menu[2:4] == [urls["value.number.1"], urls["menu.option.after_key"]], "бір, басыңыз. in the human voice"
    assert [said(app, menu[4]), said(app, menu[5])] == ["Мерзімдер", "екі"], "a missing piece alone is synthesised"
    assert menu[6] == urls["menu.option.after_key"]
    assert menu.count(urls["menu.option.after_key"]) == 7, "one recording of 'басыңыз.' after every key"

    call = Call(Twilio(app), r, caller="+77015559999", sid="CA" + "9" * 32)
    call.start()
    call.press("1")
    call.press("7")  # the reminders menu: its own 'басыңыз.' slots play the same recording (same words)
    reminders = [el.text for el in call.root.iter("Play")]
    assert reminders.count(urls["menu.option.after_key"]) == 6 and urls["value.number.1"] in reminders
    call.press("*")
    call.press("1")  # where to apply: the offices' cities
    assert urls["value.city.almaty"] in [el.text for el in call.root.iter("Play")]


def test_a_period_is_its_number_and_its_words_and_a_text_edit_makes_only_that_piece_stale(studio, tree: Path, r) -> None:
    app, client = studio
    for slot in ("value.number.5", "menu.option.after_key", "deadlines.1"):
        assert upload(client, slot, studio_wav(0.4), f"{slot}.wav").status_code == 200
    call = Call(Twilio(app), r)
    call.start()
    call.press("1")
    call.press("2")  # deadlines, part 1: "... беруге {filing} уақытыңыз бар. ..."
    plays = [el.text for el in call.root.iter("Play")]
    entries = app.extensions["hotline"].holder.recordings.entries()
    assert plays[:2] == [f"/audio/rec/{entries[('kk', 'deadlines.1')].audio}.wav",
                         f"/audio/rec/{entries[('kk', 'value.number.5')].audio}.wav"]
    assert said(app, plays[2]) == "күнтізбелік күн"
    assert said(app, plays[3]).startswith("уақытыңыз бар. Егер шекарадан ресми өткізу пунктінен тыс өтсеңіз")

    edit(tree / "prompts" / "kk.yaml", 'menu.option: "{label}: {key} басыңыз."', 'menu.option: "{label}: {key} пернесін басыңыз."')
    page = client.get("/operator/studio?lang=kk").get_data(as_text=True)
    assert 'data-status="stale"' in page.split('data-slot="menu.option.after_key"')[1][:400]
    assert 'data-status="recorded"' in page.split('data-slot="value.number.5"')[1][:400]
    row = page.split('data-slot="reminders.option.filing.after_key"')[1][:600]
    assert 'data-status="recorded"' in row and "same words as <code>menu.option.after_key</code>" in row, \
        "'басыңыз.' after a reminders option did not change: still heard in the recorded voice"
    menu = kazakh_main_menu(app, r, 3)
    assert said(app, menu[3]) == "пернесін басыңыз."


def test_the_script_and_the_check_name_the_pieces_of_every_value(studio, r) -> None:
    app, client = studio
    rows = {row["slot"]: row for row in csv.DictReader(io.StringIO(
        client.get("/operator/studio/script.csv?lang=kk").get_data(as_text=True).lstrip("\ufeff")))}
    assert rows["value.number.5"] == {"group": "Numbers", "file": "kk/value.number.5.wav", "slot": "value.number.5",
                                      "status": "missing", "text": "бес"}
    assert rows["value.number.0"]["text"] == "нөл" and rows["key.star"]["text"] == "жұлдызша"
    assert rows["period.days.other.after_n"]["text"] == "күнтізбелік күн"
    assert rows["period.days.other.after_n"]["group"] == "Periods: the words with the number"
    assert rows["value.city.almaty"] == {"group": "Cities", "file": "kk/value.city.almaty.wav", "slot": "value.city.almaty",
                                         "status": "missing", "text": "Алматы"}
    assert rows["menu.option.after_key"]["group"] == "Menu main: Басты мәзір."
    assert rows["language.choose.after_key"]["status"] == "missing" and rows["language.choose.after_key"]["text"] == "басыңыз."
    assert rows["menu.option.after_key"]["status"] == "same words as language.choose.after_key: recorded with it"

    def filing_row() -> tuple:
        hl = app.extensions["hotline"]
        report = run_checks(hl.holder.root, TODAY, hl.library)
        table = next(t for t in report.tables if t.title.startswith("Values in kk"))
        return next(row for row in table.rows if row[0] == "{filing}")

    assert filing_row() == ("{filing}", "бес күнтізбелік күн", "0/2",
                            "no: synthesised value.number.5, period.days.other.after_n")
    for slot in ("value.number.5", "period.days.other.after_n"):
        assert upload(client, slot, studio_wav(0.4), f"{slot}.wav").status_code == 200
    assert filing_row() == ("{filing}", "бес күнтізбелік күн", "2/2", "yes")
