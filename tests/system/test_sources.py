"""docs/SOURCES.md stays in step with the shipped content: every office, deadline rule and topic that
callers hear is listed there with its source, and nothing is listed that callers no longer hear.

This reads the shipped content (not the test fixture) on purpose: it is the content the page describes.
"""
from __future__ import annotations

import re

import yaml

from support import ROOT

SOURCES = ROOT / "docs" / "SOURCES.md"


def section(title: str) -> str:
    text = SOURCES.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def table(title: str) -> list[list[str]]:
    """The rows of the first Markdown table under '## title' (header and rule lines left out)."""
    rows = [line for line in section(title).splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def load(relative: str) -> dict:
    return yaml.safe_load((ROOT / relative).read_text(encoding="utf-8"))


def test_every_office_with_its_address_and_source() -> None:
    offices = load("config/offices.yaml")["offices"]
    listed = {row[0]: (row[1], row[2]) for row in table("Offices")}
    assert listed == {oid: (o["address"]["en"], o["source"]) for oid, o in offices.items()}


def period(rule: dict) -> str:
    (unit, n), = rule["period"].items()
    return f"{n} {unit}" if n != 1 else f"{n} {unit.rstrip('s')}"


def test_every_deadline_rule_with_its_period_and_source() -> None:
    rules = load("config/deadlines.yaml")["rules"]
    listed = {row[0]: tuple(row[1:4]) for row in table("Deadlines")}
    assert listed == {rid: (period(r), r["counted_from"], r["source"]) for rid, r in rules.items()}


def test_every_topic_callers_hear_has_its_facts_and_sources() -> None:
    nodes = load("config/menu.yaml")["nodes"]
    topics = {nid for nid, n in nodes.items() if n["type"] == "content"}
    listed = set(re.findall(r"^### .+ \(`([\w.]+)`\)$", section("Topics"), re.M))
    assert listed == topics
    for tid in topics:
        body = section("Topics").split(f"(`{tid}`)\n", 1)[1].split("\n### ", 1)[0]
        assert re.search(r"\((GUIDE|NEWS|UNHCR|GOV|LAW|APPC)", body), f"topic '{tid}' names its sources"


def test_every_period_typed_into_a_prompt_is_explained() -> None:
    """A period is typed (not a {placeholder}) only on purpose, and the page says why."""
    en = load("prompts/en.yaml")
    texts = [t for v in en.values() for t in (v if isinstance(v, list) else [v]) if isinstance(t, str)]
    typed = {int(n) for t in texts for n in re.findall(r"\b(\d+) hours?\b", t)}
    assert typed, "the irregular-crossing limit is typed as hours (see the page)"
    for n in typed:
        assert f'**"{n} hours" is typed into prompts on purpose.**' in section("Deadlines")


def test_every_source_named_in_the_content_is_described() -> None:
    names = {row[0] for row in table("The sources")}
    used = set()
    for o in load("config/offices.yaml")["offices"].values():
        used |= set(re.findall(r"\b[A-Z]{2,}\b", o["source"]))
    for r in load("config/deadlines.yaml")["rules"].values():
        used |= set(re.findall(r"\b[A-Z]{2,}\b", r["source"]))
    assert used <= names, used - names
