"""Capacity-aware accessibility (ANALYSIS.md (b)): two-step floating catchment with distance decay (E2SFCA).

Distance decay f(d) for a pair d metres apart, with catchment radius r (f = 0 beyond r in every case):
- "none": f = 1 (plain 2SFCA).
- "step": zones z_1 < ... < z_k <= r in metres with weights w_1..w_k; f = w_m for the first zone with d <= z_m
  (upper bounds inclusive) and 0 beyond z_k. Default zones (r/3, 2r/3, r) with weights (1.0, 0.68, 0.22), the
  E2SFCA weights of Luo and Qi (2009).
- "gaussian": f = (exp(-d^2 / (2 r^2)) - exp(-1/2)) / (1 - exp(-1/2)), which is 1 at d = 0 and reaches 0
  at d = r (the catchment form of Dai 2010).
Capacity S_j: NaN (unknown) counts as 1 and is flagged; 0 means closed; negative or infinite is refused.
Normalised score a_i = A_i / (sum S / sum N), where sum S runs over all open assets (capacity > 0, including
those with no demand in reach) and sum N over all demand units: a_i = 1 means the city-wide supply per unit
of need.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from geo.coverage import FloatArray, ReachPairs, check_radius_m, pairs_within, search_band_m
from geo.crs import AnalysisInputError
from geo.reach_grid import borrowed_buffers

Decay = Literal["none", "step", "gaussian"]
DECAYS: tuple[str, ...] = get_args(Decay)
DEFAULT_STEP_FRACTIONS = (1 / 3, 2 / 3, 1.0)
DEFAULT_STEP_WEIGHTS = (1.0, 0.68, 0.22)
_EXP_HALF = float(np.exp(-0.5))


def step_zones_for(radius_m: float, step_zones_m: Sequence[float] | None = None) -> tuple[float, ...]:
    """Step-decay zone upper bounds in metres: `step_zones_m` checked, or r/3, 2r/3, r by default."""
    radius_m = check_radius_m(radius_m)
    if step_zones_m is None:
        return tuple(radius_m * fraction for fraction in DEFAULT_STEP_FRACTIONS)
    zones = tuple(float(z) for z in step_zones_m)
    if (
        not zones
        or not all(np.isfinite(zones))
        or zones[0] <= 0
        or any(b <= a for a, b in itertools.pairwise(zones))
    ):
        raise AnalysisInputError(
            f"step zones must be increasing positive distances in metres, got {list(zones)}"
        )
    if zones[-1] > radius_m:
        raise AnalysisInputError(
            f"the last step zone ({zones[-1]:g} m) lies beyond the radius ({radius_m:g} m): "
            "end the zones at the radius or raise the radius"
        )
    return zones


def _check_step_weights(step_weights: Sequence[float], n_zones: int) -> FloatArray:
    weights = np.asarray(step_weights, dtype=np.float64)
    if weights.shape != (n_zones,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise AnalysisInputError(
            f"step weights must be {n_zones} numbers >= 0, one per zone, "
            f"got {list(np.atleast_1d(step_weights))}"
        )
    return weights


def decay_weight(
    distance_m: FloatArray,
    radius_m: float,
    decay: str = "gaussian",
    *,
    step_zones_m: Sequence[float] | None = None,
    step_weights: Sequence[float] = DEFAULT_STEP_WEIGHTS,
) -> FloatArray:
    """Distance-decay weight f(d) in [0, 1] for distances in metres (0 beyond `radius_m`); see module doc."""
    radius_m = check_radius_m(radius_m)
    d = np.asarray(distance_m, dtype=np.float64)
    if decay == "none":
        return (d <= radius_m).astype(np.float64)
    if decay == "gaussian":
        raw = (np.exp(-0.5 * (d / radius_m) ** 2) - _EXP_HALF) / (1.0 - _EXP_HALF)
        return np.where(d <= radius_m, np.maximum(raw, 0.0), 0.0)
    if decay == "step":
        zones = step_zones_for(radius_m, step_zones_m)
        weights = _check_step_weights(step_weights, len(zones))
        # Zone of d = number of bounds strictly below it, so a distance equal to a bound belongs to that zone;
        # counted here as len(zones) minus the bounds at or above d. Beyond the last zone (which ends at or
        # before r) and NaN count no bound at or above and take the weight 0 put first in the lookup.
        at_or_above = np.zeros(d.shape, dtype=np.uint8 if len(zones) < 256 else np.intp)
        test = np.empty(d.shape, dtype=np.bool_)
        for bound in zones:
            at_or_above += np.less_equal(d, bound, out=test)
        lookup = np.append(0.0, weights[::-1])
        return np.take(lookup, at_or_above, out=np.empty(d.shape), mode="clip")
    raise AnalysisInputError(f"unknown decay {decay!r}: use one of {', '.join(DECAYS)}")


def capacity_in_use(capacity: Sequence[float] | FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Capacity used for S_j (unknown NaN -> 1) and a flag of which capacities were unknown."""
    values = np.asarray(capacity, dtype=np.float64)
    unknown = np.isnan(values)
    bad = np.flatnonzero(~unknown & (~np.isfinite(values) | (values < 0)))
    if bad.size:
        raise AnalysisInputError(
            "capacity must be a number >= 0 (0 = closed) or empty when unknown; "
            f"rows {bad[:5].tolist()} are not"
        )
    return np.where(unknown, 1.0, values), unknown


