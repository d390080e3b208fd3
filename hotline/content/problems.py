"""Problems found while loading content, each with the file it belongs to (for operators)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.content.model import (
    Problem,
)
from hotline.content.yamlio import Located


class Collector:
    """Gathers problems with the file they belong to."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def add(self, doc: Located | Path, keys: tuple, message: str, fix: str = "", severity: str = "error",
            line: int | None = None) -> None:
        path = doc.path if isinstance(doc, Located) else doc
        if line is None:
            line = doc.line(*keys) if isinstance(doc, Located) else None
        try:
            name = str(path.relative_to(self.root))
        except ValueError:
            name = str(path)
        self.problems.append(Problem(name, line, message, fix, severity))


def get(doc: Located, out: Collector, keys: tuple, kind: type | tuple, fix: str) -> Any:
    """Fetch a nested value and check its type, reporting a clear problem when it is wrong."""
    value: Any = doc.data
    for k in keys:
        if not isinstance(value, dict) or k not in value:
            out.add(doc, keys[:-1], f"'{'.'.join(map(str, keys))}' is missing", fix)
            return None
        value = value[k]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        out.add(doc, keys, f"'{'.'.join(map(str, keys))}' has the wrong kind of value ({value!r})", fix)
        return None
    return value
