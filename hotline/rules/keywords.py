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
from typing import Any, Callable, Iterable, Mapping

import yaml

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

#: Intents no typo may lead into or out of (they opt people in and out, or delete data).
PROTECTED_INTENTS: frozenset[str] = frozenset({"stop", "start", "yes", "delete"})

#: Intents that end or remove something, when keywords.yaml names none: they match only a whole
#: message (see `whole_message` and `surround` in config/keywords.yaml).
WHOLE_MESSAGE_INTENTS: tuple[str, ...] = ("stop", "delete", "filed")



# Stripped from the start of an argument: "REMIND: 3.12" -> "3.12".
_ARGUMENT_LEAD = " \t\r\n:;,.!?-–—=>"

_SAFETY_DISTANCE = 2  # a protected typo needs every other intent at least 3 edits away


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Edit distance
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """What an inbound message asks for."""

    intent: str
    lang: str | None  # language of the matched word if the word is language-specific
    argument: str  # the rest of the original text after the keyword (and city), trimmed
    city: str | None  # city id for `addresses`, if one was named
    typo: bool = False  # the keyword was read through a typo: confirm before acting on it


@dataclass(frozen=True)
class _Target:
    kind: str  # "intent" or "city"
    name: str

    @property
    def protected(self) -> bool:
        return self.kind == "intent" and self.name in PROTECTED_INTENTS


_ADDRESSES = _Target("intent", "addresses")


def _is_lang_code(code: object) -> bool:
    """A language code as config/hotline.yaml names them: two or three lowercase letters."""
    return isinstance(code, str) and 2 <= len(code) <= 3 and code.isalpha() and code.islower()


class Vocabulary:
    """Keywords, cities and language hints, ready for matching.

    Build with :meth:`from_dict` (the parsed YAML) or :meth:`load` (a path).
    Raises ValueError on a malformed file or when one word (after folding)
    belongs to two intents or to an intent and a city: such a file would make
    matching depend on dictionary order.
    """

    def __init__(
        self,
        phrases: Mapping[tuple[str, ...], _Target],
        langs: Mapping[tuple[str, ...], frozenset[str]],
        symbols: Mapping[str, str],
        fillers: Iterable[str],
        word_langs: Mapping[str, frozenset[str]],
        rule_words: Mapping[str, str] | None = None,
        whole: Iterable[str] = WHOLE_MESSAGE_INTENTS,
        surround: Iterable[str] = (),
    ) -> None:
        self._phrases = dict(phrases)
        self._whole = frozenset(whole)
        self._surround = frozenset(surround)
        self._rule_words = dict(rule_words or {})
        self._langs = dict(langs)
        self._symbols = dict(symbols)
        self._fillers = frozenset(fillers)
        self._word_langs = dict(word_langs)
        self._max_len = max((len(p) for p in self._phrases), default=1)
        # Deletion indexes (the SymSpell trick): two strings within edit distance
        # d share a string reachable from each by at most d deletions, so a typo
        # lookup touches a handful of candidates instead of the whole vocabulary.
        self._word_index: dict[str, set[str]] = {}
        for phrase in self._phrases:
            for word in phrase:
                for key in deletions(word, 1):
                    self._word_index.setdefault(key, set()).add(word)
        self._joined_index: dict[str, set[tuple[str, _Target]]] = {}
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
        if not isinstance(data, Mapping) or not isinstance(data.get("intents"), Mapping):
            raise ValueError("keywords: an 'intents' mapping is required")
        table = _Phrases()
        for intent, per_lang in data["intents"].items():
            if not isinstance(intent, str):  # an unquoted `yes:` is read as True
                raise ValueError(f"keywords: intent name {intent!r} is not text (quote it in YAML)")
            if not isinstance(per_lang, Mapping):
                raise ValueError(f"keywords: intent {intent!r} needs a mapping of languages")
            for lang, words in per_lang.items():
                if not _is_lang_code(lang):
                    raise ValueError(f"keywords: intent {intent!r}: {lang!r} is not a language code (kk, ru, en...)")
                for word in _as_list(words, f"intents.{intent}.{lang}"):
                    table.add(word, _Target("intent", str(intent)), f"intents.{intent}.{lang}", lang)
        for city, names in (data.get("cities") or {}).items():
            for name in _as_list(names, f"cities.{city}"):
                table.add(name, _Target("city", str(city)), f"cities.{city}", None)
        fillers = _fillers(data, table.phrases)
        table.language_hints(data)
        return cls(
            table.phrases,
            {k: frozenset(v) for k, v in table.langs.items()},
            table.symbols,
            fillers,
            {k: frozenset(v) for k, v in table.word_langs.items()},
            _rule_words(data),
            _whole_message(data),
            _surround(data),
        )

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
        elif found.target == _ADDRESSES:
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
        self, tokens: list[Token], at: int, only: Callable[[_Target], bool] | None = None
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

    def _fuzzy(self, words: tuple[str, ...]) -> tuple[_Target, frozenset[str]] | None:
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

    def _is_whole(self, target: _Target) -> bool:
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
    target: _Target
    end: int  # index of the first token after the phrase
    lang: str | None
    typo: bool


