"""`hotline operators ...`: dashboard accounts, one per person. The first admin is created here."""
from __future__ import annotations

import click

from hotline.cli.command_app import command_hotline


def _show(created, totp: bool) -> None:
    click.echo(f"operator {created.name} ({created.role})")
    click.echo(f"  password:  {created.password}")
    if created.totp_secret:
        click.echo(f"  authenticator secret: {created.totp_secret}")
        click.echo(f"  or scan/open:         {created.totp_uri}")
        click.echo("  recovery codes (each works once, instead of an authenticator code):")
        for code in created.recovery_codes:
            click.echo(f"    {code}")
    elif not totp:
        click.echo("  no second factor (local mode only)")
    click.echo("Shown once: give these to the person, then clear this screen.")


@click.group("operators")
def operators_group() -> None:
    """Operator accounts for the dashboard (roles: viewer, editor, caseworker, admin)."""


@operators_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "editor", "caseworker", "admin"]), required=True)
@click.option("--password", "ask", is_flag=True, help="type a password instead of getting a generated one")
@click.option("--no-totp", is_flag=True, help="no second factor (refused in production)")
def add(name: str, role: str, ask: bool, no_totp: bool) -> None:
    """Create an account; prints its password, authenticator secret and recovery codes once."""
    from hotline.dashboard import accounts
    from hotline.runtime import audit
    password = click.prompt("password", hide_input=True, confirmation_prompt=True) if ask else None
    hl = command_hotline()
    try:
        created = accounts.create(hl, name, role, password, totp=not no_totp)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(hl, actor="cli", action="operator.add", operator=name, role=role)
    _show(created, not no_totp)


@operators_group.command("reset")
@click.argument("name")
@click.option("--password", "ask", is_flag=True, help="type a password instead of getting a generated one")
@click.option("--no-totp", is_flag=True, help="no second factor (refused in production)")
def reset(name: str, ask: bool, no_totp: bool) -> None:
    """New password and second factor; every session of this operator ends at once."""
    from hotline.dashboard import accounts
    from hotline.runtime import audit
    password = click.prompt("password", hide_input=True, confirmation_prompt=True) if ask else None
    hl = command_hotline()
    try:
        created = accounts.reset(hl, name, password, totp=not no_totp)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(hl, actor="cli", action="operator.reset", operator=name)
    _show(created, not no_totp)


@operators_group.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Delete an account; its sessions end at once."""
    from hotline.dashboard import accounts
    from hotline.runtime import audit
    hl = command_hotline()
    if not accounts.remove(hl, name):
        raise click.ClickException(f"no operator called {name!r}")
    audit.record(hl, actor="cli", action="operator.remove", operator=name)
    click.echo(f"removed {name}; their sessions have ended")


@operators_group.command("list")
def list_() -> None:
    """Every account: name, role, second factor."""
    from hotline.dashboard import accounts
    rows = accounts.list_all(command_hotline())
    for a in rows:
        click.echo(f"{a.name:<24} {a.role:<11} {'TOTP' if a.has_second_factor else 'no second factor'}")
    click.echo(f"{len(rows)} operator(s)")
