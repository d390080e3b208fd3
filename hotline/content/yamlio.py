"""YAML loading that remembers line numbers, so every content error can name file and line.

A syntax error is reported on the line the operator got wrong, in their words, with the fix
(PyYAML says where its parser gave up, in parser words, often one line late).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Located:
    """A parsed YAML document plus the line (1-based) where each key path starts."""

    path: Path
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    def line(self, *keys: Any) -> int | None:
        """Line of the deepest known key along `keys` (falls back to its parents)."""
        for n in range(len(keys), -1, -1):
            if keys[:n] in self.lines:
                return self.lines[keys[:n]]
        return None


class YamlError(Exception):
    """A file that is not valid YAML: the line that is wrong, what is wrong, and how to fix it."""

    def __init__(self, path: Path, line: int | None, problem: str, fix: str = "") -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path, self.line, self.problem, self.fix = path, line, problem, fix


def load(path: Path) -> Located:
    """Parse `path`; raise YamlError (with a line) on syntax errors or duplicate keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlError(path, None, "file is missing") from None
    except UnicodeDecodeError as exc:
        raise YamlError(path, None, f"file is not UTF-8 text ({exc.reason})") from None
    try:
        node = yaml.compose(text, Loader=_FAST)
    except yaml.YAMLError:
        node = None  # worded (and placed) below by the pure-Python parser, which says where it gave up
    if node is None:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            said = explain(text, exc)
            raise YamlError(path, said.line, said.message, said.fix) from None
    lines: dict[tuple, int] = {}
    scalars = yaml.SafeLoader("")  # one constructor per file: scalars keep YAML's own typing (dates, numbers)
    data = _build(node, (), lines, path, scalars) if node is not None else None
    return Located(path, data, lines)


# libyaml (PyYAML's C parser, when installed) builds the same nodes, with the same lines, about 18x
# faster than the pure-Python one: every content load and reload parses eight files.
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _build(node: yaml.Node, at: tuple, lines: dict[tuple, int], path: Path, scalars: yaml.SafeLoader) -> Any:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = scalars.construct_object(key_node, deep=True)
            if key in out:
                raise YamlError(path, key_node.start_mark.line + 1, f"key '{key}' appears twice")
            lines[at + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, at + (key,), lines, path, scalars)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, at + (i,), lines, path, scalars) for i, item in enumerate(node.value)]
    return scalars.construct_object(node, deep=True)


# ---- syntax errors in an operator's words -------------------------------------------------------

@dataclass(frozen=True)
class Explained:
    line: int | None  # 1-based
    message: str
    fix: str


def _indent(s: str) -> int:
    return len(s) - len(s.lstrip(" "))


def _is_content(s: str) -> bool:
    t = s.strip()
    return bool(t) and not t.startswith("#")


def _opens_block(s: str) -> bool:
    """`key:` or `- key:` with nothing after the colon (a comment aside): the next lines belong to it."""
    t = s.split(" #", 1)[0].rstrip()
    return t.endswith(":") or t.endswith("|") or t.endswith(">") or t in ("-",)


def quoted(text: str) -> str:
    """`text` as a YAML string in quotes (double unless the text has them)."""
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _split_value(s: str) -> tuple[str, str] | None:
    """`  key: value` -> ('  key: ', 'value'); `  - value` -> ('  - ', 'value'); else None."""
    stripped = s.lstrip(" ")
    lead = s[: len(s) - len(stripped)]
    if stripped.startswith("- "):
        return lead + "- ", stripped[2:].strip()
    key, sep, value = stripped.partition(": ")
    if sep and key and not key.startswith(("'", '"')):
        return lead + key + ": ", value.strip()
    return None


def explain(text: str, exc: yaml.MarkedYAMLError) -> Explained:
    """Turn a PyYAML error on `text` into the culprit line, a plain message and a fix.

    Errors of a single token (a tab, an open quote or bracket, text after a quote, a line without
    'name:') are recognised first; everything else is a question of the spaces at line starts.
    """
    lines = text.splitlines()
    mark = exc.problem_mark or exc.context_mark
    at = min(mark.line, len(lines) - 1) if mark and lines else None
    if mark is None or at is None:
        return Explained(None, "the file is not valid YAML", "Compare it with another file of the same kind.")
    if not _is_content(lines[at]):
        before = _prev(lines, at)
        at = before if before is not None else at
    return _token(lines, at, mark.column, exc) or _layout(lines, at, exc.problem or "")


def _prev(lines: list[str], i: int) -> int | None:
    """The nearest line above `i` that holds content (not blank, not a comment)."""
    i -= 1
    while i >= 0 and not _is_content(lines[i]):
        i -= 1
    return i if i >= 0 else None


def _next(lines: list[str], i: int) -> int | None:
    i += 1
    while i < len(lines) and not _is_content(lines[i]):
        i += 1
    return i if i < len(lines) else None


