"""Part 6: the first Kazakh call on a fresh data directory, against a Russian one (issue 13).

Each round starts from nothing: a new redis-server, a new data directory (no speech cache), then
gunicorn as the Procfile runs it. As soon as /healthz answers, a Kazakh and a Russian caller call
(order alternating between rounds), then more calls of each language follow. Timed: every webhook
(signed, as Twilio sends it), and for Kazakh every <Play> fetch Twilio makes right after the
webhook. Kazakh has no Twilio voice, so its speech is ours; Russian is Twilio's <Say>.

    python -m bench.firstcall [--rounds 3] [--calls 20]   (writes the firstcall section of RESULTS.md)
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .common import OUT, ROOT, RedisServer, gunicorn, hotline_env, percentile
from .loadgen import sign, twilio_form


class Caller:
    def __init__(self, base: str, n: int) -> None:
        u = urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        self.sid, self.number = "CA" + os.urandom(16).hex(), f"+7705{n:07d}"

    def post(self, path: str, digits: str | None = None) -> tuple[float, ET.Element]:
        form = twilio_form(self.sid, self.number, digits)
        t0 = time.perf_counter()
        self.conn.request("POST", path, urlencode(form), {"Content-Type": "application/x-www-form-urlencoded",
                                                           "X-Twilio-Signature": sign(path, form)})
        resp = self.conn.getresponse()
        data = resp.read()
        took = (time.perf_counter() - t0) * 1000
        if resp.status != 200:
            raise RuntimeError(f"{path}: HTTP {resp.status}")
        return took, ET.fromstring(data)

    def fetch(self, url: str) -> float:
        path = url if url.startswith("/") else urlsplit(url).path
        t0 = time.perf_counter()
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{path}: HTTP {resp.status}")
        return (time.perf_counter() - t0) * 1000


def one_call(base: str, n: int, key: str) -> dict:
    """Language menu, then the language's key (welcome + main menu); Twilio fetches each <Play>."""
    c = Caller(base, n)
    webhooks, fetches = [], []
    for path, digits in (("/voice", None), ("/voice/lang", key)):
        took, root = c.post(path, digits)
        webhooks.append(took)
        for el in root.iter("Play"):
            fetches.append(c.fetch(el.text or ""))
    c.conn.close()
    return {"webhooks": webhooks, "fetches": fetches}


def expected_sounds() -> int:
    """How many sounds the background pass makes for the shipped content (every played slot, piece, sentence)."""
    from datetime import date

    from hotline.content.loader import load_content
    from hotline.content.script import sound_jobs
    from hotline.runtime.synthesis import Synthesiser

    content, synth = load_content(ROOT, date.today()), Synthesiser(OUT / "names-only")
    return len({synth.name(text, lang, slow) for text, lang, slow in sound_jobs(content, date.today())})


RECORDED = ("value.number.1", "value.number.2", "value.number.3", "menu.option.after_key")


def record_some(client, work: Path) -> None:
    """Studio recordings of a few pieces of the Kazakh main menu (a tone each), so calls hear it in pieces."""
    import subprocess
    from datetime import date

    from hotline.content.loader import load_content
    from hotline.content.script import studio_slots
    from hotline.runtime.recording import store_recording
    from hotline.store.recordings import Recordings

    slots = studio_slots(load_content(ROOT, date.today()), "kk")
    tone = work / "tone.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "1", str(tone), "synth", "0.5", "sine", "300", "vol", "0.3"],
                   check=True)
    for slot in RECORDED:
        store_recording(Recordings(client), "kk", slot, slots[slot], tone, f"{slot}.wav", "studio")


