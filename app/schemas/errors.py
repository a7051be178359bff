"""The one body every error answer has, as app.main's handlers send it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    """One value that was refused."""

    field: str = Field(
        description="dotted path of the value in its location, e.g. 'geometry.type'; '' for all"
    )
    location: str | None = Field(
        description="where the value was sent: body, query, path, header or cookie (null: not said)"
    )
    problem: str = Field(description="what is wrong with it")


class ErrorBody(BaseModel):
    """An error: `detail` says what was wrong and what to do; invalid input also names the field(s)."""

    # Some errors add members: an import's id and problems, a stale item's current version, a run's status.
    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="what was wrong and what to do, safe to show")
    field: str | None = Field(None, description="the field at fault, when there is one")
    errors: list[FieldProblem] | None = Field(
        None, description="every refused value, with where it was sent (invalid input)"
    )
