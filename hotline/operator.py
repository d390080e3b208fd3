"""The operator dashboard: counters, the menu as callers hear it, a phone in the browser, content checks.

Only aggregate counters exist, so nothing here can show who called or texted. Login is one shared
password (stored hashed), with a lockout kept in Redis so every web process enforces it.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import date
from urllib.parse import parse_qs, urlsplit

import redis
from flask import (Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request,
                   session, url_for)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator
from werkzeug.security import check_password_hash, generate_password_hash

from . import stats, store
from .checker import Report, run_checks
from .content import KEYPAD, Content, Language
from .deadlines import ALMATY
from .runtime import Hotline
from .speech import AudioLibrary, Speaker, Utterance
from .voice import node_utterances, recording_slots

log = logging.getLogger(__name__)
operator_bp = Blueprint("operator", __name__, url_prefix="/operator")

LOCK_LIMIT = 5                  # wrong passwords from one client IP ...
LOCK_SECONDS = 15 * 60          # ... within this window lock that IP out for this long
DAYS = 14                       # the overview's window
TEST_CALLER = "+77000000001"    # the number the browser phone calls from
PASSWORD_HASH = "operator_password_hash"  # app.extensions key


def _hl() -> Hotline:
    return current_app.extensions["hotline"]


# ---- setup, login, session ----------------------------------------------------------------------

@operator_bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    """Hash the password once at startup and blank the plaintext in every copy of the config."""
    app: Flask = state.app
    app.extensions[PASSWORD_HASH] = password_hash(app.config.get("OPERATOR_PASSWORD_HASH", ""),
                                                  app.config.get("OPERATOR_PASSWORD", ""))
    for cfg in (app.config, app.extensions["hotline"].config):
        cfg["OPERATOR_PASSWORD"] = ""
    # Only dashboard requests (which record activity) rewrite the session cookie: a static file or an
    # audio response finishing late must not put back an older session (a lost call, or a logout).
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    if str(app.config.get("PUBLIC_URL", "")).startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True  # served over TLS: never send the session in clear


def password_hash(given_hash: str, plaintext: str) -> str | None:
    """The hash to check logins against; None (dashboard disabled) when none is set or it is unusable."""
    if not given_hash:
        return generate_password_hash(plaintext) if plaintext else None
    try:
        usable = given_hash.count("$") >= 2 and not check_password_hash(given_hash, "")  # never an empty password
    except ValueError:  # an unknown hash method
        usable = False
    if not usable:
        log.error("OPERATOR_PASSWORD_HASH is not a werkzeug password hash: the operator dashboard is disabled")
        return None
    return given_hash


def lock_key(ip: str) -> str:
    """Per client IP, keyed-hashed so Redis never holds operators' addresses."""
    digest = hmac.new(str(current_app.secret_key).encode(), ip.encode(), hashlib.sha256).hexdigest()[:32]
    return store.operator_lock(digest)


def take_attempt(r: redis.Redis, key: str) -> int:
    """Number this login attempt in the IP's window before the password is checked, so parallel
    guesses cannot slip past the limit; a good login deletes the count."""
    pipe = r.pipeline()
    pipe.set(key, 0, ex=LOCK_SECONDS, nx=True)
    pipe.incr(key)
    return int(pipe.execute()[1])


@operator_bp.app_template_global("operator_csrf")
def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """400 without a token, 403 with a wrong one: before the view changes anything."""
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    if not sent:
        abort(400, "This form has no security token. Reload the page and try again.")
    if not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
        abort(403, "This form's security token is out of date. Reload the page and try again.")


def logged_in() -> bool:
    """Signed in and active within PERMANENT_SESSION_LIFETIME (idle expiry, on the hotline's clock)."""
    seen = session.get("seen")
    now = _hl().now().timestamp()
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    if not session.get("operator") or not isinstance(seen, (int, float)) or now - seen > lifetime:
        return False
    session["seen"] = now
    return True


@operator_bp.before_request
def gate() -> ResponseReturnValue | None:
    """Disabled without a password; every page but login needs a live session; every POST a CSRF token."""
    if not current_app.extensions.get(PASSWORD_HASH):
        return render_template("operator_disabled.html"), 503
    if request.endpoint != "operator.login" and not logged_in():
        expired = bool(session.get("operator"))
        session.clear()
        return redirect(url_for("operator.login", expired=1 if expired else None))
    if request.method == "POST":
        check_csrf()
    return None


@operator_bp.context_processor
def banner() -> dict[str, object]:
    return {"content_error": content_error(_hl()) if session.get("operator") else None}


