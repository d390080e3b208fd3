"""The call script: what each menu node says, and every fixed thing a caller can hear.

It depends only on the content snapshot, so the voice channel, the dashboard's menu tree and
`hotline audio` all read the same words, built once per snapshot and language.
"""
from __future__ import annotations

from hotline.content import render as P
from hotline.content.audio import Utterance
from hotline.content.model import Content, Node

# The dates a caller can give for reminders, in keypad order; the next key means "already filed".
REMINDER_RULES = ("filing", "filing_irregular", "fingerprinting", "appeal")

# SMS texts that only ever answer an incoming message (HELP, REMIND, YES, a city...). In one-way
# SMS mode no SMS reply goes out except to STOP, START, DELETE and FILED (every other message gets
# sms.oneway_reply), so these go out on WhatsApp only and may name reply words.
INBOUND_ONLY = ("sms.help", "sms.addresses", "sms.address_item", "sms.remind_usage", "sms.remind_ask",
                "sms.remind_passed", "sms.remind_none", "sms.nothing_pending", "sms.date_error")


def inbound_only(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in INBOUND_ONLY)


def menu_path(c: Content, node_id: str) -> tuple[str, ...] | None:
    """The fewest keys from the main menu to a node (after the language), or None."""
    paths: dict[str, tuple[str, ...]] = {"main": ()}
    todo = ["main"]
    while todo:
        nid = todo.pop(0)
        for key, target in c.nodes[nid].options.items():
            if target not in paths and target in c.nodes:
                paths[target] = paths[nid] + (key,)
                todo.append(target)
    return paths.get(node_id)


def stop_keys(c: Content) -> str:
    """The keys that stop every message, from the main menu: the reminders menu, then "delete"
    ("7 6"). Said in one-way texts as {stop_keys}: "call {phone} and press {stop_keys}"."""
    reminders = next((n.id for n in c.nodes.values() if n.type == "reminders"), None)
    path = menu_path(c, reminders) if reminders else None
    if path is None:
        return ""
    return " ".join((*path, str(len(REMINDER_RULES) + 2)))


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
