"""bench/RESULTS.md from the figures of one run. Each part is a marked section; a run of some parts
replaces only theirs, so every section carries the command and the moment that produced it."""
from __future__ import annotations

import re
from pathlib import Path

MARK = "<!-- section:{} -->"
END = "<!-- /section:{} -->"
ORDER = ("context", "summary", "webhooks", "dispatch", "scale", "startup", "profile", "firstcall", "wire", "notes")
PARTS = ("webhooks", "dispatch", "scale", "startup", "profile", "wire")


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _f(x: float | None, nd: int = 0) -> str:
    if x is None or x != x:  # no figure (a failed probe) or nan
        return "-"
    return f"{x:,.{nd}f}"


def context_md(ctx: dict) -> str:
    return f"""## How these figures were made

Command: `{ctx['command']}` (via `make bench`), started {ctx['started']}, took {ctx['elapsed_s']:.0f} s.
Machine: {ctx['cpus']} cores ({ctx['cpu']}), Python {ctx['python']}, redis-server {ctx['redis']}; load average
{ctx['load_before'][0]:.2f} before and {ctx['load_after'][0]:.2f} after (the machine is shared: other test
runs were going on, so absolute numbers move between runs; the ratios below are taken within one run,
each pair measured back to back).

Everything runs on 127.0.0.1: a real redis-server (AOF, `appendfsync everysec`, as the README recommends,
except the memory/scaling part, which runs without persistence), gunicorn exactly as the Procfile
starts it (`--workers 2 --timeout 15`, 16 threads each from hotline/cli/gunicorn_conf.py), and a fake
Twilio Messages API (bench/fakes.py).
"""


def webhooks_md(w: dict, ctx: dict) -> str:
    rows = []
    for row in w["table"]:
        h, b = row["hotline"], row["bare"]
        rows.append(f"| {row['level']} | {_f(h['rps'])} | {_f(h['p50_ms'], 1)} | {_f(h['p99_ms'], 1)} | "
                    f"{_f(b['rps'])} | {_f(b['p50_ms'], 1)} | {_f(b['p99_ms'], 1)} | {row['rps_ratio']:.2f} | "
                    f"{row['p99_ratio']:.2f} | {h['errors'] + b['errors']} |")
    at50 = next((r for r in w["table"] if r["level"] == 50), w["table"][-1])
    cap = w["capacity"]
    best = cap.get("best") or {}
    steps = " → ".join(f"{s['path']}" + (f" [{s['digits']}]" if s["digits"] else "") for s in w["walk"])
    per_step = ", ".join(f"{_f(x, 1)}" for x in at50["hotline"]["per_step_p50_ms"])
    wrk = w.get("wrk_bare_50") or {}
    wrk_line = (f"Cross-check of the generator: `wrk` (C) against the bare endpoint with 50 connections gave "
                f"{_f(wrk.get('rps', float('nan')))} req/s (p50 {_f(wrk.get('p50_ms', float('nan')), 1)} ms), against "
                f"{_f(at50['bare']['rps'])} req/s from the Python generator at 50 callers." if wrk else
                "(`wrk` not installed: no cross-check of the generator.)")
    gen = at50["hotline"]["gen_cpu_share"], at50["bare"]["gen_cpu_share"]
    return f"""## 1. Webhook speed

Each caller is a real signed call walking the menu, following the Gather action of each TwiML answer
(found by parsing it; every later answer is checked to hold the action the caller presses next, or,
after 8, the "sent you an SMS" prompt): {steps}. Half the callers choose Russian, half English;
each call has its own CallSid and number, so every call is a first call (language menu) and its SMS
passes the daily cap. Every request is signed (X-Twilio-Signature) and checked by the app
(TWILIO_AUTH_TOKEN and PUBLIC_URL set, HOTLINE_ENV=production). "8" sends a real SMS through the twilio
client to the fake API. Closed loop: each caller sends its next request as soon as it has the answer.
Each figure is the median of {w['repeats']} runs of {w['duration_s']:g} s (after {w['warm_s']:g} s warm-up);
the ratio is hotline / bare per run, then the median.

| callers | hotline req/s | p50 ms | p99 ms | bare req/s | p50 ms | p99 ms | throughput ratio | p99 ratio | errors |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

Targets at 50 callers: throughput ≥ 0.5 × bare: {_met(at50['rps_ratio'] >= 0.5)} ({at50['rps_ratio']:.2f});
p99 ≤ 2 × bare: {_met(at50['p99_ratio'] <= 2)} ({at50['p99_ratio']:.2f}).
{_floors_md(w)}{_slow_md(w)}
**Simultaneous calls one machine holds** (each call one request every 10 s, open loop, latency counted
from when the request was due, p99 < 100 ms): hotline **{_f(cap['calls'])} calls**
({_f(best.get('rps', float('nan')))} req/s at p99 {_f(best.get('p99_ms', float('nan')), 1)} ms){_bare_capacity(w)}.
Probes, hotline: {_probes(cap)}.{_probes_bare(w)}
{_capacity_cpu(w)}

Where the time goes at 50 callers: the web workers used {at50['hotline']['web_cpu_ms_per_req']:.2f} ms of CPU per
request (bare: {at50['bare']['web_cpu_ms_per_req']:.2f} ms), Redis {at50['hotline']['redis_cpu_ms_per_req']:.2f} ms;
the two gunicorn workers together kept {at50['hotline']['web_cpu_share']:.0%} of a core busy (bare
{at50['bare']['web_cpu_share']:.0%}). p50 per step of the walk (ms): {per_step}.
The load generator used {gen[0]:.0%} of a core while loading the hotline and {gen[1]:.0%} while loading the
bare endpoint (it shares the 2 cores, which favours neither side more than that). {wrk_line}
"""


