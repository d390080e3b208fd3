"""The shipped keywords against real-looking messages: what each one must make the hotline do.

The corpus (keyword_corpus.yaml, next to this file) holds at least 50 messages per language:
questions, topic names as people copy them from a menu, greetings, plain requests to stop,
typos. A word that ends or removes something (STOP, DELETE, FILED) counts only as the whole
message; a topic's own name ("Бас тарту", a refusal) must never unsubscribe anyone.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hotline.rules.keywords import Vocabulary

ROOT = Path(__file__).resolve().parents[2]
CORPUS = yaml.safe_load((Path(__file__).with_name("keyword_corpus.yaml")).read_text(encoding="utf-8"))
VOCAB = Vocabulary.load(ROOT / "config" / "keywords.yaml")
CASES = [(lang, case) for lang, cases in CORPUS.items() for case in cases]


def test_the_corpus_has_at_least_50_messages_per_language() -> None:
    assert {lang: len(cases) >= 50 for lang, cases in CORPUS.items()} == {"kk": True, "ru": True, "en": True}


def test_the_corpus_covers_stop_requests_questions_and_topic_names_in_every_language() -> None:
    for lang, cases in CORPUS.items():
        expected = [c["expect"] for c in cases]
        assert expected.count("stop") >= 10, lang
        assert expected.count(None) >= 8, lang  # questions, greetings, topic names: the help text
        assert {"delete", "filed", "yes", "help", "addresses", "remind"} <= set(expected), lang


@pytest.mark.parametrize(("lang", "case"), CASES, ids=[f"{lang}:{c['text']}" for lang, c in CASES])
def test_message_gets_its_expected_action(lang: str, case: dict) -> None:
    m = VOCAB.match(case["text"])
    assert (m.intent if m else None) == case["expect"]
    if case.get("city"):
        assert m is not None and m.city == case["city"]
