"""`hotline ...`: the commands operators and developers run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import click

from hotline.cli.audio import audio_group
from hotline.cli.check import check_command
from hotline.cli.simulate import simulate_command
from hotline.store import keys as store
from hotline.store.connection import data_dir, start_embedded


def _app():
    from hotline import create_app
    return create_app()


def _hotline():
    return _app().extensions["hotline"]


@click.group()
def main() -> None:
    """SMS and voice hotline for people seeking asylum in Kazakhstan."""


def _embedded_env() -> dict[str, str]:
    """Environment for child processes: one embedded Redis shared by all of them when REDIS_URL is unset."""
    env = dict(os.environ)
    if not env.get("REDIS_URL"):
        sock = start_embedded(data_dir())
        env["REDIS_URL"] = f"unix://{sock}"
    return env


def _gunicorn(host: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{host}:{port}",
            "--timeout", "15", "--graceful-timeout", "5", "hotline:create_app()"]


def _supervise(procs: list[subprocess.Popen], on_tick=None) -> None:
    """Run children until one exits or we are interrupted; then stop them all (no orphans)."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(p.poll() is None for p in procs):
            if on_tick:
                on_tick()
            time.sleep(0.5)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if on_tick:
            on_tick()  # show what arrived since the last look before saying goodbye


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Run the web server (gunicorn), with the embedded Redis when REDIS_URL is unset."""
    env = _embedded_env()
    _supervise([subprocess.Popen(_gunicorn(host, port, workers), env=env)])


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def run(host: str, port: int) -> None:
    """Everything for local use: embedded Redis, web server, reminder worker, and the outbox."""
    env = _embedded_env()
    procs = [subprocess.Popen(_gunicorn(host, port, 2), env=env),
             subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker"], env=env)]
    base = f"http://{host}:{port}"
    click.echo(f"""
The hotline is running at {base}  (Ctrl-C stops everything)
  Try a call in this terminal:   .venv/bin/hotline simulate --url {base}
  Or post the first webhook:     curl -X POST {base}/voice -d CallSid=CAtest -d From=+77000000000
  Text it:                       curl -X POST {base}/sms -d From=+77000000000 -d Body=HELP
  Operator dashboard:            {base}/operator  (set OPERATOR_PASSWORD first)
Outgoing SMS are printed below (no Twilio credentials: they go to the local outbox).
""")
    os.environ["REDIS_URL"] = env["REDIS_URL"]
    hl = _hotline()
    seen = hl.redis.llen(store.OUTBOX)

    def show_outbox() -> None:
        nonlocal seen
        try:
            entries = hl.redis.lrange(store.OUTBOX, seen, -1)
        except Exception:  # noqa: BLE001 - the server may be stopping
            return
        for raw in entries:
            e = json.loads(raw)
            click.echo(f"[outbox] to {e['to']} ({e['purpose']}): {e['body']}")
        seen += len(entries)

    _supervise(procs, show_outbox)


@main.command()
@click.option("--once", is_flag=True, help="send what is due now, then exit (for cron-style schedulers)")
@click.option("--poll", default=5.0, show_default=True, help="seconds between polls")
@click.option("--in-flight", "in_flight", type=click.IntRange(1, 1000), default=None,
              help="most requests to Twilio at once (default HOTLINE_WORKER_IN_FLIGHT, else 32): the pace against "
                   "a slow API, and the most reminders a killed worker can leave uncertain")
def worker(once: bool, poll: float, in_flight: int | None) -> None:
    """Send due reminders; any number of workers may run at once."""
    from hotline.reminders.worker import run_forever, run_once
    hl = _hotline()
    if once:
        click.echo(str(run_once(hl, in_flight)))
        if hl.content.handoff is not None:
            from hotline.messaging import callbacks, recordings
            click.echo(f"call-backs: {callbacks.run_once(hl)}; voice messages swept: {recordings.sweep(hl)}")
        return
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    run_forever(hl, poll, stop=lambda: stopping["now"], in_flight=in_flight)


@main.command()
@click.option("--clear", is_flag=True, help="empty the outbox after printing it")
def outbox(clear: bool) -> None:
    """Print the SMS that would have been sent (local mode, no Twilio credentials)."""
    hl = _hotline()
    for raw in hl.redis.lrange(store.OUTBOX, 0, -1):
        e = json.loads(raw)
        click.echo(f"{e['at']}  to {e['to']}  ({e['purpose']})\n    {e['body']}")
    if clear:
        hl.redis.delete(store.OUTBOX)


@main.group()
def reminders() -> None:
    """Look at scheduled reminders (numbers masked)."""


@reminders.command("due")
@click.option("--until", "until", required=True, help="ISO time, e.g. 2026-12-08T12:00+05:00")
def reminders_due(until: str) -> None:
    """What would go out until a time."""
    from hotline.reminders.reports import due_report
    try:
        end = datetime.fromisoformat(until)
    except ValueError:
        raise click.BadParameter("use an ISO time such as 2026-12-08T12:00+05:00", param_hint="--until") from None
    hl = _hotline()
    if end.tzinfo is None:
        end = end.replace(tzinfo=hl.content.policy.tz)
    rows = due_report(hl, end)
    for row in rows:
        click.echo(f"{row['at']:%Y-%m-%d %H:%M}  {row['to']}  {row['rule']:<17} {row['lang']}  deadline {row['deadline']}")
    click.echo(f"{len(rows)} reminder(s) due until {end.isoformat()}")


@reminders.command("show")
@click.argument("phone")
def reminders_show(phone: str) -> None:
    """One person's reminders, for support staff."""
    from hotline.reminders.reports import person_report
    report = person_report(_hotline(), phone)
    click.echo(f"number {report['number']}  language {report['lang'] or '-'}  opted out: {report['opted_out']}")
    for rule, consent in report["rules"].items():
        click.echo(f"  {rule}: from {consent['start']}, deadline {consent['deadline']}, "
                   f"consent {consent['at']} by {consent['channel']} ({consent['lang']})")
    for item in report["upcoming"]:
        click.echo(f"  next: {item['at']:%Y-%m-%d %H:%M} ({item['id'].split(':')[0]})")
    if not report["rules"] and not report["upcoming"]:
        click.echo("  nothing stored")


