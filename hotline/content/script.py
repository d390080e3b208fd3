"""The call script: what each menu node says, and every fixed thing a caller can hear.

It depends only on the content snapshot, so the voice channel, the dashboard's menu tree and
`hotline audio` all read the same words, built once per snapshot and language.
"""
from __future__ import annotations

from datetime import date

from hotline.content import compose as C
from hotline.content import render as P
from hotline.content import values
from hotline.content.audio import Utterance
from hotline.content.model import Content, Language, Node
from hotline.content.paths import has_mine, menu_path, mine_options, reminder_options, reminder_rules, stop_keys  # noqa: F401 - the call script's public names

# SMS texts that only ever answer an incoming message (HELP, REMIND, YES, a city...). In one-way
# SMS mode no SMS reply goes out except to STOP, START, DELETE and FILED (every other message gets
# sms.oneway_reply), so these go out on WhatsApp only and may name reply words.
INBOUND_ONLY = ("sms.help", "sms.addresses", "sms.address_item", "sms.remind_usage", "sms.remind_ask",
                "sms.remind_passed", "sms.remind_none", "sms.nothing_pending", "sms.date_error",
                # replies to START and UNDO texts (issue 14): sent only when someone could text us
                "sms.start_restored", "sms.undo_done", "sms.undo_wrong")


def inbound_only(key: str) -> bool:
    return any(key == k or key.startswith(k + ".") for k in INBOUND_ONLY)


def node_utterances(c: Content, lang: str, node: Node, part: int) -> list[Utterance]:
    """The words of a node (without notices): menu announcement, a topic part, or an office.

    They depend only on the content snapshot, so each is built once per snapshot and language.
    """
    key = ("node", lang, node.id, part)
    if key not in c.memo:
        said = _node_utterances(c, lang, node)
        if node.type == "content":  # one part, then "more" while there is more, then the footer
            part = min(max(part, 0), len(said) - 1)
            said = [said[part]] + ([fixed(c, lang, "footer.more")] if part + 1 < len(said) else []) + [fixed(c, lang, "footer.content")]
        c.memo[key] = tuple(said)
    return list(c.memo[key])


def played(c: Content, lang: str) -> bool:
    return c.settings.languages[lang].speech == "play"


def utterance(c: Content, lang: str, text: str, key: str | None, pieces: C.Pieces = (), slow: bool = False) -> Utterance:
    """What is said, and for a played language the pieces it is heard as (when it has values)."""
    parts = tuple(Utterance(p.text, p.key, slow=is_slow(p.key)) for p in pieces) if played(c, lang) else ()
    if len(parts) == 1 and parts[0].key == key:
        parts = ()  # a prompt without values is its own one recording
    return Utterance(text, key, slow=slow, parts=parts)


def heard_as(u: Utterance) -> tuple[Utterance, ...]:
    """The recordings an utterance is made of: its pieces, or itself."""
    return u.parts or (u,)


def fixed(c: Content, lang: str, key: str) -> Utterance:
    """A prompt said as it is (its values are the common ones), built once per snapshot."""
    memo = ("fixed", lang, key)
    if memo not in c.memo:
        c.memo[memo] = utterance(c, lang, P.text(c, lang, key), key, C.prompt(c, lang, key) if played(c, lang) else ())
    return c.memo[memo]


def language_choice(c: Content, lang: str) -> Utterance:
    """'Қазақ тілі үшін 1 басыңыз.': each language offered in its own voice."""
    memo = ("choose", lang)
    if memo not in c.memo:
        k = c.settings.languages[lang].key
        text = P.text(c, lang, "language.choose", key=P.key_name(c, lang, k))
        pieces = C.prompt(c, lang, "language.choose", key=C.key(c, lang, k)) if played(c, lang) else ()
        c.memo[memo] = utterance(c, lang, text, "language.choose", pieces)
    return c.memo[memo]


