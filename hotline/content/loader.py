"""Operator-editable content: load every file, validate it, and hand out one immutable snapshot.

Everything a caller hears or receives comes from `config/`, `prompts/` and `audio/`. Loading
validates the whole set at once and reports each problem with file, line, what is wrong and how
to fix it, so a broken edit is refused before it reaches a caller.
"""
from __future__ import annotations

import hashlib
import re
import string
from datetime import date
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError

from hotline.content.model import (
    KAZAKH_LETTERS,
    KEYPAD,
    NODE_TYPES,
    REFERENCE_LANG,
    UNIVERSAL,
    Content,
    ContentError,
    Keys,
    Language,
    Node,
    Office,
    Problem,
    Settings,
    WhatsApp,
)
from hotline.content.yamlio import Located, YamlError, closest, load, quoted, suggest
from hotline.rules import deadlines as dl
from hotline.rules.keywords import Vocabulary
from hotline.rules.phones import known_region, normalise


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


class _Collector:
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


def load_content(root: Path, today: date | None = None) -> Content:
    """Load and validate all content under `root`; raise ContentError listing every error."""
    root = Path(root)
    out = _Collector(root)
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

    settings = _settings(docs["config/hotline.yaml"], out)
    policy = _policy(docs["config/deadlines.yaml"], out)
    vocabulary = _vocabulary(docs["config/keywords.yaml"], out)
    offices = _offices(docs["config/offices.yaml"], settings, out, today or date.today())
    prompts = _prompts(root, docs, settings, out)
    nodes = _menu(docs["config/menu.yaml"], settings, offices, prompts, out)
    if settings and prompts and policy:
        _check_prompts(docs, settings, prompts, nodes, policy, out)
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


def _handoff(doc: Located | None, settings: Settings | None, prompts: dict[str, dict], out: _Collector):
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


def _get(doc: Located, out: _Collector, keys: tuple, kind: type | tuple, fix: str) -> Any:
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


