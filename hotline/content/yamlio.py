"""YAML loading that remembers line numbers, so every content error can name file and line."""
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
    """A file that is not valid YAML; carries the line where the parser gave up."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path, self.line, self.problem = path, line, problem


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
        node = None  # worded (and placed) below by the pure-Python parser, as operators have always seen it
    if node is None:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise YamlError(path, mark.line + 1 if mark else None,
                            f"not valid YAML: {exc.problem or exc.context}") from None
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
