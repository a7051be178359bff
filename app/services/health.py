"""Readiness: can we reach the database, and is its schema at the newest migration?

The check opens its own short-lived connection (never one of the shared pool) with a connect timeout, a statement
timeout and an overall deadline, so /readyz answers within about a second even when every pool connection is busy.
"""

from __future__ import annotations

import asyncio
import math
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from app.services.migrations import head_revision


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as a libpq connection URI."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@lru_cache(maxsize=1)
def _head() -> str | None:
    return head_revision()  # read from the migration files once: they do not change while the process runs


async def readiness(database_url: str, timeout_ms: int) -> tuple[bool, dict[str, Any]]:
    """(ready, details) without exposing database messages; never longer than `timeout_ms`."""
    head = _head()
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            conn = await psycopg.AsyncConnection.connect(
                libpq_url(database_url),
                autocommit=True,
                connect_timeout=max(2, math.ceil(timeout_ms / 1000)),  # libpq's smallest useful value is 2 s
                options=f"-c statement_timeout={timeout_ms}",
            )
            async with conn:
                cursor = await conn.execute("SELECT version_num FROM alembic_version")
                row = await cursor.fetchone()
    except (TimeoutError, psycopg.Error):
        return False, {"database": "unreachable or not migrated: run `assetmap db upgrade`"}
    current = row[0] if row else None
    if current != head:
        return False, {"database": "reachable", "migration": current, "expected": head}
    return True, {"database": "reachable", "migration": current}
