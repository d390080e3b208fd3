"""Turning prompt keys into words in the caller's language: placeholders, plurals, dates.

Legal periods are never typed into prompts by hand: `{filing}` or `{appeal}` are rendered from
config/deadlines.yaml with the language's plural rules, so a prompt cannot disagree with the
rule that schedules reminders.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from hotline.content.model import UNDO_DAYS, Content
from hotline.content.paths import action_keys, stop_keys


class _Values(dict):
    """Placeholder values; a missing one raises a clear KeyError instead of printing braces."""

    def __missing__(self, key: str) -> Any:
        raise KeyError(f"no value for placeholder {{{key}}}")


def plural(content: Content, lang: str, forms: dict[str, str], n: int) -> str:
    """Pick the plural form of `n` by the language's CLDR rules, and write `n` as the locale does (Babel)."""
    locale = Locale.parse(content.lang(lang).locale)
    return forms.get(locale.plural_form(n), forms["other"]).format(n=format_decimal(n, locale=locale))


def period(content: Content, lang: str, rule_id: str) -> str:
    """'5 calendar days', '3 месяца', from the rule's period."""
    rule = content.policy.rules[rule_id]
    table = content.prompts[lang]
    if rule.months:
        return plural(content, lang, table["period.months"], rule.months)
    return plural(content, lang, table["period.days"], rule.days)


def key_name(content: Content, lang: str, key: str) -> str:
    """How a key is spoken: digits as they are, * and # by name."""
    table = content.prompts[lang]
    return {"*": table.get("key.star", "*"), "#": table.get("key.hash", "#")}.get(key, key)


def common_values(content: Content, lang: str) -> dict[str, str]:
    """Values every prompt may use: legal periods and the universal keys' names (memoised per snapshot)."""
    cached = content.memo.get(("common", lang))
    if cached is None:
        cached = content.memo[("common", lang)] = _common_values(content, lang)
    return cached


KEY_VALUES = ("repeat", "back", "main", "sms", "more", "person")  # placeholders naming the universal keys


def _common_values(content: Content, lang: str) -> dict[str, str]:
    values = {rule: period(content, lang, rule) for rule in content.policy.rules}  # {filing}: "5 days"
    values["undo_days"] = plural(content, lang, content.prompts[lang]["period.days"], UNDO_DAYS)
    keys = content.settings.keys
    for name in KEY_VALUES:
        values[name] = key_name(content, lang, getattr(keys, name))
    values["phone"] = content.settings.phone_line  # config/hotline.yaml: the number people call
    values["stop_keys"] = stop_keys(content)  # what to press on that line to stop messages
    values["undo_keys"] = action_keys(content, "undo")  # ... and to undo a cancellation with our code
    values["whatsapp"] = content.settings.whatsapp.number  # the hotline's WhatsApp number
    if content.handoff is not None:
        values["finish"] = key_name(content, lang, content.handoff.finish_key)
    return values


ONE_WAY = "oneway."  # prefix of a prompt's variant for one-way SMS mode


def variant(content: Content, lang: str, key: str, via: str = "") -> str:
    """The prompt key really used: in one-way SMS mode `oneway.<key>` where a language has it.

    One-way mode means nobody can reply by SMS, so what is spoken or sent by SMS must point to
    the phone line instead of a reply word. WhatsApp is two-way: its texts never take the variant.
    """
    if via != "whatsapp" and content.settings.one_way:
        alternative = ONE_WAY + key
        if alternative in content.prompts[lang]:
            return alternative
    return key


def text(content: Content, lang: str, key: str, /, *, via: str = "", **values: Any) -> str:
    """The prompt `key` in `lang` with its placeholders filled in (its one-way variant where that
    applies: see variant(); `via` is the channel the text goes out on)."""
    template = content.prompts[lang][variant(content, lang, key, via)]
    merged = _Values(common_values(content, lang))
    merged.update({k: v for k, v in values.items()})
    if isinstance(template, dict):
        return plural(content, lang, template, int(values["n"]))
    return str(template).format_map(merged)


def parts(content: Content, lang: str, key: str) -> list[str]:
    """A topic's parts, each filled in."""
    common = _Values(common_values(content, lang))
    return [str(p).format_map(common) for p in content.prompts[lang][key]]


def _date(content: Content, lang: str, d: date, today: date | None, kind: str, default: str) -> str:
    table = content.prompts[lang]
    with_year = today is not None and d.year != today.year
    pattern = table.get(f"date.{kind}_year" if with_year else f"date.{kind}") or (default + (" y" if with_year else ""))
    return format_date(d, pattern, locale=content.lang(lang).locale)


def spoken_date(content: Content, lang: str, d: date, today: date | None = None) -> str:
    """A date as it is read to a caller, in full: 'Tuesday, 8 December', and the year when it is
    not the year of `today`. The patterns are the prompts date.spoken and date.spoken_year."""
    return _date(content, lang, d, today, "spoken", "EEEE, d MMMM")


def short_date(content: Content, lang: str, d: date, today: date | None = None) -> str:
    """A date for an SMS: '8 December', '8 декабря' (with the year when it is not this year)."""
    return _date(content, lang, d, today, "short", "d MMMM")


def example_date(d: date) -> str:
    """A date as a person texts it (3.12), for the examples in SMS: today's, so always valid."""
    return f"{d.day}.{d.month:02d}"


def keypad_date(d: date) -> str:
    """The keys for a date, as a prompt says them: '0, 3, 1, 2' for 3 December."""
    return ", ".join(d.strftime("%d%m"))


def own_key(content: Content, lang: str, key: str, rule: str) -> str:
    """`key`.`rule` if the prompts have a text of the rule's own (reminders.passed.appeal), else `key`."""
    own = f"{key}.{rule}"
    return own if own in content.prompts[lang] else key


def confirmation_key(content: Content, lang: str, rule: str) -> str:
    """The SMS confirming reminders for `rule`: its own if it has one (only filing mentions FILED)."""
    return own_key(content, lang, "sms.remind_confirmed", rule)


def office_values(content: Content, lang: str, office_id: str) -> dict[str, str]:
    """The placeholders of one office in `lang`."""
    o = content.offices[office_id]
    note = o.note.get(lang, "")
    return {"city": o.city[lang], "address": o.address[lang], "short": o.short[lang],
            "note": f" {note}" if note else ""}


def addresses_sms(content: Content, lang: str) -> str:
    """All offices in one short SMS."""
    items = [text(content, lang, "sms.address_item", **office_values(content, lang, oid)) for oid in content.offices]
    return text(content, lang, "sms.addresses", list="; ".join(items))
