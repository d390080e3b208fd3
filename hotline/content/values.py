"""Values a caller hears inside a sentence (dates, numbers), as pieces a person can record one by one.

A played language (Kazakh) cannot rely on Twilio's voice, so a date read back to a caller is
composed of recorded pieces: the weekday, the day, the month (and the year when it is not this
year). Each piece is a studio slot (`value.day.8`, `value.month.12`, `value.weekday.2`); a missing
piece is synthesised alone, the others stay in the human voice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date

DEFAULT_PATTERN = "EEEE, d MMMM"

# Kazakh dates are read with ordinal days ("сегізінші желтоқсан"); ordinals by word.
_KK_UNITS = ["", "бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз"]
_KK_TENS = ["", "он", "жиырма", "отыз", "қырық", "елу", "алпыс", "жетпіс", "сексен", "тоқсан"]
_KK_ORDINAL = {"бір": "бірінші", "екі": "екінші", "үш": "үшінші", "төрт": "төртінші", "бес": "бесінші",
               "алты": "алтыншы", "жеті": "жетінші", "сегіз": "сегізінші", "тоғыз": "тоғызыншы",
               "он": "оныншы", "жиырма": "жиырмасыншы", "отыз": "отызыншы", "қырық": "қырқыншы",
               "елу": "елуінші", "алпыс": "алпысыншы", "жетпіс": "жетпісінші", "сексен": "сексенінші",
               "тоқсан": "тоқсаныншы", "жүз": "жүзінші", "мың": "мыңыншы"}


def kk_cardinal(n: int) -> list[str]:
    """1..9999 in Kazakh words: 2027 -> ['екі', 'мың', 'жиырма', 'жеті']."""
    if not 0 < n < 10000:
        raise ValueError(f"{n} is out of range")
    words: list[str] = []
    thousands, rest = divmod(n, 1000)
    if thousands:
        words += ([] if thousands == 1 else [_KK_UNITS[thousands]]) + ["мың"]
    hundreds, rest = divmod(rest, 100)
    if hundreds:
        words += ([] if hundreds == 1 else [_KK_UNITS[hundreds]]) + ["жүз"]
    tens, units = divmod(rest, 10)
    if tens:
        words.append(_KK_TENS[tens])
    if units:
        words.append(_KK_UNITS[units])
    return words


def kk_ordinal(n: int) -> str:
    """8 -> 'сегізінші', 20 -> 'жиырмасыншы', 2027 -> 'екі мың жиырма жетінші'."""
    words = kk_cardinal(n)
    return " ".join(words[:-1] + [_KK_ORDINAL[words[-1]]])


def kk_number(n: int) -> str:
    """0 -> 'нөл', 24 -> 'жиырма төрт'."""
    return "нөл" if n == 0 else " ".join(kk_cardinal(n))


ORDINALS = {"kk": kk_ordinal}  # languages whose dates are read with spelled-out ordinal days
CARDINALS = {"kk": kk_number}  # languages whose numbers the recording script spells out


@dataclass(frozen=True)
class Piece:
    key: str   # the studio slot
    text: str  # what the piece says


def number_piece(lang: str, n: int) -> Piece:
    """One number as one recording (`value.number.5`): its words where we can spell them, else its digits."""
    spell = CARDINALS.get(lang)
    return Piece(f"value.number.{n}", spell(n) if spell and 0 <= n < 10000 else str(n))


_TOKEN = re.compile(r"'[^']*'|EEEE|MMMM|LLLL|d+|y+|[^'EMLdy]+")


def tokens(pattern: str) -> list[str]:
    return _TOKEN.findall(pattern)


def _field(lang: str, locale: str, tok: str, d: date) -> Piece | None:
    if tok == "EEEE":
        return Piece(f"value.weekday.{d.isoweekday()}", format_date(d, "EEEE", locale=locale))
    if tok in ("MMMM", "LLLL"):
        return Piece(f"value.month.{d.month}", format_date(d, tok, locale=locale))
    if tok.startswith("d"):
        spell = ORDINALS.get(lang)
        return Piece(f"value.day.{d.day}", spell(d.day) if spell else str(d.day))
    if tok.startswith("y"):
        spell = ORDINALS.get(lang)
        return Piece(f"value.year.{d.year}", spell(d.year) if spell else str(d.year))
    return None


def date_pieces(lang: str, locale: str, pattern: str, d: date) -> list[Piece]:
    """The pieces of a spoken date, in the pattern's order; quoted words join the piece before them
    ("y 'жылғы'" -> one piece 'екі мың жиырма жетінші жылғы'); punctuation is left out."""
    out: list[Piece] = []
    for tok in tokens(pattern):
        piece = _field(lang, locale, tok, d)
        if piece is not None:
            out.append(piece)
            continue
        word = tok.strip("'").strip(" ,.")
        if word and re.search(r"\w", word) and out:
            last = out[-1]
            out[-1] = Piece(last.key, f"{last.text} {word}")
    return out


def value_slots(lang: str, locale: str, pattern: str, years: tuple[int, ...]) -> dict[str, str]:
    """Every piece a spoken date in `lang` can need: 7 weekdays, 31 days, 12 months, the years."""
    slots: dict[str, str] = {}
    fields = {t for t in tokens(pattern)}
    for wd in range(7):  # 2024-01-01 is a Monday
        for p in date_pieces(lang, locale, pattern, date(2024, 1, 1 + wd)):
            if p.key.startswith("value.weekday."):
                slots[p.key] = p.text
    for day in range(1, 32):
        for p in date_pieces(lang, locale, pattern, date(2024, 1, day)):
            if p.key.startswith("value.day."):
                slots[p.key] = p.text
    for month in range(1, 13):
        for p in date_pieces(lang, locale, pattern, date(2024, month, 1)):
            if p.key.startswith("value.month."):
                slots[p.key] = p.text
    if any(t.startswith("y") for t in fields):
        for year in years:
            for p in date_pieces(lang, locale, pattern, date(year, 1, 1)):
                if p.key.startswith("value.year."):
                    slots[p.key] = p.text
    return slots