def _node_utterances(c: Content, lang: str, node: Node) -> list[Utterance]:
    def t(key: str, /, **v: object) -> str:
        return P.text(c, lang, key, **v)

    play = played(c, lang)

    def pieces(key: str, /, **v: C.Pieces) -> C.Pieces:
        return C.prompt(c, lang, key, **v) if play else ()

    if node.type == "menu":
        lines, heard = [t(f"title.{node.id}")], list(pieces(f"title.{node.id}"))
        for key, target in node.options.items():
            tnode = c.nodes[target]
            if tnode.type == "office":
                label, said = c.offices[tnode.office].city[lang], (C.city(c, lang, tnode.office) if play else ())
            else:
                label, said = t(f"label.{target}"), pieces(f"label.{target}")
            lines.append(t("menu.option", label=label, key=P.key_name(c, lang, key)))
            heard += pieces("menu.option", label=said, key=C.key(c, lang, key) if play else ())
        footer = "footer.main" if node.id == "main" else "footer.menu"
        return [utterance(c, lang, " ".join(lines), f"menu.{node.id}", tuple(heard)), fixed(c, lang, footer)]
    if node.type == "office":
        values = P.office_values(c, lang, node.office)
        words = [t("office.read", **values), t("office.again", **values)]
        if note := c.offices[node.office].note.get(lang):
            words.append(note)
        # one recording per office: its city, address (twice) and note belong to that office alone
        return [utterance(c, lang, " ".join(words), f"office.{node.office}", slow=True), fixed(c, lang, "footer.content")]
    if node.type == "content":
        out = []
        for i, (text, template) in enumerate(zip(P.parts(c, lang, node.id), c.prompts[lang][node.id]), start=1):
            out.append(utterance(c, lang, text, f"{node.id}.{i}", C.prompt(c, lang, f"{node.id}.{i}", str(template)) if play else ()))
        return out
    # reminders: choose which date the caller has
    return _options_menu(c, lang, "title.reminders", reminder_options(c), "menu.reminders")


def _options_menu(c: Content, lang: str, title: str, options: list[tuple[str, str, str]], key: str) -> list[Utterance]:
    """A menu whose options are prompts with {key} (the reminders menu, "your reminders and data")."""
    play = played(c, lang)
    lines, heard = [P.text(c, lang, title)], list(C.prompt(c, lang, title) if play else ())
    for k, prompt, _ in options:
        lines.append(P.text(c, lang, prompt, key=k))
        heard += C.prompt(c, lang, prompt, key=C.number(c, lang, int(k))) if play else ()
    return [utterance(c, lang, " ".join(lines), key, tuple(heard)), fixed(c, lang, "footer.menu")]


def mine_utterances(c: Content, lang: str) -> list[Utterance]:
    """What the "your reminders and your data" menu says (the reminders menu's last option)."""
    memo = ("mine", lang)
    if memo not in c.memo:
        c.memo[memo] = tuple(_options_menu(c, lang, "title.reminders.mine", mine_options(c), "menu.reminders.mine"))
    return list(c.memo[memo])


def first_words(c: Content, lang: str) -> list[Utterance]:
    """What a caller hears once, after choosing a language: the welcome teaches the universal keys
    (repeat, back) and, when the hotline has people to talk to, the key for a person (issue 12):
    taught once, so the main menu stays short."""
    out = [fixed(c, lang, "welcome")]
    if c.settings.keys.person and c.handoff is not None:
        out.append(fixed(c, lang, "person.offer"))
    return out


# Prompts spoken as they are (no values), besides what nodes say: each is one recording slot.
FIXED_PROMPTS = ("region.sms_only", "region.whatsapp", "reminders.confirm_whatsapp", "welcome", "error.wrong_key", "error.silence", "error.no_more", "error.try_later", "goodbye.silence",
                 "sms.sent", "sms.not_sent", "sms.blocked", "reminders.confirm",
                 "reminders.confirmed", "reminders.nothing_left", "reminders.filed_done",
                 "reminders.deleted", "sms.requested", "verify.sent", "verify.wrong", "verify.gone", "undo.enter",
                 "undo.done",
                 "person.connecting", "person.closed", "person.hours", "person.busy", "person.options", "person.record",
                 "person.recorded", "person.no_message", "person.callback_ask", "person.callback_confirmed",
                 "person.callback_declined", "person.no_number", "person.goodbye", "person.calling_back",
                 "date.error.impossible", "date.error.future", "date.error.unreadable")


def spoken(c: Content, lang: str) -> list[Utterance]:
    """Every fixed thing a caller can hear in `lang`, in the order a caller meets it (built once per snapshot)."""
    memo = ("spoken", lang)
    if memo not in c.memo:
        said = [language_choice(c, lang), *first_words(c, lang)]
        for node in [c.nodes["main"], *(n for n in c.nodes.values() if n.id != "main")]:
            count = len(c.prompts[lang][node.id]) if node.type == "content" else 1
            said += [u for part in range(count) for u in node_utterances(c, lang, node, part)]
            if node.type == "reminders" and has_mine(c):
                said += mine_utterances(c, lang)
        said += [fixed(c, lang, key) for key in FIXED_PROMPTS if key != "welcome"]
        c.memo[memo] = tuple(said)
    return list(c.memo[memo])


