"""`assetmap user`: accounts, roles, organisers' neighbourhoods and API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.cli.base import console, load_settings

app = typer.Typer(
    help="Accounts: add users, set roles, assign neighbourhoods, revoke keys.", no_args_is_help=True
)


@app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, gis, planner, organiser or contributor")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    full_name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Create an account."""
    from app.services import users

    user = users.add_user(load_settings(), username, password, role, full_name)
    console.print(f"created {user.username} ({user.role})", style="green")


@app.command("list")
def user_list() -> None:
    """List accounts with their roles and neighbourhoods."""
    from app.services import users

    rows = users.list_users(load_settings())
    table = Table()
    for col in ("id", "user", "role", "active", "neighbourhoods"):
        table.add_column(col)
    for user, codes in rows:
        table.add_row(
            str(user.id), user.username, user.role, "yes" if user.active else "no", ", ".join(codes)
        )
    console.print(table)


@app.command("set-role")
def user_set_role(username: str, role: str) -> None:
    """Change a user's role; a new role revokes the user's sign-in tokens and API keys."""
    from app.services import users

    users.set_role(load_settings(), username, role)
    console.print(
        f"{username} is now {role}: a new role ends their sign-in tokens and API keys", style="green"
    )


@app.command("assign")
def user_assign(
    username: str,
    codes: Annotated[list[str], typer.Argument(help="neighbourhood codes")],
    city: Annotated[str, typer.Option(help="city id or name")],
) -> None:
    """Give an organiser edit rights in neighbourhoods (by code)."""
    from app.services import users

    ids = users.assign_by_code(load_settings(), username, city, codes)
    console.print(f"{username} may now edit {len(ids)} neighbourhood(s)", style="green")


@app.command("revoke-key")
def user_revoke_key(
    username: str,
    prefix: Annotated[
        str | None, typer.Option(help="only the key starting with this (first 10 characters)")
    ] = None,
) -> None:
    """Revoke a user's API keys (all of them, or the one with this prefix)."""
    from app.services import users

    count = users.revoke_key_by_prefix(load_settings(), username, prefix)
    console.print(f"revoked {count} key(s)", style="green")
