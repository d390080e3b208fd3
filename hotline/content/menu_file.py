"""config/offices.yaml and config/menu.yaml: the offices and the menu tree, read and checked."""
from __future__ import annotations

from datetime import date

from hotline.content.model import (
    KEYPAD,
    NODE_TYPES,
    Node,
    Office,
    Settings,
)
from hotline.content.problems import Collector, get
from hotline.content.yamlio import Located, closest, suggest
from hotline.rules import deadlines as dl


def read_offices(doc: Located, settings: Settings | None, out: Collector, today: date) -> dict[str, Office]:
    """The offices; an office whose fields are wrong is reported and left out."""
    raw = get(doc, out, ("offices",), dict, "List the offices under 'offices:'.") or {}
    langs = list(settings.languages) if settings else []
    offices: dict[str, Office] = {}
    for oid, spec in raw.items():
        if not isinstance(spec, dict):
            out.add(doc, ("offices", oid), f"office '{oid}' must be a set of fields", "See the other offices.")
            continue
        fields = {}
        for name in ("city", "address", "short", "note"):
            v = spec.get(name, {} if name == "note" else None)
            if not isinstance(v, dict):
                out.add(doc, ("offices", oid, name), f"office '{oid}' has no {name} per language",
                        f"Add {name}: with one line per language ({', '.join(langs)}).")
                v = {}
            missing = [l for l in langs if l not in v and (name != "note" or v)]
            if missing:
                out.add(doc, ("offices", oid, name), f"office '{oid}' {name} is missing for {', '.join(missing)}",
                        f"Add the {name} in {', '.join(missing)}.")
            fields[name] = {str(k): str(t) for k, t in v.items()}
        verified = spec.get("verified_on")
        if not isinstance(verified, date):
            out.add(doc, ("offices", oid, "verified_on"), f"office '{oid}' needs verified_on as YYYY-MM-DD",
                    "Write the date someone last checked this address, e.g. 2026-11-01.")
            verified = date(1970, 1, 1)
        elif settings and (today - verified).days > settings.office_max_age_days:
            out.add(doc, ("offices", oid, "verified_on"),
                    f"office '{oid}' was last verified on {verified} ({(today - verified).days} days ago)",
                    "Check the address with the Department or UNHCR, then update verified_on.", "warning")
        if not spec.get("source"):
            out.add(doc, ("offices", oid), f"office '{oid}' has no source", "Add source: where the address comes from.")
        offices[str(oid)] = Office(str(oid), fields["city"], fields["address"], fields["short"], fields["note"],
                                   str(spec.get("source", "")), verified)
    return offices


def read_menu(doc: Located, settings: Settings | None, offices: dict[str, Office], prompts: dict[str, dict],
          out: Collector) -> dict[str, Node]:
    """The menu nodes; a node that cannot be used is reported and left out."""
    raw = get(doc, out, ("nodes",), dict, "List the menu nodes under 'nodes:'.") or {}
    nodes: dict[str, Node] = {}
    parents: dict[str, list[str]] = {}
    misspelt: dict[str, str] = {}  # node -> the misspelt name a key points to instead
    for nid, spec in raw.items():
        nid = str(nid)
        if not isinstance(spec, dict) or spec.get("type") not in NODE_TYPES:
            out.add(doc, ("nodes", nid), f"node '{nid}' needs a type: one of {', '.join(NODE_TYPES)}",
                    "Add type: menu, content, office or reminders.")
            continue
        options = {str(k): str(v) for k, v in (spec.get("options") or {}).items()}
        _check_options(doc, nid, options, raw, settings, parents, misspelt, out)
        if spec["type"] == "menu" and not options:
            out.add(doc, ("nodes", nid), f"menu '{nid}' has no options (a dead end)", "Add options: or change its type.")
        if spec["type"] != "menu" and options:
            out.add(doc, ("nodes", nid, "options"), f"node '{nid}' is a {spec['type']} and cannot have options",
                    "Make it a menu, or remove options.")
        office = str(spec.get("office", ""))
        if spec["type"] == "office" and office not in offices:
            out.add(doc, ("nodes", nid, "office"), f"node '{nid}' names office '{office}', which is not in "
                    "config/offices.yaml." + suggest(office, list(offices)), f"Use one of: {', '.join(offices)}.")
        sms = str(spec.get("sms", ""))
        if spec["type"] == "content":
            if not sms:
                out.add(doc, ("nodes", nid), f"content node '{nid}' has no sms template",
                        f"Add sms: sms.{nid} and write that template in every prompts file.")
            _check_topic_texts(doc, nid, prompts, out)
        nodes[nid] = Node(nid, spec["type"], options, office, sms)
    if "main" not in nodes:
        out.add(doc, ("nodes",), "there is no 'main' node", "The call starts at 'main': add it.")
    _check_reachable(doc, nodes, parents, misspelt, out)
    return {nid: Node(n.id, n.type, n.options, n.office, n.sms, (parents.get(nid) or [""])[0])
            for nid, n in nodes.items()}


