"""config/hotline.yaml: languages, keys, SMS mode and deployment, WhatsApp, read and checked."""
from __future__ import annotations

import re

from babel import Locale, UnknownLocaleError

from hotline.content.model import (
    KEYPAD,
    UNIVERSAL,
    Keys,
    Language,
    Settings,
    WhatsApp,
)
from hotline.content.problems import Collector, get
from hotline.content.yamlio import Located
from hotline.rules.phones import known_region, normalise


def read_settings(doc: Located, out: Collector) -> Settings | None:
    """The settings, or None when the file cannot be used (every problem is in `out`)."""
    before = len(out.problems)
    languages = _languages(doc, out)
    if len({l.key for l in languages.values()}) != len(languages):
        out.add(doc, ("languages",), "two languages use the same key", "Give each language its own key.")
    default = str(doc.data.get("default_language", "")) if isinstance(doc.data, dict) else ""
    if default not in languages:
        out.add(doc, ("default_language",), f"default_language '{default}' is not one of the languages",
                f"Use one of: {', '.join(languages)}.")
    keys_raw = get(doc, out, ("keys",), dict, "Set repeat, back, main, sms and more under 'keys:'.") or {}
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
    if isinstance(doc.data, dict) and "caller_memory_days" in doc.data:
        out.add(doc, ("caller_memory_days",), "caller_memory_days is no longer read: the hotline does not remember "
                "callers (every call starts with the language menu)", "Delete the line.", severity="warning")
    ints = {}
    for name, default_value in (("gather_timeout", 7), ("max_silences", 2), ("max_part_seconds", 30),
                                ("call_state_ttl_minutes", 120)):
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
    if any(p.severity == "error" for p in out.problems[before:]):
        return None
    return Settings(languages, default, Keys(**keys), ints["gather_timeout"], ints["max_silences"],
                    ints["max_part_seconds"], sms.get("max_segments", 2), sms.get("daily_cap", 10),
                    tuple(regions), int(max_age), ints["call_state_ttl_minutes"], mode, sender_id, phone_line,
                    whatsapp)


def _languages(doc: Located, out: Collector) -> dict[str, Language]:
    """`languages:`: each with its key, locale and how it is spoken (a Twilio voice or played sound)."""
    langs_raw = get(doc, out, ("languages",), dict, "List each language under 'languages:'.") or {}
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
    return languages


SMS_MODES = ("two-way", "one-way")
_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def _deployment(doc: Located, sms: dict, out: Collector) -> tuple[str, str, str]:
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


def _whatsapp(doc: Located, languages: list[str], out: Collector) -> WhatsApp:
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