@main.group()
def caseworkers() -> None:
    """Caseworkers who take calls: their numbers are stored encrypted, shown masked."""


@caseworkers.command("add")
@click.argument("name")
@click.option("--languages", "-l", required=True, help="comma-separated language codes, e.g. ru,kk")
@click.option("--order", type=int, default=None, help="position when calls ring one after another")
def caseworkers_add(name: str, languages: str, order: int | None) -> None:
    """Add (or update) a caseworker; the phone number is asked for, never taken from the command line."""
    from hotline.people import caseworkers as cw
    hl = _hotline()
    langs = [l.strip() for l in languages.split(",") if l.strip()]
    unknown = [l for l in langs if l not in hl.content.settings.languages]
    if unknown or not langs:
        raise click.BadParameter(f"use some of: {', '.join(hl.content.settings.languages)}", param_hint="--languages")
    phone = click.prompt("Phone number (not shown, not stored in shell history)", hide_input=True)
    try:
        added = cw.add(hl, name, phone, langs, order)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{added.id}  {added.name}  {added.masked(hl)}  {','.join(added.languages)}  order {added.order}")


@caseworkers.command("list")
def caseworkers_list() -> None:
    """Everyone who can be rung, in routing order (numbers masked)."""
    from hotline.people import caseworkers as cw
    hl = _hotline()
    for c in cw.load(hl.redis):
        click.echo(f"{c.id}  {c.name:<20} {c.masked(hl)}  {','.join(c.languages):<8} order {c.order}  "
                   f"{'ON SHIFT' if c.on_shift else 'off'}")


@caseworkers.command("shift")
@click.argument("cid")
@click.argument("state", type=click.Choice(["on", "off"]))
def caseworkers_shift(cid: str, state: str) -> None:
    """Put a caseworker on or off shift."""
    from hotline.people import caseworkers as cw
    if not cw.set_shift(_hotline().redis, cid, state == "on"):
        raise click.ClickException(f"no caseworker {cid} (see `hotline caseworkers list`)")
    click.echo(f"{cid} {state} shift")


@caseworkers.command("remove")
@click.argument("cid")
def caseworkers_remove(cid: str) -> None:
    """Remove a caseworker and their number."""
    from hotline.people import caseworkers as cw
    if not cw.remove(_hotline().redis, cid):
        raise click.ClickException(f"no caseworker {cid}")
    click.echo(f"{cid} removed")


main.add_command(check_command, "check")
main.add_command(audio_group, "audio")
main.add_command(simulate_command, "simulate")