def _settings(doc: Located, out: _Collector) -> Settings | None:
    before = len(out.problems)
    langs_raw = _get(doc, out, ("languages",), dict, "List each language under 'languages:'.") or {}
    languages: dict[str, Language] = {}
    for code, spec in langs_raw.items():
        if not isinstance(spec, dict):
            out.add(doc, ("languages", code), f"language '{code}' must be a set of fields", "See the comments at the top.")
            continue
        key = str(spec.get("key", ""))
        speech = spec.get("speech")
        locale = str(spec.get("locale", code))
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError):
            out.add(doc, ("languages", code, "locale"), f"unknown locale '{locale}' for language '{code}'",
                    "Use a locale name such as kk_KZ, ru_RU or en_US.")
        if speech not in ("say", "play"):
            out.add(doc, ("languages", code, "speech"), f"speech for '{code}' must be 'say' or 'play', not {speech!r}",
                    "Use 'say' for a Twilio voice, 'play' for recordings.")
        if speech == "say" and not (spec.get("voice") and spec.get("say_language")):
            out.add(doc, ("languages", code), f"language '{code}' speaks with Twilio but has no voice/say_language",
                    "Add voice: (e.g. Polly.Tatyana) and say_language: (e.g. ru-RU).")
        if speech == "play" and not spec.get("tts_voice"):
            out.add(doc, ("languages", code), f"language '{code}' has no tts_voice for missing recordings",
                    "Add tts_voice: with an espeak-ng voice of the same language (e.g. kk). "
                    "Without it the hotline would have to switch language.")
        if len(key) != 1 or key not in KEYPAD:
            out.add(doc, ("languages", code, "key"), f"language '{code}' needs one keypad key, not {key!r}",
                    'Write the key in quotes, e.g. key: "1".')
        command = spec.get("tts_command") or ""
        if command and (not isinstance(command, str) or "{out}" not in command):
            out.add(doc, ("languages", code, "tts_command"),
                    f"tts_command for '{code}' must be one line with {{out}} where the WAV file goes",
                    "For example: piper --model /srv/voices/kk_KZ-issai-high.onnx --output_file {out} "
                    "(the text arrives on standard input). Remove the line to use espeak-ng.")
            command = ""
        rate = spec.get("tts_rate") or 0
        if not isinstance(rate, int) or isinstance(rate, bool) or not (rate == 0 or 60 <= rate <= 400):
            out.add(doc, ("languages", code, "tts_rate"), f"tts_rate for '{code}' must be words a minute (60-400)",
                    "For example: tts_rate: 140. Remove the line for the default.")
            rate = 0
        languages[code] = Language(code, key, str(speech), locale, str(spec.get("voice", "")),
                                   str(spec.get("say_language", "")), str(spec.get("tts_voice", "")),
                                   command, rate)
    if len({l.key for l in languages.values()}) != len(languages):
        out.add(doc, ("languages",), "two languages use the same key", "Give each language its own key.")
    default = str(doc.data.get("default_language", "")) if isinstance(doc.data, dict) else ""
    if default not in languages:
        out.add(doc, ("default_language",), f"default_language '{default}' is not one of the languages",
                f"Use one of: {', '.join(languages)}.")
    keys_raw = _get(doc, out, ("keys",), dict, "Set repeat, back, main, sms and more under 'keys:'.") or {}
    keys = {}
    for name in UNIVERSAL:
        k = str(keys_raw.get(name, ""))
        if name == "person" and not k:
            keys[name] = ""  # no "talk to a person" key configured: the feature is off
            continue
        if len(k) != 1 or k not in KEYPAD:
            out.add(doc, ("keys", name), f"universal key '{name}' must be one keypad key, not {k!r}",
                    'Write the key in quotes, e.g. repeat: "9".')
        keys[name] = k
    if len(set(keys.values()) - {""}) != len([k for k in keys.values() if k]):
        out.add(doc, ("keys",), "two universal keys share one key", "Give each universal key its own key.")
    ints = {}
    for name, default_value in (("gather_timeout", 7), ("max_silences", 2), ("max_part_seconds", 30),
                                ("call_state_ttl_minutes", 120), ("caller_memory_days", 30)):
        v = doc.data.get(name, default_value) if isinstance(doc.data, dict) else default_value
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            out.add(doc, (name,), f"'{name}' must be a whole number above 0, not {v!r}", "")
        ints[name] = v
    sms = doc.data.get("sms", {}) if isinstance(doc.data, dict) else {}
    sms = sms if isinstance(sms, dict) else {}
    for name in ("max_segments", "daily_cap"):
        v = sms.get(name, 2 if name == "max_segments" else 10)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            out.add(doc, ("sms", name), f"'sms.{name}' must be a whole number above 0, not {v!r}", "")
    if "allowed_calling_codes" in sms:
        out.add(doc, ("sms", "allowed_calling_codes"),
                "sms.allowed_calling_codes is no longer read: calling code 7 is shared by Kazakhstan and Russia",
                'Write the regions instead, as ISO codes: allowed_regions: ["KZ"] (add "KG" for Kyrgyzstan, ...).')
    regions = sms.get("allowed_regions", ["KZ"])
    if not isinstance(regions, list) or not regions or not all(isinstance(c, str) and known_region(c) for c in regions):
        out.add(doc, ("sms", "allowed_regions"), f"sms.allowed_regions must be a list of region codes, not {regions!r}",
                'Write two-letter ISO codes in quotes, e.g. ["KZ"] or ["KZ", "KG"].')
        regions = ["KZ"]
    mode, sender_id, phone_line = _deployment(doc, sms, out)
    whatsapp = _whatsapp(doc, list(languages), out)
    offices_cfg = doc.data.get("offices", {}) if isinstance(doc.data, dict) else {}
    max_age = offices_cfg.get("max_age_days", 180) if isinstance(offices_cfg, dict) else 180
    if len(out.problems) > before:
        return None
    return Settings(languages, default, Keys(**keys), ints["gather_timeout"], ints["max_silences"],
                    ints["max_part_seconds"], sms.get("max_segments", 2), sms.get("daily_cap", 10),
                    tuple(regions), int(max_age), ints["call_state_ttl_minutes"],
                    ints["caller_memory_days"], mode, sender_id, phone_line, whatsapp)


SMS_MODES = ("two-way", "one-way")
_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def _deployment(doc: Located, sms: dict, out: _Collector) -> tuple[str, str, str]:
    """sms.mode, sms.sender_id and phone_line: how texts reach people where the hotline runs."""
    mode = sms.get("mode", "two-way")
    if mode not in SMS_MODES:
        out.add(doc, ("sms", "mode"), f"sms.mode must be two-way or one-way, not {mode!r}",
                "Use one-way where people cannot reply by SMS (Kazakhstan), two-way where they can.")
        mode = "two-way"
    sender_id = sms.get("sender_id") or ""
    if sender_id and not (isinstance(sender_id, str) and _SENDER_ID.fullmatch(sender_id)):
        out.add(doc, ("sms", "sender_id"), f"sms.sender_id {sender_id!r} is not an alphanumeric sender ID",
                "Twilio's rule: at most 11 characters, ASCII letters, digits and spaces, at least one letter.")
    phone_line = (doc.data.get("phone_line") or "") if isinstance(doc.data, dict) else ""
    if phone_line and not (isinstance(phone_line, str) and normalise(phone_line)):
        out.add(doc, ("phone_line",), f"phone_line {phone_line!r} is not a phone number",
                'Write the number people call as they should dial it, in quotes, e.g. "+7 727 000 00 00".')
    if mode == "one-way":
        if not sender_id:
            out.add(doc, ("sms",), "sms.mode is one-way but sms.sender_id is empty",
                    "Write the alphanumeric sender ID you registered with Twilio (e.g. sender_id: HotlineKZ).")
        if not phone_line:
            out.add(doc, ("phone_line",), "sms.mode is one-way but phone_line is empty: texts must say whom to call",
                    'Add phone_line: "+7 ..." (the number people call) to config/hotline.yaml.')
    return str(mode), str(sender_id), str(phone_line)


_CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")


def _whatsapp(doc: Located, languages: list[str], out: _Collector) -> WhatsApp:
    """whatsapp: enabled, number, allowed_regions and the reminder templates (checked further by
    `hotline check`, which knows the reminder rules)."""
    raw = doc.data.get("whatsapp", {}) if isinstance(doc.data, dict) else {}
    if not raw:
        return WhatsApp()
    if not isinstance(raw, dict):
        out.add(doc, ("whatsapp",), "whatsapp must be a set of fields", "See the comments above it.")
        return WhatsApp()
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        out.add(doc, ("whatsapp", "enabled"), f"whatsapp.enabled must be true or false, not {enabled!r}", "")
        enabled = False
    number = raw.get("number") or ""
    if number and not (isinstance(number, str) and normalise(number)):
        out.add(doc, ("whatsapp", "number"), f"whatsapp.number {number!r} is not a phone number",
                'Write the hotline\'s WhatsApp number in quotes, e.g. "+7 700 000 00 00".')
    if enabled and not number:
        out.add(doc, ("whatsapp", "number"), "WhatsApp is enabled but whatsapp.number is empty",
                "Write the number people write to on WhatsApp: callers from abroad are told it.")
    regions = raw.get("allowed_regions", ["*"])
    if not isinstance(regions, list) or not regions or not all(r == "*" or known_region(str(r)) for r in regions):
        out.add(doc, ("whatsapp", "allowed_regions"), f"whatsapp.allowed_regions must be a list, not {regions!r}",
                'Use ["*"] for every country, or ISO codes such as ["KZ", "KG"].')
        regions = ["*"]
    templates: dict[str, dict[str, str]] = {}
    for rule, per_lang in (raw.get("templates") or {}).items():
        if not isinstance(per_lang, dict):
            out.add(doc, ("whatsapp", "templates", rule), f"whatsapp.templates.{rule} must give one ContentSid per language",
                    f"Write {{{', '.join(f'{lang}: HX...' for lang in languages)}}}.")
            continue
        for lang, sid in per_lang.items():
            if not (isinstance(sid, str) and _CONTENT_SID.fullmatch(sid)):
                out.add(doc, ("whatsapp", "templates", rule, lang),
                        f"whatsapp.templates.{rule}.{lang} is not a ContentSid: {sid!r}",
                        "Copy the template's SID (HX and 32 hex characters) from Twilio's Content Template Builder.")
        templates[str(rule)] = {str(lang): str(sid) for lang, sid in per_lang.items()}
    return WhatsApp(bool(enabled), str(number), tuple(str(r) for r in regions), templates)


def _policy(doc: Located, out: _Collector) -> dl.Policy | None:
    try:
        policy = dl.Policy.from_dict(doc.data or {})
    except (ValueError, TypeError) as exc:
        rule = re.search(r"rule '([^']+)'", str(exc))
        out.add(doc, ("rules", rule.group(1)) if rule else (), str(exc),
                "Compare with the comments at the top of the file.")
        return None
    return policy


def _check_reminder_words(doc: Located, vocabulary: Vocabulary, policy: dl.Policy, prompts: dict, out: _Collector) -> None:
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


def _vocabulary(doc: Located, out: _Collector) -> Vocabulary | None:
    try:
        return Vocabulary.from_dict(doc.data or {})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        out.add(doc, (), f"keywords cannot be read: {exc}", "Compare with the structure described at the top.")
        return None


def _offices(doc: Located, settings: Settings | None, out: _Collector, today: date) -> dict[str, Office]:
    raw = _get(doc, out, ("offices",), dict, "List the offices under 'offices:'.") or {}
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


def _prompts(root: Path, docs: dict[str, Located], settings: Settings | None, out: _Collector) -> dict[str, dict]:
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