@operator_bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("operator_login.html", expired=bool(request.args.get("expired")))
    hl, key = _hl(), lock_key(request.remote_addr or "unknown")
    try:
        attempt = take_attempt(hl.redis, key)
        if attempt > LOCK_LIMIT:
            return render_template("operator_login.html", error="locked"), 429
        if not check_password_hash(current_app.extensions[PASSWORD_HASH], request.form.get("password", "")):
            stats.count("security.login_failed", hl)
            if attempt == LOCK_LIMIT:
                hl.redis.expire(key, LOCK_SECONDS)  # locked for 15 minutes from the fifth wrong password
            return render_template("operator_login.html", error="locked" if attempt == LOCK_LIMIT else "wrong"), 401
        hl.redis.delete(key)
    except redis.RedisError:
        return render_template("operator_login.html", error="store"), 503  # the lockout cannot be enforced
    session.clear()
    session.permanent = True
    session.update(operator=True, seen=hl.now().timestamp(), csrf=secrets.token_urlsafe(32))
    return redirect(url_for("operator.overview"))


@operator_bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("operator.login"))


# ---- overview: counters drawn as charts ----------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Chart:
    """Geometry for one server-side SVG chart (columns per day, or horizontal bars)."""

    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    legend: list[str] = field(default_factory=list)
    peak: int = 0
    left: int = 0   # where the plot starts (columns: the y axis)
    base: int = 0   # the baseline (columns: the x axis)


def column_chart(days: list[str], series: list[tuple[str, list[int]]]) -> Chart:
    """Grouped columns, one group per day, one column per series."""
    width, height, left, top, plot_h = 700, 200, 40, 10, 160
    group = (width - left) / max(len(days), 1)
    each = group * 0.8 / max(len(series), 1)
    peak = max([v for _, values in series for v in values] + [1])
    bars, labels = [], []
    for i, day in enumerate(days):
        d = date.fromisoformat(day)
        labels.append(Label(round(left + i * group + group / 2, 1), height - 12, f"{d.day}.{d.month:02d}"))
        for s, (name, values) in enumerate(series):
            h = values[i] / peak * plot_h
            bars.append(Bar(round(left + i * group + group * 0.1 + s * each, 1), round(top + plot_h - h, 1),
                            round(each, 1), round(h, 1), s, f"{name}, {day}: {values[i]}"))
    return Chart(width, height, bars, labels, [name for name, _ in series], peak, left, top + plot_h)


def bar_list(items: list[tuple[str, int]]) -> Chart:
    """Horizontal bars with the label on the left and the number on the right."""
    width, left, row = 700, 230, 22
    peak = max([v for _, v in items] + [1])
    bars, labels = [], []
    for i, (name, value) in enumerate(items):
        w = value / peak * (width - left - 60)
        bars.append(Bar(left, i * row + 3, round(w, 1), row - 6, 0, f"{name}: {value}"))
        labels.append(Label(left - 8, i * row + 15, name, "end"))
        labels.append(Label(round(left + w + 6, 1), i * row + 15, str(value), "start"))
    return Chart(width, max(len(items), 1) * row, bars, labels, [], peak, left)


