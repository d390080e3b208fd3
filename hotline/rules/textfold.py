"""Folding text the way people type it, so that matching can be forgiving but exact.

Shared by keyword matching (keywords.py) and date entry (dates.py): casefolding, Kazakh letters
typed on a Russian keyboard (қ -> к), look-alike letters across scripts (a Latin "i" for "і"),
apostrophes and combining marks, and the edit distances that decide what counts as a typo.
Pure functions.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: Letters only Kazakh uses (lower case; input is casefolded first).
KAZAKH_ONLY_LETTERS: frozenset[str] = frozenset("әғқңөұүһі")


# Kazakh letters -> what a Russian keyboard user types instead; ё -> е.
KAZAKH_TO_RUSSIAN = str.maketrans(
    {"ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е"}
)


# Latin letters without a decomposition that still look like plain ones.
_LATIN_EXTRA = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "ħ": "h"})


# Look-alikes used when one word mixes scripts ("STОP" with a Cyrillic О,
# "МЕРЗIМ" with a Latin I standing in for і). Applied after casefolding.
_LATIN_TO_CYRILLIC = str.maketrans(
    {"a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "i": "и", "k": "к", "m": "м",
     "o": "о", "p": "р", "t": "т", "x": "х", "y": "у"}
)


_CYRILLIC_TO_LATIN = str.maketrans(
    {"а": "a", "в": "b", "с": "c", "е": "e", "н": "h", "и": "i", "к": "k", "м": "m",
     "о": "o", "р": "p", "т": "t", "х": "x", "у": "y"}
)


_APOSTROPHES = frozenset("'’ʼ‘`´")


FUZZY_MIN = 5  # words this long may have one edit


SWAP_LEN = 4  # words this long may have one swapped pair of neighbours


def is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM"


def is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u052f"


def is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def _fold_latin_accent(ch: str) -> str:
    if ch.isascii() or is_cyrillic(ch):
        return ch
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base.isascii() and base.isalpha() else ch


def _normalise_word(raw: str) -> str:
    """Fold one word (a run of letters, digits and marks) to its matching form."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFC", raw).casefold())
    chars = []
    for ch in text:
        if ch in _APOSTROPHES or unicodedata.category(ch)[0] == "M":
            continue  # ko'mek = komek; stray combining marks and variation selectors
        chars.append(_fold_latin_accent(ch))
    word = "".join(chars).translate(_LATIN_EXTRA).translate(KAZAKH_TO_RUSSIAN)
    cyrillic = sum(map(is_cyrillic, word))
    latin = sum(map(is_latin, word))
    if cyrillic and latin:
        # Fold the minority script into the majority; ties go to Cyrillic,
        # because a Latin "i" for Kazakh "і" is the commonest mix.
        word = word.translate(_LATIN_TO_CYRILLIC if cyrillic >= latin else _CYRILLIC_TO_LATIN)
    return word


@dataclass(frozen=True)
class Token:
    norm: str
    start: int  # span in the original text
    end: int


def split_words(text: str) -> list[Token]:
    """Split ``text`` into normalised words, keeping their spans in the original.

    Apostrophes between letters join (ko'mek); every other punctuation mark,
    symbol or emoji separates (ALMA-ATA = ALMA ATA).
    """
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if not is_word_char(text[i]):
            i += 1
            continue
        start = i
        while i < n and (
            is_word_char(text[i])
            or (text[i] in _APOSTROPHES and i + 1 < n and is_word_char(text[i + 1]))
        ):
            i += 1
        norm = _normalise_word(text[start:i])
        if norm:
            out.append(Token(norm, start, i))
    return out


def normalise(text: str) -> str:
    """The form keywords are compared in.

    Casefolded, NFC, punctuation/symbols/emoji removed (they separate words),
    whitespace collapsed, ё→е, Kazakh letters folded to their Russian
    look-alikes (ә→а ғ→г қ→к ң→н ө→о ұ→у ү→у һ→х і→и), Latin accents removed,
    and look-alike letters of the other script in a mixed-script word folded
    into the word's main script. So ТОҚТАТУ, токтату and "Тоқтату!" are equal.
    """
    return " ".join(t.norm for t in split_words(text))


def distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, capped at limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


def is_swap(a: str, b: str) -> bool:
    """True if b is a with exactly one pair of neighbouring letters swapped."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def deletions(word: str, depth: int) -> set[str]:
    """``word`` and every string made from it by deleting up to ``depth`` letters."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def typo_of(word: str, known: str) -> bool:
    """May ``word`` be read as a one-typo version of ``known``?"""
    if len(word) >= FUZZY_MIN and len(known) >= FUZZY_MIN:
        return distance(word, known, 1) == 1
    if len(word) == len(known) == SWAP_LEN:
        return is_swap(word, known)
    return False
