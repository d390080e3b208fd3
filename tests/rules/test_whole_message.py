"""Keywords that end or remove something count only as the whole message."""
from __future__ import annotations

import pytest

from hotline.rules.keywords import Vocabulary

VOCAB = Vocabulary.from_dict({
    "intents": {
        "stop": {"en": ["stop", "stop sending"], "kk": ["тоқтату"]},
        "delete": {"en": ["delete", "delete my data"]},
        "filed": {"en": ["filed"]},
        "help": {"en": ["help"]},
        "remind": {"en": ["remind"]},
    },
    "whole_message": ["stop", "delete", "filed"],
    "surround": {"en": ["please", "me", "messages"], "kk": ["өтінемін"]},
    "cities": {"almaty": ["Almaty"]},
})


@pytest.mark.parametrize(("text", "intent"), [
    ("STOP", "stop"), ("stop!", "stop"), ("please stop", "stop"), ("Stop please", "stop"),
    ("stop sending me messages", "stop"), ("please stop sending me messages please", "stop"),
    ("ТОКТАТУ өтінемін", "stop"), ("stpo", "stop"), ("delete my data please", "delete"), ("FILED", "filed"),
])
def test_a_whole_message_keyword_with_courtesy_words_around_it(text: str, intent: str) -> None:
    m = VOCAB.match(text)
    assert m is not None and (m.intent, m.argument) == (intent, "")


@pytest.mark.parametrize("text", [
    "stop, where is the office in Almaty?", "stop 3.12", "delete the reminder for 3.12", "filed yesterday",
    "please", "me messages", "how do I stop", "I want to stop",
])
def test_inside_a_longer_text_it_is_no_keyword(text: str) -> None:
    assert VOCAB.match(text) is None


def test_other_keywords_still_take_an_argument() -> None:
    m = VOCAB.match("remind 3.12")
    assert m is not None and (m.intent, m.argument) == ("remind", "3.12")


def test_the_whole_message_intents_are_configurable() -> None:
    vocab = Vocabulary.from_dict({"intents": {"stop": {"en": ["stop"]}, "help": {"en": ["help"]}},
                                  "whole_message": ["stop", "help"]})
    assert vocab.whole_message_intents == frozenset({"stop", "help"})
    assert vocab.match("help me") is None
    with pytest.raises(ValueError, match="whole_message: 'nope' is not an intent"):
        Vocabulary.from_dict({"intents": {"stop": {"en": ["stop"]}}, "whole_message": ["nope"]})


def test_without_the_setting_stop_delete_and_filed_are_whole_message() -> None:
    vocab = Vocabulary.from_dict({"intents": {"stop": {"en": ["stop"]}, "remind": {"en": ["remind"]}}})
    assert vocab.whole_message_intents == frozenset({"stop"})
    assert vocab.match("stop now") is None and vocab.match("remind now").intent == "remind"
