"""Run parameters: the city and service type referred to, and GapParams checked once with the field that is wrong."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.db.models import City, ServiceType
from app.errors import InvalidInput
from app.schemas.analysis import RunCreate
from app.services.analysis import bounds
from app.services.catalogue import list_service_types, resolve_city, resolve_service_type
from app.settings import Settings
from geo.access import DEFAULT_STEP_WEIGHTS, decay_weight, step_zones_for
from geo.crs import AnalysisInputError
from geo.gaps import GapParams
from geo.vocab import POPULATION_GROUPS

DEFAULT_DECAY = "gaussian"
DEFAULT_RESOLUTION = 9
DEFAULT_NEEDS_WEIGHT = 0.0
DEFAULT_DESERT_MIN_PEOPLE = 100.0
DEFAULT_DESERT_MIN_SHARE = 0.5
INT32_MAX = 2**31 - 1  # ids are PostgreSQL integers


# The one city resolver (ids beyond 32 bits and NUL characters are unknown cities there too).
find_city = resolve_city


def find_service_type(db: Session, slug: str, *, field: str = "service_type") -> ServiceType:
    """A service type by slug; an unknown one (also one no slug can be) is a 422 listing the known slugs."""
    if "\x00" in slug:
        known = ", ".join(st.slug for st in list_service_types(db))
        raise InvalidInput(f"unknown service type {slug!r}: use one of {known}", field=field)
    return resolve_service_type(db, slug, field=field)


@contextmanager
def _refused_as(field: str) -> Iterator[None]:
    """geo's refusal of one parameter as a 422 naming that parameter."""
    try:
        yield
    except AnalysisInputError as exc:
        raise InvalidInput(str(exc), field=field) from None


def gap_params(
    settings: Settings, service_type: ServiceType, body: RunCreate, *, default_capacity: float | None = None
) -> GapParams:
    """GapParams from a request; omitted values take the service type's defaults. Bad values are a 422.

    `default_capacity` is the stored default for the city and service type (app.services.capacity).

    The one place a run's parameters are checked, for the API, the gap map and the command line: the request
    model bounds each value; this checks what depends on the service type or on this server's settings (the
    finest resolution) and what geo would refuse, each with the field it names.
    """
    group = body.group or service_type.population_group
    if group not in POPULATION_GROUPS:
        raise InvalidInput(
            f"unknown population group {group!r}: use one of {', '.join(sorted(POPULATION_GROUPS))}",
            field="group",
        )
    weights = dict(body.vulnerable_weights or {})
    unknown = sorted(set(weights) - set(POPULATION_GROUPS))
    if unknown:
        raise InvalidInput(
            f"vulnerable_weights names unknown population groups {unknown}: use {', '.join(sorted(POPULATION_GROUPS))}",
            field="vulnerable_weights",
        )
    if any(not math.isfinite(v) or v < 0 for v in weights.values()):
        raise InvalidInput("vulnerable weights must be numbers >= 0", field="vulnerable_weights")
    radius_m = float(body.radius_m if body.radius_m is not None else service_type.default_radius_m)
    decay = body.decay or DEFAULT_DECAY
    zones = tuple(body.step_zones_m) if body.step_zones_m is not None else None
    if zones is not None:
        with _refused_as("step_zones_m"):
            step_zones_for(radius_m, zones)
    resolution = body.resolution if body.resolution is not None else DEFAULT_RESOLUTION
    bounds.check_resolution(settings, resolution)
    step_weights = tuple(body.step_weights) if body.step_weights is not None else DEFAULT_STEP_WEIGHTS
    with _refused_as("step_weights"):
        # GapParams checks the weights against the zones (for every decay) this way
        decay_weight(np.zeros(1), radius_m, "step", step_zones_m=zones, step_weights=step_weights)
    try:
        return GapParams(
            group=group,
            radius_m=radius_m,
            decay=decay,
            step_zones_m=zones,
            step_weights=step_weights,
            resolution=resolution,
            vulnerable_weights=weights,
            needs_weight=body.needs_weight if body.needs_weight is not None else DEFAULT_NEEDS_WEIGHT,
            needs_radius_m=body.needs_radius_m,
            desert_min_people=(
                body.desert_min_people if body.desert_min_people is not None else DEFAULT_DESERT_MIN_PEOPLE
            ),
            desert_min_share=body.desert_min_share
            if body.desert_min_share is not None
            else DEFAULT_DESERT_MIN_SHARE,
            default_capacity=default_capacity,
            distance=body.distance or "straight",
        )
    except (AnalysisInputError, ValueError) as exc:
        # Nothing is left for geo to refuse after the checks above and the request model's bounds; should geo
        # gain a check, its message still reaches the user as a 422.
        raise InvalidInput(str(exc)) from None


def params_record(
    city: City, service_type: ServiceType, params: GapParams, include_pending: bool
) -> dict[str, Any]:
    """Every parameter a run uses, as stored with it and echoed to the user."""
    return {
        "city": city.name,
        "city_id": city.id,
        "service_type": service_type.slug,
        **params.as_dict(),
        "include_pending": include_pending,
    }


def params_from_record(record: dict[str, Any]) -> GapParams:
    """The GapParams of a stored run (step zones as recorded: the zones actually used)."""
    return GapParams(
        group=record["group"],
        radius_m=record["radius_m"],
        decay=record["decay"],
        step_zones_m=tuple(record["step_zones_m"]),
        step_weights=tuple(record["step_weights"]),
        resolution=int(record["resolution"]),
        vulnerable_weights=dict(record["vulnerable_weights"]),
        needs_weight=record["needs_weight"],
        needs_radius_m=record["needs_radius_m"],
        desert_min_people=record["desert_min_people"],
        desert_min_share=record["desert_min_share"],
        # runs stored before default capacities existed used none
        default_capacity=record.get("default_capacity"),
        # runs stored before walking distances existed measured straight lines
        distance=record.get("distance", "straight"),
    )
