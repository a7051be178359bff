"""Cities from the command line: add one, list them with their counts, show one with its levels and imports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from app.db.models import Asset, City, ImportRun, Neighbourhood
from app.db.session import session_scope
from app.schemas.features import CityCreate
from app.services import catalogue
from app.settings import Settings
from geo.layers import NEIGHBOURHOOD_LEVELS

# How many import runs `city show` lists, newest first.
SHOWN_IMPORT_RUNS = 10


@dataclass(frozen=True)
class CityOverview:
    """A city with what is in it: one row of `assetmap city list`."""

    id: int
    name: str
    country: str | None
    crs: str | None
    neighbourhoods: int
    assets: int
    last_import_at: dt.datetime | None


@dataclass(frozen=True)
class LevelCount:
    """How many neighbourhoods a city has at one level, and the population they record."""

    level: str
    neighbourhoods: int
    population: int | None


@dataclass(frozen=True)
class ImportSummary:
    """One import run as `assetmap city show` lists it."""

    id: int
    layer: str
    filename: str
    status: str
    inserted: int
    updated: int
    skipped: int
    created_at: dt.datetime


@dataclass(frozen=True)
class CityDetail:
    """A city with its levels, population total and latest import runs: `assetmap city show`."""

    overview: CityOverview
    data_date: str | None
    attribution: str | None
    levels: list[LevelCount]
    population_total: int | None
    imports: list[ImportSummary]
    imports_total: int


def add_city(settings: Settings, body: CityCreate) -> City:
    """Add a city through the same service call as POST /api/cities (same checks, same messages)."""
    with session_scope(settings) as db:
        return catalogue.create_city(db, body.model_dump(exclude_unset=True))


def _overview(db: Session, city: City) -> CityOverview:
    count = select(func.count())
    return CityOverview(
        id=city.id,
        name=city.name,
        country=city.country,
        crs=city.crs,
        neighbourhoods=db.scalar(count.select_from(Neighbourhood).where(Neighbourhood.city_id == city.id))
        or 0,
        assets=db.scalar(count.select_from(Asset).where(Asset.city_id == city.id)) or 0,
        last_import_at=db.scalar(
            select(func.max(ImportRun.created_at)).where(
                ImportRun.city_id == city.id, ImportRun.status == "succeeded"
            )
        ),
    )


def list_city_overviews(settings: Settings) -> list[CityOverview]:
    """Every city by name with its neighbourhood and asset counts and the time of its last import."""
    with session_scope(settings) as db:
        return [_overview(db, city) for city in catalogue.list_cities(db)]


def _population_total(db: Session, city_id: int) -> int | None:
    """The population of the city's finest areas (those with no child area), so levels are not counted twice."""
    child = aliased(Neighbourhood)
    has_child = exists().where(child.parent_id == Neighbourhood.id)
    return db.scalar(
        select(func.sum(Neighbourhood.population)).where(Neighbourhood.city_id == city_id, ~has_child)
    )


def city_detail(settings: Settings, ref: str) -> CityDetail:
    """A city (by id or name) with its neighbourhoods per level, population total and latest import runs."""
    with session_scope(settings) as db:
        city = catalogue.resolve_city(db, ref)
        levels = [
            LevelCount(level, count, None if population is None else int(population))
            for level, count, population in db.execute(
                select(Neighbourhood.level, func.count(), func.sum(Neighbourhood.population))
                .where(Neighbourhood.city_id == city.id)
                .group_by(Neighbourhood.level)
            )
        ]
        levels.sort(key=lambda lc: NEIGHBOURHOOD_LEVELS.index(lc.level))  # coarse to fine
        runs = db.scalars(
            select(ImportRun)
            .where(ImportRun.city_id == city.id)
            .order_by(ImportRun.created_at.desc(), ImportRun.id.desc())
            .limit(SHOWN_IMPORT_RUNS)
        )
        imports = [
            ImportSummary(r.id, r.layer, r.filename, r.status, r.inserted, r.updated, r.skipped, r.created_at)
            for r in runs
        ]
        total = _population_total(db, city.id)
        return CityDetail(
            overview=_overview(db, city),
            data_date=city.data_date,
            attribution=city.attribution,
            levels=levels,
            population_total=None if total is None else int(total),
            imports=imports,
            imports_total=db.scalar(
                select(func.count()).select_from(ImportRun).where(ImportRun.city_id == city.id)
            )
            or 0,
        )
