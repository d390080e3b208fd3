"""A YAML mistake is reported on the line the operator got wrong, in their words, with the fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from hotline.content.yamlio import YamlError, load

CASES = [
    # an unquoted ": " inside a Russian sentence
    ("a: один\nerror.silence: Я не услышала: нажмите клавишу.\nc: три\n", 2,
     'the text has a colon followed by a space (": ") in it, which YAML reads as the start of another name',
     'Put the text in quotes: error.silence: "Я не услышала: нажмите клавишу."'),
    # the same in a text that already has double quotes: single quotes then
    ('a: one\nb: He said "go": now\n', 2,
     'the text has a colon followed by a space (": ") in it, which YAML reads as the start of another name',
     """Put the text in quotes: b: 'He said "go": now'"""),
    # a line indented under one that opens nothing
    ("a: one\n  b: two\nc: three\n", 2,
     "this line starts 2 spaces in, the lines around it 0: the spaces at the start of a line say what it belongs to",
     "Start the line 0 spaces in, like lines 1 and 3."),
    # a plural form moved left: PyYAML gives up one line later, on line 4
    ("period.days:\n  one: \"{n} день\"\nfew: \"{n} дня\"\n  many: \"{n} дней\"\n", 3,
     "this line starts 0 spaces in, the lines around it 2: the spaces at the start of a line say what it belongs to",
     "Start the line 2 spaces in, like lines 2 and 4."),
    # a plural form one space too far right
    ("period.days:\n  one: x\n   few: y\n  many: z\n", 3,
     "this line starts 3 spaces in, the lines around it 2: the spaces at the start of a line say what it belongs to",
     "Start the line 2 spaces in, like lines 2 and 4."),
    # a part of a topic not lined up with the others
    ("ways:\n  - one\n- two\nnext: x\n", 3,
     "this line is a part of the list above it, but it starts 0 spaces in, while line 2 starts 2 spaces in",
     "Start the line 2 spaces in, like line 2."),
    ("a: one\n\tb: two\n", 2,
     "this line is indented with a tab; YAML files are indented with spaces only",
     "Replace the tab at the start of the line with spaces, as many as the line above it uses."),
    ('a: "one\nb: two\n', 1,
     'the text on this line starts with a quote (") that is never closed',
     'Add the closing " at the end of the text, on the same line.'),
    ('a: "one" more\nb: two\n', 1,
     "there is more text after the closing quote on this line",
     'Put the whole text inside one pair of quotes. A " inside the text is written \\".'),
    ("kk:\n  welcome: {file: welcome.wav\n", 2,
     "the { on this line is never closed",
     "Add the closing } at the end of the line, or put the text in quotes if the { belongs to it."),
    ("a: one\nb two\nc: three\n", 2,
     "this line has no 'name:' at the start, so it is neither a new entry nor part of one",
     "Write it as 'name: text'. If it continues the text of the line above, join the two lines."),
]


@pytest.mark.parametrize(("text", "line", "message", "fix"), CASES)
def test_the_wrong_line_in_plain_words(tmp_path: Path, text: str, line: int, message: str, fix: str) -> None:
    path = tmp_path / "ru.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlError) as info:
        load(path)
    assert (info.value.line, info.value.problem, info.value.fix) == (line, message, fix)


def test_valid_yaml_still_loads_with_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text('a: "Важно: кавычки"\nways:\n  - one\n  - two\n', encoding="utf-8")
    doc = load(path)
    assert doc.data == {"a": "Важно: кавычки", "ways": ["one", "two"]}
    assert doc.line("ways", 1) == 4
