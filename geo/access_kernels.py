"""Compiled loops of E2SFCA (geo.access): the two steps straight from coordinates, and from given pairs.

From coordinates (straight-line distance), nothing of size units x assets is built. The demand units are
bucketed on a grid of cells (a counting sort, so the units of one cell lie side by side; the cells' width and
height are picked by a cost model, tall where units are sparse so that an asset reads few rows); each asset
then reads, row of cells by row of cells, the one run of units whose cells come within reach, and tests and
weighs them in a loop the compiler turns into vector instructions (one loop per decay, so none and the
Gaussian take no square root, and the step zones are compared on the squared distance). Both steps run in
one pass over the assets: an asset's weights are kept while its demand is summed, R_j follows at once (it
needs only that asset's demand), and f(d) x R_j is added to the same units while they are still in cache.
Distances near the radius are decided as geo.coverage decides them (squared distance first; within a hair of
the radius the exact hypot), so a pair counts here exactly when pairs_within finds it.

From pairs (any distance: straight, or a network's), the same two steps run over the pair arrays.

Decay codes: 0 none, 1 step (up to MAX_STEP_ZONES zones, padded), 2 Gaussian (see geo.access). The Gaussian
uses its own exponential (a Taylor polynomial, exact to a few units in the last place on the catchment's
range [-1/2, 0]), which vectorises where a call to the C library's would not.
Coordinates are x/y in metres of one projected CRS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

NONE, STEP, GAUSSIAN = 0, 1, 2
DECAY_CODES = {"none": NONE, "step": STEP, "gaussian": GAUSSIAN}
MAX_STEP_ZONES = 4
_EXP_HALF = math.exp(-0.5)
_GAUSS_SCALE = 1.0 / (1.0 - _EXP_HALF)
# Cell shapes tried (width and height as fractions of the reach), and the cost model that picks one: a row
# of cells read by an asset costs about ROW_COST distance tests (finding its run, starting the loops), each
# candidate unit one, and each cell of the grid CELL_COST (zeroing, the running sum of the sort, and the
# scatter of the sort over more places). Tall cells mean fewer rows and more candidates per row: where units
# are sparse (a few per reach squared) rows cost more than candidates.
CELL_WIDTHS = (1.0, 0.5, 1 / 3, 0.25)
CELL_HEIGHTS = (2.0, 1.0, 0.5, 1 / 3, 0.25)
ROW_COST = 50.0
CELL_COST = 5.0
# Largest grid built (at least; more for many points): beyond it cells are made wider.
MAX_CELLS = 1 << 21
# Reductions may be reordered into vector lanes (the only freedom taken): sums differ from a plain
# left-to-right sum in the last bits, the same for the same input on the same machine.
_FAST = {"reassoc", "nsz", "contract"}


def _compiled(**options: Any) -> Any:
    """numba.njit releasing the GIL and caching the machine code beside the module (in memory only when
    no cache directory can be written)."""

    def wrap(function: Any) -> Any:
        try:
            return numba.njit(nogil=True, cache=True, **options)(function)
        except RuntimeError:  # no writable cache location
            return numba.njit(nogil=True, **options)(function)

    return wrap


@dataclass(frozen=True)
class UnitGrid:
    """Cells `cell_w` x `cell_h` metres over the assets' box and a margin; cell = row * cols + column."""

    x0: float  # lower left corner of cell 0
    y0: float
    cell_w: float
    cell_h: float
    cols: int
    rows: int
    strip_rows: int  # assets are visited in strips this many rows of cells high (about a reach)


