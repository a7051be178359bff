"""Demand units (ANALYSIS.md, Demand): neighbourhood population spread over H3 cell centres, with needs.

Choices made here, so results can be explained:
- A cell belongs to the neighbourhood whose polygon contains its centre (a centre on a shared border goes to
  the neighbourhood with the smallest id); a neighbourhood holding no cell centre gets one unit at its
  representative point.
- A neighbourhood's population is spread evenly over its units: there is no finer information to spread it by.
- A group count that is unknown (NaN) in a neighbourhood contributes no people there; `population_known`
  says so.
- Mapped needs (Q_i): each need's people go to the nearest demand unit, or, when `needs_radius_m` is given,
  are split evenly over the units within that radius of the need (nearest unit if none), so no person is
  counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo.coverage import Deadline, check_deadline, pairs_within, points_xy
from geo.crs import AnalysisInputError, measuring_crs
from geo.vocab import group_population_columns

POPULATION_PREFIX = "pop_"
UNIT_COLUMNS = (
    "unit_id",
    "neighbourhood_id",
    "population",
    "population_known",
    "needs_people",
    "need",
    "geometry",
)
_WGS84 = "EPSG:4326"
# Refuse grids that would not fit in memory comfortably (about 1.3 GB of cell ids and points).
_MAX_CANDIDATE_CELLS = 20_000_000


def population_column(count: str) -> str:
    """Return the neighbourhood column that stores a population count, e.g. 'under_6' -> 'pop_under_6'."""
    return f"{POPULATION_PREFIX}{count}"


def group_population(neighbourhoods: pd.DataFrame, group: str) -> pd.Series:
    """Residents of `group` per neighbourhood row (people): sum of its counts, NaN if one is unknown."""
    columns = [population_column(count) for count in group_population_columns(group)]
    missing = [column for column in columns if column not in neighbourhoods.columns]
    if missing:
        raise AnalysisInputError(
            f"population group {group!r} needs the column(s) {', '.join(missing)}, "
            "which the neighbourhoods lack: "
            "import the population table or choose another group"
        )
    values = neighbourhoods[columns].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    if (values < 0).to_numpy().any():
        raise AnalysisInputError(f"negative population in {', '.join(columns)}: fix the population table")
    return values.sum(axis=1, min_count=len(columns))


def _check_neighbourhoods(neighbourhoods: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(neighbourhoods, gpd.GeoDataFrame):
        raise AnalysisInputError(
            f"neighbourhoods should be a GeoDataFrame, got {type(neighbourhoods).__name__}"
        )
    if "id" not in neighbourhoods.columns:
        raise AnalysisInputError("neighbourhoods need an 'id' column")
    if len(neighbourhoods) == 0:
        raise AnalysisInputError("there are no neighbourhoods: import the city's boundaries first")
    if neighbourhoods.crs is None:
        raise AnalysisInputError("neighbourhoods have no CRS: set it, e.g. .set_crs('EPSG:4326')")
    ids = neighbourhoods["id"]
    if ids.isna().any() or ids.duplicated().any():
        dup = ids[ids.duplicated(keep=False)].unique()[:5].tolist()
        raise AnalysisInputError(f"neighbourhood ids must be unique and present; repeated or missing: {dup}")
    values = neighbourhoods.geometry.values
    bad = shapely.is_missing(values) | shapely.is_empty(values)
    polygonal = np.isin(
        shapely.get_type_id(values), [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON]
    )
    if (bad | ~polygonal).any():
        wrong = ids[bad | ~polygonal].tolist()[:5]
        raise AnalysisInputError(f"neighbourhoods {wrong} have no polygon: repair their boundaries first")
    # Sort by id so that units, border ties and every later result have one order.
    return neighbourhoods.to_crs(_WGS84).sort_values("id", kind="stable").reset_index(drop=True)


def _cell_centres(bounds: np.ndarray, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """H3 cells whose centres lie in a lon/lat box slightly larger than `bounds`, and their centre points."""
    margin_deg = 2 * h3.average_hexagon_edge_length(resolution, unit="km") / 111.0
    west, south, east, north = bounds
    lat_km = (north - south + 2 * margin_deg) * 111.0
    lon_km = (east - west + 2 * margin_deg) * 111.0 * np.cos(np.radians((north + south) / 2))
    expected = lat_km * lon_km / h3.average_hexagon_area(resolution, unit="km^2")
    if expected > _MAX_CANDIDATE_CELLS:
        raise AnalysisInputError(
            f"resolution {resolution} would need about {expected:,.0f} H3 cells for this area: "
            "use a lower resolution"
        )
    box = shapely.box(west - margin_deg, south - margin_deg, east + margin_deg, north + margin_deg)
    cells = np.array(sorted(h3.geo_to_cells(box, resolution)), dtype=object)
    latlng = np.array([h3.cell_to_latlng(cell) for cell in cells], dtype=np.float64).reshape(-1, 2)
    return cells, shapely.points(latlng[:, 1], latlng[:, 0])


def demand_units(
    neighbourhoods: gpd.GeoDataFrame,
    *,
    group: str = "all",
    resolution: int = 9,
    vulnerable_weights: Mapping[str, float] | None = None,
    needs: gpd.GeoDataFrame | None = None,
    needs_weight: float = 0.0,
    needs_radius_m: float | None = None,
    crs: str | None = None,
    deadline: Deadline | None = None,
) -> gpd.GeoDataFrame:
    """Demand units (EPSG:4326 points) with need N_i = P_i + sum_k alpha_k V_ik + beta Q_i in people.

    Columns: unit_id (H3 index, or 'nb:<id>' for a representative point), neighbourhood_id, population (served
    group), population_known, needs_people (Q_i), need (N_i), geometry. Ordered by neighbourhood id, then
    unit_id.
    `needs` has a point or area geometry and `people_affected`; `crs` (metres) is used only to place needs.
    """
    if not isinstance(resolution, int | np.integer) or not 0 <= int(resolution) <= 15:
        raise AnalysisInputError(f"H3 resolution must be an integer from 0 to 15, got {resolution!r}")
    weights = dict(vulnerable_weights or {})
    for name, alpha in weights.items():
        if not np.isfinite(alpha) or alpha < 0:
            raise AnalysisInputError(f"vulnerable weight for {name!r} must be a number >= 0, got {alpha!r}")
    if not np.isfinite(needs_weight) or needs_weight < 0:
        raise AnalysisInputError(f"needs_weight must be a number >= 0, got {needs_weight!r}")

    nb = _check_neighbourhoods(neighbourhoods)
    served = group_population(nb, group).to_numpy()
    vulnerable = {name: group_population(nb, name).to_numpy() for name in weights}

    check_deadline(deadline)
    cells, centres = _cell_centres(nb.total_bounds, int(resolution))
    check_deadline(deadline)
    nb_pos, centre_pos = shapely.STRtree(centres).query(nb.geometry.values, predicate="intersects")
    # One neighbourhood per centre: after sorting by (centre, neighbourhood) keep the first, the smallest id.
    order = np.lexsort((nb_pos, centre_pos))
    nb_pos, centre_pos = nb_pos[order], centre_pos[order]
    first = np.r_[True, centre_pos[1:] != centre_pos[:-1]]
    nb_pos, centre_pos = nb_pos[first], centre_pos[first]

    empty_nb = np.setdiff1d(np.arange(len(nb)), nb_pos)
    ids = nb["id"].to_numpy()
    unit_ids = np.concatenate([cells[centre_pos], np.array([f"nb:{i}" for i in ids[empty_nb]], dtype=object)])
    unit_nb = np.concatenate([nb_pos, empty_nb]).astype(np.int64)
    unit_geoms = np.concatenate(
        [centres[centre_pos], shapely.point_on_surface(np.asarray(nb.geometry.values)[empty_nb])]
    )
    order = np.lexsort((unit_ids.astype(str), unit_nb))
    unit_ids, unit_nb, unit_geoms = unit_ids[order], unit_nb[order], unit_geoms[order]

    units_per_nb = np.bincount(unit_nb, minlength=len(nb)).astype(np.float64)
    known = ~np.isnan(served)
    population = np.where(known, served, 0.0)[unit_nb] / units_per_nb[unit_nb]
    need = population.copy()
    for name, alpha in weights.items():
        need += alpha * np.nan_to_num(vulnerable[name], nan=0.0)[unit_nb] / units_per_nb[unit_nb]

    units = gpd.GeoDataFrame(
        {
            "unit_id": unit_ids.astype(str),
            "neighbourhood_id": ids[unit_nb],
            "population": population,
            "population_known": known[unit_nb],
        },
        geometry=gpd.GeoSeries(unit_geoms, crs=_WGS84),
    )
    check_deadline(deadline)
    needs_people = np.zeros(len(units))
    if needs is not None and len(needs):
        metric_crs = measuring_crs(nb, crs)
        needs_people = needs_per_unit(
            points_xy(units, metric_crs, what="demand units"), needs, metric_crs, needs_radius_m
        )
    units["needs_people"] = needs_people
    units["need"] = need + needs_weight * needs_people
    return units[list(UNIT_COLUMNS)]


def needs_per_unit(
    units_xy: np.ndarray, needs: gpd.GeoDataFrame, crs: object, needs_radius_m: float | None = None
) -> np.ndarray:
    """People affected by mapped needs per demand unit (Q_i), from unit x/y in metres of projected `crs`."""
    if "people_affected" not in needs.columns:
        raise AnalysisInputError("needs must have a 'people_affected' column (people, a number >= 0)")
    people = pd.to_numeric(needs["people_affected"], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(people) | (people < 0))
    if bad.size:
        raise AnalysisInputError(
            f"{bad.size} needs have no usable people_affected (rows {bad[:5].tolist()}): "
            "enter how many people are affected, or leave those needs out of the run"
        )
    if needs.crs is None:
        raise AnalysisInputError("needs have no CRS: set it, e.g. .set_crs('EPSG:4326')")
    # An area need is placed at its representative point, which always lies inside the area.
    places = gpd.GeoSeries(needs.geometry.values, crs=needs.crs)
    not_point = shapely.get_type_id(places.values) != shapely.GeometryType.POINT
    if not_point.any():
        places = places.where(~not_point, places.representative_point())
    need_xy = points_xy(places, crs, what="needs")
    nearest = np.asarray(cKDTree(units_xy).query(need_xy, k=1)[1], dtype=np.int64)
    if needs_radius_m is None:
        return np.bincount(nearest, weights=people, minlength=len(units_xy))
    pairs = pairs_within(need_xy, units_xy, needs_radius_m)
    units_in_reach = np.bincount(pairs.unit_index, minlength=len(need_xy))
    spread = np.bincount(
        pairs.asset_index,
        weights=people[pairs.unit_index] / units_in_reach[pairs.unit_index],
        minlength=len(units_xy),
    )
    alone = units_in_reach == 0
    return spread + np.bincount(nearest[alone], weights=people[alone], minlength=len(units_xy))