def round_(i: int, calls: int, recorded: bool = False) -> dict:
    load_before = os.getloadavg()[0]
    want = expected_sounds()
    work = OUT / f"firstcall-{i}"
    shutil.rmtree(work, ignore_errors=True)
    redis = RedisServer(work / "redis", aof=True)
    try:
        if recorded:
            record_some(redis.client, work)
        env = hotline_env(redis.url, data_dir=work / "var")
        t0 = time.perf_counter()
        with gunicorn("hotline:create_app()", env, log=OUT / "gunicorn-firstcall.log") as (base, _proc):
            ready = time.perf_counter() - t0
            order = ("kk", "ru") if i % 2 == 0 else ("ru", "kk")
            first = {lang: one_call(base, 1000 * i + k, "1" if lang == "kk" else "2") for k, lang in enumerate(order)}
            later = {"kk": [], "ru": []}
            for n in range(calls):
                for lang in order:
                    later[lang].append(one_call(base, 1000 * i + 10 + 2 * n + (lang == "ru"),
                                                "1" if lang == "kk" else "2"))
            deadline = time.time() + 120
            while time.time() < deadline and len(list(redis.client.scan_iter("hl:tts:wav:*"))) < want:
                time.sleep(0.2)
            all_ready = time.perf_counter() - t0 - ready
            on_fetch = sum(int(redis.client.hget(k, "tts.render_on_fetch") or 0)
                           for k in redis.client.scan_iter("hl:stats:*"))
            sounds = len(list(redis.client.scan_iter("hl:tts:wav:*")))
    finally:
        redis.stop()
    return {"ready_s": ready, "first": first, "later": later, "render_on_fetch": on_fetch, "sounds": sounds,
            "all_sounds_s": all_ready, "expected_sounds": want, "load": [round(load_before, 1), round(os.getloadavg()[0], 1)]}


def summarise(rounds: list[dict]) -> dict:
    def pct(xs: list[float]) -> dict:
        xs = sorted(xs)
        return {"n": len(xs), "p50": percentile(xs, 50), "p99": percentile(xs, 99), "max": xs[-1] if xs else None}

    out = {}
    for lang in ("kk", "ru"):
        first = [w for r in rounds for w in r["first"][lang]["webhooks"]]
        hooks = first + [w for r in rounds for c in r["later"][lang] for w in c["webhooks"]]
        fetch_first = [f for r in rounds for f in r["first"][lang]["fetches"]]
        fetches = fetch_first + [f for r in rounds for c in r["later"][lang] for f in c["fetches"]]
        out[lang] = {"first_call_webhooks": pct(first), "webhooks": pct(hooks),
                     "first_call_fetches": pct(fetch_first), "fetches": pct(fetches)}
    out["render_on_fetch"] = [r["render_on_fetch"] for r in rounds]
    out["sounds"] = [r["sounds"] for r in rounds]
    out["all_sounds_s"] = [round(r["all_sounds_s"], 1) for r in rounds]
    out["ready_s"] = statistics.median(r["ready_s"] for r in rounds)
    out["expected_sounds"] = [r["expected_sounds"] for r in rounds]
    out["load"] = [r["load"] for r in rounds]
    return out


