"""Request models for coverage-gap runs, site suggestions and closures (ANALYSIS.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.schemas.features import CityRef, Strict

Decay = Literal["gaussian", "step", "none"]
CandidateKind = Literal["venues", "physical_spaces", "h3"]
MAX_RADIUS_M = 100_000.0  # the bound service types have (ck_service_type_radius_range)
MIN_RESOLUTION, MAX_RESOLUTION = 5, 15  # H3: about 250 km² per demand unit down to its finest; the
# finest a server computes is the setting analysis_max_resolution (checked with the other parameters, runs.gap_params)
MAX_SITES = 100
MAX_CANDIDATE_POINTS = 5_000
MAX_CLOSED_ASSETS = 200


class RunCreate(Strict):
    """A coverage-gap run; omitted parameters take the service type's defaults (radius, population group)."""

    city: CityRef = Field(description="city id or name")
    service_type: str = Field(min_length=1, max_length=64, description="service type slug, e.g. childcare")
    radius_m: float | None = Field(None, gt=0, le=MAX_RADIUS_M, description="catchment radius in metres")
    decay: Decay | None = Field(None, description="distance decay: gaussian (default), step or none")
    step_zones_m: list[float] | None = Field(
        None,
        min_length=1,
        max_length=10,
        description="step-decay zone bounds in metres (default r/3, 2r/3, r)",
    )
    step_weights: list[float] | None = Field(None, min_length=1, max_length=10)
    resolution: int | None = Field(
        None, ge=MIN_RESOLUTION, le=MAX_RESOLUTION, description="H3 resolution of demand units (default 9)"
    )
    group: str | None = Field(
        None, max_length=32, description="population group served (default: the service's)"
    )
    vulnerable_weights: dict[str, float] | None = Field(
        None, max_length=20, description="alpha per vulnerable group, e.g. {'over_65': 0.5}"
    )
    needs_weight: float | None = Field(
        None, ge=0, le=1000, description="beta: weight of mapped needs' people"
    )
    needs_radius_m: float | None = Field(None, gt=0, le=MAX_RADIUS_M)
    desert_min_people: float | None = Field(None, ge=0, le=10_000_000)
    desert_min_share: float | None = Field(None, ge=0, le=1)
    distance: Literal["straight", "network"] | None = Field(
        None,
        description="straight line (default) or network: walking distances on the city's street network",
    )
    include_pending: bool = Field(False, description="also analyse entries waiting for review (staff only)")
    background: bool | None = Field(
        None, description="true: answer at once and compute in the background; default: only large runs do"
    )


class CandidatePoint(Strict):
    """A site the user proposes (EPSG:4326 degrees)."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    name: str | None = Field(None, max_length=300)


CandidatePoints = Annotated[list[CandidatePoint], Field(min_length=1, max_length=MAX_CANDIDATE_POINTS)]


class SuggestSitesRequest(Strict):
    """Choose p new sites among candidates to cover the largest shortfall."""

    p: int = Field(ge=1, le=MAX_SITES, description="number of sites to choose")
    candidates: CandidateKind | CandidatePoints = Field(
        "venues",
        description="venues (places whose kind suits the service, GET /api/venue-kinds, or that offer space still "
        "available; never people or assets offering the service already), physical_spaces (every community space "
        "not offering the service yet), h3 (cell centres) or points",
    )
    capacity: float | None = Field(
        None,
        gt=0,
        le=1_000_000,
        description="capacity a new site adds (default: the median known capacity of the service's assets, else "
        "the run's default capacity, else 1; the answer's new_site_capacity says which)",
    )
    capacitated: bool = Field(
        False,
        description="each site takes at most its capacity (the place's own where known, else the new-site "
        "capacity) of the demand within reach; each site's assigned demand is reported",
    )
    time_limit_s: float = Field(
        5.0, ge=0, le=60, description="time for the exact solver (0: greedy and bound only)"
    )


class WhatIfRequest(Strict):
    """Close these assets and see who loses coverage."""

    close: list[int] = Field(min_length=1, max_length=MAX_CLOSED_ASSETS, description="asset ids to close")