def recording_slots(c: Content, lang: str) -> dict[str, str]:
    """Every fixed thing a caller can hear in `lang`: recording key -> the text it must say.

    A played language records sentences with values as their pieces (hotline.content.compose);
    Operators record against these keys; the recording stores the hash of this text.
    """
    return {p.key: p.text for u in spoken(c, lang) for p in heard_as(u) if p.key}


# ---- what the studio records: fixed prompts, their pieces, the words around a read-back date, date pieces ----

# Every call hears these first: what is rendered before a process serves (the rest in the background).
FIRST_HEARD = ("welcome", "error.silence", "error.wrong_key")
# Pieces of values, grouped as the recording script lists them (first match wins).
VALUE_GROUPS = (("value.number.", "Numbers"), ("key.", "Keys said by name"), ("period.", "Periods: the words with the number"),
                ("value.city.", "Cities"), ("value.weekday.", "Dates: weekdays"), ("value.day.", "Dates: days of the month"),
                ("value.month.", "Dates: months"), ("value.year.", "Dates: years"), ("value.", "Other values"))
SLOW = ("office.", "reminders.readback.", "value.weekday.", "value.day.", "value.month.", "value.year.")


def is_slow(key: str | None) -> bool:
    """Addresses and read-back dates are read slowly (for note-taking); so is their synthesis."""
    return bool(key) and key.startswith(SLOW)


def is_value(key: str) -> bool:
    return key.startswith(tuple(prefix for prefix, _ in VALUE_GROUPS))


def first_heard(c: Content, lang: str) -> list[Utterance]:
    """What every call hears in its first seconds: the language menu, the welcome, the main menu."""
    return [language_choice(c, lang), *first_words(c, lang), *node_utterances(c, lang, c.nodes["main"], 0),
            *(fixed(c, lang, k) for k in FIRST_HEARD if k != "welcome")]


def date_pattern(c: Content, lang: str, with_year: bool = False) -> str:
    """The Babel pattern a date is read back with: the prompts date.spoken, or date.spoken_year
    for a date that is not in this year (P.spoken_date says the same)."""
    table = c.prompts[lang]
    if with_year:
        pattern = table.get("date.spoken_year")
        return pattern if isinstance(pattern, str) and pattern.strip() else date_pattern(c, lang) + " y"
    pattern = table.get("date.spoken")
    return pattern if isinstance(pattern, str) and pattern.strip() else values.DEFAULT_PATTERN


# The values that stand for a date said in full (the date the caller gave, the deadline, today),
# and the keys to type a date ({keys}: "0, 1, 1, 2").
DATE_VALUES = ("start", "date", "today")


def dated_prompts(c: Content, lang: str) -> list[str]:
    """The prompts that say dates: how to key one, each rule's read-back and its "that day has passed"."""
    passed = [P.own_key(c, lang, "reminders.passed", rule) for rule in c.policy.rules]
    keys = ["reminders.enter_date", *(f"reminders.readback.{rule}" for rule in c.policy.rules), *passed]
    return [k for k in dict.fromkeys(keys) if isinstance(c.prompts[lang].get(k), str)]


def readback_slots(c: Content, lang: str) -> dict[str, str]:
    """The words around the dates in every prompt that says one (and the pieces of their other values)."""
    if not played(c, lang):
        return {}
    blank = {name: () for name in (*DATE_VALUES, "keys")}
    return {p.key: p.text for key in dated_prompts(c, lang) for p in C.prompt(c, lang, key, **blank) if p.key}


def value_slots(c: Content, lang: str, today: date | None = None) -> dict[str, str]:
    """Every piece a read-back date can need in `lang` (weekdays, days, months, this year and the next)."""
    year = (today or date.today()).year
    return values.value_slots(lang, c.settings.languages[lang].locale, date_pattern(c, lang, with_year=True),
                              (year, year + 1))