def plan_grid(units_xy: FloatArray, assets_xy: FloatArray, reach_m: float) -> UnitGrid | None:
    """The grid for these inputs (cell shape by the cost model), or None for non-finite input."""
    # The units are checked for finiteness as they are bucketed.
    lo_x, lo_y, hi_x, hi_y = points_box(assets_xy)
    if not math.isfinite(lo_x + lo_y + hi_x + hi_y):
        return None
    n_units, n_assets = len(units_xy), len(assets_xy)
    span_x, span_y = float(hi_x - lo_x), float(hi_y - lo_y)
    box_x, box_y = span_x + 2 * reach_m, span_y + 2 * reach_m
    # Units per square metre were they spread evenly over the assets' box (more where they cluster).
    density = n_units / (box_x * box_y)
    max_cells = max(MAX_CELLS, 8 * (n_units + n_assets))
    best: tuple[float, float, float] | None = None
    for fw in CELL_WIDTHS:
        for fh in CELL_HEIGHTS:
            w, h = reach_m * fw, reach_m * fh
            cells = (box_x / w + 6) * (box_y / h + 6)
            # An asset reads 2r/h + 1 rows on average; each row's run spans about the mean chord of the
            # circle (pi r / 2) plus a cell's width, over the row's height.
            rows = 2 * reach_m / h + 1
            candidates = density * rows * h * (math.pi * reach_m / 2 + w)
            cost = n_assets * (ROW_COST * rows + candidates) + CELL_COST * cells
            if cells <= max_cells and (best is None or cost < best[0]):
                best = (cost, w, h)
    if best is None:  # spread too far for cells a reach wide: wider cells, more candidates, the same pairs
        w = h = (max(box_x, box_y) + 2 * reach_m) / (math.sqrt(max_cells) - 6)
    else:
        w, h = best[1], best[2]
    # Margin all round so that no asset's rows of cells reach the outer ring, where units beyond the grid
    # are clipped in.
    pad_x, pad_y = reach_m + 2 * w, reach_m + 2 * h
    cols = math.ceil((span_x + 2 * pad_x) / w) + 2
    rows = math.ceil((span_y + 2 * pad_y) / h) + 2
    strip_rows = max(1, round(reach_m / h))
    return UnitGrid(
        x0=float(lo_x) - pad_x,
        y0=float(lo_y) - pad_y,
        cell_w=w,
        cell_h=h,
        cols=cols,
        rows=rows,
        strip_rows=strip_rows,
    )


@_compiled()
def points_box(xy: FloatArray) -> tuple[float, float, float, float]:
    """Smallest and largest x and y of (n >= 1, 2) points; NaN in all four when a coordinate is not finite
    (numpy's reductions along the short axis of such an array are slow: 160 us for 10,000 points)."""
    lo_x = hi_x = xy[0, 0]
    lo_y = hi_y = xy[0, 1]
    finite = 0.0  # x * 0 is 0 for a finite x and NaN otherwise
    for i in range(xy.shape[0]):
        x = xy[i, 0]
        y = xy[i, 1]
        finite += x * 0.0 + y * 0.0
        lo_x = min(lo_x, x)
        hi_x = max(hi_x, x)
        lo_y = min(lo_y, y)
        hi_y = max(hi_y, y)
    if finite != 0.0:
        return math.nan, math.nan, math.nan, math.nan
    return lo_x, lo_y, hi_x, hi_y


@numba.njit(inline="always")
def _clamp(f: float, top: float) -> float:
    """f clamped to [0, top], NaN to 0 (min and max would pass NaN on, and int(NaN) is no index)."""
    f = f if f > 0.0 else 0.0
    return f if f < top else top


@numba.njit(inline="always")
def bucket_units(
    units_xy: FloatArray,
    need: FloatArray,
    x0: float,
    y0: float,
    cell_w: float,
    cell_h: float,
    cols: int,
    rows: int,
    start: NDArray[np.int64],
    qxy: FloatArray,
    qn: FloatArray,
    place: NDArray[np.int64],
) -> bool:
    """Counting sort of the units by cell, into the given arrays: start of each cell's run (rows x cols
    + 1 entries), x and y interleaved (x of the unit in sorted place q at 2q, y at 2q + 1) and need in cell order,
    and where each unit (in input order) was placed. False, with nothing placed, when a coordinate is not
    finite."""
    n = units_xy.shape[0]
    inv_w = 1.0 / cell_w
    inv_h = 1.0 / cell_h
    right = cols - 1.0
    top = rows - 1.0
    n_cells = rows * cols
    start[:] = 0
    # x * 0 is 0 for a finite x and NaN otherwise (inf or NaN): the sum says whether all were finite. (A
    # non-finite coordinate is clamped into the grid meanwhile: NaN to column or row 0, never out of it.)
    finite = 0.0
    # The cell of a unit is found twice (counting, then placing): cheaper than writing it down.
    for i in range(n):
        x = units_xy[i, 0]
        y = units_xy[i, 1]
        finite += x * 0.0 + y * 0.0
        fx = _clamp((x - x0) * inv_w, right)
        fy = _clamp((y - y0) * inv_h, top)
        start[int(fy) * cols + int(fx) + 1] += 1
    if finite != 0.0:
        return False
    for c in range(n_cells):
        start[c + 1] += start[c]
    # start[c] is now where cell c begins; it is moved along as the cell fills, to where the next begins.
    # The units arrive in no spatial order, so each placement misses the cache: x and y side by side make
    # that one miss where separate arrays would make two.
    for i in range(n):
        fx = _clamp((units_xy[i, 0] - x0) * inv_w, right)
        fy = _clamp((units_xy[i, 1] - y0) * inv_h, top)
        c = int(fy) * cols + int(fx)
        q = start[c]
        start[c] = q + 1
        qxy[2 * q] = units_xy[i, 0]
        qxy[2 * q + 1] = units_xy[i, 1]
        qn[q] = need[i]
        place[i] = q  # written in order, where the input index by place would be one more random write
    for c in range(n_cells, 0, -1):
        start[c] = start[c - 1]
    start[0] = 0
    return True