@dataclass(frozen=True)
class AccessResult:
    """E2SFCA result: A_i and a_i per demand unit, R_j and weighted demand per asset (input order)."""

    access: FloatArray  # A_i, capacity per person of need (relative; overlapping catchments count twice)
    access_score: FloatArray  # a_i = A_i / (sum S / sum N); NaN when there is no need at all
    ratio: FloatArray  # R_j = S_j / (W N)_j, 0 where nothing is in reach
    demand_in_reach: FloatArray  # (W N)_j: decay-weighted need within reach of asset j
    capacity_used: FloatArray  # S_j after unknown -> 1
    capacity_unknown: NDArray[np.bool_]
    idle: NDArray[np.bool_]  # open asset with no weighted demand in reach: its capacity serves no one
    reference_ratio: float  # sum S over open assets / sum N
    n_pairs: int  # (unit, asset) pairs within the radius


def e2sfca(
    units_xy: FloatArray,
    need: FloatArray,
    assets_xy: FloatArray,
    capacity: Sequence[float] | FloatArray,
    radius_m: float,
    *,
    decay: str = "gaussian",
    step_zones_m: Sequence[float] | None = None,
    step_weights: Sequence[float] = DEFAULT_STEP_WEIGHTS,
    pairs: ReachPairs | None = None,
) -> AccessResult:
    """E2SFCA on projected x/y in metres: R = S / (W N) (0 where W N = 0), A = W R, a = A / (sum S/sum N).

    Distances: without `pairs`, straight lines between the coordinates, computed inside the two steps
    (geo.access_kernels; no pair table is built). With `pairs`, the distances they carry, whatever measured
    them (pairs_within, or a street network): pairs beyond `radius_m` are ignored, and the coordinates are
    then only counted, not read.
    """
    radius_m = check_radius_m(radius_m)
    if decay not in DECAYS:
        raise AnalysisInputError(f"unknown decay {decay!r}: use one of {', '.join(DECAYS)}")
    need = np.ascontiguousarray(need, dtype=np.float64)
    # One compiled pass: the total, or NaN for a negative, NaN or infinite value.
    total_need = _kernels().need_total(need) if need.ndim == 1 else math.nan
    if need.shape != (len(units_xy),) or math.isnan(total_need):
        raise AnalysisInputError("need must be one number >= 0 per demand unit")
    supply, unknown = capacity_in_use(capacity)
    if supply.shape != (len(assets_xy),):
        raise AnalysisInputError("capacity must hold one value per asset")
    compiled_decay = _kernel_decay(radius_m, decay, step_zones_m, step_weights)
    if pairs is None and compiled_decay is not None:
        demand, ratio, access, n_pairs = _straight_two_steps(
            units_xy, need, assets_xy, supply, radius_m, decay, *compiled_decay
        )
    else:
        if pairs is None:
            pairs = pairs_within(units_xy, assets_xy, radius_m)
        pair_weight: FloatArray | None
        if compiled_decay is None:  # more step zones than the compiled loops take: weights in numpy
            zones, weights = np.zeros(4), np.zeros(4)
            pair_weight = decay_weight(
                pairs.distance_m, radius_m, decay, step_zones_m=step_zones_m, step_weights=step_weights
            )
            code = -1
        else:
            (zones, weights), pair_weight, code = compiled_decay, None, _kernels().DECAY_CODES[decay]
        demand, ratio, access, n_pairs = _pairs_two_steps(
            pairs, need, supply, radius_m, code, zones, weights, pair_weight
        )
    return _result(need, total_need, supply, unknown, demand, ratio, access, n_pairs)


def _kernels() -> ModuleType:
    # Imported on first use: loading numba takes a moment that importing geo.access should not.
    import geo.access_kernels

    return geo.access_kernels


def _kernel_decay(
    radius_m: float, decay: str, step_zones_m: Sequence[float] | None, step_weights: Sequence[float]
) -> tuple[FloatArray, FloatArray] | None:
    """Step zones and weights as the compiled loops take them (padded to four with bound -1, weight 0),
    checked; None when there are more zones than that."""
    zones = np.full(4, -1.0)
    weights = np.zeros(4)
    if decay == "step":
        bounds = step_zones_for(radius_m, step_zones_m)
        checked = _check_step_weights(step_weights, len(bounds))
        if len(bounds) > 4:
            return None
        zones[: len(bounds)] = bounds
        weights[: len(bounds)] = checked
    return zones, weights


