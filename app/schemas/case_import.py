"""The answer of POST /api/cases/import: how the register was read, and what became of each row."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

RowOutcome = Literal["imported", "would_import", "skipped", "unplaced", "rejected"]


class RegisterEventOut(BaseModel):
    kind: str = Field(description="nominated, listed, unsuccessful or removed")
    on: str = Field(description="the day, YYYY-MM-DD")


class RegisterRowOut(BaseModel):
    row: int = Field(description="the row's line in a CSV, or its row in the sheet of a workbook")
    name: str | None
    address: str | None
    postcode: str | None
    reference: str | None
    community_body: str | None
    coordinates: list[float] | None = Field(description="longitude, latitude (WGS 84), when the row had them")
    asset_id: int | None = Field(description="the asset the case is on (none for a new place in a dry run)")
    new_asset: bool = Field(
        description="whether the row's place is a new physical space made from its coordinates"
    )
    case_id: int | None = Field(description="the case opened (none in a dry run), or the one imported before")
    events: list[RegisterEventOut]
    warnings: list[str]
    reason: str | None = Field(description="why the row was skipped, left to place or rejected")
    outcome: RowOutcome = Field(
        description="imported (would_import in a dry run), skipped (imported before), unplaced (no asset "
        "found, or several, or no right to place it: an organiser places it), rejected (its data: a date, a "
        "refused event)"
    )


class RegisterCounts(BaseModel):
    rows: int
    imported: int
    would_import: int
    skipped: int
    unplaced: int
    rejected: int
    new_assets: int


class RegisterImportOut(BaseModel):
    dry_run: bool
    city: str
    file: str
    format: str = Field(description="csv or xlsx")
    encoding: str | None
    mapping: dict[str, str] = Field(description="register field -> the file's column, as used")
    suggested_mapping: dict[str, str]
    unmapped_columns: list[str]
    notes: list[str] = Field(description="how the file was read (an encoding or a grid assumed)")
    counts: RegisterCounts
    rows: list[RegisterRowOut]
    unplaced: list[RegisterRowOut] = Field(description="the rows left to place or rejected, with the reason")
