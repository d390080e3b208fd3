"""`hotline ...`: the commands operators and developers run."""
from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta

import click

from hotline.cli.audio import audio_group
from hotline.cli.check import check_command
from hotline.cli.command_app import command_hotline
from hotline.cli.operators import operators_group
from hotline.cli.serve import run_command, serve_command
from hotline.cli.simulate import simulate_command


@click.group()
def main() -> None:
    """SMS and voice hotline for people seeking asylum in Kazakhstan."""


@main.command()
@click.option("--once", is_flag=True, help="send what is due now, then exit (for cron-style schedulers)")
@click.option("--poll", default=5.0, show_default=True, help="seconds between polls")
@click.option("--in-flight", "in_flight", type=click.IntRange(1, 1000), default=None,
              help="most requests to Twilio at once (default HOTLINE_WORKER_IN_FLIGHT, else 32): the pace against "
                   "a slow API, and the most reminders a killed worker can leave uncertain")
@click.option("--at", "at", default=None, metavar="ISO",
              help="with --once, outside production: act as if it were this time (Almaty), e.g. 2026-12-03T10:00, "
                   "to see a reminder arrive without waiting for it")
def worker(once: bool, poll: float, in_flight: int | None, at: str | None) -> None:
    """Send due reminders; any number of workers may run at once."""
    from hotline.reminders.worker import run_forever, run_once
    if at is not None:
        _move_clock(at, once)
    hl = command_hotline()
    if once:
        click.echo(str(run_once(hl, in_flight)))
        if hl.content.handoff is not None:
            from hotline.messaging import callbacks, recordings
            click.echo(f"call-backs: {callbacks.run_once(hl)}; voice messages swept: {recordings.sweep(hl)}")
        return
    stopping = {"now": False}
    for sig in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C finishes the current batch, then exits quietly
        signal.signal(sig, lambda *_: stopping.update(now=True))
    run_forever(hl, poll, stop=lambda: stopping["now"], in_flight=in_flight)


def _move_clock(at: str, once: bool) -> None:
    """`--at`: this process's clock starts at `at` (a rehearsal); never in production."""
    from hotline.runtime import settings
    if not once:
        raise click.UsageError("--at works with --once only")
    if {**settings.defaults(), **settings.from_env()}["HOTLINE_ENV"] == "production":
        raise click.UsageError("--at is for rehearsals: it would send real reminders early, so production refuses it")
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter("use an ISO time such as 2026-12-03T10:00", param_hint="--at") from None
    if moment.tzinfo is None:
        from hotline.rules.deadlines import ALMATY
        moment = moment.replace(tzinfo=ALMATY)
    os.environ["HOTLINE_CLOCK_START"] = moment.isoformat()


@main.command()
@click.option("--clear", is_flag=True, help="empty the outbox after printing it")
def outbox(clear: bool) -> None:
    """Print the SMS that would have been sent, replies included (local mode, no Twilio credentials)."""
    from hotline.messaging import outbox as box
    hl = command_hotline()
    tz = hl.content.policy.tz
    entries = box.read(hl.redis)
    for e in entries:
        click.echo(f"{box.when(e, tz)}  {box.describe(e)}\n    {e['body']}")
    click.echo(f"{len(entries)} SMS; times are {tz}" + (" (the outbox is now empty)" if clear else ""))
    if clear:
        box.clear(hl.redis)


@main.group()
def reminders() -> None:
    """Look at scheduled reminders (numbers masked)."""


@reminders.command("due")
@click.option("--until", "until", default=None, help="ISO time, e.g. 2026-12-08T12:00+05:00 (default: 100 days from now)")
def reminders_due(until: str | None) -> None:
    """What would go out until a time."""
    from hotline.reminders.reports import due_report
    hl = command_hotline()
    try:
        end = datetime.fromisoformat(until) if until else hl.now() + timedelta(days=100)
    except ValueError:
        raise click.BadParameter("use an ISO time such as 2026-12-08T12:00+05:00", param_hint="--until") from None
    if end.tzinfo is None:
        end = end.replace(tzinfo=hl.content.policy.tz)
    rows = due_report(hl, end)
    for row in rows:
        click.echo(f"{row['at']:%Y-%m-%d %H:%M}  {row['to']}  {row['rule']:<17} {row['lang']}  deadline {row['deadline']}")
    tz = hl.content.policy.tz
    click.echo(f"{len(rows)} reminder(s) due until {end.astimezone(tz):%Y-%m-%d %H:%M} ({tz})")


@reminders.command("show")
@click.argument("phone")
def reminders_show(phone: str) -> None:
    """One person's reminders, for support staff."""
    from hotline.reminders.reports import person_report
    report = person_report(command_hotline(), phone)
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
    hl = command_hotline()
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
    hl = command_hotline()
    for c in cw.load(hl.redis):
        click.echo(f"{c.id}  {c.name:<20} {c.masked(hl)}  {','.join(c.languages):<8} order {c.order}  "
                   f"{'ON SHIFT' if c.on_shift else 'off'}")


@caseworkers.command("shift")
@click.argument("cid")
@click.argument("state", type=click.Choice(["on", "off"]))
def caseworkers_shift(cid: str, state: str) -> None:
    """Put a caseworker on or off shift."""
    from hotline.people import caseworkers as cw
    if not cw.set_shift(command_hotline().redis, cid, state == "on"):
        raise click.ClickException(f"no caseworker {cid} (see `hotline caseworkers list`)")
    click.echo(f"{cid} {state} shift")


@caseworkers.command("remove")
@click.argument("cid")
def caseworkers_remove(cid: str) -> None:
    """Remove a caseworker and their number."""
    from hotline.people import caseworkers as cw
    if not cw.remove(command_hotline().redis, cid):
        raise click.ClickException(f"no caseworker {cid}")
    click.echo(f"{cid} removed")


main.add_command(run_command, "run")
main.add_command(serve_command, "serve")
main.add_command(check_command, "check")
main.add_command(audio_group, "audio")
main.add_command(simulate_command, "simulate")
main.add_command(operators_group, "operators")
