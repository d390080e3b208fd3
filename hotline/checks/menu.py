"""What the menu looks like to a caller, as tables for the operator to confirm: the key presses to
each office, the universal keys, and how a person is reached."""
from __future__ import annotations

from collections import deque

from hotline.content.model import REFERENCE_LANG, UNIVERSAL, Content
from hotline.content.report import Table

KEY_MEANINGS = {"repeat": "repeat", "back": "back (on the main menu: change language)", "main": "main menu",
                "sms": "send what was just heard by SMS", "more": "next part of a long topic",
                "person": "talk to a person (config/handoff.yaml)"}


def menu_paths(content: Content) -> dict[str, tuple[str, ...]]:
    """The fewest key presses from the main menu to each node (the caller has chosen a language)."""
    paths: dict[str, tuple[str, ...]] = {"main": ()}
    todo = deque(["main"])
    while todo:
        nid = todo.popleft()
        for key, target in content.nodes[nid].options.items():
            if target not in paths and target in content.nodes:
                paths[target] = paths[nid] + (key,)
                todo.append(target)
    return paths


def menu_table(content: Content) -> Table:
    paths = menu_paths(content)
    rows = []
    for node in content.nodes.values():
        if node.type == "office" and node.id in paths:
            keys = paths[node.id]
            rows.append((content.offices[node.office].city[REFERENCE_LANG], str(len(keys)), " then ".join(keys)))
    return Table("Office addresses: key presses after choosing a language", ("office", "presses", "keys"), tuple(rows))


def keys_table(content: Content) -> Table:
    keys = content.settings.keys
    return Table("Universal keys (the same on every menu, in every language)", ("key", "meaning"),
                 tuple((getattr(keys, name), KEY_MEANINGS[name]) for name in UNIVERSAL if getattr(keys, name)))


def handoff_table(content: Content) -> Table | None:
    """When a person answers and how calls ring them (config/handoff.yaml), for the operator to confirm."""
    h = content.handoff
    if h is None:
        return None
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    hours = "; ".join(f"{days[d]} " + ", ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in h.hours.week[d])
                      for d in sorted(h.hours.week))
    auto = (f"once a day per number, {h.auto_when.replace('_', ' ')}" if h.auto_enabled else "off")
    rows = (("office hours", hours), ("holidays", str(len(h.hours.holidays))),
            ("routing", f"{h.strategy.replace('_', ' ')}, {h.ring_seconds} s each, up to {h.max_tries} tries"),
            ("voice message", f"up to {h.max_record_seconds} s, finish with {h.finish_key}, kept {h.keep_days_after_closed} "
                              f"days after closing ({h.keep_days_open} at most)"),
            ("automatic call-back", auto),
            ("no calls to callers", f"{h.quiet_start:%H:%M}-{h.quiet_end:%H:%M}, at most {h.call_daily_cap} a day"),
            ("caseworkers hear", h.whisper_text("call", language=h.language_name("ru"), topic="...")))
    return Table("Reaching a person (config/handoff.yaml; caseworkers: `hotline caseworkers list`)", ("what", "setting"), rows)
