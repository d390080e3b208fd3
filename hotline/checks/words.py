"""`hotline check`, the caller's side: menus a frightened caller can follow, words that cannot
unsubscribe anyone by accident, and reminders that stay discreet on a shared phone.

- Menus: at most 5 options, keys in order from 1, each announcement at most about 20 s
  (estimated per language by rules/spoken.py), every office at most 3 presses after the language.
- Keyword safety: no menu label, title, topic keyword or SMS text may be read by the SMS matcher
  as a keyword that ends or removes something (STOP, DELETE, FILED): a person who texts a
  topic's own name ("Бас тарту", a refusal) must never be unsubscribed.
- Discretion: a reminder (an SMS nobody asked for just then) contains none of the words listed
  per language in config/hotline.yaml (`discretion.reminders`), and no SMS any of
  `discretion.all_sms`.
- Listening: sentences over about 15 words and topic parts over max_part_seconds are flagged.
"""
from __future__ import annotations

import re
from collections import deque

from hotline.content import render as P
from hotline.content.budget import longest_sms, sms_templates
from hotline.content.model import Content, Problem
from hotline.content.prompts_file import prompt_texts
from hotline.content.report import Table, doc_of, problem_at
from hotline.content.script import has_mine, mine_options, mine_utterances, node_utterances, reminder_options
from hotline.rules.keywords import normalise
from hotline.rules.spoken import seconds

MAX_OPTIONS = 5  # Avaya's guideline, Boren 2005: 4-5 choices; config/hotline.yaml max_menu_options
MAX_OFFICE_PRESSES = 3
DEFAULT_MENU_SECONDS = 20
DEFAULT_SENTENCE_WORDS = 15
# Small words that join two topics in one label: each side is checked on its own, because a
# person may text back either half ("Бас тарту" of "Бас тарту және шағымдану").
_CONJUNCTIONS = frozenset(normalise("and or и или а также және мен бен пен немесе не").split())
_CLAUSES = re.compile(r"[.,:;!?()\[\]«»\"“”/]+|\s[-–—]+\s")
_FIX_WORDS = ("Use other words: texted alone, this would unsubscribe the person or delete their data. "
              "(Or, if the keyword itself is wrong, change config/keywords.yaml.)")


def _settings(content: Content) -> dict:
    data = doc_of(content, "config/hotline.yaml").data
    return data if isinstance(data, dict) else {}


def _int_setting(content: Content, name: str, default: int) -> int:
    value = _settings(content).get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _at(content: Content, relative: str, keys: tuple, message: str, fix: str, severity: str = "error") -> Problem:
    return problem_at(content, doc_of(content, relative), keys, message, fix, severity)


# ---- menus ---------------------------------------------------------------------------------

def presses(content: Content) -> dict[str, int]:
    """The fewest key presses from the main menu to each node (after the language)."""
    depth = {"main": 0}
    todo = deque(["main"])
    while todo:
        nid = todo.popleft()
        for target in content.nodes[nid].options.values():
            if target not in depth and target in content.nodes:
                depth[target] = depth[nid] + 1
                todo.append(target)
    return depth


def option_count(content: Content, node_id: str) -> int:
    node = content.nodes[node_id]
    return len(node.options) if node.type == "menu" else len(reminder_options(content))


def menu_seconds(content: Content, lang: str, node_id: str) -> float:
    """Estimated seconds of a menu's announcement (title, options, footer) in `lang`."""
    return sum(seconds(u.text, lang) for u in node_utterances(content, lang, content.nodes[node_id], 0))


def language_menu_seconds(content: Content) -> float:
    """The first menu: every language offers itself, in its own voice, one after the other."""
    return sum(seconds(P.text(content, code, "language.choose", key=P.key_name(content, code, lang.key)), code)
               for code, lang in content.settings.languages.items())