def markdown(s: dict, rounds: int, calls: int, started: str) -> str:
    f = lambda x: "-" if x is None else f"{x:.1f}"  # noqa: E731
    rows = []
    for lang, name in (("kk", "Kazakh (our speech, <Play>)"), ("ru", "Russian (Twilio <Say>)")):
        d = s[lang]
        rows.append(f"| {name} | {f(d['first_call_webhooks']['p50'])} | {f(d['first_call_webhooks']['max'])} | "
                    f"{f(d['webhooks']['p50'])} | {f(d['webhooks']['p99'])} | {d['webhooks']['n']} | "
                    f"{f(d['fetches']['p50'])} | {f(d['fetches']['p99'])} | {d['fetches']['n']} |")
    return f"""## 6. The first Kazakh call on a fresh data directory (issue 13)

`python -m bench.firstcall --rounds {rounds} --calls {calls}`, {started}. Each round: a new redis-server
and a new data directory (no speech anywhere), gunicorn as the Procfile runs it (2 workers); the
moment /healthz answers (median {s['ready_s']:.1f} s after start), one Kazakh and one Russian caller call
(alternating who is first), then {calls} more calls of each. A call is the language menu (`/voice`) and
the language's key (`/voice/lang`: welcome and main menu); after each Kazakh webhook the <Play> files
are fetched as Twilio fetches them. Milliseconds, on 127.0.0.1, 2 shared cores.

| language | first call: webhook p50 | first call: webhook max | all webhooks p50 | p99 | n | audio fetch p50 | p99 | n |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

Load average (1 minute) at the start and the end of each round: {s['load']} on 2 cores shared with
other work: timed figures are only comparable between the two languages of one run.

Kazakh speech synthesised while a caller waited (an audio fetch that found nothing rendered and
made it, counter `tts.render_on_fetch`), per round: {s['render_on_fetch']}. Sounds in Redis at the end
(every Kazakh slot, every piece of a value, every sentence with values whole; shared by all
processes): {s['sounds']} of {s['expected_sounds']}; the background pass had them
{s['all_sounds_s']} s after /healthz answered. A sentence with values is heard whole until one of its
pieces is recorded, so a fresh start plays as many sounds per call as before. No webhook synthesises: it only names the
sound. What every call hears in its first seconds (language menu, welcome, main menu) is rendered
before a process serves, and the names of every sound are computed then (18 ms in-process at load
7, which the first Kazakh webhook of each worker used to pay); everything else in the background,
in the order callers hear it, with espeak-ng and sox at nice 10 so webhooks on the same cores go
first (before that, the first calls' webhooks of both languages took 30-110 ms while the two
workers synthesised beside them). A fetch of
a sound the background pass has not reached yet would be made then (and counted above).
"""


def pieces_paragraph(s: dict) -> str:
    """The run with a few pieces of the main menu recorded (`--recorded`), where it was made."""
    f = lambda x: "-" if x is None else f"{x:.1f}"  # noqa: E731
    kk, ru = s["kk"], s["ru"]
    return f"""
With {', '.join(RECORDED)} recorded in the studio before the start (`--recorded`, load {s['load']}), the
Kazakh main menu is heard in pieces (recorded ones, the others synthesised piece by piece): Kazakh
first-call webhook p50 {f(kk['first_call_webhooks']['p50'])} ms (max {f(kk['first_call_webhooks']['max'])}), all webhooks p50
{f(kk['webhooks']['p50'])} / p99 {f(kk['webhooks']['p99'])} ms, {kk['fetches']['n']} audio fetches p50 {f(kk['fetches']['p50'])} / p99
{f(kk['fetches']['p99'])} ms; Russian webhooks p50 {f(ru['webhooks']['p50'])} / p99 {f(ru['webhooks']['p99'])} ms. Synthesised while a
caller waited: {s['render_on_fetch']}: the pieces of what a call hears first are rendered before serving.
"""


def write_section(text: str, path: Path = ROOT / "bench" / "RESULTS.md") -> None:
    body = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"<!-- section:firstcall -->\n{text.rstrip()}\n<!-- /section:firstcall -->\n"
    start, end = body.find("<!-- section:firstcall -->"), body.find("<!-- /section:firstcall -->")
    if start >= 0 and end >= 0:
        body = body[:start] + block + body[end + len("<!-- /section:firstcall -->\n"):]
    else:
        notes = body.find("<!-- section:notes -->")
        body = body[:notes] + block + "\n" + body[notes:] if notes >= 0 else body + "\n" + block
    path.write_text(body, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--recorded", action="store_true",
                    help=f"with studio recordings of {', '.join(RECORDED)}: the main menu is heard in pieces")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    rounds = [round_(i, args.calls, args.recorded) for i in range(args.rounds)]
    s = summarise(rounds)
    (OUT / f"results-firstcall{'-recorded' if args.recorded else ''}.json").write_text(
        json.dumps({"summary": s, "rounds": rounds}, indent=1))
    text = markdown(s, args.rounds, args.calls, started)
    pieces = OUT / "results-firstcall-recorded.json"
    if not args.recorded and pieces.exists():
        text += pieces_paragraph(json.loads(pieces.read_text())["summary"])
    print(text)
    if args.recorded:
        print("(with recordings: not written to RESULTS.md; see the pieces paragraph there)")
    elif not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
