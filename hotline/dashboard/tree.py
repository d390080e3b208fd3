"""The menu as callers hear it, with the sound source of every slot."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import render_template, request
from flask.typing import ResponseReturnValue

from hotline.content.audio import AudioLibrary, Utterance
from hotline.content.model import Content, Language
from hotline.content.script import heard_as, node_utterances, recording_slots
from hotline.dashboard.blueprint import operator_bp
from hotline.runtime.hotline import current
from hotline.runtime.speech import Speaker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    key: str
    text: str
    status: str


@dataclass(frozen=True)
class TreeNode:
    key: str
    id: str
    type: str
    slots: list[Slot]
    children: list["TreeNode"]


def audio_status(library: AudioLibrary, speaker: Speaker, lang: Language, u: Utterance) -> str:
    """recorded / draft / stale / unverified when a recording exists, else what callers hear instead."""
    status = library.status(lang.code, u.key or "", u.text)
    return speaker.source(lang, u) if status == "none" else status


def menu_tree(c: Content, library: AudioLibrary, speaker: Speaker, lang: str, node_id: str = "main",
              key: str = "") -> TreeNode:
    """A node with its own recording slots (footers are listed once, apart) and its options below it."""
    language, node = c.settings.languages[lang], c.nodes[node_id]
    parts = len(c.prompts[lang][node.id]) if node.type == "content" else 1
    heard = {p.key: p for part in range(parts) for u in node_utterances(c, lang, node, part) for p in heard_as(u)
             if p.key and not p.key.startswith("footer.")}  # a played language records the pieces of a sentence
    slots = [Slot(k, p.text, audio_status(library, speaker, language, p)) for k, p in heard.items()]
    children = [menu_tree(c, library, speaker, lang, target, k) for k, target in node.options.items()]
    return TreeNode(key, node.id, node.type, slots, children)


def tree_keys(node: TreeNode) -> set[str]:
    return {s.key for s in node.slots}.union(*(tree_keys(child) for child in node.children))


@operator_bp.get("/menu")
def menu() -> ResponseReturnValue:
    hl = current()
    c, library, speaker = hl.content, hl.library, hl.speaker()
    lang = request.args.get("lang", "")
    lang = lang if lang in c.settings.languages else c.settings.default_language
    tree = menu_tree(c, library, speaker, lang)
    shown = tree_keys(tree)
    others = [Slot(k, text, audio_status(library, speaker, c.settings.languages[lang], Utterance(text, k)))
              for k, text in recording_slots(c, lang).items() if k not in shown]
    names = {code: c.prompts[code]["language.name"] for code in c.settings.languages}
    return render_template("operator_menu.html", tree=tree, others=others, lang=lang, names=names)