FLOORS = (("signature", "the signature alone (werkzeug's form, twilio's RequestValidator, fixed TwiML)"),
          ("floor", "the signature and one pipelined Redis write (a SET with its TTL and an HINCRBY), fixed TwiML"))


def _floors_md(w: dict) -> str:
    """The same walk against the two floor servers (bench/floor_app.py), beside the bare endpoint: the
    best a hotline doing the issue's per-request work can reach on this machine."""
    if "floor" not in w["table"][0]:
        return ""
    rows = []
    for row in w["table"]:
        for name, _ in FLOORS:
            f = row[name]
            rows.append(f"| {row['level']} | {name} | {_f(f['rps'])} | {_f(f['p99_ms'], 1)} | {f['rps_ratio']:.2f} | "
                        f"{f['p99_ratio']:.2f} | {_f(f['web_cpu_ms_per_req'], 2)} | {f['errors']} |")
    at50 = next((r for r in w["table"] if r["level"] == 50), w["table"][-1])
    what = "; ".join(f"**{name}**: {text}" for name, text in FLOORS)
    return f"""
**The floor of this design on this machine.** The same signed walk, in the same run and rotation,
against two more servers under the same gunicorn (bench/floor_app.py), which do only what issue 17
says a webhook must do per request, and nothing of the hotline: {what}. Both check every
request's signature: a 403 would count as an error. Ratios are to the bare endpoint, per run, then the median.

| callers | server | req/s | p99 ms | throughput ratio | p99 ratio | web ms/req | errors |
| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

At 50 callers: the signature alone reaches {at50['signature']['rps_ratio']:.2f} of the bare throughput; with the one
Redis write, **{at50['floor']['rps_ratio']:.2f}** (p99 ratio {at50['floor']['p99_ratio']:.2f}); the hotline
{at50['rps_ratio']:.2f} ({at50['rps_ratio'] / at50['floor']['rps_ratio']:.0%} of the floor's throughput).
"""


def _slow_md(w: dict) -> str:
    """The walk against a fake Twilio as slow as the real API (bench/webhooks.slow_twilio)."""
    slow = w.get("slow_twilio")
    if not slow:
        return ""
    t, one = slow["threads"], slow["one_at_a_time"]
    return f"""
**When Twilio's API is as far away as it really is** (the fake answers each SMS in {slow['api_s'] * 1000:.0f} ms; the
same walk, {slow['callers']} callers, one run): the hotline as the Procfile starts it (2 processes of 16 threads,
hotline/cli/gunicorn_conf.py) served **{_f(t['rps'])} req/s, p50 {_f(t['p50_ms'], 1)} ms, p99 {_f(t['p99_ms'], 1)} ms**;
with one request at a time per process (`WEB_THREADS=1`, as gunicorn's default sync worker serves, and as
the Procfile ran before 2026-12-02) {_f(one['rps'])} req/s, p50 {_f(one['p50_ms'], 1)} ms, p99 {_f(one['p99_ms'], 1)} ms:
every "8" held its process for the whole API call, and the callers behind it waited. Errors: {t['errors']} / {one['errors']}.
"""


def _probes(cap: dict) -> str:
    return ", ".join(f"{p['calls']:,} calls → " + (f"p99 {_f(p['p99_ms'], 1)} ms" if p["p99_ms"] is not None else
                                                    "the generator did not report in time (counted as over)")
                     for p in cap["probes"])


def _bare_capacity(w: dict) -> str:
    out = ""
    for key, label in (("capacity_floor", "the floor (signature and one Redis write)"),
                       ("capacity_bare", "the bare endpoint")):
        cap = w.get(key)
        if cap:
            best = cap.get("best") or {}
            out += (f"; {label} in the same harness, same run: **{_f(cap['calls'])} calls** "
                    f"({_f(best.get('rps', float('nan')))} req/s at p99 {_f(best.get('p99_ms', float('nan')), 1)} ms)")
    return out


def _probes_bare(w: dict) -> str:
    return "".join(f" {label}: {_probes(w[key])}." for key, label in (("capacity_floor", "Floor"), ("capacity_bare", "Bare"))
                   if w.get(key))


