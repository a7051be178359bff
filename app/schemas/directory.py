"""Request and answer models of the services directory (docs/DIRECTORY.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.schemas.features import Strict

LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class OfferFields(Strict):
    """What a service offer says; every field may be left out of an update."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=5000)
    cost_kind: Literal["free", "fixed", "range"] | None = Field(
        default=None, description="free; fixed: cost_min per cost_period; range: cost_min to cost_max"
    )
    cost_period: Literal["session", "month"] | None = None
    cost_min: float | None = Field(default=None, ge=0, le=99_999_999)
    cost_max: float | None = Field(default=None, ge=0, le=99_999_999)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")
    sessions_per_month: float | None = Field(default=None, gt=0, le=100)
    cost_note: str | None = Field(default=None, max_length=2000)
    min_age: int | None = Field(default=None, ge=0, le=130)
    max_age: int | None = Field(default=None, ge=0, le=130)
    population_group: str | None = Field(default=None, max_length=32)
    residency_required: bool | None = None
    referral_required: bool | None = None
    eligibility_note: str | None = Field(default=None, max_length=2000)
    languages: list[str] | None = Field(
        default=None, max_length=30, description="BCP 47 tags, e.g. de, en, tr"
    )
    accessibility: str | None = Field(default=None, max_length=2000)
    opening_hours: str | None = Field(
        default=None,
        max_length=1000,
        description="OpenStreetMap opening_hours, e.g. 'Mo-Fr 09:00-17:00; PH off'",
    )
    booking: str | None = Field(default=None, max_length=2000, description="how to book")
    booking_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")


class OfferCreate(OfferFields):
    """A new service offer of an asset."""

    service_type: str = Field(min_length=1, max_length=64, description="service type slug")
    name: str = Field(min_length=1, max_length=300)


class OfferUpdate(OfferFields):
    """Changes to a service offer; `version` (or If-Match) is the version they are based on."""

    service_type: str | None = Field(default=None, min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)
    message: str | None = Field(default=None, max_length=2000)


class OfferOut(BaseModel):
    """A service offer as stored, with its cost per month and whether it is open now."""

    id: int
    asset_id: int
    city_id: int
    service_type: str
    name: str
    version: int
    cost: dict[str, Any]
    eligibility: dict[str, Any]
    languages: list[str]
    accessibility: str | None
    opening_hours: str | None
    open_now: str | None
    booking: str | None
    booking_url: str | None
    description: str | None


class OfferList(BaseModel):
    """An asset's service offers."""

    items: list[OfferOut]


class BudgetAnswer(BaseModel):
    """What a monthly budget can buy near a place: the services within reach whose eligibility fits."""

    question: dict[str, Any]
    items: list[dict[str, Any]]
    left_out: dict[str, int]
    notes: list[str]
