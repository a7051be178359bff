"""Alembic, driven from Python: upgrade, downgrade and the head revision, for the CLI, tests and readiness."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.settings import PROJECT_ROOT


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic config pointing at migrations/ and, if given, at a database URL."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def head_revision() -> str | None:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision` ('base' removes every table of ours)."""
    command.downgrade(alembic_config(database_url), revision)
