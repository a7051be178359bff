"""Requests and answers of the community-rights cases (docs/CASES.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.features import INT4_MAX, CityRef, Ownership, Strict
from geo.vocab import (
    ALL_EVENT_KINDS,
    CASE_DOCUMENT_KINDS,
    CASE_KINDS,
    COMMUNITY_BODY_KINDS,
    PERIOD_UNITS,
)

CaseKind = Literal[CASE_KINDS]
EventKind = Literal[ALL_EVENT_KINDS]
BodyKind = Literal[COMMUNITY_BODY_KINDS]
DocumentKind = Literal[CASE_DOCUMENT_KINDS]
DeadlineName = Literal[
    "decision_due",
    "review_request_until",
    "interim_moratorium_end",
    "full_moratorium_end",
    "protected_period_end",
    "listing_expiry",
]


class CommunityBodyIn(Strict):
    """The body that nominates, challenges or asks: its contact is private (never in the public register)."""

    name: str = Field(min_length=1, max_length=300)
    kind: BodyKind
    contact: str | None = Field(None, max_length=2000)


class CommunityBodyUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=300)
    kind: BodyKind | None = None
    contact: str | None = Field(None, max_length=2000)


class NewPhysicalSpace(Strict):
    """A physical space created with the case (a building or land not on the map yet)."""

    name: str = Field(min_length=1, max_length=300)
    geometry: dict[str, Any] = Field(description="a GeoJSON Point (lon, lat)")
    description: str | None = Field(None, max_length=10_000)
    ownership: Ownership | None = None


class CaseCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "city": "Berlin",
                    "kind": "acv",
                    "asset_id": 42,
                    "community_body": {
                        "name": "Friends of the Hall",
                        "kind": "community_group",
                        "contact": "...",
                    },
                    "opened_on": "2026-11-02",
                }
            ]
        }
    )

    city: CityRef
    kind: CaseKind
    asset_id: int | None = Field(None, ge=1, le=INT4_MAX, description="an existing asset of the city")
    asset: NewPhysicalSpace | None = Field(None, description="or a new physical space created with the case")
    community_body: CommunityBodyIn
    reference: str | None = Field(None, max_length=100, description="the council's reference")
    description: str | None = Field(None, max_length=10_000)
    opened_on: dt.date | None = Field(
        None, description="the day of the nomination or request (default: today)"
    )
    note: str | None = Field(None, max_length=5000, description="a note on the opening event (private)")


class CaseUpdate(Strict):
    version: int = Field(ge=1, description="the version you read: a stale one is a 412")
    reference: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=10_000)
    community_body: CommunityBodyUpdate | None = None


class CaseEventCreate(Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "notice_of_sale", "on": "2026-11-20"}]}
    )

    kind: EventKind
    on: dt.date
    to_community_interest_group: bool = Field(
        False, description="a sale to a community interest group (allowed during a moratorium)"
    )
    note: str | None = Field(
        None, max_length=5000, description="private: only the case's organisers and the council"
    )


class CaseDocumentCreate(Strict):
    title: str = Field(min_length=1, max_length=300)
    document_kind: DocumentKind
    document_date: dt.date | None = None
    url: str | None = Field(
        None, max_length=2000, pattern=r"^https?://\S+$", description="where the file is kept"
    )
    media_type: str | None = Field(None, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    size_bytes: int | None = Field(None, ge=0)
    public: bool = Field(False, description="shown in the public register")


class PeriodIn(Strict):
    amount: int = Field(ge=1, le=1200)
    unit: Literal[PERIOD_UNITS]
    start_day_counts: bool = Field(
        True, description="the period begins with the event's day (else the next day)"
    )


class RegimePeriods(Strict):
    acv_decision: PeriodIn | None = None
    acv_listing: PeriodIn | None = None
    acv_review_request: PeriodIn | None = None
    acv_interim_moratorium: PeriodIn | None = None
    acv_full_moratorium: PeriodIn | None = None
    acv_protected_period: PeriodIn | None = None
    challenge_decision: PeriodIn | None = None
    transfer_decision: PeriodIn | None = None


class RegimeSet(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    time_zone: str | None = Field(None, max_length=64, description="an IANA name, e.g. Europe/London")
    periods: RegimePeriods | None = Field(None, description="periods left out keep their current value")
    reset: bool = Field(False, description="drop the city's own regime: England's periods again")


# -- answers


class PeriodOut(BaseModel):
    amount: int
    unit: str
    start_day_counts: bool


class RegimePeriodsOut(BaseModel):
    acv_decision: PeriodOut
    acv_listing: PeriodOut
    acv_review_request: PeriodOut
    acv_interim_moratorium: PeriodOut
    acv_full_moratorium: PeriodOut
    acv_protected_period: PeriodOut
    challenge_decision: PeriodOut | None
    transfer_decision: PeriodOut | None


class RegimeOut(BaseModel):
    """A city's regime: its own (`own`), or England's periods in its time zone."""

    city: str
    city_id: int
    own: bool
    name: str
    time_zone: str
    periods: RegimePeriodsOut


class CaseAsset(BaseModel):
    id: int
    name: str
    category: str
    neighbourhood_id: int | None
    ownership: str | None


class CaseNeighbourhood(BaseModel):
    id: int
    code: str
    name: str


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float]


class CommunityBodyOut(BaseModel):
    name: str
    kind: str
    contact: str | None = Field(description="null unless you may see private details of this case")


class CaseDeadlines(BaseModel):
    decision_due: dt.date | None
    review_request_until: dt.date | None
    interim_moratorium_end: dt.date | None
    full_moratorium_end: dt.date | None
    protected_period_end: dt.date | None
    listing_expiry: dt.date | None


class CaseEventOut(BaseModel):
    id: int
    kind: str
    on: dt.date
    to_community_interest_group: bool
    note: str | None = Field(description="null unless you may see private details of this case")
    recorded_at: dt.datetime


class CaseDocumentOut(BaseModel):
    id: int
    title: str
    document_kind: str
    document_date: dt.date | None
    url: str | None
    media_type: str | None
    size_bytes: int | None
    public: bool
    added_at: dt.datetime


class CaseListed(BaseModel):
    """A case: its stage and deadlines follow from its events, the city's regime and today in the city."""

    id: int
    city: str
    city_id: int
    kind: str
    reference: str | None
    asset: CaseAsset
    neighbourhood: CaseNeighbourhood | None
    geometry: PointGeometry | None = Field(description="the asset's location as you may see it")
    community_body: CommunityBodyOut
    description: str | None
    stage: str
    moratorium: Literal["interim", "full", "protected"] | None
    deadlines: CaseDeadlines
    running_deadlines: list[DeadlineName] = Field(description="the deadlines the process still waits on")
    opened_on: dt.date | None
    listed_on: dt.date | None
    ended_on: dt.date | None
    end_reason: str | None
    decision_late: bool
    review_pending: bool
    public: bool = Field(description="whether the public register shows the case")
    regime: str
    time_zone: str
    today: dt.date = Field(description="today in the city, the day the stage is given for")
    problems: list[str] = Field(description="stored events the rules now refuse (the regime changed)")
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CaseOut(CaseListed):
    events: list[CaseEventOut]
    documents: list[CaseDocumentOut]


class CaseList(BaseModel):
    items: list[CaseListed]


class DueSoonItem(BaseModel):
    deadline: DeadlineName
    label: str
    on: dt.date
    days_left: int
    case: CaseListed


class DueSoonList(BaseModel):
    days: int
    items: list[DueSoonItem]


class CaseDocumentCreated(BaseModel):
    id: int
    case: CaseOut