def _single(langs: frozenset[str]) -> str | None:
    return next(iter(langs)) if len(langs) == 1 else None


def _is_city(target: _Target) -> bool:
    return target.kind == "city"


def _is_addresses(target: _Target) -> bool:
    return target == _ADDRESSES


def _as_list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ValueError(f"keywords: {where} must be a list")
    return value


class _Phrases:
    """The words and phrases of every intent and city as they are built, refusing any used twice."""

    def __init__(self) -> None:
        self.phrases: dict[tuple[str, ...], _Target] = {}
        self.langs: dict[tuple[str, ...], set[str]] = {}
        self.symbols: dict[str, str] = {}
        self.word_langs: dict[str, set[str]] = {}

    def add(self, word: Any, target: _Target, where: str, lang: str | None) -> None:
        if not isinstance(word, str) or not word.strip():
            raise ValueError(f"keywords: {where}: {word!r} is not a word (quote it in YAML)")
        key = tuple(t.norm for t in split_words(word))
        if not key:  # only symbols, e.g. "?"
            sym = unicodedata.normalize("NFKC", "".join(word.split()))
            if self.symbols.setdefault(sym, target.name) != target.name or target.kind != "intent":
                raise ValueError(f"keywords: {where}: symbol {word!r} is used twice")
            return
        other = self.phrases.setdefault(key, target)
        if other != target:
            raise ValueError(
                f"keywords: {where}: {word!r} (read as {' '.join(key)!r}) "
                f"is already a word of {other.kind} {other.name!r}"
            )
        if lang is not None:
            self.langs.setdefault(key, set()).add(lang)
            for w in key:
                self.word_langs.setdefault(w, set()).add(lang)

    def language_hints(self, data: Mapping[str, Any]) -> None:
        """Words that tell the language of a message without being keywords."""
        for lang, words in (data.get("language_hints") or {}).items():
            if not _is_lang_code(lang):
                raise ValueError(f"keywords: language_hints: {lang!r} is not a language code (kk, ru, en...)")
            for word in _as_list(words, f"language_hints.{lang}"):
                for w in normalise(str(word)).split():
                    self.word_langs.setdefault(w, set()).add(lang)


def _fillers(data: Mapping[str, Any], phrases: dict[tuple[str, ...], _Target]) -> set[str]:
    fillers: set[str] = set()
    for word in _as_list(data.get("fillers") or [], "fillers"):
        norm = normalise(str(word))
        if tuple(norm.split()) in phrases:
            raise ValueError(f"keywords: filler {word!r} is also a keyword or city")
        fillers.update(norm.split())
    return fillers


def _rule_words(data: Mapping[str, Any]) -> dict[str, str]:
    rule_words: dict[str, str] = {}
    for rule, words in (data.get("reminder_rules") or {}).items():
        for word in _as_list(words, f"reminder_rules.{rule}"):
            norm = normalise(str(word))
            if rule_words.setdefault(norm, str(rule)) != rule:
                raise ValueError(f"keywords: reminder_rules.{rule}: {word!r} already names another rule")
    return rule_words


def _whole_message(data: Mapping[str, Any]) -> list[str]:
    whole = data.get("whole_message")
    if whole is None:  # a vocabulary without the key: the usual ones it has
        whole = [i for i in WHOLE_MESSAGE_INTENTS if i in data["intents"]]
    for intent in _as_list(whole, "whole_message"):
        if intent not in data["intents"]:
            raise ValueError(f"keywords: whole_message: {intent!r} is not an intent")
    return [str(i) for i in whole]


def _surround(data: Mapping[str, Any]) -> set[str]:
    surround: set[str] = set()
    for lang, words in (data.get("surround") or {}).items():
        for word in _as_list(words, f"surround.{lang}"):
            surround.update(normalise(str(word)).split())
    return surround
