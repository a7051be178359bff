"""`assetmap db`: create a local PostGIS database and migrate it."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.base import console, fail, load_settings

app = typer.Typer(help="Database: create it locally, migrate it.", no_args_is_help=True)


@app.command("up")
def db_up() -> None:
    """Make sure a local PostGIS database exists: install, start, create role, database and extension."""
    from app.services.provision import ProvisionError
    from app.services.provision import db_up as provision

    settings = load_settings()
    try:
        message = provision(settings.database_url, lambda line: console.print(f"  {line}", highlight=False))
    except ProvisionError as exc:
        raise fail(str(exc)) from None
    console.print(message, style="green")


@app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply migrations (Alembic) up to a revision."""
    from app.services.migrations import upgrade

    upgrade(load_settings().database_url, revision)
    console.print(f"database at {revision}", style="green")


@app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="target revision, e.g. -1 or base")]) -> None:
    """Revert migrations (Alembic) down to a revision; 'base' removes every table."""
    from app.services.migrations import downgrade

    downgrade(load_settings().database_url, revision)
    console.print(f"database at {revision}", style="green")


@app.command("readonly-role")
def db_readonly_role(
    name: Annotated[str, typer.Argument(help="name of the role to create, e.g. assetmap_read")],
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, envvar="ASSETMAP_READONLY_PASSWORD", help="its password"),
    ],
    admin_url: Annotated[
        str | None,
        typer.Option(
            help="a URL to the same database as a role that may create roles (default: the app's URL)"
        ),
    ] = None,
) -> None:
    """Create a role that may only read (SELECT, read-only transactions), for an instance that serves reads."""
    from app.services.provision import ProvisionError
    from app.services.readonly import create_readonly_role

    try:
        url = create_readonly_role(load_settings().database_url, name, password, admin_url)
    except ProvisionError as exc:
        raise fail(str(exc)) from None
    console.print(f"role {name} reads only; serve reads with ASSETMAP_DATABASE_URL={url}", style="green")
