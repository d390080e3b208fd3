"""Where things are in the menu, in keys: the shortest path to a node, and the keys that stop messages.

Its own module because prompts (render.py, for {stop_keys}) and the call script both need it.
"""
from __future__ import annotations

from hotline.content.model import Content

# The dates a caller can give for reminders, in keypad order; the next key means "already filed".
REMINDER_RULES = ("filing", "filing_irregular", "fingerprinting", "appeal")


def menu_path(c: Content, node_id: str) -> tuple[str, ...] | None:
    """The fewest keys from the main menu to a node (after the language), or None."""
    paths: dict[str, tuple[str, ...]] = {"main": ()}
    todo = ["main"]
    while todo:
        nid = todo.pop(0)
        for key, target in c.nodes[nid].options.items():
            if target not in paths and target in c.nodes:
                paths[target] = paths[nid] + (key,)
                todo.append(target)
    return paths.get(node_id)


def stop_keys(c: Content) -> str:
    """The keys that stop every message, from the main menu: the reminders menu, then "delete"
    ("7 6"). Said in one-way texts as {stop_keys}: "call {phone} and press {stop_keys}"."""
    reminders = next((n.id for n in c.nodes.values() if n.type == "reminders"), None)
    path = menu_path(c, reminders) if reminders else None
    if path is None:
        return ""
    return " ".join((*path, str(len(REMINDER_RULES) + 2)))
