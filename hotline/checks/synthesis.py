"""Can each played language be synthesised in its own voice (espeak-ng, or its tts_command)? If
not, the caller hears another language's voice."""
from __future__ import annotations

import shutil
import subprocess

from hotline.content import render as P
from hotline.content.model import Content, Language, Problem
from hotline.content.report import Table, doc_of, problem_at
from hotline.runtime.speech import fallback_voice
from hotline.runtime.synthesis import command_binary, command_of, trial_synthesis


def espeak_voices() -> set[str] | None:
    """Every name espeak-ng accepts for a voice (language codes, voice names, files); None if it is missing."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    try:
        listing = subprocess.run([binary, "--voices"], capture_output=True, text=True, timeout=20).stdout
    except (subprocess.SubprocessError, OSError):
        return None
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5:
            names |= {cols[1].lower(), cols[3].lower(), cols[4].lower(), cols[4].rsplit("/", 1)[-1].lower()}
    return names


def check_synthesis(content: Content, langs: list[str] | None = None) -> list[Problem]:
    """A played language must be synthesised in its own voice, or the caller hears another language."""
    voices = espeak_voices()
    doc = doc_of(content, "config/hotline.yaml")
    problems = []
    for code, lang in content.settings.languages.items():
        if lang.speech != "play" or (langs and code not in langs):
            continue
        spare = fallback_voice(content)
        fallback = (f"every prompt without a recording, and every date, would be read by the {spare.code} voice "
                    f"({spare.voice}) instead")
        if lang.tts_command:
            problems += _check_command(content, doc, lang, fallback)
            continue
        if voices is None:
            problems.append(problem_at(content, doc, ("languages", code, "tts_voice"),
                                     f"language '{code}' is played, but espeak-ng is not installed: {fallback}",
                                     "Install it: sudo apt-get install espeak-ng (or run: make system)."))
        elif lang.tts_voice.split("+")[0].lower() not in voices:
            problems.append(problem_at(content, doc, ("languages", code, "tts_voice"),
                                     f"language '{code}' has tts_voice '{lang.tts_voice}', which espeak-ng does not "
                                     f"have: {fallback}",
                                     f"Use a voice that `espeak-ng --voices={code}` lists (for Kazakh: kk)."))
    return problems


def _check_command(content: Content, doc, lang: Language, fallback: str) -> list[Problem]:
    """A configured synthesis command must be installed and turn a sentence into phone audio."""
    program = (lang.tts_command.split() or [""])[0]
    at = ("languages", lang.code, "tts_command")
    if command_binary(lang) is None:
        return [problem_at(content, doc, at, f"language '{lang.code}' has tts_command running '{program}', which is "
                           f"not installed (not found on PATH): {fallback}",
                           "Install it, write its full path, or remove tts_command to use espeak-ng.")]
    error = trial_synthesis(lang, P.text(content, lang.code, "language.choose", key=lang.key))[1]
    if error:
        return [problem_at(content, doc, at, f"language '{lang.code}': tts_command did not make speech ({error}): "
                           f"{fallback}", "Run the command by hand with a sentence on standard input and "
                           "check that it writes a WAV file where {out} stands.")]
    return []


def synthesis_table(content: Content) -> Table | None:
    """How each played language is synthesised, with a trial sentence: the command and its result."""
    rows = []
    for code, lang in content.settings.languages.items():
        if lang.speech != "play" or command_binary(lang) is None:
            continue
        seconds, error, took = trial_synthesis(lang, P.text(content, code, "language.choose", key=lang.key))
        rows.append((code, command_of(lang).replace("{", "").replace("}", ""),
                     error or f"{seconds:.1f} s of 8 kHz audio in {took:.2f} s"))
    if not rows:
        return None
    return Table("Speech synthesis for played languages (a trial sentence)", ("language", "command", "trial"),
                 tuple(rows))
