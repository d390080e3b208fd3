"""bench/RESULTS.md from the figures of one run. Each part is a marked section; a run of some parts
replaces only theirs, so every section carries the command and the moment that produced it."""
from __future__ import annotations

import re
from pathlib import Path

MARK = "<!-- section:{} -->"
END = "<!-- /section:{} -->"
ORDER = ("context", "webhooks", "dispatch", "scale", "startup", "profile", "firstcall", "notes")


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
starts it (`--workers 2 --timeout 15`), and a fake Twilio Messages API (bench/fakes.py).
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

**Simultaneous calls one machine holds** (each call one request every 10 s, open loop, latency counted
from when the request was due, p99 < 100 ms): **{_f(cap['calls'])} calls**
({_f(best.get('rps', float('nan')))} req/s at p99 {_f(best.get('p99_ms', float('nan')), 1)} ms). Probes:
{', '.join(f"{p['calls']} calls → p99 {_f(p['p99_ms'], 1)} ms" for p in cap['probes'])}.

Where the time goes at 50 callers: the web workers used {at50['hotline']['web_cpu_ms_per_req']:.2f} ms of CPU per
request (bare: {at50['bare']['web_cpu_ms_per_req']:.2f} ms), Redis {at50['hotline']['redis_cpu_ms_per_req']:.2f} ms;
the two gunicorn workers together kept {at50['hotline']['web_cpu_share']:.0%} of a core busy (bare
{at50['bare']['web_cpu_share']:.0%}). p50 per step of the walk (ms): {per_step}.
The load generator used {gen[0]:.0%} of a core while loading the hotline and {gen[1]:.0%} while loading the
bare endpoint (it shares the 2 cores, which favours neither side more than that). {wrk_line}
"""


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
equal to `reminders.subscribe` by tests/test_cluster.py), each with one reminder due at
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
tests/fake_twilio.FakeTwilio (http.server, one thread and one connection per request) **{_f(c['tests']['msgs_per_s'])} msgs/s**;
bench/fakes.py `fast` (asyncio, keep-alive) **{_f(c['fast']['msgs_per_s'])} msgs/s** (using {c['fast']['fake_cpu_share']:.0%}
of a core). The dispatch runs use the fast fake, which spent {one['fake_cpu_ms_per_msg']:.2f} ms of CPU per message:
the fake is not the limit; the worker's CPU is (see the profile: about half of it inside the twilio
library's request, most of the rest in ~10 Redis round trips per message).

Against a fake that answers like the real API, after {lat[0]['fake_delay_ms']:.0f} ms (BENCH_TWILIO_LATENCY_MS), one worker:

| reminders | send threads | API latency ms | msgs/s | exactly once |
| ---: | ---: | ---: | ---: | :---: |
{lat_rows}

With a real API the worker's pace is threads ÷ latency, not CPU: 8 threads (the default) at 150 ms is
about 50 msgs/s, so 100,000 reminders due at 10:00 would take over half an hour for one worker.
`HOTLINE_WORKER_THREADS` raises it (each thread is one request in flight; it is also the most
reminders a worker killed mid-request can leave "uncertain"). Twilio's own account limits (concurrent
API requests, messages per second per sender) apply beyond that.
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
due (16 shards, one CLAIM script each). Claim: `reminders.claim` of 100 due reminders from one shard
(put back after each, untimed); read: the batch read-ahead `run_once` then does (2 pipelined round
trips). Medians of {sizes[0]['reps']} repetitions.

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


NOTES = """## 6. What limits each figure, what was changed, what is left

**Webhooks.** The limit is the web workers' CPU: two sync gunicorn workers on two cores, shared with
Redis and the load generator. The hotline spends several times the bare endpoint's CPU per request.
The profile (§5) shows where: the largest part of a webhook is `prompts.text`, which recomputes
`common_values` (the plural forms of every legal period, through Babel's `Locale.parse` and plural
rules) for every prompt of every answer; then the Redis round trips (call state, caller memory, stats:
several per request) and, on "8", the REST call. None of that is in the files this benchmark may
change (prompts.py, voice.py, stats.py, sender.py): see "for the lead" below. Raising `--workers`
does not help on 2 cores; more machines behind a load balancer do (web processes share nothing but Redis).

**Dispatch.** The limit is one worker process's CPU (Python, one GIL): about half of each message is
the twilio library's request (requests + urllib3), most of the rest ~10 Redis round trips (half of
them in sender.py). Two workers on two cores share those cores with Redis and the fake, so they scale
below 2×; on separate machines they scale freely (claims are atomic per shard). Against a real API,
latency, not CPU, sets the pace unless HOTLINE_WORKER_THREADS is raised.

