"""Operator-editable content: load every file, validate it, and hand out one immutable snapshot.

Everything a caller hears or receives comes from `config/`, `prompts/` and `audio/`. Loading
validates the whole set at once and reports each problem with file, line, what is wrong and how
to fix it, so a broken edit is refused before it reaches a caller.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

from hotline.content.menu_file import read_menu, read_offices
from hotline.content.model import (
    KEYPAD,
    REFERENCE_LANG,
    Content,
    ContentError,
    Settings,
)
from hotline.content.problems import Collector
from hotline.content.prompts_file import check_prompts, read_prompts
from hotline.content.settings_file import read_settings
from hotline.content.yamlio import Located, YamlError, load
from hotline.rules import deadlines as dl
from hotline.rules.keywords import Vocabulary


def content_files(root: Path) -> list[Path]:
    """Every file whose change must reload content (used for the version and live reload)."""
    files = [root / "config" / n for n in ("hotline.yaml", "menu.yaml", "offices.yaml", "deadlines.yaml", "keywords.yaml",
                                           "handoff.yaml")]
    files += sorted((root / "prompts").glob("*.yaml"))
    return files


def fingerprint(root: Path) -> str:
    """A cheap identity of the content on disk: names, sizes and modification times."""
    h = hashlib.sha1()
    for f in content_files(root):
        try:
            st = f.stat()
            h.update(f"{f}:{st.st_size}:{st.st_mtime_ns};".encode())
        except FileNotFoundError:
            h.update(f"{f}:missing;".encode())
    return h.hexdigest()


def load_content(root: Path, today: date | None = None) -> Content:
    """Load and validate all content under `root`; raise ContentError listing every error."""
    root = Path(root)
    out = Collector(root)
    docs: dict[str, Located] = {}
    for f in content_files(root):
        if f.name == "handoff.yaml" and not f.exists():
            continue  # optional: without it nobody can be reached by phone (see _handoff)
        try:
            docs[f"{f.parent.name}/{f.name}"] = load(f)
        except YamlError as exc:
            out.add(f, (), exc.problem, exc.fix or "Compare it with another file of the same kind.", line=exc.line)
    required = ["config/hotline.yaml", "config/menu.yaml", "config/offices.yaml", "config/deadlines.yaml",
                "config/keywords.yaml"]
    if any(r not in docs for r in required):
        raise ContentError(out.problems)

    settings = read_settings(docs["config/hotline.yaml"], out)
    policy = _policy(docs["config/deadlines.yaml"], out)
    vocabulary = _vocabulary(docs["config/keywords.yaml"], out)
    offices = read_offices(docs["config/offices.yaml"], settings, out, today or date.today())
    prompts = read_prompts(root, docs, settings, out)
    nodes = read_menu(docs["config/menu.yaml"], settings, offices, prompts, out)
    if settings and prompts and policy:
        check_prompts(docs, settings, prompts, nodes, policy, out)
    handoff = _handoff(docs.get("config/handoff.yaml"), settings, prompts, out)
    if vocabulary and policy and prompts:
        _check_reminder_words(docs["config/keywords.yaml"], vocabulary, policy, prompts, out)
    errors = [p for p in out.problems if p.severity == "error"]
    if not (settings and policy and vocabulary):
        raise ContentError(out.problems)
    version = hashlib.sha1(repr((sorted(prompts.items(), key=str), sorted(nodes.items(), key=str),
                                 sorted(offices.items(), key=str))).encode()).hexdigest()[:12]
    content = Content(root, settings, nodes, offices, prompts, policy, vocabulary, version,
                      tuple(p for p in out.problems if p.severity == "warning"), handoff)
    usable = REFERENCE_LANG in prompts and "main" in nodes
    if errors:
        raise ContentError(out.problems, content if usable else None)
    from hotline.content.budget import check_sms  # the same measure `hotline check` prints: one rule, two places
    too_long, _ = check_sms(content)
    if too_long:
        raise ContentError(out.problems + too_long, content)
    return content


def _handoff(doc: Located | None, settings: Settings | None, prompts: dict[str, dict], out: Collector):
    """config/handoff.yaml (optional: without it, and without a `person` key, nobody can be reached)."""
    from hotline.content import handoff as ho
    if doc is None or settings is None:
        if settings and settings.keys.person:
            out.add(doc.path if doc else Path("config/handoff.yaml"), (), "the 'person' key is set but "
                    "config/handoff.yaml is missing", "Restore config/handoff.yaml (office hours, routing).")
        return None
    result = ho.parse(doc.data, lambda keys, message, fix="": out.add(doc, keys, message, fix),
                      list(settings.languages), KEYPAD, dl.zone)
    if result is None:
        return None
    if settings.keys.person:
        wanted = ho.spoken_hour_numbers(result)
        minutes = str(result.max_record_seconds // 60)
        for code, table in prompts.items():
            said = ho.numbers_in(str(table.get("person.hours", "")))
            if missing := wanted - said:
                out.add(doc, ("hours",), f"prompts/{code}.yaml person.hours does not say {', '.join(sorted(missing))}, "
                        "which config/handoff.yaml sets", f"Update person.hours in prompts/{code}.yaml to the new hours.")
            record = str(table.get("person.record", ""))
            if result.max_record_seconds % 60 == 0 and minutes not in ho.numbers_in(record):
                out.add(doc, ("voicemail", "max_seconds"), f"prompts/{code}.yaml person.record does not say "
                        f"{minutes} minutes, the length config/handoff.yaml allows",
                        f"Make person.record say {minutes}, or set max_seconds to match it.")
        if result.finish_key == settings.keys.person:
            out.add(doc, ("voicemail", "finish_key"), "finish_key is the 'person' key", "Use # (the usual finish key).")
    return result


def _policy(doc: Located, out: Collector) -> dl.Policy | None:
    try:
        policy = dl.Policy.from_dict(doc.data or {})
    except (ValueError, TypeError) as exc:
        rule = re.search(r"rule '([^']+)'", str(exc))
        out.add(doc, ("rules", rule.group(1)) if rule else (), str(exc),
                "Compare with the comments at the top of the file.")
        return None
    return policy


def _check_reminder_words(doc: Located, vocabulary: Vocabulary, policy: dl.Policy, prompts: dict, out: Collector) -> None:
    """Every rule a keyword can ask reminders for must exist and have its reminder SMS in every language:
    else the hotline would say "reminders are on" and the worker would fail at send time."""
    for rule in sorted(vocabulary.rule_names()):
        if rule not in policy.rules:
            out.add(doc, ("reminder_rules", rule), f"reminder_rules.{rule}: config/deadlines.yaml has no rule '{rule}'",
                    f"Use one of: {', '.join(sorted(policy.rules))}.")
            continue
        missing = [lang for lang, table in prompts.items() if f"sms.reminder.{rule}" not in table]
        if missing:
            out.add(doc, ("reminder_rules", rule),
                    f"reminder_rules.{rule}: there is no reminder SMS 'sms.reminder.{rule}' in {', '.join(missing)}",
                    f"Add sms.reminder.{rule} to prompts/{missing[0]}.yaml (and every language), or remove this rule here.")


def _vocabulary(doc: Located, out: Collector) -> Vocabulary | None:
    try:
        return Vocabulary.from_dict(doc.data or {})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        out.add(doc, (), f"keywords cannot be read: {exc}", "Compare with the structure described at the top.")
        return None


