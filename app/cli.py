"""The `assetmap` command line: database, sample data, users and the web server."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.errors import AssetmapError
from app.settings import Settings, get_settings

# Output holds names people typed (cities, neighbourhoods, assets, files): never read it as rich markup or emoji
# codes, so "[bold]" or ":smile:" in a name is printed as typed. Colour comes from `style=` instead.
console = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)

cli = typer.Typer(
    help="assetmap: asset-based community mapping on PostGIS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_cli = typer.Typer(help="Database: create it locally, migrate it.", no_args_is_help=True)
user_cli = typer.Typer(
    help="Accounts: add users, set roles, assign neighbourhoods, revoke keys.", no_args_is_help=True
)
cli.add_typer(db_cli, name="db")
cli.add_typer(user_cli, name="user")


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        err.print(Text.assemble(("settings error:", "red"), f" {exc}"))
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error a user can act on and return the exit to raise."""
    err.print(Text.assemble(("error:", "red"), f" {message}"), highlight=False)
    return typer.Exit(code)


@db_cli.command("up")
def db_up() -> None:
    """Make sure a local PostGIS database exists: install, start, create role, database and extension."""
    from app.services.provision import ProvisionError
    from app.services.provision import db_up as provision

    settings = _settings()
    try:
        message = provision(settings.database_url, lambda line: console.print(f"  {line}", highlight=False))
    except ProvisionError as exc:
        raise fail(str(exc)) from None
    console.print(message, style="green")


@db_cli.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations (Alembic) up to a revision."""
    from app.services.migrations import upgrade

    upgrade(_settings().database_url, revision)
    console.print(f"database at {revision}", style="green")


@db_cli.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1 or base")]) -> None:
    """Revert migrations (Alembic) down to a revision; 'base' removes every table."""
    from app.services.migrations import downgrade

    downgrade(_settings().database_url, revision)
    console.print(f"database at {revision}", style="green")


@cli.command("load-sample")
def load_sample(
    demo_users: Annotated[bool, typer.Option(help="also create one demo account per role")] = True,
) -> None:
    """Load the Berlin sample (58 forecast areas under 12 districts, 3,240 facilities); safe to run again."""
    from app.db.session import session_scope
    from app.services.sample import create_demo_users, load_berlin

    settings = _settings()
    with session_scope(settings) as db:
        report = load_berlin(db, settings)
        accounts = (
            create_demo_users(db, report.city_id)
            if demo_users and settings.environment != "production"
            else []
        )
    table = Table(title="Berlin sample", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in report.counts.items():
        table.add_row(key, str(value))
    console.print(table)
    for note in report.notes:
        console.print(Text.assemble("  ", ("note:", "yellow"), f" {note}"), highlight=False)
    if accounts:
        users = Table(title="Demo accounts (development only)")
        for col in ("user", "password", "role", "can"):
            users.add_column(col)
        for acc in accounts:
            users.add_row(acc.username, acc.password, acc.role, acc.description)
        console.print(users)


@cli.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="reload on code changes (development)")] = False,
) -> None:
    """Serve the API and the maps with uvicorn."""
    import uvicorn

    _settings()  # refuse to start with bad settings (e.g. a default secret in production)
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers, reload=reload)


@user_cli.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, gis, planner, organiser or contributor")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    full_name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an account."""
    from app.db.session import session_scope
    from app.services import auth

    with session_scope(_settings()) as db:
        user = auth.add_user(db, username, password, role, full_name)
    console.print(f"created {user.username} ({user.role})", style="green")


@user_cli.command("list")
def user_list() -> None:
    """List accounts with their roles and neighbourhoods."""
    from app.db.session import session_scope
    from app.services import auth

    with session_scope(_settings()) as db:
        rows = auth.list_users(db)
    table = Table()
    for col in ("id", "user", "role", "active", "neighbourhoods"):
        table.add_column(col)
    for user, codes in rows:
        table.add_row(
            str(user.id), user.username, user.role, "yes" if user.active else "no", ", ".join(codes)
        )
    console.print(table)


@user_cli.command("set-role")
def user_set_role(username: str, role: str) -> None:
    """Change a user's role; a new role revokes the user's sign-in tokens and API keys."""
    from app.db.session import session_scope
    from app.services import auth

    with session_scope(_settings()) as db:
        auth.set_role(db, username, role)
    console.print(
        f"{username} is now {role}: a new role ends their sign-in tokens and API keys", style="green"
    )


@user_cli.command("assign")
def user_assign(
    username: str,
    codes: Annotated[list[str], typer.Argument(help="neighbourhood codes")],
    city: Annotated[str, typer.Option(help="city id or name")],
) -> None:
    """Give an organiser edit rights in neighbourhoods (by code)."""
    from app.db.session import session_scope
    from app.services import auth
    from app.services.catalogue import resolve_city

    with session_scope(_settings()) as db:
        ids = auth.assign_by_code(db, username, resolve_city(db, city).id, codes)
    console.print(f"{username} may now edit {len(ids)} neighbourhood(s)", style="green")


@user_cli.command("revoke-key")
def user_revoke_key(
    username: str,
    prefix: Annotated[
        str | None, typer.Option(help="only the key starting with this (first 10 characters)")
    ] = None,
) -> None:
    """Revoke a user's API keys (all of them, or the one with this prefix)."""
    from app.db.session import session_scope
    from app.services import auth

    with session_scope(_settings()) as db:
        count = auth.revoke_key_by_prefix(db, username, prefix)
    console.print(f"revoked {count} key(s)", style="green")


def main() -> None:
    """Entry point of the console script; domain errors become one readable line and exit code 1."""
    try:
        cli()
    except AssetmapError as exc:
        err.print(Text.assemble(("error:", "red"), f" {exc.detail}"), highlight=False)
        sys.exit(1)


import app.commands_analysis  # noqa: E402,F401  (registers analyse, suggest-sites, what-if, map)
from app import commands_imports  # noqa: E402,F401

if __name__ == "__main__":
    main()