def _capacity_cpu(w: dict) -> str:
    """Where the CPU went at each server's best probe and at its first probe over the limit, and whether
    the load generator (on the same 2 cores) kept its schedule."""
    lines = []
    for name, key in (("hotline", "capacity"), ("floor", "capacity_floor"), ("bare", "capacity_bare")):
        cap = w.get(key)
        if not cap or "web_cpu_ms_per_req" not in (cap["probes"][0] if cap["probes"] else {}):
            continue
        best = cap.get("best")
        over = min((p for p in cap["probes"] if not p["ok"] and p.get("rps")), key=lambda p: p["calls"], default=None)
        for label, p in (("held", best), ("first over", over)):
            if not p:
                continue
            cores = p.get("cpu_cores") or {}
            lines.append(f"| {name} | {label}: {p['calls']:,} calls | {_f(p['rps'])} | {_f(p['p99_ms'], 1)} | "
                         f"{_f(p.get('web_cpu_ms_per_req'), 2)} | {_f(p.get('redis_cpu_ms_per_req'), 2)} | "
                         f"{_f(p.get('gen_cpu_ms_per_req'), 2)} | {_f(cores.get('web'), 2)} / {_f(cores.get('redis'), 2)} / "
                         f"{_f(cores.get('gen'), 2)} | {_f(p.get('send_lag_p99_ms'), 1)} | {_f(p.get('p99_from_send_ms'), 1)} | "
                         f"{_f(p.get('load'), 1)} |")
    if not lines:
        return ""
    return ("\nCPU at the capacity probes (ms of CPU per request; cores busy of the 2; \"generator late\": p99 of how "
            "long after its due time the load generator sent a request, its own shortage of CPU; \"from the send\": "
            "the same p99 counted from when the request left, i.e. without the generator's lateness):\n\n"
            "| server | probe | req/s | p99 ms | web ms/req | Redis ms/req | generator ms/req | cores web / Redis / "
            "generator | generator late p99 ms | p99 ms from the send | load (1 min) |\n"
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n" + "\n".join(lines) + "\n")


def dispatch_md(d: dict, ctx: dict) -> str:
    c = d["ceilings"]
    one, two = d["one"], d["two"]
    lat = d.get("latency") or []
    scaling = two["msgs_per_s_sending"] / one["msgs_per_s_sending"] if one["msgs_per_s_sending"] else float("nan")
    lat_rows = "\n".join(
        f"| {x['reminders']} | {x['threads']} | {x['fake_delay_ms']:.0f} | {_f(x['msgs_per_s_sending'])} | "
        f"{'yes' if x['exactly_once'] else 'NO'} |" for x in lat)
    rows = "\n".join(
        f"| {x['workers']} | {x['reminders']:,} | {_f(x['wall_s'], 1)} | {_f(x['msgs_per_s'])} | {_f(x['msgs_per_s_sending'])} | "
        f"{x['received']:,} / {x['unique']:,} | {'yes' if x['exactly_once'] else 'NO'} | {x['left_due']} / {x['left_inflight']} | "
        f"{_f(x['startup_to_first_s'], 1)} |" for x in (one, two))
    return f"""## 2. Reminder dispatch

{d['n']:,} subscribers (filing rule, arrived 3 December), written in bulk (bench/populate.py, proven
equal to `reminders.subscribe` by tests/store/test_cluster.py), each with one reminder due at
{'11:00'} on 7 December; `hotline worker --once` processes with `HOTLINE_CLOCK_START=2026-12-07T11:00+05:00`
(daytime: nothing deferred), REDIS_URL and TWILIO_* pointing at the fake. Exactly once is counted at
the fake: every To number it accepted, against the numbers scheduled.

Issue 6 asks for 100,000 at once; at the rates below that is over ten minutes of dispatch alone on this
machine, so `make bench` uses {d['n']:,} (the rate does not depend on the count: each claim is O(log n));
`BENCH_ONLY=dispatch BENCH_REMINDERS=100000 make bench` runs the full size.

| workers | reminders | wall s | msgs/s (wall, incl. start) | msgs/s (first→last message) | received / unique | exactly once | due / in-flight left | start → first msg s |
| ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: |
{rows}

Targets: ≥ 500 msgs/s with one worker: {_met(one['msgs_per_s_sending'] >= 500)} ({_f(one['msgs_per_s_sending'])});
near-linear with two: {_met(scaling >= 1.7)} (×{scaling:.2f}); every reminder exactly once:
{_met(one['exactly_once'] and two['exactly_once'])}.

The fakes' own ceilings (a trivial closed-loop client, 16 connections, valid messages):
tests/support/twilio_api.FakeTwilio (http.server, one thread and one connection per request) **{_f(c['tests']['msgs_per_s'])} msgs/s**;
bench/fakes.py `fast` (asyncio, keep-alive) **{_f(c['fast']['msgs_per_s'])} msgs/s** (using {c['fast']['fake_cpu_share']:.0%}
of a core). The dispatch runs use the fast fake, which spent {one['fake_cpu_ms_per_msg']:.2f} ms of CPU per message:
the fake is not the limit; the worker's CPU is (§5: mostly the twilio library's request; §6: the
Redis round trips per message).

Against a fake that answers like the real API, after {lat[0]['fake_delay_ms']:.0f} ms (BENCH_TWILIO_LATENCY_MS), one worker:

| reminders | requests in flight | API latency ms | msgs/s | exactly once |
| ---: | ---: | ---: | ---: | :---: |
{lat_rows}

With a real API the worker's pace is requests in flight ÷ latency, not CPU: the default 32 at 150 ms is
about 200 msgs/s (100,000 reminders in about 8 minutes for one worker). `HOTLINE_WORKER_IN_FLIGHT` or
`hotline worker --in-flight N` sets it; it is also the most reminders a worker killed mid-request can
leave "uncertain" (never resent, counted). Twilio's own account limits (concurrent API requests,
messages per second per sender) apply beyond that.
"""


def scale_md(s: dict, ctx: dict) -> str:
    sizes = s["sizes"]
    rows = "\n".join(
        f"| {x['size']:,} | {x['subscribers']:,} | {_f(x['populate_s'], 1)} | {_f(x['bytes_per_subscriber'])} | "
        f"{_f(x['bytes_per_reminder'])} | {_f(x['bytes_per_subscriber_with_reminders'])} | {_f(x['used_memory_mb'], 1)} | "
        f"{x['poll_ms']:.2f} | {x['claim100_ms']:.2f} | {x['batch_read100_ms']:.2f} |" for x in sizes)
    small, big = sizes[0], sizes[-1]
    poll_r = big["poll_ms"] / small["poll_ms"]
    claim_r = big["claim100_ms"] / small["claim100_ms"]
    worst_sub = max(x["bytes_per_subscriber"] for x in sizes)
    return f"""## 3. Scheduling cost as it grows

Two reminders per subscriber (the filing rule). Memory: INFO `used_memory` before and after writing the
subscribers alone (no reminder left: a past deadline), then after adding their reminders (the jobs
hash, the due sorted set and each person's set of reminder ids). Poll: `reminders.run_once` with nothing
due (16 shards, one CLAIM script each). Claim: `schedule.claim_jobs` of 100 due reminders from one shard, which
reads their data in the same script (put back after each, untimed); read: the subscriber and opt-out reads
the worker's mark step adds for them (one pipeline). Medians of {sizes[0]['reps']} repetitions.

| reminders | subscribers | written in s | B / subscriber | B / reminder | B / subscriber with its reminders | Redis MiB | poll ms | claim 100 ms | read 100 ms |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
{rows}

Targets: poll cost within 2× between {small['size']:,} and {big['size']:,}: {_met(poll_r <= 2)} (×{poll_r:.2f});
claim cost within 2×: {_met(claim_r <= 2)} (×{claim_r:.2f}); under 1 KB per subscriber:
{_met(worst_sub < 1024)} ({_f(worst_sub)} B; with its two reminders {_f(big['bytes_per_subscriber_with_reminders'])} B).
Memory per key moves by a few tens of bytes with the size (Redis grows its hash tables in powers of two).
The subscriber hash is Redis's `hashtable` encoding because its values (the Fernet token, the consent
JSON) are longer than `hash-max-listpack-value` (64); each person's reminder-id set is a `hashtable` on
Redis 7.0 (7.2 and later keep small sets as listpacks).
"""


def startup_md(s: dict, ctx: dict) -> str:
    return f"""## 4. Start-up and footprint

| what | figure |
| --- | ---: |
| `hotline serve` (gunicorn, 2 workers) until /healthz answers | {s['ready_s']:.2f} s |
| RSS of one web worker after answering calls (PSS: shared pages divided) | {s['web_worker_rss_mib']:.0f} MiB ({s['web_worker_pss_mib']:.0f} MiB) |
| RSS of one web worker before its first request | {s['web_worker_idle_rss_mib']:.0f} MiB |
| gunicorn master / `hotline serve` supervisor RSS | {s['master_rss_mib']:.0f} / {s['serve_rss_mib']:.0f} MiB |
| the whole `hotline serve` tree (PSS) | {s['all_pss_mib']:.0f} MiB |
| `hotline worker --once` with nothing due (start, connect, poll, exit); its peak RSS | {s['worker_once_s']:.2f} s; {s['worker_max_rss_mib']:.0f} MiB |
| `import hotline` and the CLI in a fresh interpreter | {s['import_s']:.2f} s |
| `load_content` of the shipped prompts: first in a fresh process (imports included) / later | {s['content_first_s']:.2f} s / {s['content_warm_s']:.3f} s |
"""


def profile_md(p: dict, ctx: dict) -> str:
    out = ["## 5. Where the time goes (pyinstrument)",
           "",
           "In-process, one thread, against the same Redis and fake; profiling slows everything several",
           "times, so read the shares, not the milliseconds. Full trees: bench/out/profile-*.txt.",
           ""]
    for name, title in (("webhook", "A webhook (the walk above, 100 calls)"), ("worker", "The worker (1,000 reminders)")):
        res = p.get(name)
        if not res:
            out.append(f"{title}: skipped (pyinstrument not installed).\n")
            continue
        parts = "\n".join(f"| {k} | {v:.0%} |" for k, v in res["parts"].items())
        pk = "\n".join(f"| {k} | {v:.0%} |" for k, v in res["by_package"])
        out.append(f"**{title}**, inclusive shares of named parts:\n\n| part | share |\n| --- | ---: |\n{parts}\n\n"
                   f"Own time by package:\n\n| package | share |\n| --- | ---: |\n{pk}\n")
    return "\n".join(out)


NOTES = """## 7. What limits each figure, what was changed (issue 17), what is left

**Webhooks.** The web workers' CPU is still the limit: two gunicorn worker processes on two cores
(16 threads each since 2026-12-02; before, gunicorn's sync worker), shared with Redis and the load
generator. Issue 17 took out what did not have to happen per request:
- each answer (a menu, a topic part, an office, the language menu, a reminder step, goodbye) is built
  once per content snapshot and sound version and served from memory (`channels/call.cached_answer`,
  keyed by node, language, part, silence count and notices, or by a Gather's words and URLs; at most
  5,000 per snapshot, each rebuilt after an hour); no TwiML objects, prompt texts or Speaker per request;
- what a webhook stores (call state, the node's and the call's counters, caller memory, the SMS status
  record) is one pipeline sent just before the answer (`flush_writes`, the voice blueprint's
  after_request); "/voice" reads the caller's memory in one pipelined read; the status callback takes
  the call state with one GETDEL;
- the signature is checked with one HMAC (the URL as we have it) and the library's two-variant check
  only when that one fails;
- the language of a call is read from Redis only if the URL lacks it (it never does after the first step);
- the one write is sent by `GuardedPipeline.send` (the same packed round trip, breaker and retries, every
  reply read; none of redis-py's per-command reply callbacks and bookkeeping): 58-81 µs instead of
  125-138 µs for a menu step's 4 commands;
- no Flask session outside the dashboard (a webhook gets Flask's null session: no cookie parsed, no
  Redis, no Set-Cookie), the security headers added in one look at the response's headers, and the last
  16 answers of the phone-number parser kept (an SMS step parsed the same number 7 times).
  In-process, each request interleaved with one to the bare app (so the machine's load falls on both),
  the hotline's CPU went from 6.0-6.2 to 5.2-5.3 times the bare app's.
What is left per request is Flask/werkzeug (request context, form parsing, the response), the
signature (twilio's RequestValidator: one HMAC-SHA1 over the URL and 16 fields), the one Redis round
trip (on loopback the kernel's TCP work is charged to the process that sends), the SMS step's permit
and REST call (about a third of the app's CPU over the walk: one step in eight, 2 ms in-process), and
gunicorn's own work per connection, which the bare endpoint pays too (0.54 ms of CPU per request under
gunicorn against 0.08-0.12 ms in-process). py-spy on a web worker at 50 callers (2026-12-01 22:02,
load 0.5): the Redis write 22% of the worker's busy time, the view 17% (of which the SMS step 14%), the
signature 10%, gunicorn's writing and closing the connection 16%.

**The floor, and why the ratio goals cannot be met with this design on this machine.** §1 measures,
in the same run and rotation, two servers that do only the per-request work issue 17 prescribes
("the signature check and one pipelined Redis write"), nothing of the hotline (bench/floor_app.py):
werkzeug parses the form, twilio's RequestValidator checks the signature, and, for "floor", redis-py
sends one pipeline of two commands; both answer the bare endpoint's fixed TwiML. What each costs
under the same gunicorn is the difference between neighbouring rows of the floor table: the form and
the signature take the throughput from 1 to the "signature" ratio; the one Redis round trip (on
loopback, the kernel's TCP work and a context switch to redis-server and back, on 2 cores shared
with Redis and the load generator) takes it down to the "floor" ratio, which is at or under 0.5 in
every run so far (at 50 callers on 2026-12-02: 0.42-0.52 under gunicorn's sync worker, 0.38-0.46 with
threads), with a p99 ratio of 1.46-2.6. The hotline cannot do less than the floor and still be the
hotline (check the signature, keep the call's place and its counters): its throughput is 70-80% of
the floor's, and what it does on top is
mostly the "8" step (one step in eight: the permit's read and the REST call to Twilio, about 3 ms
in-process against 0.85 ms for a menu step), then building the Call and choosing its cached answer.
A hotline at 100% of the floor would still sit at the goal's edge, not past it.

What would go further, and why it is not done here:
- taking the Redis write off the request altogether (a per-process buffer flushed every few ms,
  counters summed): the issue's design keeps one write per request; a buffer loses what it holds
  when a process is killed, and a call's state written after its status callback deleted it would
  stay behind for two hours (a trace of the call that the hang-up is meant to remove);
- sending the "8" SMS from the worker instead of the request: it moves about a third of the app's
  CPU over the walk to another process on the same two cores, so the machine does the same work;
  its real value is elsewhere (a slow Twilio API would not hold a web worker), and it is worth its
  own change with its own tests (every "send me this" test and the one-answer privacy promise);
- a faster server or worker class: the bare endpoint runs under the same gunicorn, so a cheaper
  server raises both figures and the ratio gets worse, not better. Measured on 2026-12-02 (50 callers,
  fast fake): gunicorn's sync worker gave bare 1,900-2,100 req/s and the hotline 660-750 (0.32-0.39);
  threads (gthread, 4 per process) gave bare 3,200-3,400 and the hotline 880-1,030 (0.26-0.32), 16
  threads bare 2,540 and the hotline 770 (0.30).

The Procfile now starts gunicorn with 16 threads per process (hotline/cli/gunicorn_conf.py,
`WEB_THREADS`), not for the ratio (it lowers it) but for callers: a "send me this" waits for Twilio's
REST API inside its webhook, and a sync worker serves nobody else meanwhile. §1's run against a fake
as slow as the real API shows what that did (2026-12-02, before the change: 72 req/s at p99 2.4 s with
sync workers, 606 req/s at p99 0.3 s with 16 threads); tests/cli/test_serve.py holds three SMS at a
slow fake Twilio and checks a fourth caller is answered meanwhile. The figures in the summary are
from a run with threads. In the two full runs with threads on 2026-12-02 (03:03 and 03:27 UTC) the
throughput ratio was 0.29 and 0.25 against 0.36 with the sync worker (02:04), the held calls 5,526
and 4,325 against 5,716, the p99 ratio 3.21 and 3.89 against 4.58; against a 150 ms API the hotline
served 651 and 751 req/s (p99 0.29 and 0.27 s), one request at a time per process 94 and 46 (p99 3.5
and 1.3 s). The 03:27 run met a busier host (load 5.4-6.3 in its middle, with nothing but the bench
running): its reminders figure, 474/s, is under the 519-547/s of the three runs before it on the same
code path (the worker did not change this session).

This turn's changes (2026-12-02): a call's state is one SET with its TTL instead of HSET and EXPIRE;
a day's counters get their TTL once per process and ten minutes instead of with every increment
(tests/runtime/test_stats.py); the status callback takes the call's node with one GETDEL instead of
a MULTI/HGET/DEL/EXEC. A menu step went from 4 Redis commands to 2; in-process that is about 3% of a
menu step's CPU (min of 4 interleaved runs: 0.83 → 0.82-0.85 ms; the round trip, not the commands in
it, is what costs).

**Capacity.** 20,000 calls is 2,000 requests a second with p99 under 100 ms, on the same 2 cores as
Redis and the load generator. §1 probes the hotline, the floor and the bare endpoint in the same
harness, with the CPU each part used per request. Under gunicorn's sync worker the bare endpoint held
17,404-21,152 calls (runs of 2026-12-01 and 2026-12-02 02:04), the floor 9,292 and the hotline 5,716;
with 16 threads per process (the Procfile since 2026-12-02; each open-loop request then opens a new
connection, as the server lets an idle one go after gunicorn's keep-alive of 2 s, and a threaded
worker's accept and poll cost more per connection) the bare endpoint held 9,864-11,297, the floor
4,861-6,246 and the hotline 4,325-5,526 (two runs, §1). 20,000 calls is beyond what bare Flask under either
gunicorn worker holds on this machine before any form is parsed or any signature checked, so it
cannot fit in 2 cores with any webhook that checks Twilio's signature and writes to Redis per request
on this stack. The generator does not cap the measurement: it signs every request before its clock
starts (the measured loop only moves bytes), and the table above shows how late it sent its requests
(p99) and the CPU it used; above about 24,000 calls it did not report within its deadline (probably
its blocking connect() waiting on the server's full accept queue: those probes count as over).

**Dispatch.** The limit is one worker process's CPU (Python, one GIL) against the fast fake, and the
requests in flight against a slow one. Issue 17 changed:
- Redis: three round trips per reminder, each shared by many (claim + its data; mark + subscriber +
  opt-out + cap; settle + status record + counters), all scripts registered once and sent as EVALSHA
  inside one pipeline per loop turn (redis-py's own pipelined scripts ask SCRIPT EXISTS every time,
  and a cluster pipeline refuses evalsha); a NOSCRIPT (Redis restarted) reloads and reruns that call;
- a re-queue (retry, night) never resurrects a reminder cancelled while it was being tried;
- HTTP: the twilio client runs on a pooled urllib3 HTTP client (keep-alive, as many connections kept
  as requests in flight, no retries: a request without an answer is settled by asking Twilio, never by
  resending); requests + TwilioHttpClient cost about 2.5× the CPU per message and kept only 10
  connections per host;
- concurrency: at most `HOTLINE_WORKER_IN_FLIGHT` (or `hotline worker --in-flight N`; default 32)
  requests at once. A reminder is marked 'sending' only as its request starts, so this bound is also
  the most reminders a worker killed with kill -9 can leave 'uncertain' (never resent, counted and
  logged). The trade-off: pace against a real API ≈ bound ÷ latency (32 at 150 ms ≈ 200/s, 64 ≈
  400/s, 8 ≈ 50/s), against more uncertain reminders after a crash and more of Twilio's account
  concurrency used (Twilio limits concurrent API requests per account).

**hiredis**: see §6 for the measurement with and without it in the same run. It is not a dependency
(pyproject.toml): redis-py uses it when it is installed, so a deployment that measures a gain adds
`pip install hiredis` without a code change.

**Deployment.** Web capacity is CPU-bound per process: scale out web machines behind one Redis (they
share nothing else). Workers: one per core, `--in-flight` ≈ target msgs/s × API latency.
"""

# Issue 17's table: its goals, the figures before (RESULTS.md of the turn before and the issue's re-run on
# this machine, 2026-12-01), and this run's.
BEFORE = {"rps_ratio": "0.31 / 0.30", "p99_ratio": "4.96 / 3.63", "capacity": "9,275 / 6,339", "one_worker": "351",
          "latency": "52 (8 in flight), 303 (64)"}
# Counted with bench/wire.py's probes on b869e18 (the code before issue 17), same walk, same Redis:
BEFORE_WIRE = {"webhook_rt": 2.50, "webhook_cmds": 6.1, "reminder_rt": 5.09, "reminder_cmds": 24.1}


def _floor_note(at50: dict, key: str) -> str:
    """The floor's figure beside the hotline's (section 1: the signature and one Redis write, nothing else)."""
    if "floor" not in at50:
        return ""
    return f"; the floor of this design, same run: **{at50['floor'][key]:.2f}**"


def summary_md(results: dict, ctx: dict, sections: dict) -> str:
    w, d, wire = results.get("webhooks"), results.get("dispatch"), results.get("wire")
    rows = []
    if w:
        at50 = next((r for r in w["table"] if r["level"] == 50), w["table"][-1])
        cap = w["capacity"]["calls"]
        rows.append(f"| throughput at 50 callers, hotline ÷ bare | ≥ 0.5 | {BEFORE['rps_ratio']} | "
                    f"**{at50['rps_ratio']:.2f}** ({_f(at50['hotline']['rps'])} ÷ {_f(at50['bare']['rps'])} req/s)"
                    + _floor_note(at50, "rps_ratio") + f" | {_met(at50['rps_ratio'] >= 0.5)} |")
        rows.append(f"| p99 at 50 callers, hotline ÷ bare | ≤ 2 | {BEFORE['p99_ratio']} | "
                    f"**{at50['p99_ratio']:.2f}** ({_f(at50['hotline']['p99_ms'], 1)} ÷ {_f(at50['bare']['p99_ms'], 1)} ms)"
                    + _floor_note(at50, "p99_ratio") + f" | {_met(at50['p99_ratio'] <= 2)} |")
        bare_cap = (w.get("capacity_bare") or {}).get("calls")
        floor_cap = (w.get("capacity_floor") or {}).get("calls")
        rows.append(f"| simultaneous calls one 2-core machine holds (a request per call every 10 s, p99 < 100 ms) | "
                    f"≥ 20,000 | {BEFORE['capacity']} | **{_f(cap)}**"
                    + (f" (same harness: the floor **{_f(floor_cap)}**," if floor_cap is not None else " (same harness:")
                    + (f" the bare endpoint **{_f(bare_cap)}**)" if bare_cap is not None else ")")
                    + f" | {_met(cap >= 20000)} |")
    if d:
        one = d["one"]["msgs_per_s_sending"]
        rows.append(f"| reminders per second, one worker, fast fake API | ≥ 500 | {BEFORE['one_worker']} | **{_f(one)}** | "
                    f"{_met(one >= 500)} |")
        lat = {x["threads"]: x for x in d.get("latency") or []}
        best64 = lat.get(64)
        if best64:
            rows.append(f"| reminders per second, one worker, fake API answering in {best64['fake_delay_ms']:.0f} ms | ≥ 300 with at most "
                        f"64 in flight | {BEFORE['latency']} | **{_f(best64['msgs_per_s_sending'])}** (64 in flight); "
                        + "; ".join(f"{_f(x['msgs_per_s_sending'])} ({k})" for k, x in sorted(lat.items()) if k != 64)
                        + f" | {_met(best64['msgs_per_s_sending'] >= 300 and best64['exactly_once'])} |")
        both = d["one"]["exactly_once"] and d["two"]["exactly_once"]
        rows.append(f"| exactly once, {d['two']['reminders']:,} reminders, two workers | all | yes | "
                    f"**{d['two']['unique']:,} of {d['two']['reminders']:,} unique**, {d['two']['received']:,} received | {_met(both)} |")
    if wire:
        steps = wire["webhook"]
        rt = sum(s["round_trips"] for s in steps) / len(steps)
        cmds = sum(sum(s["commands"].values()) for s in steps) / len(steps)
        menu = [s["round_trips"] for s in steps if "/voice/key" in s["path"] and s["digits"] != "8"]
        rows.append(f"| Redis round trips per webhook (mean of the walk; a menu key press) | one write | "
                    f"{BEFORE_WIRE['webhook_rt']:.2f} ({BEFORE_WIRE['webhook_cmds']:.1f} commands) | "
                    f"**{rt:.2f}** ({cmds:.1f} commands); **{max(menu) if menu else float('nan'):g}** per key press | "
                    f"{_met(bool(menu) and max(menu) <= 1)} |")
        rem = wire["reminder"]
        rows.append(f"| Redis round trips per reminder | ≤ 3 | {BEFORE_WIRE['reminder_rt']:.2f} ({BEFORE_WIRE['reminder_cmds']:.1f} commands) | "
                    f"**{rem['round_trips_per_msg']:.2f}** ({rem['commands_per_msg']:.1f} commands, in scripts) | "
                    f"{_met(rem['round_trips_per_msg'] <= 3)} |")
        b = wire["app_cpu"]["best"]
        rows.append(f"| the app's own CPU per webhook, no HTTP server (min of {wire['app_cpu']['runs']} fresh processes) | - | - | "
                    f"hotline **{b['hotline']['mean_ms']:.3f} ms**"
                    + (f" (with hiredis {b['hotline_hiredis']['mean_ms']:.3f})" if "hotline_hiredis" in b else "") + ", "
                    + (f"the floor {b['floor']['mean_ms']:.3f} ms, " if "floor" in b else "")
                    + f"bare {b['bare']['mean_ms']:.3f} ms | - |")
    if not rows:
        return sections.get("summary", "")
    return f"""## Issue 17: the table, before and after

Before: bench/RESULTS.md of the turn before / the issue's re-run on this machine. After: this run
(`{ctx['command']}`, {ctx['started']}; load average {ctx['load_before'][0]:.1f} before, {ctx['load_after'][0]:.1f} after:
see "How these figures were made"). Every timed figure is a ratio against the bare endpoint measured
in the same run, or a rate; the round trips and commands are counted (bench/wire.py), not timed.

| figure | goal | before | after | |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}
"""


def wire_md(x: dict, ctx: dict) -> str:
    rows = []
    for s in x["webhook"]:
        cmds = ", ".join(f"{k} {v:g}" for k, v in s["commands"].items())
        rows.append(f"| {s['path']}" + (f" [{s['digits']}]" if s["digits"] else "") +
                    f" | {s['round_trips']:g} | {sum(s['commands'].values()):g} | {cmds} |")
    rem = x["reminder"]
    b = x["app_cpu"]["best"]
    steps = ", ".join(f"{v:.2f}" for v in b["hotline"]["per_step_ms"])
    bare = b["bare"]["mean_ms"]
    wp = x["worker_parsers"]
    if "hotline_hiredis" in b and wp:
        hiredis = (f"the app {b['hotline_hiredis']['mean_ms']:.3f} ms per request with it, {b['hotline']['mean_ms']:.3f} ms without "
                   f"(×{b['hotline_hiredis']['mean_ms'] / b['hotline']['mean_ms']:.2f}); the worker {wp['hiredis']:.3f} ms per "
                   f"reminder with it, {wp['no_hiredis']:.3f} ms without (×{wp['hiredis'] / wp['no_hiredis']:.2f}).")
    else:
        hiredis = "not measured in this run (it could not be installed into bench/out/hiredis)."
    return f"""## 6. Counted, not timed: round trips, commands, the app's own CPU

Redis round trips are counted on the wire by a proxy in front of Redis (tests/support/redis_probe.py:
every burst a client sends after the server last answered is one), commands by `INFO commandstats`
(commands inside Lua scripts included), the app in this process against a real Redis and the fast fake,
{40} calls of the walk, per step:

| step | round trips | commands | which |
| --- | ---: | ---: | --- |
{chr(10).join(rows)}

Before issue 17 (b869e18, same probes): 5, 4, 1, 1, 1, 1, 4, 3 round trips (2.50 per step), 6.1 commands.
"/voice" reads the caller's language memory (one pipelined read: both keys are the caller's) before it
can answer, and "8" asks the permit (opt-out, daily cap) before the SMS leaves: each needs one read
before its answer. Every other step is one write (the call's state as one SET with its TTL, the
counters; a day's counters get their TTL once per process and ten minutes, not with each increment);
the status callback takes the call's node with one GETDEL, then counts the hang-up.

**A reminder**, {rem['reminders']:,} due, one `run_once` with {rem['in_flight']} in flight: **{rem['round_trips_per_msg']:.3f}
round trips** and {rem['commands_per_msg']:.1f} commands per message ({', '.join(f'{k} {v:.2f}' for k, v in rem['commands'].items())}).
Before: 5.09 round trips and 24.1 commands (EVAL of the whole script text, MULTI/EXEC blocks). Each
reminder takes part in three round trips (the claim, which also reads its data; the mark, which also
reads the subscriber and the permit; the settle, which also writes the status record and the counters),
and each of those serves every reminder starting or ending at that moment (one pipeline per loop turn).

**The app's own CPU** (the WSGI app called directly, no gunicorn, no sockets but Redis; min of
{x['app_cpu']['runs']} fresh processes, {x['app_cpu']['calls']} walks each): hotline **{b['hotline']['mean_ms']:.3f} ms** per request
(per step {steps}), {_floor_cpu(b)}bare {bare:.3f} ms. What is left per menu step is the form (werkzeug), the
signature (one HMAC of the URL and 13 fields), the session interface, one pipelined write and Flask's
request context; "8" is the REST call.

**hiredis** (redis-py's C reply parser; not a dependency, installed by `make bench` into bench/out/hiredis
for this comparison only, each figure the min of fresh processes): {hiredis} Replies here are small (a
few integers per webhook; per loop turn of the worker a handful of short replies), so the parser is a
small share either way; see the notes for the decision.
"""


def _floor_cpu(b: dict) -> str:
    return f"the floor (bench/floor_app.py) {b['floor']['mean_ms']:.3f} ms, " if "floor" in b else ""


def write(path: Path, ctx: dict, results: dict) -> None:
    text = path.read_text() if path.exists() else ""
    sections = dict(re.findall(r"<!-- section:(\w+) -->\n(.*?)<!-- /section:\1 -->", text, flags=re.S))
    full = set(results) >= set(PARTS)
    if full or "context" not in sections:  # a partial run keeps the full run's header
        sections["context"] = context_md(ctx)
    makers = {"webhooks": webhooks_md, "dispatch": dispatch_md, "scale": scale_md, "startup": startup_md,
              "profile": profile_md, "wire": wire_md}
    if full:
        sections["summary"] = summary_md(results, ctx, sections)
    for part, res in results.items():
        if res is not None:
            body = makers[part](res, ctx)
            if not full:
                body += f"\n_(This section: `{ctx['command']}`, {ctx['started']}.)_\n"
            sections[part] = body
    sections.setdefault("notes", NOTES)
    if "notes" not in results:
        sections["notes"] = NOTES
    head = ("# Benchmarks (Issues 6 and 17)\n\nRerun: `make bench` (all of it, about 20 minutes on 2 cores), or "
            "`python -m bench.run --help` for sizes and parts. Raw figures: bench/out/results-*.json.\n\n")
    body = "\n".join(f"{MARK.format(k)}\n{sections[k].rstrip()}\n{END.format(k)}\n" for k in ORDER if k in sections)
    path.write_text(head + body)