def _check_options(doc: Located, nid: str, options: dict[str, str], raw: dict, settings: Settings | None,
                   parents: dict[str, list[str]], misspelt: dict[str, str], out: Collector) -> None:
    """Each key of a menu: a keypad key, not a universal one, pointing to a node that exists."""
    universal = set(settings.keys.universal()) if settings else set()
    for key, target in options.items():
        if len(key) != 1 or key not in KEYPAD:
            out.add(doc, ("nodes", nid, "options", key), f"menu '{nid}': '{key}' is not a keypad key",
                    'Use one key in quotes, "1" to "9".')
        elif key in universal:
            meaning = settings.keys.universal()[key] if settings else ""
            out.add(doc, ("nodes", nid, "options", key),
                    f"menu '{nid}': key {key} is the universal '{meaning}' key and cannot be an option",
                    _free_key_fix(nid, options, universal))
        if target not in raw:
            meant = closest(target, [n for n in raw if n != nid])
            if meant:
                misspelt[meant] = target
            out.add(doc, ("nodes", nid, "options", key), f"menu '{nid}': key {key} points to '{target}', "
                    "which does not exist." + (f" Did you mean '{meant}'?" if meant else ""),
                    f"Write '{meant}' instead of '{target}'." if meant else
                    f"Add a node '{target}' or point the key to an existing node.")
        parents.setdefault(target, []).append(nid)


def _check_topic_texts(doc: Located, nid: str, prompts: dict[str, dict], out: Collector) -> None:
    """A content node needs its parts, as a list of texts, in every language."""
    for code, table in prompts.items():
        parts = table.get(nid)
        if isinstance(parts, list) and any(isinstance(p, dict) for p in parts):
            continue  # a part with an unquoted ": " in it: reported on its own line in the prompts file
        if not (isinstance(parts, list) and parts and all(isinstance(p, str) and p.strip() for p in parts)):
            out.add(doc, ("nodes", nid), f"content node '{nid}' has no text in prompts/{code}.yaml",
                    f"Add '{nid}:' to prompts/{code}.yaml as a list of short parts ('- ...').")


def _check_reachable(doc: Located, nodes: dict[str, Node], parents: dict[str, list[str]],
                     misspelt: dict[str, str], out: Collector) -> None:
    """Every node but main is the option of exactly one menu and can be reached from main."""
    for nid in nodes:
        ps = parents.get(nid, [])
        if nid != "main" and not ps and nid in misspelt:
            continue  # a key meant it but misspelt its name: reported there, with the right name
        if nid != "main" and len(ps) != 1:
            msg = (f"node '{nid}' cannot be reached from any menu" if not ps else
                   f"node '{nid}' is an option of {len(ps)} menus ({', '.join(ps)}); 'back' would be ambiguous")
            out.add(doc, ("nodes", nid), msg, "Make it an option of exactly one menu.")
    # Reachability from main (a cycle of menus could otherwise hide nodes).
    seen, todo = set(), ["main"]
    while todo:
        n = todo.pop()
        if n in seen or n not in nodes:
            continue
        seen.add(n)
        todo.extend(nodes[n].options.values())
    for nid in nodes:
        if nid not in seen and parents.get(nid):
            out.add(doc, ("nodes", nid), f"node '{nid}' cannot be reached from the main menu",
                    "Make it an option of a menu that the main menu leads to.")


def _free_key_fix(nid: str, options: dict[str, str], universal: set[str]) -> str:
    """Which keys are still free on a menu, or (none left) what to do instead of picking one."""
    free = [k for k in "123456789" if k not in options and k not in universal]
    if free:
        return (f"Pick a free key for it: {', '.join(free)} (the universal keys mean the same on every menu, "
                "so they cannot be options).")
    return (f"Menu '{nid}' has no free key left: every other key is an option or a universal key. Move some of "
            "its options into a new menu (a node of type: menu with those options) and give that menu one key here.")


def needed_prompts(nodes: dict[str, Node], policy: dl.Policy) -> set[str]:
    """Prompt keys the menu and the reminder rules rely on."""
    needed = {"language.name", "language.choose", "menu.option", "footer.main", "footer.menu",
              "footer.content", "footer.more", "error.wrong_key", "error.silence", "goodbye.silence"}
    for n in nodes.values():
        if n.type in ("menu", "reminders"):
            needed.add(f"title.{n.id}")
        if n.parent and n.type != "office":
            needed.add(f"label.{n.id}")
        if n.sms:
            needed.add(n.sms)
    return needed