def totals(days: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for counters in days.values():
        for name, value in counters.items():
            out[name] = out.get(name, 0) + value
    return out


def sms_failed(counters: dict[str, int]) -> int:
    """Refused by Twilio when sent, or reported failed/undelivered afterwards."""
    return sum(counters.get(k, 0) for k in ("sms.failed", "sms.status.failed", "sms.status.undelivered"))


def by_node(c: Content, total: dict[str, int], prefix: str) -> list[tuple[str, int]]:
    """Counters `prefix.<node>` for every node of the menu (zeros too), plus nodes since removed."""
    ids = list(c.nodes) + sorted(k[len(prefix):] for k in total if k.startswith(prefix) and k[len(prefix):] not in c.nodes)
    return sorted(((nid, total.get(prefix + nid, 0)) for nid in ids), key=lambda item: -item[1])


@operator_bp.get("/")
def overview() -> ResponseReturnValue:
    hl = _hl()
    c = hl.content
    days = stats.read(hl.redis, DAYS, hl.now().astimezone(ALMATY).date())
    names = list(days)

    def col(counter: str) -> list[int]:
        return [days[d].get(counter, 0) for d in names]

    total = totals(days)
    langs = [(c.prompts[code]["language.name"], total.get(f"call.lang.{code}", 0)) for code in c.settings.languages]
    refused = sorted(((k.removeprefix("sms.refused."), v) for k, v in total.items() if k.startswith("sms.refused.")),
                     key=lambda item: -item[1])
    charts = {
        "calls": column_chart(names, [("calls", col("call.started"))]),
        "langs": bar_list(langs),
        "sms": column_chart(names, [("sent", col("sms.sent")), ("delivered", col("sms.status.delivered")),
                                    ("failed", [sms_failed(days[d]) for d in names])]),
        "reminders": column_chart(names, [("opt-ins", col("reminders.optin")), ("opt-outs", col("optout")),
                                          ("reminders sent", col("reminders.sent"))]),
        "nodes": bar_list(by_node(c, total, "node.")),
        "hangups": bar_list(by_node(c, total, "hangup.")),
        "refused": bar_list(refused) if refused else None,
    }
    return render_template("operator_overview.html", charts=charts, days=days, total=total,
                           langs=list(c.settings.languages), sms_failed=sms_failed)


# ---- menu: the tree as callers hear it, with where each sound comes from -----------------------

@dataclass(frozen=True)
class Slot:
    key: str
    text: str
    status: str


@dataclass(frozen=True)
class TreeNode:
    key: str
    id: str
    type: str
    slots: list[Slot]
    children: list["TreeNode"]


def audio_status(library: AudioLibrary, speaker: Speaker, lang: Language, u: Utterance) -> str:
    """recorded / draft / stale / unverified when a recording exists, else what callers hear instead."""
    status = library.status(lang.code, u.key or "", u.text)
    return speaker.source(lang, u) if status == "none" else status


def menu_tree(c: Content, library: AudioLibrary, speaker: Speaker, lang: str, node_id: str = "main",
              key: str = "") -> TreeNode:
    """A node with its own recording slots (footers are listed once, apart) and its options below it."""
    language, node = c.settings.languages[lang], c.nodes[node_id]
    parts = len(c.prompts[lang][node.id]) if node.type == "content" else 1
    slots = [Slot(u.key, u.text, audio_status(library, speaker, language, u))
             for part in range(parts) for u in node_utterances(c, lang, node, part)
             if u.key and not u.key.startswith("footer.")]
    children = [menu_tree(c, library, speaker, lang, target, k) for k, target in node.options.items()]
    return TreeNode(key, node.id, node.type, slots, children)


def tree_keys(node: TreeNode) -> set[str]:
    return {s.key for s in node.slots}.union(*(tree_keys(child) for child in node.children))


@operator_bp.get("/menu")
def menu() -> ResponseReturnValue:
    hl = _hl()
    c, library, speaker = hl.content, hl.library, hl.speaker()
    lang = request.args.get("lang", "")
    lang = lang if lang in c.settings.languages else c.settings.default_language
    tree = menu_tree(c, library, speaker, lang)
    shown = tree_keys(tree)
    others = [Slot(k, text, audio_status(library, speaker, c.settings.languages[lang], Utterance(text, k)))
              for k, text in recording_slots(c, lang).items() if k not in shown]
    names = {code: c.prompts[code]["language.name"] for code in c.settings.languages}
    return render_template("operator_menu.html", tree=tree, others=others, lang=lang, names=names)


# ---- phone: the real voice webhooks, driven from the browser -----------------------------------

class PhoneError(Exception):
    """The voice webhook did not answer with TwiML."""


@dataclass
class Turn:
    """What one webhook answer means for the person on the phone."""

    said: list[dict[str, str | None]]
    gather: str | None = None
    digits: int = 1
    redirect: str | None = None
    hung_up: bool = False


def local_path(url: str) -> str:
    """A TwiML URL as a path of this app; only the voice webhooks may be replayed."""
    public = str(_hl().config.get("PUBLIC_URL", "")).rstrip("/")
    path = url.removeprefix(public) if public else url
    if not path.startswith("/voice"):
        raise PhoneError(f"the call went to {url}, which is not a voice webhook")
    return path


def replay(path: str, sid: str, digits: str | None) -> ET.Element:
    """POST to a voice webhook in-process, signed as Twilio signs it, from the test caller."""
    cfg = _hl().config
    form = {"CallSid": sid, "From": TEST_CALLER, "CallStatus": "in-progress", "Direction": "inbound"}
    if digits is not None:
        form["Digits"] = digits
    headers = {}
    if token := cfg.get("TWILIO_AUTH_TOKEN"):
        base = str(cfg.get("PUBLIC_URL", "")).rstrip("/") or "http://localhost"  # what webhooks.signed_url sees
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(base + path, form)
    resp = current_app.test_client().post(path, data=form, headers=headers)
    if resp.status_code != 200 or resp.mimetype != "text/xml":
        raise PhoneError(f"{path.split('?')[0]} answered HTTP {resp.status_code}")
    return ET.fromstring(resp.data)


def play_url(url: str) -> str:
    """The same sound from this app's /audio routes, so the browser plays it from the same origin."""
    base = str(_hl().config.get("AUDIO_BASE_URL", "")).rstrip("/")
    return "/audio" + url.removeprefix(base) if base and url.startswith(base) else url


def play_text(url: str) -> str:
    """What a <Play> says: synthesised speech left its text in Redis; a recording is named by its file."""
    name = url.rsplit("/", 1)[-1]
    if "/tts/" not in url:
        return f"(recording {name})"
    return _hl().synth.text_of(name) or "(synthesised speech made on another server)"


def read_turn(root: ET.Element) -> Turn:
    """The words (Say text, or the text a synthesised Play was made from), the waiting Gather, a hang-up."""
    turn = Turn(said=[])
    for el in root.iter():
        if el.tag == "Say":
            turn.said.append({"text": "".join(el.itertext()).strip(), "audio": None})
        elif el.tag == "Play":
            url = (el.text or "").strip()
            turn.said.append({"text": play_text(url), "audio": play_url(url)})
        elif el.tag == "Gather":
            turn.gather, turn.digits = el.get("action"), int(el.get("numDigits") or 1)
        elif el.tag == "Redirect":
            turn.redirect = (el.text or "").strip()
        elif el.tag == "Hangup":
            turn.hung_up = True
    return turn


def would_reach_out(c: Content, action: str, digits: str) -> bool:
    """Would this press text the test number or sign it up for reminders? Those never leave the dashboard."""
    query = parse_qs(urlsplit(action).query)
    node = c.nodes.get(query.get("n", [""])[0])
    if node is None:
        return False
    if node.type in ("content", "office") and digits == c.settings.keys.sms:
        return True
    return node.type == "reminders" and query.get("st") == ["confirm"] and digits == "1"


@operator_bp.get("/phone")
def phone() -> ResponseReturnValue:
    return render_template("operator_phone.html", keys=list("123456789*0#"))


@operator_bp.post("/phone/step")
def phone_step() -> ResponseReturnValue:
    """One step of the browser's call: new call, key presses, or silence. The server keeps the call's URLs."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "send a JSON object")
    state = dict(session.get("phone") or {})
    what = data.get("do")
    digits: str | None = None
    if what == "new":
        state, path = {"sid": "CA" + secrets.token_hex(16)}, "/voice"
    elif what == "press":
        digits = str(data.get("keys", ""))
        if not digits or len(digits) > 20 or not set(digits) <= KEYPAD:
            abort(400, "keys must be keypad keys")
        if not state.get("gather"):
            return jsonify(note="Nobody is waiting for keys: start a new call.")
        if would_reach_out(_hl().content, state["gather"], digits):
            return jsonify(note="On a real call this key sends an SMS or signs up for reminders. "
                                "The dashboard phone never does, so nobody is texted.")
        path = state["gather"]
    elif what == "silence":
        if not state.get("redirect"):
            return jsonify(note="The call has ended: start a new call.")
        path = state["redirect"]
    else:
        abort(400, "do must be new, press or silence")
    try:
        turn = read_turn(replay(local_path(path), state["sid"], digits))
    except (PhoneError, ET.ParseError) as exc:
        return jsonify(note=f"The hotline did not answer properly: {exc}"), 502
    session["phone"] = {"sid": state["sid"], "gather": turn.gather, "redirect": turn.redirect}
    return jsonify(asdict(turn))


# ---- checks -------------------------------------------------------------------------------------

def content_error(hl: Hotline) -> str | None:
    """The refused edit: this process's own, or one another process published to Redis."""
    hl.holder.current()  # lets this process notice a fresh edit first
    if hl.holder.error:
        return hl.holder.error
    try:
        raw = hl.redis.get(store.CONTENT_ERROR)
        return json.loads(raw).get("error") if raw else None
    except (redis.RedisError, ValueError, AttributeError):
        return None


def findings(hl: Hotline) -> Report:
    """What `hotline check` finds in the content as it is on disk now (maybe a refused edit)."""
    return run_checks(hl.holder.root, hl.now().astimezone(ALMATY).date())


@operator_bp.get("/checks")
def checks() -> ResponseReturnValue:
    hl = _hl()
    report = findings(hl)
    problems = sorted(report.problems, key=lambda p: (p.severity != "error", p.file, p.line or 0))
    return render_template("operator_checks.html", report=report, problems=problems, version=hl.content.version)
