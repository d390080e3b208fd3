"""Inbound SMS keyword matching in Kazakh, Russian and English, in both scripts.

Why forgiving: people write from old phones and Russian keyboards that have no
Kazakh letters (ТОКТАТУ for ТОҚТАТУ, Latin "i" for "і"), in Latin
transliteration, in capitals, with typos. A missed STOP keeps messaging
someone who asked us to stop; a missed ADDRESS leaves someone without help.

Why careful: a typo must never turn into STOP, START, YES or DELETE when
another intent is close: those words change what we do with a person's
number and data. And a word that ends or removes something (STOP, DELETE,
FILED: the `whole_message` intents of keywords.yaml) counts only when it is
the whole message, give or take courtesy words around it ("stop please",
"не присылайте больше сообщений"): never a word at the start of a longer
text. "Бас тарту" is the name of a topic (a refusal), "Стоп, а где офис?" is
a question; neither may unsubscribe anyone or delete their reminders. Typos are accepted only for words of 5+ letters (one edit,
Damerau-Levenshtein) or, for 4-letter words, one swapped pair of neighbours
(STPO); shorter words must be exact; and a typo is refused when its target
is ambiguous or when it lands near a protected intent's word.

The vocabulary is data (config/keywords.yaml); this module is pure apart from
reading that YAML file when asked to.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from hotline.rules.keyword_file import ADDRESSES, PROTECTED_INTENTS, WHOLE_MESSAGE_INTENTS, Tables, Target, read_tables
from hotline.rules.textfold import (
    FUZZY_MIN,
    KAZAKH_ONLY_LETTERS,
    Token,
    deletions,
    distance,
    is_cyrillic,
    normalise,
    split_words,
    typo_of,
)

__all__ = [
    "LANGUAGES",
    "PROTECTED_INTENTS",
    "WHOLE_MESSAGE_INTENTS",
    "Match",
    "Vocabulary",
    "normalise",
]

LANGUAGES: tuple[str, ...] = ("kk", "ru", "en")

# Stripped from the start of an argument: "REMIND: 3.12" -> "3.12".
_ARGUMENT_LEAD = " \t\r\n:;,.!?-–—=>"

_SAFETY_DISTANCE = 2  # a protected typo needs every other intent at least 3 edits away



@dataclass(frozen=True)
class Match:
    """What an inbound message asks for."""

    intent: str
    lang: str | None  # language of the matched word if the word is language-specific
    argument: str  # the rest of the original text after the keyword (and city), trimmed
    city: str | None  # city id for `addresses`, if one was named
    typo: bool = False  # the keyword was read through a typo: confirm before acting on it


class Vocabulary:
    """Keywords, cities and language hints, ready for matching.

    Build with :meth:`from_dict` (the parsed YAML) or :meth:`load` (a path); both raise ValueError
    on a file keyword_file.read_tables refuses.
    """

    def __init__(self, tables: Tables) -> None:
        self._phrases = dict(tables.phrases)
        self._whole = tables.whole
        self._surround = tables.surround
        self._rule_words = dict(tables.rule_words)
        self._langs = dict(tables.langs)
        self._symbols = dict(tables.symbols)
        self._fillers = tables.fillers
        self._word_langs = dict(tables.word_langs)
        self._max_len = max((len(p) for p in self._phrases), default=1)
        # Deletion indexes (the SymSpell trick): two strings within edit distance
        # d share a string reachable from each by at most d deletions, so a typo
        # lookup touches a handful of candidates instead of the whole vocabulary.
        self._word_index: dict[str, set[str]] = {}
        for phrase in self._phrases:
            for word in phrase:
                for key in deletions(word, 1):
                    self._word_index.setdefault(key, set()).add(word)
        self._joined_index: dict[str, set[tuple[str, Target]]] = {}
        for phrase, target in self._phrases.items():
            joined = "".join(phrase)
            for key in deletions(joined, _SAFETY_DISTANCE):
                self._joined_index.setdefault(key, set()).add((joined, target))

    # ---- construction ----------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read and build the vocabulary from a YAML file."""
        with open(path, encoding="utf-8") as fh:
            return cls.from_dict(yaml.safe_load(fh))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Build from the parsed YAML: see config/keywords.yaml for the structure."""
        return cls(read_tables(data))

    def rule_names(self) -> set[str]:
        """The rules keywords can ask reminders for (config/keywords.yaml reminder_rules)."""
        return set(self._rule_words.values())

    def rule_word(self, word: str) -> str | None:
        """'APPEAL' -> 'appeal': which deadline rule a word after REMIND names (None: not a rule word)."""
        return self._rule_words.get(normalise(word))

    # ---- introspection (for tests and `hotline check`) --------------------

    @property
    def whole_message_intents(self) -> frozenset[str]:
        """Intents that end or remove something: they match only a whole message."""
        return self._whole

    def topic_words(self) -> list[tuple[str, str]]:
        """Every word or phrase that names a topic, a city or a reminder rule, with what it is
        (for `hotline check`: none of them may be read as a whole-message keyword)."""
        out = [(" ".join(p), f"{t.kind} '{t.name}'") for p, t in self._phrases.items() if not self._is_whole(t)]
        return out + [(w, f"reminder rule '{r}'") for w, r in self._rule_words.items()]

    def intent_of(self, phrase: str) -> str | None:
        """The intent an exact (normalised) phrase belongs to, or None."""
        target = self._phrases.get(tuple(normalise(phrase).split()))
        return target.name if target and target.kind == "intent" else None

    # ---- matching -----------------------------------------------------------

    def match(self, text: str) -> Match | None:
        """Read the keyword at the start of ``text``; None if there is none.

        The keyword must be the first word(s). A city alone, or an address
        word followed by a city ("ADDRESS ALMATY", "Алматы қаласы мекенжай"),
        gives ``addresses`` with ``city`` set. A bare "?" means help.

        A keyword that ends or removes something (STOP, DELETE, FILED) must be
        the whole message, with only courtesy words around it ("please stop",
        "STOP!!", "не присылайте больше сообщений"); at the start of a longer
        text it is no keyword at all, and the message gets the help text.
        """
        tokens = split_words(text)
        if not tokens:
            return self._match_symbol(text)
        whole = self._whole_message(tokens)
        if whole is not None:
            return Match(intent=whole.target.name, lang=whole.lang, argument="", city=None, typo=whole.typo)
        found = self._lookup(tokens, 0)
        if found is not None and self._is_whole(found.target):
            return None  # "STOP, where is the office?": not a request to stop
        if found is None and tokens[0].norm in self._fillers:  # "в Алматы", "г. Алматы"
            found = self._lookup(tokens, 1, only=_is_city)
        if found is None:
            return None
        city: str | None = None
        intent, lang, used, typo = found.target.name, found.lang, found.end, found.typo
        if found.target.kind == "city":
            city, intent, lang = found.target.name, "addresses", None
            word = self._lookup(tokens, self._after_fillers(tokens, used), only=_is_addresses)
            if word is not None:  # "Алматы қаласы мекенжай"
                lang, used = word.lang, word.end
        elif found.target == ADDRESSES:
            place = self._lookup(tokens, self._after_fillers(tokens, used), only=_is_city)
            if place is not None:  # "АДРЕС В АЛМАТЫ"
                city, used = place.target.name, place.end
        rest = text[tokens[used - 1].end :]
        # Only punctuation or emoji after the keyword ("STOP!", "«стоп».") is no argument.
        argument = rest.strip().lstrip(_ARGUMENT_LEAD).strip() if split_words(rest) else ""
        return Match(intent=intent, lang=lang, argument=argument, city=city, typo=typo)

    def guess_language(self, text: str) -> str:
        """See :func:`guess_language`."""
        folded = unicodedata.normalize("NFC", text).casefold()
        if any(ch in KAZAKH_ONLY_LETTERS for ch in folded):
            return "kk"
        tokens = split_words(folded)
        # A Russian keyboard has no "і": Kazakh writers use a Latin "i" instead.
        for t in tokens:
            raw = folded[t.start : t.end]
            if "i" in raw and any(map(is_cyrillic, raw)):
                return "kk"
        norms = [t.norm for t in tokens]
        if any(self._word_langs.get(w) == frozenset({"kk"}) for w in norms):
            return "kk"
        if any(map(is_cyrillic, folded)):
            return "ru"
        if any(self._word_langs.get(w) == frozenset({"ru"}) for w in norms):
            return "ru"  # Russian in Latin letters: "pomosh", "privet"
        return "en"

    # ---- internals -----------------------------------------------------------

    def _match_symbol(self, text: str) -> Match | None:
        compact = unicodedata.normalize("NFKC", "".join(text.split()))
        if not compact:
            return None
        for sym, intent in self._symbols.items():
            # "?", "??" and "???" all ask for help.
            if compact == sym or (len(sym) == 1 and set(compact) == {sym}):
                return Match(intent=intent, lang=None, argument="", city=None)
        return None

    def _lookup(
        self, tokens: list[Token], at: int, only: Callable[[Target], bool] | None = None
    ) -> _Found | None:
        """The phrase starting at tokens[at]: exact (longest first), else one typo.

        Cities also match with a short suffix: Kazakh "Алматыда", Russian
        "Шымкенте".
        """
        if at >= len(tokens):
            return None
        words = [t.norm for t in tokens[at:]]
        accept = only or (lambda t: True)
        longest = min(self._max_len, len(words))
        for n in range(longest, 0, -1):
            key = tuple(words[:n])
            target = self._phrases.get(key)
            if target is not None and accept(target):
                return _Found(target, at + n, _single(self._langs.get(key, frozenset())), False)
        for n in range(longest, 0, -1):
            fuzzy = self._fuzzy(tuple(words[:n]))
            if fuzzy is not None and accept(fuzzy[0]):
                return _Found(fuzzy[0], at + n, _single(fuzzy[1]), True)
        first = words[0]
        suffixed = {
            target
            for phrase, target in self._phrases.items()
            if target.kind == "city"
            and len(phrase) == 1
            and len(phrase[0]) >= FUZZY_MIN
            and first.startswith(phrase[0])
            and 0 < len(first) - len(phrase[0]) <= 4
        }
        if len(suffixed) == 1:
            target = suffixed.pop()
            if accept(target):
                return _Found(target, at + 1, None, False)
        return None

    def _fuzzy(self, words: tuple[str, ...]) -> tuple[Target, frozenset[str]] | None:
        """The one target ``words`` is a single typo away from, if that is safe to say.

        Returns the target and the languages of the phrases it was near.
        """
        hits = set()
        for i, word in enumerate(words):
            for key in deletions(word, 1):
                for known in self._word_index.get(key, ()):
                    phrase = words[:i] + (known,) + words[i + 1 :]
                    if known != word and phrase in self._phrases and typo_of(word, known):
                        hits.add(phrase)
        targets = {self._phrases[p] for p in hits}
        if len(targets) != 1:
            return None  # nothing, or ambiguous
        target = targets.pop()
        joined = "".join(words)
        candidates = set().union(
            *(self._joined_index.get(key, ()) for key in deletions(joined, _SAFETY_DISTANCE))
        )
        near = {
            other
            for known, other in candidates
            if other != target and distance(joined, known, _SAFETY_DISTANCE) <= _SAFETY_DISTANCE
        }
        if near and (target.protected or any(o.protected for o in near)):
            return None
        langs = frozenset().union(*(self._langs.get(p, frozenset()) for p in hits))
        return target, langs

    def _is_whole(self, target: Target) -> bool:
        return target.kind == "intent" and target.name in self._whole

    def _whole_message(self, tokens: list[Token]) -> _Found | None:
        """A whole-message keyword with nothing but courtesy words around it, else None."""
        at = 0
        while at < len(tokens):
            found = self._lookup(tokens, at, only=self._is_whole)
            if found is not None and all(t.norm in self._surround for t in tokens[found.end :]):
                return found
            if tokens[at].norm not in self._surround:
                return None
            at += 1
        return None

    def _after_fillers(self, tokens: list[Token], at: int) -> int:
        """Skip up to two filler words ("в городе", "қаласы")."""
        skipped = 0
        while at < len(tokens) and tokens[at].norm in self._fillers and skipped < 2:
            at += 1
            skipped += 1
        return at


@dataclass(frozen=True)
class _Found:
    target: Target
    end: int  # index of the first token after the phrase
    lang: str | None
    typo: bool


def _single(langs: frozenset[str]) -> str | None:
    return next(iter(langs)) if len(langs) == 1 else None


def _is_city(target: Target) -> bool:
    return target.kind == "city"


def _is_addresses(target: Target) -> bool:
    return target == ADDRESSES


