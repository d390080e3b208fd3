"""prompts/<lang>.yaml: read each language and check it against the reference language."""
from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

from babel import Locale

from hotline.content.menu_file import needed_prompts
from hotline.content.model import (
    KAZAKH_LETTERS,
    REFERENCE_LANG,
    Node,
    Settings,
)
from hotline.content.problems import Collector
from hotline.content.yamlio import Located, quoted, suggest
from hotline.rules import deadlines as dl


def placeholders(text: str) -> set[str]:
    """Names inside {braces} in a prompt."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:
        return {"<unbalanced braces>"}


def prompt_texts(value: Any) -> list[str]:
    """All texts of one prompt entry: a string, a list of parts, or plural forms."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, str)]
    return []


def read_prompts(root: Path, docs: dict[str, Located], settings: Settings | None, out: Collector) -> dict[str, dict]:
    """Every language's prompts as loaded (problems reported, nothing compared yet)."""
    prompts: dict[str, dict] = {}
    if not settings:
        return prompts
    for code in settings.languages:
        doc = docs.get(f"prompts/{code}.yaml")
        if doc is None:
            if (root / "prompts" / f"{code}.yaml").exists():
                continue  # already reported as a YAML problem
            out.add(root / "prompts" / f"{code}.yaml", (), f"language '{code}' has no prompts file",
                    f"Copy prompts/{REFERENCE_LANG}.yaml to prompts/{code}.yaml and translate it.")
            continue
        if not isinstance(doc.data, dict):
            out.add(doc, (), "the prompts file must be a list of 'key: text' lines", "See prompts/en.yaml.")
            continue
        prompts[code] = doc.data
    return prompts


def check_prompts(docs: dict[str, Located], settings: Settings, prompts: dict[str, dict],
                  nodes: dict[str, Node], policy: dl.Policy, out: Collector) -> None:
    """Every language against the reference one: keys, {names}, shapes, plural forms."""
    ref = prompts.get(REFERENCE_LANG)
    if ref is None:
        return
    ref_doc = docs[f"prompts/{REFERENCE_LANG}.yaml"]
    needed = needed_prompts(nodes, policy)
    for key in sorted(needed - set(ref)):
        out.add(ref_doc, (), f"prompt '{key}' is missing", f"Add '{key}: ...' to prompts/{REFERENCE_LANG}.yaml.")
    for key in sorted(k for k in ref if k.startswith("oneway.") and k.removeprefix("oneway.") not in ref):
        out.add(ref_doc, (key,), f"prompt '{key}' is a one-way variant of '{key.removeprefix('oneway.')}', "
                "which does not exist", "Name it after an existing prompt (oneway.<that prompt's key>), or remove it.")
    for code, table in prompts.items():
        doc = docs[f"prompts/{code}.yaml"]
        _check_keys(doc, code, table, ref_doc, ref, out)
        locale = Locale.parse(settings.languages[code].locale)
        for key, value in table.items():
            if key in ref:
                _check_prompt(doc, code, locale, key, value, ref[key], out)


def _check_keys(doc: Located, code: str, table: dict, ref_doc: Located, ref: dict, out: Collector) -> None:
    """A language's keys against the reference's: each missing one (and where it belongs), each extra one."""
    for key in sorted(set(ref) - set(table), key=lambda k: ref_doc.line(k) or 0):
        line, after = insertion_point(doc, list(ref), key)
        place = f"after '{after}'" if after else "at the top"
        out.add(doc, (), f"prompt '{key}' is missing in {code}: it belongs {place}, as in prompts/"
                f"{REFERENCE_LANG}.yaml line {ref_doc.line(key)}",
                f"Add '{key}:' here ({place}) with the {code} text of: {shown(ref[key])}", line=line)
    for key in sorted(set(table) - set(ref)):
        out.add(doc, (key,), f"prompt '{key}' is not used (it is not in prompts/{REFERENCE_LANG}.yaml)",
                "Remove it, or check its spelling." + suggest(key, [k for k in ref if k not in table]))


