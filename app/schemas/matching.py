"""Requests and answers of matching resources to needs, commitments and the dashboard (docs/MATCHING.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.features import INT4_MAX, Strict
from geo.vocab import COMMITMENT_STAGES

Stage = Literal[COMMITMENT_STAGES]


class Part(BaseModel):
    """One part of a score: its value in [0, 1], its weight and the points it adds."""

    value: float
    weight: float
    points: float


class Parts(BaseModel):
    """The four parts of a candidate's score."""

    distance: Part
    network: Part
    dates: Part
    quantity: Part


class Weights(BaseModel):
    """The weights of the scoring rule."""

    distance: float
    network: float
    dates: float
    quantity: float


class CandidateResource(BaseModel):
    """The resource a candidate offers, with what is left of it after its commitments."""

    id: int
    kind: str
    quantity: float | None
    remaining: float | None
    unit: str | None
    available_from: str | None
    available_until: str | None
    description: str | None


class Owner(BaseModel):
    """Whose resource it is: an asset (a person is named, never located) or a neighbourhood."""

    type: Literal["asset", "neighbourhood"]
    id: int | None
    name: str | None = None
    category: str | None = None
    private: bool


class Candidate(BaseModel):
    """A resource that fits the need, its rank, score and why; `distance_m` only where the reader may know it."""

    rank: int
    score: float
    parts: Parts
    why: list[str]
    distance_m: int | None
    distance_band: str
    network_hops: int | None
    resource: CandidateResource
    owner: Owner


class MatchedNeed(BaseModel):
    """The need the candidates are for."""

    id: int
    city_id: int
    neighbourhood_id: int | None
    neighbourhood_name: str | None
    service_type: str
    description: str | None
    people_affected: int | None
    severity: int


class Window(BaseModel):
    """The need's days the candidates are scored against."""

    starts_on: str
    ends_on: str


class Matches(BaseModel):
    """The candidates for a need, best first."""

    need: MatchedNeed
    window: Window
    wanted: float
    reach_m: float
    weights: Weights
    rule: str
    total: int
    candidates: list[Candidate]


class CommitmentCreate(Strict):
    """Commit part of a resource to a need; it starts `proposed`."""

    resource_id: int = Field(ge=1, le=INT4_MAX)
    need_id: int = Field(ge=1, le=INT4_MAX)
    quantity: float = Field(gt=0, le=1e9)
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    note: str | None = Field(None, max_length=10_000)
    message: str | None = Field(None, max_length=2000)


class CommitmentUpdate(Strict):
    """The next stage, and/or the outcome once active or done."""

    stage: Stage | None = None
    hours_given: float | None = Field(None, ge=0, le=1e7)
    people_helped: int | None = Field(None, ge=0, le=INT4_MAX)
    note: str | None = Field(None, max_length=10_000)
    message: str | None = Field(None, max_length=2000)


class CommitmentResource(BaseModel):
    """The committed resource and what is left of it."""

    id: int
    kind: str
    unit: str | None
    remaining: float | None


class CommitmentOut(BaseModel):
    """A commitment: resource, need, quantity, dates, stage (and the stages that may follow) and outcome."""

    id: int
    city_id: int
    need_id: int
    resource: CommitmentResource
    owner: Owner
    quantity: float
    starts_on: str
    ends_on: str | None
    stage: Stage
    next_stages: list[Stage]
    hours_given: float | None
    people_helped: int | None
    note: str | None
    done_at: str | None
    version: int
    created_at: str
    updated_at: str


class CommitmentList(BaseModel):
    """Commitments, oldest first."""

    items: list[CommitmentOut]


class CommitmentChange(BaseModel):
    """One recorded change of a commitment; `before` and `after` are its columns then."""

    id: int
    action: str
    version: int | None
    at: str
    username: str | None
    message: str | None
    stage: str | None
    before: CommitmentSnapshot | None
    after: CommitmentSnapshot | None


class CommitmentSnapshot(BaseModel):
    """A commitment's columns as recorded."""

    id: int
    resource_id: int
    need_id: int
    quantity: float
    starts_on: str
    ends_on: str | None
    stage: str
    hours_given: float | None
    people_helped: int | None
    note: str | None
    version: int


class CommitmentHistory(BaseModel):
    """A commitment's changes, oldest first."""

    items: list[CommitmentChange]


class DashboardRow(BaseModel):
    """Sums for one service type."""

    service_type: str
    needs_met: int
    open_needs: int
    volunteer_hours: float
    people_helped: int
    commitments_done: int


class DashboardMonth(BaseModel):
    """Sums for one month (open needs are counted at one moment only, in the totals)."""

    month: str
    needs_met: int
    volunteer_hours: float
    people_helped: int
    commitments_done: int


class DashboardTotals(BaseModel):
    """Sums over every service type."""

    needs_met: int
    open_needs: int
    volunteer_hours: float
    people_helped: int
    commitments_done: int


class Period(BaseModel):
    """The first and last day summed."""

    model_config = {"populate_by_name": True}

    from_: str = Field(alias="from")
    until: str


class Dashboard(BaseModel):
    """Needs met, open needs, volunteer hours and people helped in a city or neighbourhood."""

    city: str
    city_id: int
    neighbourhood_id: int | None
    neighbourhood_name: str | None
    period: Period | None
    totals: DashboardTotals
    by_service_type: list[DashboardRow]
    by_month: list[DashboardMonth]
