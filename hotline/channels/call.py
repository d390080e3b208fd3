"""One voice webhook's view of a call, and speaking a node inside a Gather that Twilio calls back.

Navigation state travels in the Gather/Redirect URLs (node, language, part, silences), so any web
process can answer any step.

Speed (bench/RESULTS.md): an answer depends only on the content snapshot, the sound version and what
it says and where its actions lead, so each is built once (cached_answer) and served from memory; what
a webhook stores on the way (call state, counters, caller memory) goes out as one pipeline just
before the answer (flush_writes, the voice blueprint's after_request).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from urllib.parse import urlencode

import redis
from flask import Response, g, request
from twilio.twiml.voice_response import VoiceResponse

from hotline.content import render as P
from hotline.content import script
from hotline.content.audio import Utterance
from hotline.content.model import Content, Language
from hotline.content.script import node_utterances
from hotline.runtime import stats
from hotline.runtime.hotline import current
from hotline.store import keys as store

log = logging.getLogger(__name__)


DATE_DIGITS_TIMEOUT = 12


def twiml_response(resp: VoiceResponse | str) -> Response:
    return Response(str(resp), mimetype="text/xml")


# Answers are kept in the content snapshot (a reload drops them all), at most this many per snapshot,
# each for at most an hour (so what building does on the side, e.g. refreshing a spoken text's TTL,
# still happens now and then).
ANSWER_LIMIT = 5000
ANSWER_SECONDS = 3600.0


def cached_answer(call: "Call", key: tuple, build) -> str:
    """The TwiML for `key`, built by `build()` only the first time in this content snapshot, audio
    library and sound version (`Hotline.sound_version`, when there is one: recordings made or removed at
    run time).

    `key` must name everything the answer depends on besides those two: what it says (the texts,
    recording keys and pace of its utterances, or the node, part and notices that give them), the
    language, and the URLs of its actions. An answer whose speaker flagged it provisional (a
    placeholder while a sound is missing) is served but not kept.
    """
    hl = call.hl
    library = hl.library  # the recordings this snapshot plays; it comes and goes with the content
    per_library = call.content.memo.setdefault("answers", {})
    slot = per_library.get(id(library))
    if slot is None or slot[0] is not library:  # keeps its library: an id is not reused while it is kept
        slot = per_library[id(library)] = (library, {})
    answers = slot[1]
    sound = getattr(hl, "sound_version", None)
    full = (sound() if sound is not None else "", hl.config.get("AUDIO_BASE_URL", ""), *key)
    now = time.monotonic()
    hit = answers.get(full)
    if hit is not None and hit[0] > now:
        return hit[1]
    body = str(build())
    if len(answers) < ANSWER_LIMIT and not getattr(call._speaker, "provisional", False):
        answers[full] = (now + ANSWER_SECONDS, body)
    return body


def said(utterances: list[Utterance]) -> tuple:
    """What a list of utterances says, as part of an answer's key."""
    return tuple((u.text, u.key, u.slow) for u in utterances)


def writes():
    """This request's one Redis write: a pipeline of everything stored on the way (flush_writes)."""
    pipe = g.get("voice_writes")
    if pipe is None:
        pipe = g.voice_writes = current().redis.pipeline(transaction=False)  # the keys are in different slots
    return pipe


def send_writes() -> None:
    """Send the request's writes in one round trip, before the answer; best effort (call state,
    counters, caller memory: a caller is never kept waiting for them)."""
    pipe = g.pop("voice_writes", None)
    if pipe is not None and len(pipe):
        try:
            pipe.send() if hasattr(pipe, "send") else pipe.execute()  # a cluster's pipeline has no send
        except redis.RedisError:
            pass


def flush_writes(response: Response) -> Response:
    """after_request: the webhook's writes (send_writes), just before its answer."""
    send_writes()
    return response


def call_state(raw: str | None) -> tuple[str | None, str | None]:
    """(language, node) from a call's stored state ("<lang> <node>", see Call.remember); Nones if none."""
    lang, _, node = (raw or "").partition(" ")
    return lang or None, node or None


def voice_url(path: str, **params: object) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"/voice/{path}" + (f"?{urlencode(clean)}" if clean else "")


