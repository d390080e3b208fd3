"""Where the time goes (pyinstrument, when installed): a webhook walk and the worker's send loop,
each in-process, one thread, against the same real Redis and fake Twilio as the benchmarks.

Full text profiles go to bench/out/profile-*.txt; the report keeps the heaviest functions by own time
and the share of a few named parts (by inclusive time).
"""
from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from . import loadgen
from .common import OUT, RedisServer, hotline_env
from .dispatch import due_hotline, fake_twilio

WEB_PARTS = {  # label: (function name, file fragment) measured inclusively
    "signature check (RequestValidator.validate)": ("validate", "request_validator"),
    "prompt texts (content.render.text; now only when an answer is first built)": ("text", "hotline/content/render.py"),
    "building an answer (call.cached_answer misses)": ("build_gather", "hotline/channels/call.py"),
    "Redis round trips (redis-py execute)": ("execute_command", "redis/client.py"),
    "Redis pipelines (redis-py)": ("execute", "redis/client.py"),
    "TwiML to XML (twilio.twiml)": ("__str__", "twilio/twiml"),
    "REST call for 'send me this' (twilio client)": ("create", "twilio/rest"),
}
WORKER_PARTS = {
    "twilio REST client (one POST, pooled urllib3)": ("create", "twilio/rest"),
    "Redis round trips (redis-py execute)": ("execute_command", "redis/client.py"),
    "Redis pipelines (one per loop turn: settle, mark, claim)": ("execute", "redis/client.py"),
    "Fernet decrypt": ("decrypt", "hotline/store/vault.py"),
    "message text (once per language, rule, deadline)": ("text", "hotline/content/render.py"),
}


def _group(path: str) -> str:
    """Which package a file belongs to: hotline, or the library (site-packages top level), or the stdlib."""
    path = (path or "").replace(os.sep, "/")
    if "/hotline/" in path:
        return "hotline (our code)"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    return "python stdlib / builtins"


def _summarise(session, parts: dict) -> dict:
    root = session.root_frame()
    total = root.time
    own: dict[str, float] = defaultdict(float)
    inclusive: dict[str, float] = {k: 0.0 for k in parts}

    def walk(frame, active: frozenset, parent_path: str) -> None:
        synthetic = frame.function.startswith("[")  # pyinstrument's [self]/[await] frames: counted in the parent
        path = frame.file_path if frame.file_path and not synthetic else parent_path
        if not synthetic:
            own[_group(path)] += frame.total_self_time
        now_active = set(active)
        for label, (fn, frag) in parts.items():
            if label not in active and frame.function == fn and frag in (frame.file_path or ""):
                inclusive[label] += frame.time
                now_active.add(label)
        for child in frame.children:
            walk(child, frozenset(now_active), path)

    walk(root, frozenset(), "")
    top = sorted(own.items(), key=lambda kv: -kv[1])[:10]
    return {"total_s": total, "parts": {k: v / total for k, v in inclusive.items()},
            "by_package": [(k, v / total) for k, v in top]}


@contextmanager
def _redis_and_fake() -> Iterator[tuple[RedisServer, str]]:
    """An empty Redis (its folder wiped first) and the fast fake Twilio's URL, for one profile."""
    workdir = OUT / "redis-profile"
    shutil.rmtree(workdir, ignore_errors=True)
    redis = RedisServer(workdir, aof=False)
    try:
        with fake_twilio("fast") as (url, _):
            yield redis, url
    finally:
        redis.stop()


def webhook(calls: int = 100) -> dict | None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    with _redis_and_fake() as (redis, url):
        env = hotline_env(redis.url, twilio_url=url, data_dir=OUT / "var-profile")
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            from hotline import create_app
            app = create_app()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        client = app.test_client()
        steps = [("/voice", None), ("/voice/lang", "2"), ("/voice/key?n=main&l=ru&p=0", "1"),
                 ("/voice/key?n=apply&l=ru&p=0", "2"), ("/voice/key?n=office.almaty&l=ru&p=0", "*"),
                 ("/voice/key?n=apply&l=ru&p=0", "3"), ("/voice/key?n=office.shymkent&l=ru&p=0", "8")]
        reqs = []
        for i in range(calls + 20):
            sid, num = f"CA{i:032x}", f"+7709{i:07d}"
            for path, d in steps:
                form = loadgen.twilio_form(sid, num, d)
                reqs.append((path, form, loadgen.sign(path, form)))
        for path, form, sig in reqs[:20 * len(steps)]:  # warm: imports, Kazakh audio, connections
            client.post(path, data=form, headers={"X-Twilio-Signature": sig})
        prof = Profiler(interval=0.001)
        prof.start()
        for path, form, sig in reqs[20 * len(steps):]:
            resp = client.post(path, data=form, headers={"X-Twilio-Signature": sig})
            assert resp.status_code == 200, (path, resp.status_code)
        prof.stop()
        (OUT / "profile-webhook.txt").write_text(prof.output_text(unicode=False, color=False))
        res = _summarise(prof.last_session, WEB_PARTS)
        res["ms_per_request"] = res["total_s"] / (calls * len(steps)) * 1000
        return res


def worker(n: int = 1000) -> dict | None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    from hotline import reminders

    with _redis_and_fake() as (redis, url):
        hl = due_hotline(redis.url, url, n, "+7706", OUT / "var-profile")
        import logging
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)  # as run_once does
        prof = Profiler(interval=0.001)
        prof.start()
        report = reminders.run_once(hl, 1)  # one request at a time, in this thread, so the profiler sees it all
        prof.stop()
        assert report.sent == n, report
        (OUT / "profile-worker.txt").write_text(prof.output_text(unicode=False, color=False))
        res = _summarise(prof.last_session, WORKER_PARTS)
        res["ms_per_message"] = res["total_s"] / n * 1000
        return res


def run(log=print) -> dict:
    out = {"webhook": webhook(), "worker": worker()}
    for name, res in out.items():
        if res:
            log(f"  {name}: " + ", ".join(f"{k.split(' (')[0]} {v:.0%}" for k, v in res["parts"].items()))
        else:
            log(f"  {name}: pyinstrument not installed; skipped")
    return out
