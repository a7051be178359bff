"""What a coverage-gap run reads, read once: demand polygons, the service's assets and needs, and the data version.

The data version of a run says which state of the city's data it read, so a result can be matched to the data
(and a stale run recognised). It is the text `c<C>-v<V>-n<N>-a<A>-d<D>`:
- C: the highest `change` id recorded for the city (every write through the API, the importer and the sample
  loader records a change row);
- V: the sum of the `version` numbers of the rows read (each update of a row raises its version, so V also moves
  when two changes commit in another order than their ids);
- N, A, D: how many neighbourhoods, assets of the service type and needs of the service type were read.
The change id is read before the data: a change committed in between makes the recorded version look older than
the data, never newer, so a later comparison errs towards recomputing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.db.models import Asset, AssetServiceType, Change, City, Need, Neighbourhood, ServiceType
from app.db.queries import asset_is_private, asset_shown_geom
from app.errors import InvalidInput
from app.policy import ANONYMOUS
from app.settings import Settings
from geo.demand import population_column
from geo.vocab import POPULATION_BANDS, POPULATION_EXTRA

WGS84 = "EPSG:4326"
SelectT = TypeVar("SelectT", bound=Select)
DEMAND_LEVEL = "neighbourhood"  # districts contain neighbourhoods: only the finest level is demand


@dataclass(frozen=True)
class DataVersion:
    """Which state of a city's data a run read (see the module docstring)."""

    last_change_id: int
    version_sum: int
    neighbourhoods: int
    assets: int
    needs: int

    @property
    def label(self) -> str:
        """The compact text stored with the run."""
        return (
            f"c{self.last_change_id}-v{self.version_sum}-n{self.neighbourhoods}-a{self.assets}-d{self.needs}"
        )

    def as_dict(self) -> dict[str, int | str]:
        """JSON-ready parts and the label."""
        return {
            "label": self.label,
            "last_change_id": self.last_change_id,
            "version_sum": self.version_sum,
            "neighbourhoods": self.neighbourhoods,
            "assets": self.assets,
            "needs": self.needs,
        }


@dataclass(frozen=True)
class CityInputs:
    """One read of the data a run needs; frames are in EPSG:4326.

    neighbourhoods: id, code, name, pop_total, pop_<group> per stored group (NaN where unknown), geometry.
    assets: id, name, category, neighbourhood_id, capacity (NaN = unknown), private (person or sensitive),
      status, geometry (exact), shown_x, shown_y (where viewers without planner rights see it).
    needs: id, people_affected, geometry (points or areas); needs without people_affected are left out and
      counted in needs_without_people.
    """

    city: City
    service_type: ServiceType
    neighbourhoods: gpd.GeoDataFrame
    assets: gpd.GeoDataFrame
    needs: gpd.GeoDataFrame
    needs_without_people: int
    version: DataVersion


def statuses(include_pending: bool) -> tuple[str, ...]:
    """Review statuses a run reads: published entries, plus those waiting for review when opted in."""
    return ("approved", "pending") if include_pending else ("approved",)


def _demand_areas(city_id: int) -> Any:
    return (Neighbourhood.city_id == city_id) & (Neighbourhood.level == DEMAND_LEVEL)


def _service_assets(stmt: SelectT, city_id: int, service_type_id: int, include_pending: bool) -> SelectT:
    return stmt.join(AssetServiceType, AssetServiceType.asset_id == Asset.id).where(
        Asset.city_id == city_id,
        AssetServiceType.service_type_id == service_type_id,
        Asset.status.in_(statuses(include_pending)),
    )


def _service_needs(stmt: SelectT, city_id: int, service_type_id: int, include_pending: bool) -> SelectT:
    return stmt.where(
        Need.city_id == city_id,
        Need.service_type_id == service_type_id,
        Need.status.in_(statuses(include_pending)),
    )


def last_change_id(db: Session, city_id: int) -> int:
    """The highest change id recorded for a city (0 when nothing was recorded)."""
    return int(db.scalar(select(func.coalesce(func.max(Change.id), 0)).where(Change.city_id == city_id)) or 0)


def current_data_version(
    db: Session, city_id: int, service_type_id: int, include_pending: bool
) -> DataVersion:
    """The data version a run would record now, without reading the data itself."""
    change_id = last_change_id(db, city_id)
    nb_count, nb_versions = db.execute(
        select(func.count(), func.coalesce(func.sum(Neighbourhood.version), 0)).where(_demand_areas(city_id))
    ).one()
    asset_count, asset_versions = db.execute(
        _service_assets(
            select(func.count(), func.coalesce(func.sum(Asset.version), 0)).select_from(Asset),
            city_id,
            service_type_id,
            include_pending,
        )
    ).one()
    need_count, need_versions = db.execute(
        _service_needs(
            select(func.count(), func.coalesce(func.sum(Need.version), 0)).select_from(Need),
            city_id,
            service_type_id,
            include_pending,
        )
    ).one()
    return DataVersion(
        change_id,
        int(nb_versions + asset_versions + need_versions),
        int(nb_count),
        int(asset_count),
        int(need_count),
    )


def demand_area_km2(db: Session, city_id: int) -> float:
    """Area of the city's demand neighbourhoods in km² (on the spheroid), for sizing a run before reading it."""
    area = db.scalar(
        select(func.sum(func.ST_Area(func.Geography(Neighbourhood.geom)))).where(_demand_areas(city_id))
    )
    return float(area or 0.0) / 1e6


