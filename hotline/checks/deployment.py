"""Checks for where the hotline is deployed (issue 15): one-way SMS, sender ID, regions.

In one-way SMS mode (Kazakhstan: a registered alphanumeric sender ID, and Twilio lists two-way SMS
as not supported there) nobody can answer an SMS. So nothing the hotline says or texts may tell
the person to text something: it must point to the phone line instead. This module finds every
such instruction in what would really be used (each prompt's one-way variant where it has one).
"""
from __future__ import annotations

import re

from hotline.content import render as P
from hotline.content.model import REFERENCE_LANG, Content, Problem
from hotline.content.prompts_file import prompt_texts
from hotline.content.report import Table, doc_of, problem_at
from hotline.content.script import inbound_only

# A word in capitals that the keyword matcher reads as a keyword ("STOP", "СТОП", "ТОҚТАТУ").
_CAPS_WORD = re.compile(r"(?<![\w{])[^\W\d_]{2,}(?![\w}])")
# Reply verbs that need no keyword to ask for a text.
REPLY_WORDS = {
    "en": re.compile(r"\breply\b|(?:^|[.!?:]\s*)(?:text|send)\b|\btext (?:us|back|the word|this number)\b", re.I),
    "ru": re.compile(r"\bответьте\b|\bотправьте (?:слово|sms|смс|на этот номер)", re.I),
    "kk": re.compile(r"жауап беріңіз|деп жіберіңіз|сөзін [^.]*жіберіңіз", re.I),
}


def texting_instruction(content: Content, lang: str, text: str) -> str | None:
    """Why `text` tells the reader to send a text, or None if it does not."""
    for m in _CAPS_WORD.finditer(text):
        word = m.group(0)
        if word.isupper() and content.vocabulary.match(word) is not None:
            return f"it names the keyword {word}"
    pattern = REPLY_WORDS.get(lang)
    found = pattern.search(text) if pattern else None
    return f'it asks for a reply ("{found.group(0).strip(" .!?:")}")' if found else None


def used_in_one_way(key: str) -> bool:
    """Prompts spoken or sent by SMS in one-way mode: all but the replies to incoming messages
    (which then go out on WhatsApp only) and the variants themselves (checked through their base)."""
    return not key.startswith(P.ONE_WAY) and not inbound_only(key)


def check_one_way(content: Content) -> list[Problem]:
    """In one-way mode: every spoken or texted prompt (as really used) points to the phone line."""
    if not content.settings.one_way:
        return []
    problems = []
    for lang, table in content.prompts.items():
        doc = doc_of(content, f"prompts/{lang}.yaml")
        for key in table:
            if not used_in_one_way(key):
                continue
            used = P.variant(content, lang, key)
            for text in prompt_texts(table[used]):
                why = texting_instruction(content, lang, str(text))
                if why:
                    problems.append(problem_at(
                        content, doc, (used,),
                        f"sms.mode is one-way, but prompt '{used}' in {lang} tells the reader to send a text: {why}. "
                        "Nobody can reply by SMS in one-way mode",
                        f"Add '{P.ONE_WAY}{key}:' to prompts/{lang}.yaml that points to the phone line instead, e.g. "
                        '"To stop reminders, call {phone} and press {stop_keys}."' if used == key else
                        "Rewrite it to point to the phone line: {phone} and {stop_keys}."))
                    break
    return problems


def reminder_rules(content: Content) -> list[str]:
    """The rules whose reminders can be sent: a deadline rule with reminder times and a text."""
    en = content.prompts[REFERENCE_LANG]
    return [rid for rid, rule in content.policy.rules.items() if rule.reminders and f"sms.reminder.{rid}" in en]


def check_whatsapp(content: Content) -> list[Problem]:
    """WhatsApp on: every reminder rule has an approved template in every language, since a
    reminder usually falls outside the 24-hour window (the person wrote days before)."""
    wa = content.settings.whatsapp
    if not wa.enabled:
        return []
    doc = doc_of(content, "config/hotline.yaml")
    problems = []
    for rule in reminder_rules(content):
        for lang in content.settings.languages:
            if not wa.templates.get(rule, {}).get(lang):
                problems.append(problem_at(
                    content, doc, ("whatsapp", "templates"),
                    f"WhatsApp is on, but reminder rule '{rule}' has no template in {lang}: a reminder outside "
                    "WhatsApp's 24-hour window could not be sent",
                    f"Create a template in Twilio's Content Template Builder with the text of sms.reminder.{rule} "
                    f"in prompts/{lang}.yaml ({{{{1}}}} for the date), get it approved for WhatsApp, and write its "
                    f"ContentSid under whatsapp.templates.{rule}.{lang}."))
    for rule in wa.templates:
        if rule not in content.policy.rules:
            problems.append(problem_at(content, doc, ("whatsapp", "templates", rule),
                                       f"whatsapp.templates names '{rule}', which is not a rule in config/deadlines.yaml",
                                       f"Use one of: {', '.join(reminder_rules(content))}."))
    return problems


def messaging_table(content: Content) -> Table:
    """How texts reach people here: shown by `hotline check` and the dashboard."""
    s = content.settings
    if s.one_way:
        mode = f"one-way: SMS from the sender ID '{s.sender_id}'; nobody can reply by SMS"
    else:
        mode = "two-way: people text keywords to the hotline's number"
    rows = [("SMS", mode), ("SMS to numbers of", ", ".join(s.allowed_regions)),
            ("phone line", s.phone_line or "(not set)")]
    if s.one_way:
        rows.append(("to stop messages", f"call {s.phone_line}, choose a language, press {P.common_values(content, 'en')['stop_keys']}"))
    wa = s.whatsapp
    if wa.enabled:
        regions = "any country" if "*" in wa.allowed_regions else ", ".join(wa.allowed_regions)
        templates = sum(1 for per_lang in wa.templates.values() for sid in per_lang.values() if sid)
        rows.append(("WhatsApp", f"on: {wa.number}, numbers of {regions}; {templates} reminder templates"))
    else:
        rows.append(("WhatsApp", "off"))
    return Table("Messaging (config/hotline.yaml)", ("what", "how"), tuple(rows))
