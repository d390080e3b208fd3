"""One voice webhook's view of a call, and speaking a node inside a Gather that Twilio calls back.

Navigation state travels in the Gather/Redirect URLs (node, language, part, silences), so any web
process can answer any step.
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

import redis
from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from hotline.content import render as P
from hotline.content.audio import Utterance
from hotline.content.model import Content, Language
from hotline.content.script import node_utterances
from hotline.runtime import stats
from hotline.runtime.hotline import current
from hotline.store import keys as store

log = logging.getLogger(__name__)


DATE_DIGITS_TIMEOUT = 12


def twiml_response(resp: VoiceResponse) -> Response:
    return Response(str(resp), mimetype="text/xml")


def voice_url(path: str, **params: object) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"/voice/{path}" + (f"?{urlencode(clean)}" if clean else "")


class Call:
    """One webhook's view of the call: who, which language, and how to speak."""

    def __init__(self) -> None:
        self.hl = current()
        self.content: Content = self.hl.content
        self.sid = request.form.get("CallSid", "")[:64]
        # A call the hotline placed (an automatic call-back) has the person on the "To" side.
        outbound = request.form.get("Direction", "") == "outbound-api"
        self.caller = request.form.get("To" if outbound else "From", "")[:32]
        wanted = request.args.get("l", "")
        self.lang: Language = self.content.lang(wanted or self._stored_lang())
        self.speaker = self.hl.speaker()

    def _stored_lang(self) -> str | None:
        if not self.sid:
            return None
        try:
            return self.hl.redis.hget(store.call(self.sid), "lang")
        except redis.RedisError:
            return None

    def t(self, key: str, /, **values: object) -> str:
        return P.text(self.content, self.lang.code, key, **values)

    def u(self, key: str, /, **values: object) -> Utterance:
        """A fixed prompt (recordable) when it has no values, else a made-up-on-the-fly one."""
        return Utterance(self.t(key, **values), None if values else key)

    def remember(self, node: str) -> None:
        """Per-call state (language, where the caller is) with a TTL, and the node's visit counter,
        in one round trip; best effort."""
        try:
            pipe = self.hl.redis.pipeline(transaction=False)  # the keys are in different slots
            if self.sid:
                key = store.call(self.sid)
                pipe.hset(key, mapping={"lang": self.lang.code, "node": node})
                pipe.expire(key, self.content.settings.call_state_ttl_minutes * 60)
            stats.add(pipe, self.hl, f"node.{node}")
            pipe.execute()
        except redis.RedisError:
            pass

    def remember_caller(self) -> None:
        """Keep the caller's language for next time, under a keyed hash of the number only."""
        if not self.caller:
            return
        try:
            self.hl.redis.set(store.caller(self.hl.vault.hash(self.caller)), self.lang.code,
                              ex=self.content.settings.caller_memory_days * 86400)
        except redis.RedisError:
            pass

    def gather(self, action: str, utterances: list[Utterance], silence_url: str, digits: int = 1,
               timeout: int | None = None) -> VoiceResponse:
        resp = VoiceResponse()
        g = resp.gather(num_digits=digits, action=action, method="POST", finish_on_key="",
                        timeout=timeout or self.content.settings.gather_timeout, action_on_empty_result=False)
        self.speaker.add(g, self.lang, utterances)
        resp.redirect(silence_url, method="POST")
        return resp


def render(call: Call, node_id: str, part: int = 0, notices: list[Utterance] | None = None,
           silences: int = 0) -> VoiceResponse:
    """Speak a node inside a Gather whose silence path comes back here with one more silence."""
    node = call.content.nodes[node_id]
    call.remember(node_id)
    utterances = list(notices or []) + node_utterances(call.content, call.lang.code, node, part)
    l = call.lang.code
    return call.gather(voice_url("key", n=node_id, l=l, p=part), utterances,
                       voice_url("node", n=node_id, l=l, p=part, s=silences + 1))


def language_menu(call: Call, silences: int = 0) -> VoiceResponse:
    """Each language offered in its own voice."""
    resp = VoiceResponse()
    g = resp.gather(num_digits=1, action=voice_url("lang"), method="POST", finish_on_key="",
                    timeout=call.content.settings.gather_timeout, action_on_empty_result=False)
    for code, lang in call.content.settings.languages.items():
        text = P.text(call.content, code, "language.choose", key=P.key_name(call.content, code, lang.key))
        call.speaker.add(g, lang, [Utterance(text, "language.choose")])
    resp.redirect(voice_url("lang", s=silences + 1), method="POST")
    return resp


def goodbye(call: Call) -> VoiceResponse:
    stats.count("call.silence_hangup", call.hl)
    resp = VoiceResponse()
    call.speaker.add(resp, call.lang, [call.u("goodbye.silence")])
    resp.hangup()
    return resp


def int_arg(value: str | None) -> int:
    try:
        return max(0, min(int(value or 0), 99))
    except ValueError:
        return 0
