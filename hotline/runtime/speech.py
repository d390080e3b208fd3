"""How each utterance reaches the caller's ear: a recording, Twilio's voice, or our own synthesis.

A recording wins when it was made from the prompt's current text (a studio recording first, then
one shipped in audio/). Languages Twilio cannot speak (Kazakh) are otherwise synthesised on the
server, but never while a caller waits: a webhook only names the sound (a hash of its text and
the synthesis settings); the renderer (hotline.runtime.render) has made it in the background when
the content loaded, and every process shares it through Redis.
"""
from __future__ import annotations

import logging

from twilio.twiml import TwiML

from hotline.content.audio import AudioLibrary, Utterance, text_sha
from hotline.content.model import Content, Language
from hotline.runtime.synthesis import Synthesiser, known_sounds
from hotline.store.recordings import Entry

log = logging.getLogger(__name__)


def fallback_voice(content: Content) -> Language:
    """Last resort when synthesis is impossible: the default language's Twilio voice, else any Twilio voice."""
    langs = content.settings.languages
    default = langs[content.settings.default_language]
    return default if default.speech == "say" else next(l for l in langs.values() if l.speech == "say")


class SoundLibrary:
    """Every recording a call may play: studio recordings (Redis) first, then files shipped in audio/.

    A recording counts only while it was made from the prompt's current text (its text hash), and
    one made for a slot serves every slot of the same language that says the same words (the
    "басыңыз." after each menu key is recorded once).
    """

    def __init__(self, shipped: AudioLibrary, studio: dict[tuple[str, str], Entry], version: str) -> None:
        self.shipped, self.studio, self.version = shipped, studio, version
        self.same_words: dict[tuple[str, str], Entry] = {}
        for (lang, _slot), entry in sorted(studio.items()):
            self.same_words.setdefault((lang, entry.text_sha), entry)
        # what the checker and the CLI read of the shipped library
        self.dir, self.files, self.manifest, self.broken = shipped.dir, shipped.files, shipped.manifest, shipped.broken

    def status(self, lang: str, key: str, text: str) -> str:
        """recorded / stale / draft / unverified / none (a studio recording decides when there is one)."""
        entry = self.studio.get((lang, key))
        shipped = self.shipped.status(lang, key, text)
        if (lang, text_sha(text)) in self.same_words:  # its own recording, or one of the same words
            return "recorded"
        if entry is None:
            return shipped
        return shipped if shipped in ("recorded", "draft") else "stale"

    def play_path(self, lang: str, key: str | None, text: str) -> str | None:
        """The path under /audio of the recording to play for this text, if one fits it."""
        if key is None:
            return None
        entry = self.studio.get((lang, key))
        if entry is not None and entry.text_sha == text_sha(text):
            return f"rec/{entry.audio}.wav"
        same = self.same_words.get((lang, text_sha(text)))
        if same is not None:
            return f"rec/{same.audio}.wav"
        found = self.shipped.usable(lang, key, text)
        return f"{lang}/{found.name}" if found is not None else None

    def usable(self, lang: str, key: str | None, text: str) -> str | None:
        return self.play_path(lang, key, text)


class Speaker:
    """Adds utterances to TwiML in one language, picking the source for each. No I/O: a webhook
    only names sounds; they were recorded, or rendered in the background."""

    def __init__(self, content: Content, library: SoundLibrary, synth: Synthesiser, audio_base: str = "") -> None:
        self.content, self.library, self.synth = content, library, synth
        self.base = audio_base.rstrip("/") or "/audio"

    def source(self, lang: Language, u: Utterance) -> str:
        """recording / twilio / synthesised: where this utterance's sound comes from."""
        if self.library.play_path(lang.code, u.key, u.text):
            return "recording"
        return "twilio" if lang.speech == "say" else "synthesised"

    def url(self, lang: Language, u: Utterance) -> str | None:
        """What a caller hears for `u` as a URL (a recording, or our synthesis); None: Twilio's voice."""
        found = self.library.play_path(lang.code, u.key, u.text)
        if found:
            return f"{self.base}/{found}"
        if lang.speech != "play":
            return None
        return f"{self.base}/tts/{self._name(lang, u)}"

    def _name(self, lang: Language, u: Utterance) -> str:
        memo = self.content.memo
        key = ("tts", lang.code, u.text, u.slow)
        name = memo.get(key)
        if name is None:
            name = memo[key] = self.synth.name(u.text, lang, u.slow)
            known = known_sounds(self.content, self.synth)
            if name not in known:  # a text no background pass foresaw: let any process make it
                known[name] = (u.text, lang, u.slow)
                self.synth.remember(name, self.synth.spec(u.text, lang, u.slow))
        return name

    def heard(self, lang: Language, whole: Utterance) -> tuple[Utterance, ...]:
        """The sounds a played sentence with values is made of: its pieces once any piece is recorded
        (a missing piece alone is synthesised), else the whole sentence, synthesised in one breath.
        A sentence without a key of its own (a read-back date) is always heard in pieces."""
        if not whole.parts or lang.speech != "play":
            return (whole,)
        if whole.key is None or any(self.library.play_path(lang.code, p.key, p.text) for p in whole.parts):
            return whole.parts
        return (whole,)

    def add(self, parent: TwiML, lang: Language, utterances: list[Utterance]) -> None:
        for whole in utterances:
            for u in self.heard(lang, whole):
                self._add_one(parent, lang, u)

    def _add_one(self, parent: TwiML, lang: Language, u: Utterance) -> None:
        found = self.library.play_path(lang.code, u.key, u.text)
        if found:
            parent.play(f"{self.base}/{found}")
            return
        if lang.speech == "play":
            if self.synth.usable(lang):
                parent.play(f"{self.base}/tts/{self._name(lang, u)}")
                return
            fallback = fallback_voice(self.content)
            log.error("no recording and no synthesis for a %s prompt: reading it with the %s voice",
                      lang.code, fallback.code)
            parent.say(u.text, voice=fallback.voice, language=fallback.say_language)
            return
        if u.slow:  # addresses and numbers: slower, for bad lines and note-taking
            parent.say(voice=lang.voice, language=lang.say_language).prosody(u.text, rate="85%")
        else:
            parent.say(u.text, voice=lang.voice, language=lang.say_language)
