"""Accounts managed from the command line: each use case of `auth` in a session of its own."""

from __future__ import annotations

from app.db.models import User
from app.db.session import session_scope
from app.services import auth
from app.services.catalogue import resolve_city
from app.settings import Settings


def add_user(
    settings: Settings, username: str, password: str, role: str, full_name: str | None = None
) -> User:
    """Create an account."""
    with session_scope(settings) as db:
        return auth.add_user(db, username, password, role, full_name)


def list_users(settings: Settings) -> list[tuple[User, list[str]]]:
    """All accounts with the codes of the neighbourhoods assigned to each."""
    with session_scope(settings) as db:
        return auth.list_users(db)


def set_role(settings: Settings, username: str, role: str) -> User:
    """Change a user's role by name; a new role revokes their sign-in tokens and API keys."""
    with session_scope(settings) as db:
        return auth.set_role(db, username, role)


def assign_by_code(settings: Settings, username: str, city: str, codes: list[str]) -> list[int]:
    """Give a user edit rights in a city's neighbourhoods (city by id or name, neighbourhoods by code)."""
    with session_scope(settings) as db:
        return auth.assign_by_code(db, username, resolve_city(db, city).id, codes)


def revoke_key_by_prefix(settings: Settings, username: str, prefix: str | None) -> int:
    """Revoke a user's API keys (all, or the one starting with `prefix`); returns how many."""
    with session_scope(settings) as db:
        return auth.revoke_key_by_prefix(db, username, prefix)