@_compiled(fastmath=_FAST)
def need_total(need: FloatArray) -> float:
    """The sum of the need, or NaN when a value is negative, NaN or infinite."""
    total = 0.0
    finite = 0.0  # x * 0 is 0 for a finite x and NaN otherwise
    negative = 0
    for i in range(need.size):
        value = need[i]
        total += value
        finite += value * 0.0
        negative += value < 0.0
    return math.nan if negative or finite != 0.0 else total


@numba.njit(inline="always")
def _gaussian(d2: float, inv_2r2: float) -> float:
    # (exp(-d^2 / 2r^2) - exp(-1/2)) / (1 - exp(-1/2)); exp by its Taylor polynomial of degree 15, whose
    # error on [-1/2, 0] is below 2e-17 (past the radius it is not used).
    x = -d2 * inv_2r2
    p = 1.0 / 1307674368000.0
    p = p * x + 1.0 / 87178291200.0
    p = p * x + 1.0 / 6227020800.0
    p = p * x + 1.0 / 479001600.0
    p = p * x + 1.0 / 39916800.0
    p = p * x + 1.0 / 3628800.0
    p = p * x + 1.0 / 362880.0
    p = p * x + 1.0 / 40320.0
    p = p * x + 1.0 / 5040.0
    p = p * x + 1.0 / 720.0
    p = p * x + 1.0 / 120.0
    p = p * x + 1.0 / 24.0
    p = p * x + 1.0 / 6.0
    p = p * x + 0.5
    p = p * x + 1.0
    p = p * x + 1.0
    return max((p - _EXP_HALF) * _GAUSS_SCALE, 0.0)


@numba.njit(inline="always")
def _weight(d: float, d2: float, decay: int, inv_2r2: float, zones: FloatArray, weights: FloatArray) -> float:
    """f(d) for a pair within the radius (d its distance, d2 its square)."""
    if decay == NONE:
        return 1.0
    if decay == GAUSSIAN:
        return _gaussian(d2, inv_2r2)
    # Step: the weight of the first zone whose bound is >= d, as a chain of selects from the last zone
    # (padded zones have bound -1 and weight 0).
    w = weights[3] if d <= zones[3] else 0.0
    w = weights[2] if d <= zones[2] else w
    w = weights[1] if d <= zones[1] else w
    return weights[0] if d <= zones[0] else w


def squared_bounds(zones: FloatArray) -> FloatArray:
    """For each step zone bound z, the largest t with sqrt(t) <= z (-1 for a padded zone), so that d2 <= t
    exactly when sqrt(d2) <= z (the root is correctly rounded and monotonic): the zone of a pair is decided
    without its square root, and as with it."""
    out = np.full(len(zones), -1.0)
    for m, z in enumerate(zones):
        if z < 0:
            continue
        t = z * z
        while math.sqrt(t) > z:
            t = math.nextafter(t, -math.inf)
        while math.sqrt(math.nextafter(t, math.inf)) <= z:
            t = math.nextafter(t, math.inf)
        out[m] = t
    return out


@numba.njit(inline="always")
def _row_run(
    xs: float,
    ys: float,
    row: int,
    x0: float,
    y0: float,
    cell_w: float,
    cell_h: float,
    cols: int,
    reach2: float,
    margin: float,
    start: NDArray[np.int64],
) -> tuple[int, int]:
    """The run [a, b) of sorted units in the cells of `row` that come within reach of the asset (xs, ys)."""
    low = y0 + row * cell_h - margin
    gap = max(0.0, low - ys, ys - (low + cell_h + 2 * margin))
    half2 = reach2 - gap * gap
    if half2 < 0:
        return 0, 0
    half = math.sqrt(half2) + margin
    inv = 1.0 / cell_w
    c0 = max(math.floor((xs - half - x0) * inv), 0)
    c1 = min(math.floor((xs + half - x0) * inv), cols - 1)
    if c1 < c0:
        return 0, 0
    return start[row * cols + c0], start[row * cols + c1 + 1]