def check_menus(content: Content) -> tuple[list[Problem], Table]:
    """Options, key order, spoken seconds per menu and language, and presses to every office."""
    limit = _int_setting(content, "max_menu_seconds", DEFAULT_MENU_SECONDS)
    most = _int_setting(content, "max_menu_options", MAX_OPTIONS)
    langs = list(content.settings.languages)
    problems: list[Problem] = []
    first = language_menu_seconds(content)
    rows = [("(language choice)", str(len(langs)), f"{first:.1f} (all)", *[""] * (len(langs) - 1))]
    if first > limit:
        problems.append(_at(content, "prompts/en.yaml", ("language.choose",),
                            f"the language choice takes about {first:.0f} s in all languages together "
                            f"(max_menu_seconds: {limit})", "Shorten language.choose in every language.", "warning"))
    for node in content.nodes.values():
        if node.type not in ("menu", "reminders"):
            continue
        if any(target not in content.nodes for target in node.options.values()):
            continue  # a key to nowhere: the loader said so; its announcement cannot be built
        cells = []
        for lang in langs:
            s = menu_seconds(content, lang, node.id)
            cells.append(f"{s:.1f}" + (" LONG" if s > limit else ""))
            if s > limit:
                problems.append(_at(
                    content, f"prompts/{lang}.yaml", (f"title.{node.id}",),
                    f"menu '{node.id}' takes about {s:.0f} s to announce in {lang} (max_menu_seconds in "
                    f"config/hotline.yaml: {limit}): callers forget the first options before the last",
                    "Shorten its title and the labels of its options, or split it into two menus.", "warning"))
        count = option_count(content, node.id)
        rows.append((node.id, str(count), *cells))
        if node.type == "reminders" and has_mine(content):  # its last option: "your reminders and data"
            mine = [sum(seconds(u.text, lang) for u in mine_utterances(content, lang)) for lang in langs]
            rows.append((f"{node.id} > mine", str(len(mine_options(content))), *(f"{s:.1f}" for s in mine)))
        if count > most:
            problems.append(_at(
                content, "config/menu.yaml", ("nodes", node.id),
                f"menu '{node.id}' has {count} options; a caller can follow at most {most} by ear "
                f"(max_menu_options in config/hotline.yaml)",
                "Group some options into a menu of their own (see the top of config/menu.yaml)."))
        if node.type == "menu":
            keys, wanted = list(node.options), [str(i) for i in range(1, len(node.options) + 1)]
            if keys != wanted:
                problems.append(_at(
                    content, "config/menu.yaml", ("nodes", node.id, "options"),
                    f"menu '{node.id}' uses the keys {' '.join(keys)}; callers expect {' '.join(wanted)}, in order",
                    "Number the options from 1 without gaps, the most asked first."))
    depth = presses(content)
    for node in content.nodes.values():
        if node.type == "office" and depth.get(node.id, 0) > MAX_OFFICE_PRESSES:
            problems.append(_at(
                content, "config/menu.yaml", ("nodes", node.id),
                f"office '{node.office}' takes {depth[node.id]} key presses after the language "
                f"(at most {MAX_OFFICE_PRESSES})", "Put it in a menu nearer the main menu."))
    title = (f"Menus: options and spoken seconds per language (goal: at most {most} options, "
             f"about {limit} s)")
    return problems, Table(title, ("menu", "options", *langs), tuple(rows))


def check_listening(content: Content) -> list[Problem]:
    """Sentences a listener cannot hold, and topic parts longer than max_part_seconds (warnings)."""
    most = _int_setting(content, "max_sentence_words", DEFAULT_SENTENCE_WORDS)
    problems = []
    for lang, table in content.prompts.items():
        for key, value in table.items():
            if key.startswith(("sms.", "date.", "period.", "key.", "language.name")):
                continue
            for i, text in enumerate(prompt_texts(value)):
                at = (key, i) if isinstance(value, list) else (key,)
                for sentence in re.split(r"(?<=[.!?])\s+", text):
                    n = len(re.findall(r"\S+", re.sub(r"\{[^}]*\}", "x", sentence)))
                    if n > most:
                        problems.append(_at(
                            content, f"prompts/{lang}.yaml", at,
                            f"prompt '{key}' in {lang} has a sentence of {n} words: \"{sentence[:50]}...\"",
                            f"Split it: a listener holds about {most} words at a time.", "warning"))
                if isinstance(value, list):
                    s = seconds(P.parts(content, lang, key)[i], lang)
                    if s > content.settings.max_part_seconds:
                        problems.append(_at(
                            content, f"prompts/{lang}.yaml", at,
                            f"part {i + 1} of '{key}' takes about {s:.0f} s in {lang} "
                            f"(max_part_seconds: {content.settings.max_part_seconds})",
                            "Move a sentence to the next part.", "warning"))
    return problems


# ---- keyword safety ------------------------------------------------------------------------

def fragments(text: str, conjunctions: bool = False) -> list[str]:
    """The clauses of a text, split at punctuation (and, for labels, at 'and', 'и', 'және'...)."""
    out = []
    for part in _CLAUSES.split(text):
        if not part.strip():
            continue
        if not conjunctions:
            out.append(part.strip())
            continue
        current: list[str] = []
        for w in part.split():
            if normalise(w) in _CONJUNCTIONS:
                out.extend([" ".join(current)] if current else [])
                current = []
            else:
                current.append(w)
        out.extend([" ".join(current)] if current else [])
    return out


def _names(text: str) -> list[str]:
    """What a person may text back from a label or title: all of it, each half around 'and', and
    the first words of each ("Бас тарту" of "Бас тарту туралы шешім")."""
    out = [text]
    for frag in fragments(text, conjunctions=True):
        ws = frag.split()
        out += [" ".join(ws[:n]) for n in range(len(ws), 0, -1)]
    return out