def dated(c: Content, lang: str, key: str, today: date, dates: dict[str, date], keys: str = "") -> Utterance:
    """A prompt that says dates in full ("Your date: Saturday, 28 November. The last day to apply:
    Thursday, 3 December."), the year only when it is not this year, and `keys` as keys to press
    ("0, 1, 1, 2"). One utterance; for a played language also its pieces: the recorded words
    between the values, each piece of each date, each key. It has no key of its own (the dates
    vary), so a played language always hears it in pieces."""
    said = {name: P.spoken_date(c, lang, d, today) for name, d in dates.items()}
    text = P.text(c, lang, key, **said, keys=", ".join(keys))
    if not played(c, lang):
        return Utterance(text, slow=True)
    locale = c.settings.languages[lang].locale
    given = {name: tuple(values.date_pieces(lang, locale, date_pattern(c, lang, d.year != today.year), d))
             for name, d in dates.items()}
    given["keys"] = tuple(p for k in keys for p in C.key(c, lang, k))
    pieces = C.prompt(c, lang, key, **given)
    return Utterance(text, None, slow=True, parts=tuple(Utterance(p.text, p.key, slow=is_slow(p.key)) for p in pieces))


def studio_slots(c: Content, lang: str, today: date | None = None) -> dict[str, str]:
    """Everything a person can record in `lang`: slot -> the text it must say."""
    slots = recording_slots(c, lang)
    slots.update(readback_slots(c, lang))
    if played(c, lang):
        slots.update(value_slots(c, lang, today))
    return slots


def script_groups(c: Content, lang: str, today: date | None = None) -> list[tuple[str, list[str]]]:
    """The slots grouped as a voice actor reads them: first words, each menu in call order, the
    sentences any menu can say, the read-back dates, and the pieces of values (numbers, periods,
    cities, dates)."""
    slots = studio_slots(c, lang, today)
    first = [p.key for u in (language_choice(c, lang), fixed(c, lang, "welcome")) for p in heard_as(u)]
    groups: list[tuple[str, list[str]]] = [("First things a caller hears", [k for k in dict.fromkeys(first)
                                                                            if k in slots and not is_value(k)])]
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
        keys = [p.key for part in range(count) for u in node_utterances(c, lang, node, part) for p in heard_as(u)
                if p.key and p.key not in taken and not p.key.startswith("footer.") and not is_value(p.key)]
        keys = list(dict.fromkeys(keys))
        if keys:
            title = P.text(c, lang, f"title.{nid}") if f"title.{nid}" in c.prompts[lang] else nid
            groups.append((f"Menu {nid}: {title}" if node.type in ("menu", "reminders") else f"{node.type.title()} {nid}", keys))
            taken |= set(keys)
    rest = [k for k in slots if k not in taken and not is_value(k) and not k.startswith("reminders.readback.")]
    groups.append(("Said on any menu", rest))
    taken |= set(rest)
    readbacks = [k for k in slots if k.startswith("reminders.readback.") and k not in taken]
    if readbacks:
        groups.append(("Reading back a deadline (the date is said between these words)", readbacks))
    taken |= set(readbacks)
    for prefix, title in VALUE_GROUPS:
        keys = [k for k in slots if k.startswith(prefix) and k not in taken]
        taken |= set(keys)
        if keys:
            groups.append((title, keys))
    return [(t, ks) for t, ks in groups if ks]


def sound_jobs(c: Content, today: date | None = None) -> list[tuple[str, "Language", bool]]:
    """Everything a played language may synthesise, in the order callers hear it: (text, language, slow).

    A sentence with values is synthesised whole (what callers hear while none of its pieces is
    recorded) and piece by piece (what fills in for a missing piece once others are recorded)."""
    memo = ("sound_jobs", today)
    if memo in c.memo:
        return list(c.memo[memo])
    jobs: list[tuple[str, Language, bool]] = []
    for code, language in c.settings.languages.items():
        if language.speech == "play":  # what every caller hears first, in every played language
            jobs.append((language_choice(c, code).text, language, False))
    for code, language in c.settings.languages.items():
        if language.speech != "play":
            continue
        heard = first_heard(c, code)
        jobs += [(u.text, language, u.slow) for u in heard]
        jobs += [(p.text, language, p.slow) for u in heard for p in u.parts]
        jobs += [(u.text, language, u.slow) for u in spoken(c, code) if u.parts and u.key]
        jobs += [(text, language, is_slow(key)) for key, text in studio_slots(c, code, today).items()]
    jobs = list(dict.fromkeys(jobs))
    c.memo[memo] = tuple(jobs)
    return jobs
