"""Where things are in the menu, in keys: the shortest path to a node, the keys that stop messages
and the keys that undo a cancellation.

Its own module because prompts (render.py, for {stop_keys}) and the call script both need it.
"""
from __future__ import annotations

from hotline.content.model import REFERENCE_LANG, Content


def reminder_rules(c: Content) -> list[str]:
    """The dates a caller can give for reminders, in the order of config/deadlines.yaml.

    A rule is offered when the prompts have its option (reminders.option.<rule>): the shipped prompts
    leave out the irregular crossing, whose limit is 24 hours, too short for a reminder (SMS never
    offered it either; the deadlines topic says it), and the certificate's expiry.
    """
    ref = c.prompts[REFERENCE_LANG]
    return [rule for rule in c.policy.rules if f"reminders.option.{rule}" in ref]


# What a caller can do about what the hotline keeps, in the reminders menu's last option
# ("mine"): keys from 1, (prompt key, action). Actions that end or delete something live here,
# one level down, so the reminders menu stays short and nobody deletes by a slip of the finger.
# Each needs proof that the caller holds the phone (channels/voice_proof.py); "undo" takes the code
# of our SMS and brings back what a STOP, DELETE or FILED took away (issue 14).
MINE_ACTIONS = (("reminders.option.filed", "filed"), ("reminders.option.delete", "delete"),
                ("reminders.option.undo", "undo"))


def has_mine(c: Content) -> bool:
    """Do the prompts have the "your reminders and your data" sub-menu (else filed/delete sit in the menu)?"""
    return "reminders.option.mine" in c.prompts[REFERENCE_LANG]


def reminder_options(c: Content) -> list[tuple[str, str, str]]:
    """The reminders menu, keys from 1: (key, prompt key, action: a rule id, "mine", "filed" or "delete")."""
    actions = [(f"reminders.option.{rule}", rule) for rule in reminder_rules(c)]
    actions += [("reminders.option.mine", "mine")] if has_mine(c) else list(MINE_ACTIONS)
    return [(str(i), prompt, action) for i, (prompt, action) in enumerate(actions, start=1)]


def mine_options(c: Content) -> list[tuple[str, str, str]]:
    """The "your reminders and your data" menu: (key, prompt key, action), keys from 1."""
    return [(str(i), prompt, action) for i, (prompt, action) in enumerate(MINE_ACTIONS, start=1)]


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
    (through "your reminders and your data" where the prompts have it: "5 4 2"). Said in one-way
    texts as {stop_keys}: "call {phone} and press {stop_keys}"."""
    return action_keys(c, "delete")


def action_keys(c: Content, action: str) -> str:
    """The keys from the main menu to one of MINE_ACTIONS ("5 4 3" for undo), or "" without a
    reminders menu. SMS texts say them: {stop_keys}, {undo_keys}."""
    reminders = next((n.id for n in c.nodes.values() if n.type == "reminders"), None)
    path = menu_path(c, reminders) if reminders else None
    if path is None:
        return ""
    options = reminder_options(c)
    mine = [key for key, _, a in options if a == "mine"]
    rest = mine_options(c) if mine else options
    return " ".join((*path, *mine, *(key for key, _, a in rest if a == action)))