@numba.njit(inline="always")
def _weigh_run(
    xy: FloatArray,
    n: FloatArray,
    xs: float,
    ys: float,
    inner2: float,
    reach2: float,
    radius_m: float,
    decay: int,
    inv_2r2: float,
    zones: FloatArray,
    weights: FloatArray,
    step_sq: tuple[float, float, float, float],
    step_w: tuple[float, float, float, float],
    w_out: FloatArray,
) -> tuple[int, float]:
    """f(d) of every unit of a run (x and y interleaved, need n) to the asset (xs, ys) into `w_out` (0
    beyond the radius); returns how many are within the radius and the sum of need x f(d)."""
    count = 0
    near_edge = 0
    total = 0.0
    # One loop per decay, so that each computes only what its weight needs (none and Gaussian no root).
    if decay == NONE:
        for u in range(w_out.size):
            dx = xy[2 * u] - xs
            dy = xy[2 * u + 1] - ys
            d2 = dx * dx + dy * dy
            inside = d2 <= inner2
            near_edge += (d2 > inner2) & (d2 <= reach2)
            count += inside
            w = 1.0 if inside else 0.0
            w_out[u] = w
            total += n[u] * w
    elif decay == GAUSSIAN:
        for u in range(w_out.size):
            dx = xy[2 * u] - xs
            dy = xy[2 * u + 1] - ys
            d2 = dx * dx + dy * dy
            inside = d2 <= inner2
            near_edge += (d2 > inner2) & (d2 <= reach2)
            count += inside
            w = _gaussian(d2, inv_2r2) if inside else 0.0
            w_out[u] = w
            total += n[u] * w
    else:
        for u in range(w_out.size):
            dx = xy[2 * u] - xs
            dy = xy[2 * u + 1] - ys
            d2 = dx * dx + dy * dy
            inside = d2 <= inner2
            near_edge += (d2 > inner2) & (d2 <= reach2)
            count += inside
            # The zones as squared bounds (squared_bounds): the same decision as sqrt(d2) <= z, no root.
            w = step_w[3] if d2 <= step_sq[3] else 0.0
            w = step_w[2] if d2 <= step_sq[2] else w
            w = step_w[1] if d2 <= step_sq[1] else w
            w = step_w[0] if d2 <= step_sq[0] else w
            w = w if inside else 0.0
            w_out[u] = w
            total += n[u] * w
    if near_edge:
        # Within a hair of the radius: the exact distance decides, as in geo.coverage.
        for u in range(w_out.size):
            dx = xy[2 * u] - xs
            dy = xy[2 * u + 1] - ys
            d2 = dx * dx + dy * dy
            if d2 > inner2 and d2 <= reach2:
                d = math.hypot(dx, dy)
                if d <= radius_m:
                    count += 1
                    w = _weight(d, d * d, decay, inv_2r2, zones, weights)
                    w_out[u] = w
                    total += n[u] * w
    return count, total


