"""Readiness: can we reach the database, and is its schema at the newest migration?"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from app.services.migrations import head_revision


def readiness(engine: Engine) -> tuple[bool, dict[str, Any]]:
    """(ready, details) without exposing database messages."""
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        return False, {"database": "unreachable or not migrated: run `assetmap db upgrade`"}
    head = head_revision()
    if current != head:
        return False, {"database": "reachable", "migration": current, "expected": head}
    return True, {"database": "reachable", "migration": current}
