"""Facts typed into prompts that must agree with the data: a period written as a number against
config/deadlines.yaml, and an office's house number in every language."""
from __future__ import annotations

import re

from hotline.content.model import REFERENCE_LANG, Content, Problem
from hotline.content.prompts_file import prompt_texts
from hotline.content.report import doc_of, problem_at

# Words for "hour" per language: 24 hours is how the irregular-crossing rule is spoken, and no
# prompt carries these words as plural forms. A language missing here skips only this check.
HOUR_WORDS = {"en": ("hour",), "ru": ("час",), "kk": ("сағат",)}


def _unit_words(forms: object) -> set[str]:
    """The unit noun of each plural form: '{n} calendar days' -> 'days'."""
    return {t.split()[-1].lower() for t in prompt_texts(forms) if t.split()}


def _periods_in(text: str, words: tuple[str, ...] | set[str]) -> list[tuple[int, str]]:
    """Numbers written next to a unit word ('5 calendar days', '3 айға'): (number, the words)."""
    if not words:
        return []
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.,])(\d+)\s+(?:[^\W\d]+\s+)?(?:{alternatives})\w*", re.IGNORECASE)
    return [(int(m.group(1)), m.group(0)) for m in pattern.finditer(text)]


def check_periods(content: Content) -> list[Problem]:
    """A period typed into a prompt as a number must match some rule in config/deadlines.yaml."""
    rules = content.policy.rules.values()
    days = {r.days for r in rules if r.days}
    allowed = {"day": days, "month": {r.months for r in rules if r.months}, "hour": {24 * d for d in days}}
    configured = ", ".join(f"{r.id} {r.days} days" if r.days else f"{r.id} {r.months} months" for r in rules)
    problems = []
    for lang, table in content.prompts.items():
        doc = doc_of(content, f"prompts/{lang}.yaml")
        units = {"day": _unit_words(table.get("period.days")), "month": _unit_words(table.get("period.months")),
                 "hour": HOUR_WORDS.get(lang, ())}
        for key, value in table.items():
            for i, text in enumerate(prompt_texts(value)):
                at = (key, i) if isinstance(value, list) else (key,)
                for unit, words in units.items():
                    for n, said in _periods_in(text, words):
                        if n not in allowed[unit]:
                            problems.append(problem_at(
                                content, doc, at,
                                f"prompt '{key}' says \"{said}\", but no rule in config/deadlines.yaml is {n} "
                                f"{unit}s long (the rules are: {configured})",
                                "Write the period as a placeholder such as {filing} or {appeal}, so the text "
                                "always follows config/deadlines.yaml, or correct the number."))
    return problems


def check_house_numbers(content: Content) -> list[Problem]:
    """The house number of the English address must be in the address of every language (and the SMS one)."""
    doc = doc_of(content, "config/offices.yaml")
    problems = []
    for oid, office in content.offices.items():
        wanted = re.findall(r"\d+", office.address[REFERENCE_LANG])
        for lang in content.settings.languages:
            for name in ("address", "short"):
                text = getattr(office, name)[lang]
                missing = [n for n in wanted if n not in re.findall(r"\d+", text)]
                if missing:
                    problems.append(problem_at(
                        content, doc, ("offices", oid, name, lang),
                        f"office '{oid}': the {lang} {name} \"{text}\" does not have the number "
                        f"{' and '.join(missing)} of the English address \"{office.address[REFERENCE_LANG]}\"",
                        f"Use the same house number in every language. Check which one is right with the "
                        f"source ({office.source})."))
    return problems