def _check_prompt(doc: Located, code: str, locale: Locale, key: str, value: object, ref_value: object,
                  out: Collector) -> None:
    """One prompt against the reference's: text, shape, {names}, plural forms, Kazakh letters."""
    if isinstance(value, list) and any(isinstance(part, dict) for part in value):
        for i, part in enumerate(value):
            if isinstance(part, dict):
                out.add(doc, (key, i), f"part {i + 1} of '{key}' has a colon followed by a space (\": \") "
                        f"in it, so YAML reads it as a name and a value instead of a text",
                        f"Put the whole part in quotes: - {quoted(as_text(part))}")
        return
    if not prompt_texts(value) or any(not t.strip() for t in prompt_texts(value)):
        out.add(doc, (key,), f"prompt '{key}' is empty or not text", "Write the text after the colon.")
        return
    if isinstance(ref_value, dict) != isinstance(value, dict) or isinstance(ref_value, list) != isinstance(value, list):
        out.add(doc, (key,), f"prompt '{key}' has a different shape than in {REFERENCE_LANG}",
                "A topic is a list of parts ('- ...'); a plural has forms (one:, other:).")
        return
    want = set().union(*(placeholders(t) for t in prompt_texts(ref_value)))
    for i, text in enumerate(prompt_texts(value)):
        got = placeholders(text)
        at = (key, i) if isinstance(value, list) else (key,)
        if got - want:
            out.add(doc, at, f"prompt '{key}' uses {{{', '.join(sorted(got - want))}}}, which "
                    f"prompts/{REFERENCE_LANG}.yaml does not", "Keep the {names} exactly as in English.")
        if want - got and not isinstance(value, list):
            out.add(doc, at, f"prompt '{key}' lacks {{{', '.join(sorted(want - got))}}}",
                    "Keep every {name} of the English text, untranslated.")
    if isinstance(value, dict):
        forms = {"other"} | set(locale.plural_form.tags)
        if missing := forms - set(value):
            out.add(doc, (key,), f"prompt '{key}' lacks plural forms {', '.join(sorted(missing))} for {code}",
                    f"{code} needs the forms: {', '.join(sorted(forms))}.")
    if code == "kk":
        for text in prompt_texts(value):
            words = re.findall(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]{4,}", text)
            if len(words) >= 4 and not KAZAKH_LETTERS & set(text):
                out.add(doc, (key,), f"prompt '{key}' looks Russian: no Kazakh letter (ә ғ қ ң ө ұ ү һ і)",
                        "Write it in Kazakh with Kazakh letters.", "warning")
                break


def insertion_point(doc: Located, order: list[str], key: str) -> tuple[int | None, str | None]:
    """Where a missing `key` belongs in `doc`: the line to add it at, and the key it follows.

    It follows the nearest key before it (in the reference file's order) that `doc` has, and goes
    just before the entry that comes after that one in `doc` (or at the end of the file)."""
    present = [k for k in doc.data if isinstance(k, str)] if isinstance(doc.data, dict) else []
    before = order[:order.index(key)] if key in order else []
    after = next((k for k in reversed(before) if k in present), None)
    if after is None:
        return (doc.line(present[0]) if present else 1), None
    following = present[present.index(after) + 1:]
    if following:
        return doc.line(following[0]), after
    return len(doc.path.read_text(encoding="utf-8").splitlines()) + 1, after


def as_text(part: dict) -> str:
    """A list part YAML read as {name: value} back into the sentence the operator wrote."""
    name, value = next(iter(part.items()))
    return f"{name}: {value}" if value is not None else f"{name}:"


def shown(value: Any) -> str:
    texts = prompt_texts(value)
    first = texts[0] if texts else ""
    return f'"{first[:80]}…"' if len(first) > 80 or len(texts) > 1 else f'"{first}"'
