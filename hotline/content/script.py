"""The call script: what each menu node says, and every fixed thing a caller can hear.

It depends only on the content snapshot, so the voice channel, the dashboard's menu tree and
`hotline audio` all read the same words, built once per snapshot and language.
"""
from __future__ import annotations

import re
from datetime import date

from hotline.content import render as P
from hotline.content import values
from hotline.content.audio import Utterance
from hotline.content.model import Content, Language, Node
from hotline.content.paths import REMINDER_RULES, menu_path, stop_keys  # noqa: F401 - the call script's public names

# SMS texts that only ever answer an incoming message (HELP, REMIND, YES, a city...). In one-way
# SMS mode no SMS reply goes out except to STOP, START, DELETE and FILED (every other message gets
# sms.oneway_reply), so these go out on WhatsApp only and may name reply words.
INBOUND_ONLY = ("sms.help", "sms.addresses", "sms.address_item", "sms.remind_usage", "sms.remind_ask",
                "sms.remind_passed", "sms.remind_none", "sms.nothing_pending", "sms.date_error")


def inbound_only(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in INBOUND_ONLY)


def node_utterances(c: Content, lang: str, node: Node, part: int) -> list[Utterance]:
    """The words of a node (without notices): menu announcement, a topic part, or an office.

    They depend only on the content snapshot, so each is built once per snapshot and language.
    """
    key = ("node", lang, node.id, part)
    if key not in c.memo:
        c.memo[key] = tuple(_node_utterances(c, lang, node, part))
    return list(c.memo[key])


def _node_utterances(c: Content, lang: str, node: Node, part: int) -> list[Utterance]:
    def t(key: str, /, **v: object) -> str:
        return P.text(c, lang, key, **v)

    if node.type == "menu":
        lines = [t(f"title.{node.id}")]
        for key, target in node.options.items():
            tnode = c.nodes[target]
            label = c.offices[tnode.office].city[lang] if tnode.type == "office" else t(f"label.{target}")
            lines.append(t("menu.option", label=label, key=P.key_name(c, lang, key)))
        footer = "footer.main" if node.id == "main" else "footer.menu"
        out = [Utterance(" ".join(lines), f"menu.{node.id}")]
        if node.id == "main" and c.settings.keys.person and c.handoff is not None:
            out.append(Utterance(t("person.offer"), "person.offer"))  # issue 12: the same key everywhere
        return out + [Utterance(t(footer), footer)]
    if node.type == "office":
        values = P.office_values(c, lang, node.office)
        words = [t("office.read", **values), t("office.again", **values)]
        if note := c.offices[node.office].note.get(lang):
            words.append(note)
        return [Utterance(" ".join(words), f"office.{node.office}", slow=True), Utterance(t("footer.content"), "footer.content")]
    if node.type == "content":
        parts = P.parts(c, lang, node.id)
        part = min(max(part, 0), len(parts) - 1)
        out = [Utterance(parts[part], f"{node.id}.{part + 1}")]
        if part + 1 < len(parts):
            out.append(Utterance(t("footer.more"), "footer.more"))
        return out + [Utterance(t("footer.content"), "footer.content")]
    # reminders: choose which date the caller has
    lines = [t("title.reminders")]
    for i, rule in enumerate(REMINDER_RULES, start=1):
        lines.append(t(f"reminders.option.{rule}", key=str(i)))
    lines.append(t("reminders.option.filed", key=str(len(REMINDER_RULES) + 1)))
    lines.append(t("reminders.option.delete", key=str(len(REMINDER_RULES) + 2)))
    return [Utterance(" ".join(lines), "menu.reminders"), Utterance(t("footer.menu"), "footer.menu")]