def _capitals(fragment: str) -> bool:
    """A keyword the reader is told to send (STOP, ТОҚТАТУ) is written in capitals."""
    letters = [ch for ch in fragment if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def ending_keyword(content: Content, text: str) -> str | None:
    """The keyword that ends or removes something `text` would be read as, texted alone."""
    m = content.vocabulary.match(text)
    return m.intent if m and m.intent in content.vocabulary.whole_message_intents else None


def check_keyword_safety(content: Content) -> list[Problem]:
    """Refuse names of topics, menus, cities and SMS sentences that would stop or delete if texted."""
    problems = []
    for lang, table in content.prompts.items():
        for key, value in table.items():
            if not key.startswith(("label.", "title.")):
                continue
            for text in prompt_texts(value):
                hit = next(((f, i) for f in _names(text) if (i := ending_keyword(content, f))), None)
                if hit:
                    problems.append(_at(content, f"prompts/{lang}.yaml", (key,),
                                        f"'{key}' in {lang}: \"{hit[0]}\" would be read as the keyword "
                                        f"{hit[1].upper()} if someone texted it", _FIX_WORDS))
    for oid, office in content.offices.items():
        for lang, city in office.city.items():
            if intent := ending_keyword(content, city):
                problems.append(_at(content, "config/offices.yaml", ("offices", oid, "city", lang),
                                    f"the city name \"{city}\" would be read as {intent.upper()}", _FIX_WORDS))
    for word, what in content.vocabulary.topic_words():
        if intent := ending_keyword(content, word):
            problems.append(_at(content, "config/keywords.yaml", (),
                                f"\"{word}\" ({what}) would be read as {intent.upper()}", _FIX_WORDS))
    for key in sms_templates(content):
        for lang in content.settings.languages:
            try:
                text, _ = longest_sms(content, lang, key)
            except (KeyError, ValueError, IndexError):
                continue  # check_sms reports a template that cannot be filled in
            parts = fragments(text)
            # "СТОП - отписаться" explains the keyword it names: that is not an accident.
            told = {i for f in parts if _capitals(f) and (i := ending_keyword(content, f))}
            hit = next(((f, i) for f in [text, *parts]
                        if not _capitals(f) and (i := ending_keyword(content, f)) and i not in told), None)
            if hit:
                problems.append(_at(content, f"prompts/{lang}.yaml", (key,),
                                    f"SMS '{key}' in {lang}: \"{hit[0]}\" would be read as {hit[1].upper()} "
                                    "if the person texted it back", _FIX_WORDS))
    return problems


# ---- discretion ----------------------------------------------------------------------------

def banned_words(text: str, banned: list[str]) -> list[str]:
    """The entries of `banned` that `text` contains (folded as keywords are; word* = a beginning)."""
    tokens = normalise(text).split()
    found = []
    for entry in banned:
        prefix = entry.endswith("*")
        want = normalise(entry.rstrip("*")).split()
        for i in range(len(tokens) - len(want) + 1) if want else ():
            window = tokens[i:i + len(want)]
            last = window[-1].startswith(want[-1]) if prefix else window[-1] == want[-1]
            if window[:-1] == want[:-1] and last:
                found.append(entry)
                break
    return found


def check_discretion(content: Content) -> list[Problem]:
    """Reminders use none of discretion.reminders; no SMS uses discretion.all_sms."""
    cfg = _settings(content).get("discretion")
    if cfg is None:
        return []
    if not isinstance(cfg, dict):
        return [_at(content, "config/hotline.yaml", ("discretion",), "'discretion' must be lists of words",
                    "See the comment above it.")]
    problems, lists = [], {}
    for name in ("reminders", "all_sms"):
        per_lang = cfg.get(name) or {}
        for lang, raw in (per_lang.items() if isinstance(per_lang, dict) else [("?", None)]):
            if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip("* ") for w in raw):
                problems.append(_at(content, "config/hotline.yaml", ("discretion", name),
                                    f"'discretion.{name}' must list words per language",
                                    "Write e.g. en: [asylum*, border*] (word* = every word it begins)."))
                continue
            lists[(name, str(lang))] = raw
    prefix = str(cfg.get("reminder_prefix", "sms.reminder."))
    for key in sms_templates(content):
        for lang, table in content.prompts.items():
            text = " ".join(prompt_texts(table.get(key)))
            rules = [("all_sms", "no SMS may say")]
            if key.removeprefix(P.ONE_WAY).startswith(prefix):  # a one-way text is a reminder too
                rules.append(("reminders", "a reminder arrives unasked, on a phone others may see, and may not say"))
            for name, why in rules:
                if hits := banned_words(text, lists.get((name, lang), [])):
                    problems.append(_at(
                        content, f"prompts/{lang}.yaml", (key,),
                        f"SMS '{key}' in {lang} says {', '.join(repr(h) for h in hits)}: {why} that "
                        f"(discretion.{name} in config/hotline.yaml)",
                        "Say only what is needed to act: the date, and how to stop."))
    return problems
