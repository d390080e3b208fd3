"""What each SMS template costs in segments, with its longest real values filled in.

The loader refuses a template over the limit and `hotline check` prints the same table: one
rule, two places.
"""
from __future__ import annotations

from datetime import date

from hotline.content import render as P
from hotline.content.model import REFERENCE_LANG, Content, Problem
from hotline.content.report import Table, doc_of, problem_at
from hotline.content.script import FIXED_PROMPTS
from hotline.content.yamlio import Located
from hotline.rules.segments import SmsSize, measure


def sms_templates(content: Content) -> list[str]:
    """Prompt keys sent as SMS: sms.* except the sentences the voice menu speaks (sms.sent, ...)."""
    return [k for k in content.prompts[REFERENCE_LANG]
            if k.removeprefix(P.ONE_WAY).startswith("sms.") and k.removeprefix(P.ONE_WAY) not in FIXED_PROMPTS]


def longest_sms(content: Content, lang: str, key: str) -> tuple[str, str]:
    """The template filled with the longest values it can really get; and a note of what they were."""
    if key == "sms.addresses":
        return P.addresses_sms(content, lang), "with every office"
    # A reply to REMIND names its dates with the year when it is not this year; a reminder's
    # deadline (the worker) and the list of reminder days never do.
    reminder = key.removeprefix(P.ONE_WAY).startswith("sms.reminder.")
    day, count = _longest_dates(content, lang, with_year=not reminder)
    plain, _ = _longest_dates(content, lang, with_year=False)
    values = {"deadline": day, "start": day, "example": "28.12", "dates": ", ".join([plain] * count), "code": "0" * 6,
              # a one-way text names the phone line: measured with a real-length number when none is set yet
              "phone": content.settings.phone_line or "+7 727 000 00 00"}
    filled = [(P.text(content, lang, key, **values, **P.office_values(content, lang, oid)), oid)
              for oid in content.offices]
    text, oid = max(filled, key=lambda f: measure(f[0]).units)
    return text, f"with office '{oid}', the date '{day}' and {count} reminder dates"


def _longest_dates(content: Content, lang: str, with_year: bool) -> tuple[str, int]:
    """The longest date as an SMS writes it in `lang` (every month and weekday; with the year, or
    not), and the most reminders any rule sends (per snapshot)."""
    cached = content.memo.get(("longest_dates", lang, with_year))
    if cached is None:
        days = [date(2026, month, day) for month in range(1, 13) for day in range(22, 29)]
        today = date(2027, 1, 1) if with_year else None
        day = max((P.short_date(content, lang, d, today) for d in days), key=len)
        count = max(len(r.reminders) for r in content.policy.rules.values())
        cached = content.memo[("longest_dates", lang, with_year)] = (day, count)
    return cached


def _size_fix(size: SmsSize, limit: int) -> str:
    single, part = (160, 153) if size.encoding == "GSM-7" else (70, 67)
    room = single if limit == 1 else part * limit
    why = ("Any Cyrillic letter sends the whole message as UCS-2: 70 characters fit in one SMS, 67 per part."
           if size.encoding == "UCS-2" else "160 characters fit in one SMS, 153 per part.")
    return f"Shorten it to at most {room} characters (now {size.units}). {why}"


def _room(size: SmsSize, limit: int) -> int:
    single, part = (160, 153) if size.encoding == "GSM-7" else (70, 67)
    return single if limit == 1 else part * limit


def _addresses_problem(content: Content, lang: str, size: SmsSize, limit: int) -> Problem:
    """The list of every office is made of the offices' `short:` addresses: that is what to shorten.

    The template (`sms.addresses`, often just "{list}.") adds a few characters; the offices add the
    rest, and a new office is what usually tips it over.
    """
    doc = doc_of(content, "config/offices.yaml")
    items = {oid: P.text(content, lang, "sms.address_item", **P.office_values(content, lang, oid))
             for oid in content.offices}
    longest = max(content.offices, key=lambda oid: len(content.offices[oid].short[lang]))
    over = size.units - _room(size, limit)
    return problem_at(
        content, doc, ("offices", longest, "short", lang),
        f"the SMS with every office address (sms.addresses) in {lang} takes {size.segments} segments: "
        f"{size.units} characters for {len(items)} offices, each written as its city and its '{lang}' short: "
        f"address from this file; the limit is {limit} segments ({_room(size, limit)} characters)",
        f"Shorten the {lang} short: addresses of the offices by {over} characters in all (the longest is "
        f"'{longest}': \"{content.offices[longest].short[lang]}\"), e.g. without the street type, as an SMS "
        f"reader needs only the name and the number. Or raise sms.max_segments in config/hotline.yaml "
        f"(every segment is paid for).")


def _own_limits(content: Content) -> dict[str, int]:
    """sms.max_segments_for in config/hotline.yaml: templates allowed more segments (the office list)."""
    data = doc_of(content, "config/hotline.yaml").data
    sms = data.get("sms") if isinstance(data, dict) else None
    own = sms.get("max_segments_for") if isinstance(sms, dict) else None
    if not isinstance(own, dict):
        return {}
    return {str(k): v for k, v in own.items() if isinstance(v, int) and not isinstance(v, bool) and v > 0}


def check_sms(content: Content, fill_errors: bool = True) -> tuple[list[Problem], Table]:
    """Every SMS template, in every language, at its longest, against sms.max_segments.

    `fill_errors=False` (content with errors elsewhere): a template that cannot be filled in is
    left to the loader's own messages (a missing prompt, a wrong {name}), which say it better."""
    default = content.settings.max_segments
    langs = list(content.settings.languages)
    docs: dict[str, Located] = {}  # parsed again only to name a line: so only when there is a problem

    def doc(lang: str) -> Located:
        if lang not in docs:
            docs[lang] = doc_of(content, f"prompts/{lang}.yaml")
        return docs[lang]

    problems, rows = [], []
    own = _own_limits(content)
    for key in sms_templates(content):
        limit = own.get(key, default)
        cells = []
        for lang in langs:
            try:
                text, used = longest_sms(content, lang, key)
            except (KeyError, ValueError, IndexError) as exc:
                if not fill_errors:
                    cells.append("?")
                    continue
                problems.append(problem_at(content, doc(lang), (key,), f"SMS '{key}' in {lang} cannot be filled in: {exc}",
                                         "Use only the {names} of the English text, exactly as written there."))
                cells.append("?")
                continue
            size = measure(text)
            cells.append(f"{size.segments} {size.encoding} ({size.units})" + (" TOO LONG" if size.segments > limit else ""))
            if size.segments > limit and key == "sms.addresses":
                problems.append(_addresses_problem(content, lang, size, limit))
            elif size.segments > limit:
                problems.append(problem_at(
                    content, doc(lang), (key,),
                    f"SMS '{key}' in {lang} takes {size.segments} segments at its longest ({size.encoding}, "
                    f"{size.units} characters {used}); the limit is {limit} "
                    f"(sms.{'max_segments_for' if key in own else 'max_segments'} in config/hotline.yaml)",
                    _size_fix(size, limit)))
        rows.append((key, *cells))
    title = (f"SMS sizes at their longest: segments, encoding (characters). Limit: {default} segments per message"
             + "".join(f"; {k}: {v}" for k, v in own.items()))
    return problems, Table(title, ("template", *langs), tuple(rows))