@_compiled(fastmath=_FAST)
def straight_two_steps(
    units_xy: FloatArray,
    need: FloatArray,
    assets_xy: FloatArray,
    supply: FloatArray,
    x0: float,
    y0: float,
    cell_w: float,
    cell_h: float,
    cols: int,
    rows: int,
    strip_rows: int,
    radius_m: float,
    band_m: float,
    decay: int,
    zones: FloatArray,
    zones_sq: FloatArray,
    weights: FloatArray,
    start: NDArray[np.int64],
    qxy: FloatArray,
    qn: FloatArray,
    place: NDArray[np.int64],
    pair_w: FloatArray,
    sorted_access: FloatArray,
    demand: FloatArray,
    ratio: FloatArray,
    access: FloatArray,
) -> int:
    """Both steps from coordinates, in one pass over the assets: the units are bucketed (bucket_units), and
    each asset weighs the units of its runs once (into `pair_w`, work space as long as the units), sums
    demand[j] = sum of need x f(d), takes ratio[j] = supply[j] / demand[j] (0 where nothing is in reach), and
    adds f(d) x ratio[j] to each of those units while they are still in cache. access[i] = sum over the assets
    in reach of f(d) x ratio[j], in input order. Assets are taken in strips `strip_rows` cells high, west to
    east in each (a counting sort by strip and column), so neighbours read alike runs. Returns the number of
    (unit, asset) pairs within the radius, or -1 (nothing computed) when a unit's coordinate is not finite."""
    if not bucket_units(units_xy, need, x0, y0, cell_w, cell_h, cols, rows, start, qxy, qn, place):
        return -1
    n_assets = assets_xy.shape[0]
    reach = radius_m + band_m
    reach2 = reach * reach
    inner = radius_m - band_m
    inner2 = inner * inner
    inv_2r2 = 0.5 / (radius_m * radius_m)
    margin = 1e-6 + max(cell_w, cell_h) * 1e-9
    inv_w = 1.0 / cell_w
    inv_h = 1.0 / cell_h
    right = cols - 1.0
    top = rows - 1.0
    # Step zones and weights as scalars: loads the loops need not repeat (no store can change them).
    step_sq = (zones_sq[0], zones_sq[1], zones_sq[2], zones_sq[3])
    step_w = (weights[0], weights[1], weights[2], weights[3])
    # Visit order: counting sort of the assets by (strip, column).
    n_strips = (rows + strip_rows - 1) // strip_rows
    key_start = np.zeros(n_strips * cols + 1, dtype=np.int64)
    key = np.empty(n_assets, dtype=np.int64)
    for j in range(n_assets):
        fx = _clamp((assets_xy[j, 0] - x0) * inv_w, right)
        fy = _clamp((assets_xy[j, 1] - y0) * inv_h, top)
        k = (int(fy) // strip_rows) * cols + int(fx)
        key[j] = k
        key_start[k + 1] += 1
    for c in range(n_strips * cols):
        key_start[c + 1] += key_start[c]
    visit = np.empty(n_assets, dtype=np.int64)
    for j in range(n_assets):
        k = key[j]
        visit[key_start[k]] = j
        key_start[k] += 1
    run_a = np.empty(rows, dtype=np.int64)
    run_b = np.empty(rows, dtype=np.int64)
    sorted_access[:] = 0.0
    n_pairs = 0
    for v in range(n_assets):
        j = visit[v]
        xs = assets_xy[j, 0]
        ys = assets_xy[j, 1]
        row0 = max(math.floor((ys - reach - y0) * inv_h), 0)
        row1 = min(math.floor((ys + reach - y0) * inv_h), rows - 1)
        n_runs = 0
        offset = 0
        total = 0.0
        for row in range(row0, row1 + 1):
            a, b = _row_run(xs, ys, row, x0, y0, cell_w, cell_h, cols, reach2, margin, start)
            if b <= a:
                continue
            run_a[n_runs] = a
            run_b[n_runs] = b
            n_runs += 1
            # Slices, not offsets into the arrays: the compiler vectorises loops over them.
            w = pair_w[offset : offset + b - a]
            count, weighted = _weigh_run(
                qxy[2 * a : 2 * b],
                qn[a:b],
                xs,
                ys,
                inner2,
                reach2,
                radius_m,
                decay,
                inv_2r2,
                zones,
                weights,
                step_sq,
                step_w,
                w,
            )
            n_pairs += count
            total += weighted
            offset += b - a
        demand[j] = total
        rj = supply[j] / total if total > 0 else 0.0
        ratio[j] = rj
        if rj == 0.0:
            continue
        offset = 0
        for r in range(n_runs):
            a = run_a[r]
            b = run_b[r]
            w = pair_w[offset : offset + b - a]
            out = sorted_access[a:b]
            for u in range(b - a):
                out[u] += w[u] * rj
            offset += b - a
    for i in range(place.size):
        access[i] = sorted_access[place[i]]
    return n_pairs


@_compiled(fastmath=_FAST)
def pairs_demand(
    unit_index: NDArray[Any],
    asset_index: NDArray[Any],
    distance_m: FloatArray,
    need: FloatArray,
    radius_m: float,
    decay: int,
    zones: FloatArray,
    weights: FloatArray,
    pair_weight: FloatArray,
    demand: FloatArray,
) -> None:
    """Step 1 from pairs: f(d) of each pair into `pair_weight` (0 beyond the radius) and need x f(d) summed
    per asset into `demand` (zeroed first)."""
    inv_2r2 = 0.5 / (radius_m * radius_m)
    demand[:] = 0.0
    for p in range(distance_m.size):
        d = distance_m[p]
        w = _weight(d, d * d, decay, inv_2r2, zones, weights) if d <= radius_m else 0.0
        pair_weight[p] = w
        demand[asset_index[p]] += need[unit_index[p]] * w


@_compiled(fastmath=_FAST)
def pairs_access(
    unit_index: NDArray[Any],
    asset_index: NDArray[Any],
    pair_weight: FloatArray,
    ratio: FloatArray,
    access: FloatArray,
) -> None:
    """Step 2 from pairs: access[i] = sum of f(d) x ratio[j] over the pairs of unit i (zeroed first)."""
    access[:] = 0.0
    for p in range(pair_weight.size):
        access[unit_index[p]] += pair_weight[p] * ratio[asset_index[p]]