# Prompts spoken as they are (no values), besides what nodes say: each is one recording slot.
FIXED_PROMPTS = ("region.sms_only", "region.whatsapp", "reminders.confirm_whatsapp", "welcome", "error.wrong_key", "error.silence", "error.no_more", "error.try_later", "goodbye.silence",
                 "sms.sent", "sms.not_sent", "sms.blocked", "reminders.enter_date", "reminders.confirm",
                 "reminders.confirmed", "reminders.passed", "reminders.nothing_left", "reminders.filed_done",
                 "reminders.deleted",
                 "person.connecting", "person.closed", "person.hours", "person.busy", "person.options", "person.record",
                 "person.recorded", "person.no_message", "person.callback_ask", "person.callback_confirmed",
                 "person.callback_declined", "person.no_number", "person.goodbye", "person.calling_back",
                 "date.error.impossible", "date.error.future", "date.error.unreadable")


def recording_slots(c: Content, lang: str) -> dict[str, str]:
    """Every fixed thing a caller can hear in `lang`: recording key -> the text it must say.

    Operators record against these keys; the audio manifest stores the hash of this text.
    """
    code = c.settings.languages[lang]
    slots = {"language.choose": P.text(c, lang, "language.choose", key=P.key_name(c, lang, code.key))}
    slots.update({key: P.text(c, lang, key) for key in FIXED_PROMPTS})
    for node in c.nodes.values():
        count = len(c.prompts[lang][node.id]) if node.type == "content" else 1
        for part in range(count):
            for u in node_utterances(c, lang, node, part):
                if u.key:
                    slots[u.key] = u.text
    return slots


# ---- what the studio records: fixed prompts, the words around a read-back date, date pieces ----

FIRST_HEARD = ("language.choose", "welcome", "menu.main", "footer.main", "error.silence", "error.wrong_key")
VALUE_GROUPS = (("value.weekday.", "Weekdays"), ("value.day.", "Days of the month"), ("value.month.", "Months"),
                ("value.year.", "Years"))


def date_pattern(c: Content, lang: str) -> str:
    """The Babel pattern a date is read back with (prompts may set date.spoken)."""
    pattern = c.prompts[lang].get("date.spoken")
    return pattern if isinstance(pattern, str) and pattern.strip() else values.DEFAULT_PATTERN


def _readback_words(c: Content, lang: str, rule: str) -> list[tuple[str, str]]:
    """The fixed words around {date} in a read-back prompt: [(slot, text)], empty ones left out."""
    key = f"reminders.readback.{rule}"
    template = c.prompts[lang].get(key)
    if not isinstance(template, str):
        return []
    common = P._Values(P.common_values(c, lang))
    before, sep, after = template.partition("{date}")
    out = [(key, before.format_map(common).strip())]
    if sep:
        out.append((f"{key}.after", after.format_map(common).strip()))
    return [(k, t) for k, t in out if re.search(r"\w", t)]


def readback_slots(c: Content, lang: str) -> dict[str, str]:
    return {k: t for rule in REMINDER_RULES for k, t in _readback_words(c, lang, rule)}


def value_slots(c: Content, lang: str, today: date | None = None) -> dict[str, str]:
    """Every piece a read-back date can need in `lang` (weekdays, days, months, this year and the next)."""
    year = (today or date.today()).year
    return values.value_slots(lang, c.settings.languages[lang].locale, date_pattern(c, lang), (year, year + 1))


def readback(c: Content, lang: str, rule: str, d: date) -> Utterance:
    """'The last day to apply is Tuesday, 8 December.' as one utterance; for a played language also
    as parts: the recorded words before the date, each piece of the date, the words after."""
    text = P.text(c, lang, f"reminders.readback.{rule}", date=P.spoken_date(c, lang, d))
    if c.settings.languages[lang].speech != "play":
        return Utterance(text, slow=True)
    words = dict(_readback_words(c, lang, rule))
    key = f"reminders.readback.{rule}"
    parts: list[Utterance] = []
    if key in words:
        parts.append(Utterance(words[key], key, slow=True))
    if "{date}" in str(c.prompts[lang].get(key, "")):
        locale = c.settings.languages[lang].locale
        parts += [Utterance(p.text, p.key, slow=True) for p in values.date_pieces(lang, locale, date_pattern(c, lang), d)]
    if f"{key}.after" in words:
        parts.append(Utterance(words[f"{key}.after"], f"{key}.after", slow=True))
    return Utterance(text, None, slow=True, parts=tuple(parts))


