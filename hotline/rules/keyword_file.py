"""config/keywords.yaml read into the tables a Vocabulary matches against.

Why it refuses so much: one word (after folding) that belongs to two intents, or to an intent and a
city, would make matching depend on dictionary order; an unquoted `yes:` is read by YAML as True.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Mapping

from hotline.rules.textfold import normalise, split_words

#: Intents no typo may lead into or out of (they opt people in and out, or delete data).
PROTECTED_INTENTS: frozenset[str] = frozenset({"stop", "start", "yes", "delete"})

#: Intents that end or remove something, when keywords.yaml names none: they match only a whole
#: message (see `whole_message` and `surround` in config/keywords.yaml).
WHOLE_MESSAGE_INTENTS: tuple[str, ...] = ("stop", "delete", "filed")


@dataclass(frozen=True)
class Target:
    """What a word or phrase names: an intent or a city."""

    kind: str  # "intent" or "city"
    name: str

    @property
    def protected(self) -> bool:
        return self.kind == "intent" and self.name in PROTECTED_INTENTS


ADDRESSES = Target("intent", "addresses")


def _is_lang_code(code: object) -> bool:
    """A language code as config/hotline.yaml names them: two or three lowercase letters."""
    return isinstance(code, str) and 2 <= len(code) <= 3 and code.isalpha() and code.islower()


@dataclass(frozen=True)
class Tables:
    """Every word of the vocabulary, folded, with what it names."""

    phrases: Mapping[tuple[str, ...], Target]
    langs: Mapping[tuple[str, ...], frozenset[str]]  # the languages a phrase belongs to
    symbols: Mapping[str, str]  # "?" -> help
    fillers: frozenset[str]  # "в", "қаласы": skipped around a city
    word_langs: Mapping[str, frozenset[str]]  # words that tell a message's language
    rule_words: Mapping[str, str]  # "appeal" -> the deadline rule it names
    whole: frozenset[str]  # intents that match only a whole message
    surround: frozenset[str]  # courtesy words allowed around those


def read_tables(data: Mapping[str, Any]) -> Tables:
    """The parsed YAML (see config/keywords.yaml for the structure) as tables; ValueError if malformed."""
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
                table.add(word, Target("intent", str(intent)), f"intents.{intent}.{lang}", lang)
    for city, names in (data.get("cities") or {}).items():
        for name in _as_list(names, f"cities.{city}"):
            table.add(name, Target("city", str(city)), f"cities.{city}", None)
    fillers = _fillers(data, table.phrases)
    table.language_hints(data)
    return Tables(
        phrases=table.phrases,
        langs={k: frozenset(v) for k, v in table.langs.items()},
        symbols=table.symbols,
        fillers=frozenset(fillers),
        word_langs={k: frozenset(v) for k, v in table.word_langs.items()},
        rule_words=_rule_words(data),
        whole=frozenset(_whole_message(data)),
        surround=frozenset(_surround(data)),
    )


def _as_list(value: Any, where: str) -> list[Any]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ValueError(f"keywords: {where} must be a list")
    return value


class _Phrases:
    """The words and phrases of every intent and city as they are built, refusing any used twice."""

    def __init__(self) -> None:
        self.phrases: dict[tuple[str, ...], Target] = {}
        self.langs: dict[tuple[str, ...], set[str]] = {}
        self.symbols: dict[str, str] = {}
        self.word_langs: dict[str, set[str]] = {}

    def add(self, word: Any, target: Target, where: str, lang: str | None) -> None:
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


def _fillers(data: Mapping[str, Any], phrases: dict[tuple[str, ...], Target]) -> set[str]:
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