def _menu(doc: Located, settings: Settings | None, offices: dict[str, Office], prompts: dict[str, dict],
          out: _Collector) -> dict[str, Node]:
    raw = _get(doc, out, ("nodes",), dict, "List the menu nodes under 'nodes:'.") or {}
    universal = set(settings.keys.universal()) if settings else set()
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
            for code, table in prompts.items():
                parts = table.get(nid)
                if isinstance(parts, list) and any(isinstance(p, dict) for p in parts):
                    continue  # a part with an unquoted ": " in it: reported on its own line in the prompts file
                if not (isinstance(parts, list) and parts and all(isinstance(p, str) and p.strip() for p in parts)):
                    out.add(doc, ("nodes", nid), f"content node '{nid}' has no text in prompts/{code}.yaml",
                            f"Add '{nid}:' to prompts/{code}.yaml as a list of short parts ('- ...').")
        nodes[nid] = Node(nid, spec["type"], options, office, sms)
    if "main" not in nodes:
        out.add(doc, ("nodes",), "there is no 'main' node", "The call starts at 'main': add it.")
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
    return {nid: Node(n.id, n.type, n.options, n.office, n.sms, (parents.get(nid) or [""])[0])
            for nid, n in nodes.items()}


def _check_prompts(docs: dict[str, Located], settings: Settings, prompts: dict[str, dict],
                   nodes: dict[str, Node], policy: dl.Policy, out: _Collector) -> None:
    ref = prompts.get(REFERENCE_LANG)
    if ref is None:
        return
    ref_doc = docs[f"prompts/{REFERENCE_LANG}.yaml"]
    needed = _needed_prompts(nodes, policy)
    for key in sorted(needed - set(ref)):
        out.add(ref_doc, (), f"prompt '{key}' is missing", f"Add '{key}: ...' to prompts/{REFERENCE_LANG}.yaml.")
    for key in sorted(k for k in ref if k.startswith("oneway.") and k.removeprefix("oneway.") not in ref):
        out.add(ref_doc, (key,), f"prompt '{key}' is a one-way variant of '{key.removeprefix('oneway.')}', "
                "which does not exist", "Name it after an existing prompt (oneway.<that prompt's key>), or remove it.")
    for code, table in prompts.items():
        doc = docs[f"prompts/{code}.yaml"]
        locale = Locale.parse(settings.languages[code].locale)
        for key in sorted(set(ref) - set(table), key=lambda k: ref_doc.line(k) or 0):
            line, after = insertion_point(doc, list(ref), key)
            place = f"after '{after}'" if after else "at the top"
            out.add(doc, (), f"prompt '{key}' is missing in {code}: it belongs {place}, as in prompts/"
                    f"{REFERENCE_LANG}.yaml line {ref_doc.line(key)}",
                    f"Add '{key}:' here ({place}) with the {code} text of: {_shown(ref[key])}", line=line)
        for key in sorted(set(table) - set(ref)):
            out.add(doc, (key,), f"prompt '{key}' is not used (it is not in prompts/{REFERENCE_LANG}.yaml)",
                    "Remove it, or check its spelling." + suggest(key, [k for k in ref if k not in table]))
        for key, value in table.items():
            if key not in ref:
                continue
            if isinstance(value, list) and any(isinstance(part, dict) for part in value):
                for i, part in enumerate(value):
                    if isinstance(part, dict):
                        out.add(doc, (key, i), f"part {i + 1} of '{key}' has a colon followed by a space (\": \") "
                                f"in it, so YAML reads it as a name and a value instead of a text",
                                f"Put the whole part in quotes: - {quoted(_as_text(part))}")
                continue
            if not prompt_texts(value) or any(not t.strip() for t in prompt_texts(value)):
                out.add(doc, (key,), f"prompt '{key}' is empty or not text", "Write the text after the colon.")
                continue
            if isinstance(ref[key], dict) != isinstance(value, dict) or isinstance(ref[key], list) != isinstance(value, list):
                out.add(doc, (key,), f"prompt '{key}' has a different shape than in {REFERENCE_LANG}",
                        "A topic is a list of parts ('- ...'); a plural has forms (one:, other:).")
                continue
            want = set().union(*(placeholders(t) for t in prompt_texts(ref[key])))
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


def _free_key_fix(nid: str, options: dict[str, str], universal: set[str]) -> str:
    """Which keys are still free on a menu, or (none left) what to do instead of picking one."""
    free = [k for k in "123456789" if k not in options and k not in universal]
    if free:
        return (f"Pick a free key for it: {', '.join(free)} (the universal keys mean the same on every menu, "
                "so they cannot be options).")
    return (f"Menu '{nid}' has no free key left: every other key is an option or a universal key. Move some of "
            "its options into a new menu (a node of type: menu with those options) and give that menu one key here.")


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


def _as_text(part: dict) -> str:
    """A list part YAML read as {name: value} back into the sentence the operator wrote."""
    name, value = next(iter(part.items()))
    return f"{name}: {value}" if value is not None else f"{name}:"


def _shown(value: Any) -> str:
    texts = prompt_texts(value)
    first = texts[0] if texts else ""
    return f'"{first[:80]}…"' if len(first) > 80 or len(texts) > 1 else f'"{first}"'


def _needed_prompts(nodes: dict[str, Node], policy: dl.Policy) -> set[str]:
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
