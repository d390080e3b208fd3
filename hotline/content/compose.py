"""A prompt with values, as the pieces a person records one by one (for played languages).

Kazakh has no telephony voice, so a sentence that carries a value is heard as pieces: its fixed
words, and each value's own recordings. "{label}: {key} басыңыз." is `label.apply` (the label's
prompt), `value.number.1` (бір) and `menu.option.after_key` (басыңыз.); a period "{filing}" is the
number and the words of its plural form (`value.number.5`, `period.days.other.after_n`); a city is
`value.city.almaty`; a key said by name is its prompt (`key.star`); a date is values.date_pieces.
Each piece is one studio slot, so recording "бес" once serves every sentence that says five, and a
text or config change marks stale only the pieces whose words changed.

Fixed words are named after the prompt: the words before its first value are `<prompt>`, the
words after value X are `<prompt>.after_X`; punctuation alone is not a piece.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from string import Formatter

from babel import Locale

from hotline.content import render as P
from hotline.content import values
from hotline.content.model import UNDO_DAYS, Content
from hotline.content.values import Piece

Pieces = tuple[Piece, ...]
_LEAD = re.compile(r"^[\s.,;:!?)»\"']+")


def _words(literal: str) -> str:
    """The words of a stretch of fixed text; punctuation that closes the value before it is dropped."""
    words = _LEAD.sub("", literal).strip()
    return words if re.search(r"\w", words) else ""


def compose(key: str, template: str, pieces: Mapping[str, Pieces]) -> Pieces:
    """`template` (the prompt `key`) as its fixed words and the pieces of each of its values."""
    out: list[Piece] = []
    name, used = key, set()
    for literal, field, _spec, _conv in Formatter().parse(template):
        words = _words(literal)
        if words:
            out.append(Piece(name, words))
            used.add(name)
        if field is None:
            continue
        if field not in pieces:
            raise KeyError(f"no value for placeholder {{{field}}}")
        out += pieces[field]
        name = f"{key}.after_{field}"
        while name in used:  # the same value twice ("{address} ... {address}")
            name += "_again"
    return tuple(out)


def number(c: Content, lang: str, n: int) -> Pieces:
    """A number as a caller hears it: one piece per number (`value.number.24` says жиырма төрт)."""
    return (values.number_piece(lang, n),)


def key(c: Content, lang: str, k: str) -> Pieces:
    """A phone key: a digit is its number, * and # are said by name (the prompts key.star, key.hash)."""
    if not k:  # a key not set (no line to a person): nothing to say
        return ()
    if k.isdigit():
        return number(c, lang, int(k))
    return (Piece({"*": "key.star", "#": "key.hash"}[k], P.key_name(c, lang, k)),)  # the loader allows no other key


def period(c: Content, lang: str, rule_id: str) -> Pieces:
    """A rule's period: its number and the words of the plural form the language uses for it."""
    rule = c.policy.rules[rule_id]
    return count(c, lang, "months", rule.months) if rule.months else count(c, lang, "days", rule.days)


def count(c: Content, lang: str, unit: str, n: int) -> Pieces:
    """'5 күнтізбелік күн': n in the plural form of `period.<unit>` the language uses for it."""
    forms = c.prompts[lang][f"period.{unit}"]
    form = Locale.parse(c.lang(lang).locale).plural_form(n)
    form = form if form in forms else "other"
    return compose(f"period.{unit}.{form}", forms[form], {"n": number(c, lang, n)})


def city(c: Content, lang: str, office_id: str) -> Pieces:
    return (Piece(f"value.city.{office_id}", c.offices[office_id].city[lang]),)


def common(c: Content, lang: str) -> dict[str, Pieces]:
    """The pieces of every value any prompt may use (render.common_values), once per snapshot."""
    memo = ("common-pieces", lang)
    if memo not in c.memo:
        texts = P.common_values(c, lang)
        keys = c.settings.keys
        out: dict[str, Pieces] = {}
        for name, text in texts.items():
            if name in c.policy.rules:
                out[name] = period(c, lang, name)
            elif name in P.KEY_VALUES:
                out[name] = key(c, lang, getattr(keys, name))
            elif name == "finish" and c.handoff is not None:
                out[name] = key(c, lang, c.handoff.finish_key)
            elif name == "undo_days":
                out[name] = count(c, lang, "days", UNDO_DAYS)
            elif name.endswith("_keys"):  # keys pressed one after the other: "5 4 2"
                out[name] = tuple(p for k in str(text).split() for p in key(c, lang, k))
            else:  # a phone number and the like: said as one recording of its own
                out[name] = (Piece(f"value.{name}", str(text)),) if str(text).strip() else ()
        c.memo[memo] = out
    return c.memo[memo]


def prompt(c: Content, lang: str, key_: str, template: str | None = None, /, **given: Pieces) -> Pieces:
    """The prompt `key_` (or `template`, a part of it) in pieces, with the common values and `given`."""
    text = template if template is not None else str(c.prompts[lang][P.variant(c, lang, key_)])
    return compose(key_, text, {**common(c, lang), **given})


def value_rows(c: Content, lang: str) -> list[tuple[str, Pieces]]:
    """The values prompts share, each with its pieces ({filing}, {repeat}, ...), for `hotline check`."""
    return [(f"{{{name}}}", pieces) for name, pieces in common(c, lang).items() if pieces]
