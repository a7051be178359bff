"""The readiness probe's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Readiness(BaseModel):
    """The database answers and its schema is at the newest migration."""

    status: Literal["ready"]
    database: Literal["reachable"]
    migration: str = Field(description="the database's Alembic revision")


class Liveness(BaseModel):
    """The process is up."""

    status: Literal["ok"]