def _straight_two_steps(
    units_xy: FloatArray,
    need: FloatArray,
    assets_xy: FloatArray,
    supply: FloatArray,
    radius_m: float,
    decay: str,
    zones: FloatArray,
    weights: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Both steps on straight-line distances from the coordinates: (W N) and R per asset, A per unit, and
    the number of pairs within the radius."""
    kernels = _kernels()
    n_units, n_assets = len(units_xy), len(assets_xy)
    if n_units == 0 or n_assets == 0:
        return np.zeros(n_assets), np.zeros(n_assets), np.zeros(n_units), 0
    units_xy = np.ascontiguousarray(units_xy, dtype=np.float64)
    assets_xy = np.ascontiguousarray(assets_xy, dtype=np.float64)
    band_m = search_band_m(radius_m)
    code = kernels.DECAY_CODES[decay]
    grid = kernels.plan_grid(units_xy, assets_xy, radius_m + band_m)
    if grid is None:  # non-finite coordinates: the pair search says which
        return _pairs_two_steps(
            pairs_within(units_xy, assets_xy, radius_m), need, supply, radius_m, code, zones, weights, None
        )
    demand = np.empty(n_assets)
    ratio = np.empty(n_assets)
    access = np.empty(n_units)
    with borrowed_buffers() as buffers:
        start = buffers.get("cell_start", grid.rows * grid.cols + 1, np.int64)
        qxy = buffers.get("unit_xy", 2 * n_units, np.float64)
        qn, pair_w, work = (
            buffers.get(name, n_units, np.float64) for name in ("unit_need", "pair_weight", "unit_work")
        )
        place = buffers.get("unit_place", n_units, np.int64)
        n_pairs = kernels.straight_two_steps(
            units_xy, need, assets_xy, supply,
            grid.x0, grid.y0, grid.cell_w, grid.cell_h, grid.cols, grid.rows, grid.strip_rows,
            radius_m, band_m, code, zones, kernels.squared_bounds(zones), weights,
            start, qxy, qn, place, pair_w, work, demand, ratio, access,
        )  # fmt: skip
    if n_pairs < 0:  # a unit's coordinate is not finite: the pair search says which
        return _pairs_two_steps(
            pairs_within(units_xy, assets_xy, radius_m), need, supply, radius_m, code, zones, weights, None
        )
    return demand, ratio, access, int(n_pairs)


def _pairs_two_steps(
    pairs: ReachPairs,
    need: FloatArray,
    supply: FloatArray,
    radius_m: float,
    code: int,
    zones: FloatArray,
    weights: FloatArray,
    pair_weight: FloatArray | None,
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Both steps over given pairs; `pair_weight` None computes f(d) in the loop (decay `code`)."""
    kernels = _kernels()
    demand = np.zeros(len(supply))
    access = np.zeros(len(need))
    if len(pairs) == 0:
        return demand, np.zeros(len(supply)), access, 0
    if pair_weight is None:
        pair_weight = np.empty(len(pairs))
        kernels.pairs_demand(
            pairs.unit_index,
            pairs.asset_index,
            pairs.distance_m,
            need,
            radius_m,
            code,
            zones,
            weights,
            pair_weight,
            demand,
        )
    else:
        weighted = need[pairs.unit_index] * pair_weight
        demand = np.bincount(pairs.asset_index, weights=weighted, minlength=len(supply)).astype(np.float64)
    ratio = _ratio(supply, demand)
    kernels.pairs_access(pairs.unit_index, pairs.asset_index, pair_weight, ratio, access)
    n_pairs = int(np.count_nonzero(pairs.distance_m <= radius_m))
    return demand, ratio, access, n_pairs


def _ratio(supply: FloatArray, demand: FloatArray) -> FloatArray:
    """R_j = S_j / (W N)_j, 0 where no weighted need is in reach."""
    ratio = np.zeros(len(supply))
    np.divide(supply, demand, out=ratio, where=demand > 0)
    return ratio


def _result(
    need: FloatArray,
    total_need: float,
    supply: FloatArray,
    unknown: NDArray[np.bool_],
    demand: FloatArray,
    ratio: FloatArray,
    access: FloatArray,
    n_pairs: int,
) -> AccessResult:
    reached = demand > 0
    open_supply = float(supply.sum())  # closed assets add 0
    reference = open_supply / total_need if total_need > 0 else float("nan")
    if total_need == 0:
        score = np.full(len(need), np.nan)
    elif open_supply == 0:
        score = np.zeros(len(need))
    else:
        score = access / reference
    return AccessResult(
        access=access,
        access_score=score,
        ratio=ratio,
        demand_in_reach=demand,
        capacity_used=supply,
        capacity_unknown=unknown,
        idle=(supply > 0) & ~reached,
        reference_ratio=reference,
        n_pairs=n_pairs,
    )


def warm_up() -> None:
    """Compile (or load from numba's cache) every loop e2sfca uses, on a tiny input: a server or an image
    build calls this once so that the first real run does not wait for the compiler (seconds)."""
    units = np.array([[0.0, 0.0], [300.0, 0.0], [900.0, 0.0]])
    assets = np.array([[100.0, 0.0], [800.0, 0.0]])
    pairs = pairs_within(units, assets, 500.0)
    for decay in DECAYS:
        e2sfca(units, np.ones(3), assets, [1.0, 2.0], 500.0, decay=decay)
        e2sfca(units, np.ones(3), assets, [1.0, 2.0], 500.0, decay=decay, pairs=pairs)