def service_asset_count(db: Session, city_id: int, service_type_id: int, include_pending: bool) -> int:
    """How many assets offer the service type (for sizing a run)."""
    stmt = _service_assets(select(func.count()).select_from(Asset), city_id, service_type_id, include_pending)
    return int(db.scalar(stmt) or 0)


def _neighbourhood_frame(rows: list[Any]) -> gpd.GeoDataFrame:
    groups = (*POPULATION_BANDS, *POPULATION_EXTRA)
    columns: dict[str, Any] = {
        "id": [r.id for r in rows],
        "code": [r.code for r in rows],
        "name": [r.name for r in rows],
        population_column("total"): [np.nan if r.population is None else float(r.population) for r in rows],
    }
    for group in groups:
        # A count missing from population_by_group is unknown (NaN), not zero (geo.demand says how NaN counts).
        columns[population_column(group)] = [_count((r.population_by_group or {}).get(group)) for r in rows]
    geometry = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geometry, crs=WGS84))


def _count(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def read_inputs(
    db: Session, settings: Settings, city: City, service_type: ServiceType, include_pending: bool
) -> CityInputs:
    """Read a city's demand areas, the service type's assets and needs, and the data version, once."""
    change_id = last_change_id(db, city.id)  # first: see the module docstring
    nb_rows = db.execute(
        select(
            Neighbourhood.id,
            Neighbourhood.code,
            Neighbourhood.name,
            Neighbourhood.population,
            Neighbourhood.population_by_group,
            Neighbourhood.version,
            func.ST_AsBinary(Neighbourhood.geom).label("wkb"),
        )
        .where(_demand_areas(city.id))
        .order_by(Neighbourhood.id)
    ).all()
    if not nb_rows:
        raise InvalidInput(
            f"{city.name} has no neighbourhoods of level '{DEMAND_LEVEL}' to spread its population over: "
            "import neighbourhood boundaries with population first",
            field="city",
        )
    shown = asset_shown_geom(ANONYMOUS, settings)
    asset_rows = db.execute(
        _service_assets(
            select(
                Asset.id,
                Asset.name,
                Asset.category,
                Asset.neighbourhood_id,
                Asset.capacity,
                Asset.status,
                Asset.version,
                asset_is_private().label("private"),
                func.ST_X(Asset.geom).label("x"),
                func.ST_Y(Asset.geom).label("y"),
                func.ST_X(shown).label("shown_x"),
                func.ST_Y(shown).label("shown_y"),
            ),
            city.id,
            service_type.id,
            include_pending,
        ).order_by(Asset.id)
    ).all()
    need_rows = db.execute(
        _service_needs(
            select(Need.id, Need.people_affected, Need.version, func.ST_AsBinary(Need.geom).label("wkb")),
            city.id,
            service_type.id,
            include_pending,
        ).order_by(Need.id)
    ).all()

    neighbourhoods = _neighbourhood_frame(list(nb_rows))
    assets = gpd.GeoDataFrame(
        {
            "id": [r.id for r in asset_rows],
            "name": [r.name for r in asset_rows],
            "category": [r.category for r in asset_rows],
            "neighbourhood_id": pd.array([r.neighbourhood_id for r in asset_rows], dtype="Int64"),
            "capacity": [np.nan if r.capacity is None else float(r.capacity) for r in asset_rows],
            "private": [bool(r.private) for r in asset_rows],
            "status": [r.status for r in asset_rows],
            "shown_x": [float(r.shown_x) for r in asset_rows],
            "shown_y": [float(r.shown_y) for r in asset_rows],
        },
        geometry=gpd.points_from_xy([r.x for r in asset_rows], [r.y for r in asset_rows], crs=WGS84),
    )
    with_people = [r for r in need_rows if r.people_affected is not None]
    needs = gpd.GeoDataFrame(
        {
            "id": [r.id for r in with_people],
            "people_affected": [float(r.people_affected) for r in with_people],
        },
        geometry=gpd.GeoSeries(
            shapely.from_wkb([bytes(r.wkb) for r in with_people]) if with_people else [], crs=WGS84
        ),
    )
    version = DataVersion(
        change_id,
        int(
            sum(r.version for r in nb_rows)
            + sum(r.version for r in asset_rows)
            + sum(r.version for r in need_rows)
        ),
        len(nb_rows),
        len(asset_rows),
        len(need_rows),
    )
    return CityInputs(
        city, service_type, neighbourhoods, assets, needs, len(need_rows) - len(with_people), version
    )


def assets_as_seen(assets: gpd.GeoDataFrame, exact: bool) -> gpd.GeoDataFrame:
    """The assets at the locations a viewer may see: exact, or people and sensitive assets at their shown place."""
    if exact or not assets["private"].any():
        return assets
    private = assets["private"].to_numpy(dtype=bool)
    shown = gpd.points_from_xy(assets["shown_x"], assets["shown_y"], crs=WGS84)
    geometry = np.where(private, np.asarray(shown, dtype=object), assets.geometry.to_numpy())
    return assets.set_geometry(gpd.GeoSeries(geometry, index=assets.index, crs=WGS84))
