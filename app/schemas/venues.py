"""Request and answer models for the kinds of place that could host each service type (site suggestion's venues)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.features import Strict


class VenueKindsSet(Strict):
    """The kinds of place (asset.kind, see GET /api/venue-kinds) that could host this service type."""

    kinds: list[str] = Field(
        max_length=50,
        description="venue kinds, e.g. ['family_centre', 'community_centre']; [] leaves only places that offer "
        "a space resource",
    )


class VenueKind(BaseModel):
    """A venue kind and whether it is a room indoors or an open space."""

    kind: str
    space: Literal["indoor", "open"]


class VenueKindsOut(BaseModel):
    """The kinds of a service type: its own (city null), or the list that applies in a city."""

    service_type: str
    city: str | None
    city_id: int | None
    venue_kinds: list[str]
    source: Literal["service_type", "city"] = Field(
        description="whose list it is: the service type's or the city's own"
    )


class VenueKindsList(BaseModel):
    """Every venue kind, then every service type's list (in a city: the list that applies there)."""

    kinds: list[VenueKind]
    items: list[VenueKindsOut]
