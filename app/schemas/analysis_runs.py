"""The answer of POST /api/analysis/runs: a run's document (app/services/analysis/outputs.py run_document)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field


class RunCity(BaseModel):
    """The run's city."""

    id: int
    name: str | None


class RunServiceType(BaseModel):
    """The run's service type."""

    id: int
    slug: str | None
    name: str | None


class RunSuggestion(BaseModel):
    """Sites suggested on this run (POST .../suggest-sites), in brief."""

    id: int
    p: int = Field(description="how many sites were chosen")
    candidates: str = Field(description="venues, physical_spaces, h3 or the proposed points")
    objective: float | None
    lp_upper_bound: float | None
    exact: bool
    view: str


class RunCapacity(BaseModel):
    """How the run dealt with unknown capacity (docs/ANALYSIS.md "Unknown capacity")."""

    n_assets: int | None
    n_unknown_capacity: int | None = Field(description="assets of the service type whose capacity is unknown")
    default_capacity: float | None = Field(
        description="the default capacity they were given (null: none set)"
    )
    unmet_need_computable: bool = Field(description="false: unmet need, gap share and access score are null")
    ranked_by: Literal["unmet_need", "uncovered_need"] = Field(description="the measure to rank areas by")


class RunDocument(BaseModel):
    """A run: status, every parameter used, data version, totals and timing, in the caller's view.

    `params`, `data`, `totals` and `timing_ms` are documented in docs/ANALYSIS.md; they grow with the analysis.
    """

    id: int
    status: Literal["pending", "running", "succeeded", "failed"]
    city: RunCity
    service_type: RunServiceType
    params: dict[str, Any]
    include_pending: bool
    data_version: str | None
    data: dict[str, Any] | None = Field(description="what went in: counts of assets, people, needs")
    view: str = Field(description="exact (planner rights) or public")
    totals: dict[str, Any] | None = Field(description="city-wide results (null until the run succeeded)")
    capacity: RunCapacity | None = Field(
        description="unknown capacity, said plainly (null until the run succeeded)"
    )
    warnings: list[str] = Field(description="what to know before trusting the numbers, in plain sentences")
    timing_ms: dict[str, Any] | None
    error: str | None
    created_at: dt.datetime | None
    finished_at: dt.datetime | None
    suggestions: list[RunSuggestion]
    links: dict[str, str] = Field(description="where the run's results, suggestions and map are")