def _token(lines: list[str], at: int, column: int, exc: yaml.MarkedYAMLError) -> Explained | None:
    """Errors that one character or token explains; None when it is not one of them."""
    problem, context, opened_at = exc.problem or "", exc.context or "", exc.context_mark
    # A tab at the start of a line: YAML indents with spaces only.
    if "'\\t'" in problem:
        tab = next((i for i, s in enumerate(lines) if s[: len(s) - len(s.lstrip())].count("\t")), at)
        return Explained(tab + 1, "this line is indented with a tab; YAML files are indented with spaces only",
                         "Replace the tab at the start of the line with spaces, as many as the line above it uses.")
    if opened_at is not None:
        opened = opened_at.line
        char = lines[opened][opened_at.column] if opened_at.column < len(lines[opened]) else None
        # A quote that is never closed.
        if "quoted scalar" in context:
            q = char or '"'
            return Explained(opened + 1, f"the text on this line starts with a quote ({q}) that is never closed",
                             f"Add the closing {q} at the end of the text, on the same line.")
        # A { or [ that is never closed: {file: a.wav
        if "flow" in context and "expected ','" in problem:
            bracket = char or "{"
            closing = "}" if bracket == "{" else "]"
            return Explained(opened + 1, f"the {bracket} on this line is never closed",
                             f"Add the closing {closing} at the end of the line, or put the text in quotes if the "
                             f"{bracket} belongs to it.")
    # Text after the closing quote: "a": "one" more
    if "found '<scalar>'" in problem and any(c in lines[at][:column] for c in "\"'"):
        return Explained(at + 1, "there is more text after the closing quote on this line",
                         "Put the whole text inside one pair of quotes. A \" inside the text is written \\\".")
    # A line without "key:" where a key was expected.
    if "could not find expected ':'" in problem and opened_at is not None:
        return Explained(opened_at.line + 1,
                         "this line has no 'name:' at the start, so it is neither a new entry nor part of one",
                         "Write it as 'name: text'. If it continues the text of the line above, join the two lines.")
    return None


def _layout(lines: list[str], at: int, problem: str) -> Explained:
    """Indentation and stray colons: which line is out of step with its neighbours, and how far in."""
    # The odd one out between two lines that agree, checking the line before the parser's mark
    # first (it often gives up one line late).
    for c in (_prev(lines, at), at):
        if c is None:
            continue
        p, n = _prev(lines, c), _next(lines, c)
        if p is None or n is None:
            continue
        if _opens_block(lines[p]) and _indent(lines[c]) > _indent(lines[p]):
            continue  # the first line inside a block may start further right
        if _indent(lines[p]) == _indent(lines[n]) != _indent(lines[c]):
            want = _indent(lines[n])
            return Explained(c + 1, f"this line starts {_indent(lines[c])} spaces in, the lines around it "
                                    f"{want}: the spaces at the start of a line say what it belongs to",
                             f"Start the line {want} spaces in, like lines {p + 1} and {n + 1}.")
    p = _prev(lines, at)
    if p is not None and _indent(lines[at]) > _indent(lines[p]) and not _opens_block(lines[p]):
        return Explained(at + 1, f"this line starts further right ({_indent(lines[at])} spaces) than the line "
                                 f"above it ({_indent(lines[p])}), which does not end with ':'",
                         f"Start the line {_indent(lines[p])} spaces in, like line {p + 1}.")
    # ": " inside a text: YAML reads it as the start of another key.
    if "mapping values are not allowed" in problem:
        parts = _split_value(lines[at])
        if parts and (": " in parts[1] or parts[1].endswith(":")):
            head, value = parts
            return Explained(at + 1, "the text has a colon followed by a space (\": \") in it, which YAML reads "
                                     "as the start of another name",
                             f"Put the text in quotes: {head.strip()} {quoted(value)}")
    if p is not None and _indent(lines[at]) != _indent(lines[p]) and not (
            _opens_block(lines[p]) and _indent(lines[at]) > _indent(lines[p])):
        return _misaligned(lines, at)
    return Explained(at + 1, "the file stops being valid YAML here",
                     "Compare this line with the lines around it: quotes, colons and the spaces at the start.")


def _misaligned(lines: list[str], at: int) -> Explained:
    """A list part or entry that starts at another column than the last one of its kind."""
    item = lines[at].lstrip(" ").startswith("- ")
    like = next((i for i in range(at - 1, -1, -1) if _is_content(lines[i])
                 and lines[i].lstrip(" ").startswith("- ") == item), None)
    kind = "a part of the list above it" if item else "an entry"
    if like is not None and _indent(lines[like]) != _indent(lines[at]):
        return Explained(at + 1, f"this line is {kind}, but it starts {_indent(lines[at])} spaces in, while line "
                                 f"{like + 1} starts {_indent(lines[like])} spaces in",
                         f"Start the line {_indent(lines[like])} spaces in, like line {like + 1}.")
    return Explained(at + 1, "this line is not lined up with the lines above it",
                     "Start it as far in as the other lines of the same list or group.")


def closest(name: str, candidates: list[str] | set[str]) -> str | None:
    """The existing name `name` was probably meant to be ('childrn' -> 'children'), if one is close."""
    import difflib

    close = difflib.get_close_matches(name, [str(c) for c in candidates], n=1, cutoff=0.7)
    return close[0] if close else None


def suggest(name: str, candidates: list[str] | set[str]) -> str:
    """' Did you mean 'children'?' for a name close to one that exists; '' otherwise."""
    close = closest(name, candidates)
    return f" Did you mean '{close}'?" if close else ""