**Changes made in hotline/reminders.py** (measured here, all tests pass):
- the worker reads each claimed batch ahead (job data and subscribers: 2 pipelined round trips per
  100 instead of 2 per message), renders each (language, rule, deadline) text once per batch, counts
  `reminders.sent` once per batch, and finishes a reminder with one Lua script (FINISH) instead of a
  4-command MULTI/EXEC;
- `MARK` (Lua) sets "sending" only if the reminder still exists and this worker's lease still holds:
  a STOP/DELETE after the read-ahead still wins, and a reminder whose lease ran out while queued is
  not sent by a worker that no longer holds it (before, it could be sent by two);
- batches overlap (the next one is claimed while the last one sends; at most two ahead); threads
  configurable by HOTLINE_WORKER_THREADS (default 8, as before);
- the twilio library's per-request INFO logging (ten lines per SMS through the masking filter and
  one handler lock) is set to WARNING in the worker;
- a run reads the clock at every claim: a run that outlasts the 120 s lease (e.g. 100,000 reminders)
  claimed late batches with leases counted from its start, already expired, so a second worker could
  claim them again (with MARK's lease check that is now skipped, not sent twice);
- the RunReport counters are updated under a lock (many send threads);
- pipelines whose keys share one slot say `transaction=True` explicitly: redis-py's RedisCluster
  defaults to no transaction (silently non-atomic), a single Redis to MULTI/EXEC.

**Redis Cluster** (tests/test_cluster.py, 3 primaries on loopback, `redis-cluster://`): the reminder
path works, each reminder is sent once (in-process and by `hotline worker --once`), STOP cancels, and
every Lua script's keys (CLAIM, CANCEL, FINISH, MARK) share one slot. Elsewhere, for the lead:
`store.connect` gives a cluster a plain RedisCluster (no outage breaker); `sender.permit`
(INCR + EXPIRE) and `operator.take_attempt` (SET NX + INCR) use `pipeline()`, which on a
RedisCluster is not a transaction: say `transaction=True` (one key, one slot, so it works there);
`hl:stats:<day>`, `hl:outbox` and `hl:content:error` carry no hash tag (fine: single-key commands).

**For the lead (files this work may not touch), by expected gain:**
1. `prompts.common_values` per (content, language), computed once instead of per prompt: about a third
   of a webhook's CPU (Babel `Locale.parse` and plural rules for every legal period, for every
   prompt). The same in the worker's message text (already cached per batch there).
2. Webhook Redis round trips: `voice.Call.remember` + `stats.count` + caller memory are 3-5 round
   trips per step; one pipeline per request (transaction=False; they span slots) would do.
3. sender.py: `permit` is 2 round trips and `_deliver`'s status record 2 more (HSET + EXPIRE) plus
   `stats.count`: one pipeline each would cut the worker's ~10 round trips per message to ~6. The
   twilio library's INFO logging should be lowered where the client is made (the web process logs
   ten lines per "send me this" SMS too).
4. `hiredis` (redis-py's C parser) would cut the client-side cost of every round trip.
5. Deployment: web capacity is CPU-bound per process; scale out web machines behind one Redis.
   Workers: raise HOTLINE_WORKER_THREADS to cover the API latency (threads ≈ target msgs/s ×
   latency), and run one worker per core. Redis: `hash-max-listpack-value 256` would keep subscriber
   hashes as listpacks (smaller); Redis ≥ 7.2 keeps small sets compact.
"""


def write(path: Path, ctx: dict, results: dict) -> None:
    text = path.read_text() if path.exists() else ""
    sections = dict(re.findall(r"<!-- section:(\w+) -->\n(.*?)<!-- /section:\1 -->", text, flags=re.S))
    if len(results) == len(ORDER) - 3 or "context" not in sections:  # a partial run keeps the full run's header (firstcall has its own command)
        sections["context"] = context_md(ctx)
    makers = {"webhooks": webhooks_md, "dispatch": dispatch_md, "scale": scale_md, "startup": startup_md,
              "profile": profile_md}
    for part, res in results.items():
        if res is not None:
            body = makers[part](res, ctx)
            if len(results) < 5:
                body += f"\n_(This section: `{ctx['command']}`, {ctx['started']}.)_\n"
            sections[part] = body
    sections.setdefault("notes", NOTES)
    if "notes" not in results:
        sections["notes"] = NOTES
    head = ("# Benchmarks (Issue 6)\n\nRerun: `make bench` (all of it, about 8 minutes on 2 cores), or "
            "`python -m bench.run --help` for sizes and parts. Raw figures: bench/out/results-*.json.\n\n")
    body = "\n".join(f"{MARK.format(k)}\n{sections[k].rstrip()}\n{END.format(k)}\n" for k in ORDER if k in sections)
    path.write_text(head + body)