def studio_slots(c: Content, lang: str, today: date | None = None) -> dict[str, str]:
    """Everything a person can record in `lang`: slot -> the text it must say."""
    slots = recording_slots(c, lang)
    slots.update(readback_slots(c, lang))
    if c.settings.languages[lang].speech == "play":
        slots.update(value_slots(c, lang, today))
    return slots


def is_slow(slow: set[str], key: str) -> bool:
    return key in slow or ".".join(key.split(".")[:2]) in slow


def slow_slots(c: Content, lang: str) -> set[str]:
    """Slots a call reads slowly (addresses, read-back dates): their synthesis is slow too."""
    slow = {u.key for node in c.nodes.values() for u in node_utterances(c, lang, node, 0) if u.slow and u.key}
    return slow | set(readback_slots(c, lang)) | {f"value.{k}" for k in ("weekday", "day", "month", "year")}


def script_groups(c: Content, lang: str, today: date | None = None) -> list[tuple[str, list[str]]]:
    """The slots grouped as a voice actor reads them: first words, each menu in call order, the
    sentences any menu can say, the read-back dates and their pieces."""
    slots = studio_slots(c, lang, today)
    groups: list[tuple[str, list[str]]] = [("First things a caller hears", [k for k in ("language.choose", "welcome") if k in slots])]
    taken = set(groups[0][1])
    order, todo = [], ["main"]
    while todo:  # breadth first: the order a caller meets the menus
        nid = todo.pop(0)
        if nid in order or nid not in c.nodes:
            continue
        order.append(nid)
        todo += list(c.nodes[nid].options.values())
    for nid in order:
        node = c.nodes[nid]
        count = len(c.prompts[lang][nid]) if node.type == "content" else 1
        keys = [u.key for part in range(count) for u in node_utterances(c, lang, node, part)
                if u.key and u.key not in taken and not u.key.startswith("footer.")]
        if keys:
            title = P.text(c, lang, f"title.{nid}") if f"title.{nid}" in c.prompts[lang] else nid
            groups.append((f"Menu {nid}: {title}" if node.type in ("menu", "reminders") else f"{node.type.title()} {nid}", keys))
            taken |= set(keys)
    rest = [k for k in slots if k not in taken and not k.startswith(("value.", "reminders.readback."))]
    groups.append(("Said on any menu", rest))
    taken |= set(rest)
    readbacks = [k for k in slots if k.startswith("reminders.readback.")]
    if readbacks:
        groups.append(("Reading back a deadline (the date is said between these words)", readbacks))
    for prefix, title in VALUE_GROUPS:
        keys = [k for k in slots if k.startswith(prefix)]
        if keys:
            groups.append((f"Dates: {title.lower()}", keys))
    return [(t, ks) for t, ks in groups if ks]


def sound_jobs(c: Content, today: date | None = None) -> list[tuple[str, "Language", bool]]:
    """Everything a played language may synthesise, in the order callers hear it: (text, language, slow)."""
    memo = ("sound_jobs", today)
    if memo in c.memo:
        return list(c.memo[memo])
    jobs, choose = [], []
    for code, language in c.settings.languages.items():
        if language.speech != "play":
            continue
        slots, slow = studio_slots(c, code, today), slow_slots(c, code)
        choose.append((slots["language.choose"], language, False))  # what every caller hears first
        first = [k for k in FIRST_HEARD if k in slots and k != "language.choose"]
        for key in first + [k for k in slots if k not in first and k != "language.choose"]:
            jobs.append((slots[key], language, is_slow(slow, key)))
    c.memo[memo] = tuple(choose + jobs)
    return choose + jobs
