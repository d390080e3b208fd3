"""Reaching a person (issue 12): the numbers, content and helpers its tests share."""
from __future__ import annotations

import re
from pathlib import Path

from hotline.people import caseworkers
from support.content import FIXTURE, content_copy

HOTLINE = "+77172000000"       # the hotline's own number (caller ID on every leg)
AIGERIM = "+77011110001"       # caseworkers' own phones: never shown to callers
BOLAT = "+77011110002"
WEEKDAY_11 = "2026-12-07T11:00:00+05:00"   # a Monday
SATURDAY_11 = "2026-12-05T11:00:00+05:00"
MP3 = b"ID3\x03\x00fake-mp3-" + bytes(range(256)) * 8


def person_content(tmp: Path) -> Path:
    """The fixture content with the person key on 0. While its menus still use 0 for the main menu
    and name keys in the nominative (before issue 11), this copy moves the main menu to 7 (dropping
    the two seventh options, reminders and who) and names # in the accusative, as issue 11 does."""
    hotline_yaml = (FIXTURE / "config" / "hotline.yaml").read_text()
    root = content_copy(tmp / "content")
    if re.search(r'\n  person: "0"', hotline_yaml):
        return root
    if '  main: "0"' in hotline_yaml:
        hotline_yaml = hotline_yaml.replace('  main: "0"', '  main: "7"')
        menu = (root / "config" / "menu.yaml").read_text()
        for line in ('      "7": reminders\n', "  reminders: {type: reminders}\n", '      "7": who\n',
                     "  who: {type: content, sms: sms.who}\n"):
            assert line in menu, line
            menu = menu.replace(line, "")
        (root / "config" / "menu.yaml").write_text(menu)
    hotline_yaml = re.sub(r'(\n  main: "7"[^\n]*)', r'\1\n  person: "0"', hotline_yaml)
    (root / "config" / "hotline.yaml").write_text(hotline_yaml)
    ru = (root / "prompts" / "ru.yaml").read_text()
    (root / "prompts" / "ru.yaml").write_text(ru.replace("key.hash: решётка\n", "key.hash: решётку\n"))
    return root


def dashboard(app, password: str = "pw-for-the-inbox", name: str = "operator"):
    """A logged-in dashboard client and its CSRF token (the one login helper of this file)."""
    client = app.test_client()
    page = client.get("/operator/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    # local mode: OPERATOR_PASSWORD is an admin account called "operator"
    client.post("/operator/login", data={"csrf": token, "name": name, "password": password})
    page = client.get("/operator/").get_data(as_text=True)
    return client, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def on_shift(hl, name: str, phone: str, langs: list[str]) -> caseworkers.Caseworker:
    cw = caseworkers.add(hl, name, phone, langs)
    caseworkers.set_shift(hl.redis, cw.id, True)
    return cw