class Call:
    """One webhook's view of the call: who, which language, and how to speak.

    `args` (the URL's query) and `form` (what Twilio posted) default to the request's; the dashboard's
    phone passes its own, so the same step functions answer it without an HTTP request."""

    def __init__(self, args: Mapping[str, str] | None = None, form: Mapping[str, str] | None = None) -> None:
        self.hl = current()
        self.content: Content = self.hl.content
        self.args: Mapping[str, str] = request.args if args is None else args
        self.form: Mapping[str, str] = request.form if form is None else form
        form = self.form
        self.sid = form.get("CallSid", "")[:64]
        # A call the hotline placed (an automatic call-back) has the person on the "To" side.
        outbound = form.get("Direction", "") == "outbound-api"
        self.caller = form.get("To" if outbound else "From", "")[:32]
        self._lang: Language | None = None
        self._speaker = None

    @property
    def lang(self) -> Language:
        """The URL's language, else the one stored for this call (read only if needed)."""
        if self._lang is None:
            self._lang = self.content.lang(self.args.get("l", "") or self._stored_lang())
        return self._lang

    @lang.setter
    def lang(self, value: Language) -> None:
        self._lang = value

    @property
    def speaker(self):
        """Made only when an answer is built (most are served from memory)."""
        if self._speaker is None:
            self._speaker = self.hl.speaker()
        return self._speaker

    def count(self, name: str) -> None:
        """A counter, with this request's other writes."""
        stats.add(writes(), self.hl, name)

    def _stored_lang(self) -> str | None:
        if not self.sid:
            return None
        try:
            return call_state(self.hl.redis.get(store.call(self.sid)))[0]
        except redis.RedisError:  # a WRONGTYPE (a hash an older release wrote) too: the URL's language then
            return None

    def t(self, key: str, /, **values: object) -> str:
        return P.text(self.content, self.lang.code, key, **values)

    def u(self, key: str, /) -> Utterance:
        """A fixed prompt (recordable; in a played language, its values in recorded pieces)."""
        return script.fixed(self.content, self.lang.code, key)

    def remember(self, node: str) -> None:
        """Per-call state (language, where the caller is) with a TTL, and the node's visit counter,
        with this request's other writes; best effort."""
        pipe = writes()
        if self.sid:  # one SET with its TTL (a hash needed HSET and EXPIRE: two commands on every key press)
            pipe.set(store.call(self.sid), f"{self.lang.code} {node}", ex=self.content.settings.call_state_ttl_minutes * 60)
        stats.add(pipe, self.hl, f"node.{node}")

    def gather(self, action: str, utterances: list[Utterance], silence_url: str, digits: int = 1,
               timeout: int | None = None) -> str:
        """Say `utterances` inside a Gather that answers to `action`, then go to `silence_url`: built
        once per snapshot for the same words and URLs (cached_answer)."""
        key = ("gather", self.lang.code, action, silence_url, digits, timeout, said(utterances))
        return cached_answer(self, key, lambda: self.build_gather(action, utterances, silence_url, digits, timeout))

    def build_gather(self, action: str, utterances: list[Utterance], silence_url: str, digits: int = 1,
                     timeout: int | None = None) -> VoiceResponse:
        resp = VoiceResponse()
        g = resp.gather(num_digits=digits, action=action, method="POST", finish_on_key="",
                        timeout=timeout or self.content.settings.gather_timeout, action_on_empty_result=False)
        self.speaker.add(g, self.lang, utterances)
        resp.redirect(silence_url, method="POST")
        return resp


def render(call: Call, node_id: str, part: int = 0, notices: list[Utterance] | None = None,
           silences: int = 0) -> str:
    """Speak a node inside a Gather whose silence path comes back here with one more silence.

    Built once per snapshot for each node, language, part, silence count and notices (cached_answer)."""
    node = call.content.nodes[node_id]
    call.remember(node_id)
    l = call.lang.code

    def build() -> VoiceResponse:
        utterances = list(notices or []) + node_utterances(call.content, l, node, part)
        return call.build_gather(voice_url("key", n=node_id, l=l, p=part), utterances,
                                 voice_url("node", n=node_id, l=l, p=part, s=silences + 1))

    return cached_answer(call, ("node", node_id, l, part, silences, said(notices or [])), build)


def language_menu(call: Call, silences: int = 0) -> str:
    """Each language offered in its own voice (built once per snapshot)."""
    return cached_answer(call, ("languages", silences), lambda: _language_menu(call, silences))


def _language_menu(call: Call, silences: int) -> VoiceResponse:
    resp = VoiceResponse()
    g = resp.gather(num_digits=1, action=voice_url("lang"), method="POST", finish_on_key="",
                    timeout=call.content.settings.gather_timeout, action_on_empty_result=False)
    for code, lang in call.content.settings.languages.items():
        call.speaker.add(g, lang, [script.language_choice(call.content, code)])
    resp.redirect(voice_url("lang", s=silences + 1), method="POST")
    return resp


def goodbye(call: Call) -> str:
    call.count("call.silence_hangup")

    def build() -> VoiceResponse:
        resp = VoiceResponse()
        call.speaker.add(resp, call.lang, [call.u("goodbye.silence")])
        resp.hangup()
        return resp

    return cached_answer(call, ("goodbye", call.lang.code), build)


def int_arg(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 99))
    except ValueError:
        return 0
