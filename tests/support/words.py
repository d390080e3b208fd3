"""Typo variants of keywords, for the tests that prove a typo never turns one intent into another."""
from __future__ import annotations


def one_edit_variants(word: str, alphabet: str) -> set[str]:
    """Every string one edit away from `word`: a letter dropped, replaced or inserted (from
    `alphabet`), or two neighbours swapped."""
    out = set()
    for i in range(len(word)):
        out.add(word[:i] + word[i + 1 :])
        for ch in alphabet:
            out.add(word[:i] + ch + word[i + 1 :])
    for i in range(len(word) + 1):
        for ch in alphabet:
            out.add(word[:i] + ch + word[i:])
    for i in range(len(word) - 1):
        out.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    out.discard(word)
    return out
