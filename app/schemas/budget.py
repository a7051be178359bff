"""Citizen-budget bodies and answers (docs/BUDGETS.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Phase = Literal["not_open", "proposals", "review", "voting", "results"]
NextPhase = Literal["proposals", "review", "voting", "results"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoundCreate(_Body):
    city: str | int = Field(description="city id or name")
    name: str = Field(min_length=1, max_length=200)
    amount: int = Field(gt=0, le=10**15, description="whole units of the currency")
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    neighbourhoods: list[str] = Field(
        default_factory=list, max_length=500, description="codes; empty: the city"
    )
    limit_to_budget: bool = Field(
        default=False, description="a ballot may approve at most the budget's worth"
    )
    proposals_at: dt.datetime | dt.date
    review_at: dt.datetime | dt.date
    voting_at: dt.datetime | dt.date
    results_at: dt.datetime | dt.date


class PhaseSet(_Body):
    phase: NextPhase = Field(description="the phase that starts now")


class DatesSet(_Body):
    proposals_at: dt.datetime | dt.date | None = None
    review_at: dt.datetime | dt.date | None = None
    voting_at: dt.datetime | dt.date | None = None
    results_at: dt.datetime | dt.date | None = None


class PointIn(_Body):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=2)


class ProposalCreate(_Body):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    cost: int = Field(gt=0, le=10**15)
    service_type: str | None = Field(default=None, max_length=100)
    point: PointIn | None = None
    neighbourhood: str | None = Field(default=None, max_length=64, description="a neighbourhood code")
    for_resident: bool = Field(default=False, description="an organiser enters a resident's paper proposal")


class Review(_Body):
    feasible: bool
    reason: str | None = Field(default=None, max_length=2000)


class BallotIn(_Body):
    approvals: list[int] = Field(max_length=1000, description="ids of the approved proposals")
    code: str | None = Field(default=None, max_length=40, description="the voting code of a paper ballot")


class CodesCreate(_Body):
    count: int = Field(ge=1, le=5000)


class Dates(BaseModel):
    proposals_at: str
    review_at: str
    voting_at: str
    results_at: str


class ScopeArea(BaseModel):
    id: int
    code: str
    name: str


class PointOut(BaseModel):
    type: Literal["Point"]
    coordinates: list[float]


class Place(BaseModel):
    point: PointOut | None
    neighbourhood: ScopeArea | None


class ProposalOut(BaseModel):
    id: int
    title: str
    description: str | None
    cost: int
    service_type: str | None
    place: Place
    for_resident: bool
    feasible: bool | None
    feasibility_reason: str | None
    score: dict[str, Any] | None = Field(description="need score against the gap analysis (docs/BUDGETS.md)")
    submitted_by: int | None = None


class RoundSummary(BaseModel):
    id: int
    city: str | None
    name: str
    amount: int
    currency: str
    phase: Phase
    phase_text: str
    dates: Dates


class RoundList(BaseModel):
    items: list[RoundSummary]


class RoundOut(RoundSummary):
    limit_to_budget: bool
    scope: list[ScopeArea]
    n_ballots: int
    proposals: list[ProposalOut]


class BallotOut(BaseModel):
    round: int
    approvals: list[int] | None
    changed: bool | None = None
    total_cost: int | None = None


class CodesOut(BaseModel):
    round: int
    codes: list[str] = Field(description="shown once: only their hashes are stored")


class RuleOutcome(BaseModel):
    funded: bool
    why: str


class ProjectResult(BaseModel):
    proposal: ProposalOut
    votes: int
    greedy: RuleOutcome
    mes: RuleOutcome


class Excluded(BaseModel):
    proposal: ProposalOut
    why: str


class RuleTotals(BaseModel):
    funded: list[int]
    spent: int


class PabutoolsInfo(BaseModel):
    version: str
    rules: dict[str, str]


class ResultsOut(BaseModel):
    round: int
    phase: Phase
    final: bool
    amount: int
    currency: str
    n_voters: int
    equal_share: float | None
    pabutools: PabutoolsInfo
    greedy: RuleTotals
    mes: RuleTotals
    projects: list[ProjectResult]
    excluded: list[Excluded]
