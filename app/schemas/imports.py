"""Answers of /api/imports: import runs with their counts, options and report."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class ImportCounts(BaseModel):
    """Rows an import wrote or left out."""

    inserted: int
    updated: int
    skipped: int


class ImportRunBase(BaseModel):
    """An import run as GIS staff see it (app/services/imports/records.py)."""

    id: int
    status: Literal["pending", "running", "dry_run", "succeeded", "failed"]
    city_id: int
    city: str | None
    layer: str
    filename: str
    sha256: str = Field(description="SHA-256 of the uploaded bytes")
    options: dict[str, Any] = Field(description="the options the run was asked for")
    counts: ImportCounts
    user_id: int | None
    user: str | None
    created_at: dt.datetime | None
    finished_at: dt.datetime | None


class ImportRunOut(ImportRunBase):
    """One import run with its full report."""

    # Free-form: format, CRS, encoding, mapping, columns, preview rows, problems and what each option did.
    report: dict[str, Any] = Field(description="what the run found and did; see README 'Import and export'")


class ImportRunSummary(ImportRunBase):
    """An import run in the list: its error instead of the report."""

    error: str | None = Field(description="why the run failed (null unless it did)")


class ImportRunList(BaseModel):
    """Import runs, newest first."""

    items: list[ImportRunSummary]
    next_before: int | None = Field(description="pass as `before` for the next page; null on the last page")
