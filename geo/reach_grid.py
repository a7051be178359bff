"""Point-site pairs within a reach by hashing the sites on a uniform grid: the engine of pairs_within.

Each cell of the grid keeps the list of sites that a point anywhere in the cell may reach; a point's candidates
are its cell's list, and a distance test keeps the pairs. With cells a fraction of the reach wide, candidates
are a small multiple of the pairs, and nothing is built over the points: pairs_within hashes whichever of
units and assets is the smaller set.

Everything runs in numpy over chunks of points and blocks of candidates, in buffers kept between calls: on the
virtual machines we run on, fresh memory costs a page fault per 4 KiB, more than the arithmetic on it.
Coordinates are x/y in metres of one projected CRS, as (n, 2) float64 arrays.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# Points per chunk (cells found, candidates counted) and candidates per block (distances tested).
CHUNK_POINTS = 1 << 14
BLOCK_PAIRS = 1 << 15
# Cell sides tried, reach / k, and the cost model that picks one: expected extra candidates against the
# hashing work (relative cost of one site-cell test) and the size of the cell table (per cell).
CELLS_PER_REACH = (1, 2, 3, 4)
HASH_COST = 3.0
CELL_COST = 0.1
# Largest table of cells built (at least; more for many points): beyond it there is no grid.
MAX_CELLS = 1 << 21
# Work buffers larger than this are not kept between calls.
KEEP_BYTES = 8 << 20
# Pair arrays are first sized for this many pairs at most, and grown if need be.
FIRST_CAPACITY = 1 << 24
_INDEX_BUFFERS = ("point", "entry", "site", "kept")


@dataclass(frozen=True)
class SiteGrid:
    """Sites hashed on a square grid of cells: for each cell, the sites that a point in the cell may reach."""

    reach_m: float
    x0: float  # lower left corner of cell 0
    y0: float
    inv_cell_m: float  # 1 / cell side in metres
    side: int  # cells per row and per column; cell = row * side + column
    start: NDArray[np.intp]  # per cell: first entry of its candidate list
    count: NDArray[np.intp]  # per cell: length of its candidate list
    site: NDArray[np.intp]  # candidate lists, cell after cell, ascending site index within a cell
    sites_z: NDArray[np.complex128]  # x + iy of every site
    expected_pairs: float  # if the sites were spread evenly over their box


def as_complex(xy: FloatArray) -> NDArray[np.complex128]:
    """View (copying only if need be) an (n, 2) array of x/y as n complex numbers x + iy."""
    return np.ascontiguousarray(xy, dtype=np.float64).view(np.complex128).reshape(-1)


def grid_pairs(
    points_xy: FloatArray, sites_xy: FloatArray, reach_m: float
) -> tuple[NDArray[np.int32], NDArray[np.int32], FloatArray] | None:
    """Every (point, site) pair with squared distance <= reach^2: point index, site index and squared
    distance (dx*dx + dy*dy of the coordinate differences), sorted by point and then site. None when a grid
    does not suit the input (non-finite coordinates, or a table of cells out of proportion to the points)."""
    grid = build_site_grid(points_xy, sites_xy, reach_m)
    return None if grid is None else pairs_in_reach(points_xy, grid)


def build_site_grid(points_xy: FloatArray, sites_xy: FloatArray, reach_m: float) -> SiteGrid | None:
    """Hash the sites on cells reach/k wide, k chosen by a cost model; None as in grid_pairs."""
    # A sum is finite only if every term is (one overflowing to inf merely declines the grid).
    if not (np.isfinite(np.sum(points_xy)) and np.isfinite(np.sum(sites_xy))):
        return None
    n_points, n_sites = len(points_xy), len(sites_xy)
    sx = np.ascontiguousarray(sites_xy[:, 0])
    sy = np.ascontiguousarray(sites_xy[:, 1])
    lo_x, hi_x, lo_y, hi_y = float(sx.min()), float(sx.max()), float(sy.min()), float(sy.max())
    extent = max(hi_x - lo_x, hi_y - lo_y)
    # Pairs / pi to expect if the sites were spread evenly over their box: cells reach/k wide add about
    # (4/k + 1/k^2) times as many candidates, and hashing tests (2k + 3)^2 cells per site.
    spread = n_points * n_sites * reach_m**2 / ((hi_x - lo_x + 2 * reach_m) * (hi_y - lo_y + 2 * reach_m))
    max_cells = max(MAX_CELLS, 8 * (n_points + n_sites))
    best: tuple[float, int] | None = None
    for k in CELLS_PER_REACH:
        cells = (extent * k / reach_m + 2 * k + 8) ** 2
        if cells > max_cells:
            continue
        cost = spread * (4 / k + 1 / k**2) + HASH_COST * n_sites * (2 * k + 3) ** 2 + CELL_COST * cells
        if best is None or cost < best[0]:
            best = (cost, k)
    if best is None:
        return None
    k = best[1]
    cell = reach_m / k
    # A point's cell is floor((x - x0) / cell), which rounding can move across a cell edge: each cell is
    # widened by `margin` when deciding which sites its points may reach.
    margin = 1e-6 + cell * 1e-9
    pad = reach_m + 2 * cell  # empty cells all round: points beyond the grid are clipped into them
    x0, y0 = lo_x - pad, lo_y - pad
    side = int(np.ceil((extent + 2 * pad) / cell)) + 2  # square: one clip serves both coordinates
    inv = 1.0 / cell
    # Candidate cells of a site: columns and rows within k + 1 of its own, kept when the cell (widened by
    # the margin) comes within reach of the site.
    offsets = np.arange(-k - 1, k + 2)
    col = np.floor((sx - x0) * inv).astype(np.intp)[:, None] + offsets
    row = np.floor((sy - y0) * inv).astype(np.intp)[:, None] + offsets
    gap_x = _gap_sq(col * cell + (x0 - margin), sx, cell + 2 * margin)
    gap_y = _gap_sq(row * cell + (y0 - margin), sy, cell + 2 * margin)
    near = gap_y[:, :, None] + gap_x[:, None, :] <= reach_m * reach_m  # (sites, rows, columns)
    # One sortable key per (cell, site), cell-major and site-minor: cell << bits | site.
    bits = max(1, (n_sites - 1).bit_length())
    row *= side
    row <<= bits
    col <<= bits
    col += np.arange(n_sites)[:, None]
    key = (row[:, :, None] + col[:, None, :])[near]
    key.sort()
    site = key & ((1 << bits) - 1)
    key >>= bits
    count = np.bincount(key, minlength=side * side)
    start = np.cumsum(count)
    start -= count
    return SiteGrid(
        reach_m=reach_m,
        x0=x0,
        y0=y0,
        inv_cell_m=inv,
        side=side,
        start=start,
        count=count,
        site=site,
        sites_z=as_complex(sites_xy),
        expected_pairs=np.pi * spread,
    )


def _gap_sq(low: NDArray[np.floating], at: FloatArray, width: float) -> NDArray[np.floating]:
    """Squared distance from each coordinate `at` (one per row) to the intervals [low, low + width]."""
    gap = np.subtract(low, at[:, None])
    np.maximum(gap, np.subtract(at[:, None], low + width), out=gap)
    np.maximum(gap, 0.0, out=gap)
    gap *= gap
    return gap


class Buffers:
    """Named work arrays, grown on demand; one set is kept between calls (see borrowed_buffers)."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int, dtype: type) -> np.ndarray:
        """An array of `size` elements of `dtype` (the name fixes the dtype), contents undefined."""
        array = self._arrays.get(name)
        if array is None or array.size < size:
            array = self._arrays[name] = np.empty(max(size, 1), dtype=dtype)
        return array[:size]

    def arange(self, size: int) -> NDArray[np.intp]:
        """0, 1, ..., size - 1 (not to be written to)."""
        array = self._arrays.get("arange")
        if array is None or array.size < size:
            array = self._arrays["arange"] = np.arange(max(size, 1), dtype=np.intp)
        return array[:size]

    def trim(self) -> None:
        """Let go of the arrays larger than KEEP_BYTES."""
        self._arrays = {name: array for name, array in self._arrays.items() if array.nbytes <= KEEP_BYTES}


_KEPT_BUFFERS = Buffers()
_KEPT_LOCK = threading.Lock()


@contextlib.contextmanager
def borrowed_buffers() -> Iterator[Buffers]:
    """The kept buffers, or a fresh set while another thread is using them."""
    if _KEPT_LOCK.acquire(blocking=False):
        try:
            yield _KEPT_BUFFERS
        finally:
            _KEPT_BUFFERS.trim()
            _KEPT_LOCK.release()
    else:
        yield Buffers()


def pairs_in_reach(
    points_xy: FloatArray, grid: SiteGrid
) -> tuple[NDArray[np.int32], NDArray[np.int32], FloatArray]:
    """The pairs of grid_pairs for the sites hashed in `grid`.

    Chunk by chunk of points: find each point's cell and so its candidates, then test them block by block.
    The point of each candidate is a running count of the points whose candidates begin at or before it,
    so no per-point repeat is needed. The pair arrays grow in place as needed.
    """
    reach_sq = grid.reach_m * grid.reach_m
    n_points = len(points_xy)
    points_z = as_complex(points_xy)
    size_c = min(n_points, CHUNK_POINTS)
    origin = complex(grid.x0, grid.y0)
    capacity = int(min(grid.expected_pairs * 1.25 + BLOCK_PAIRS, FIRST_CAPACITY))
    capacity = min(capacity, n_points * int(grid.count.max()))
    point_i = np.empty(capacity, dtype=np.int32)
    site_j = np.empty(capacity, dtype=np.int32)
    dist_sq = np.empty(capacity)
    n_pairs = 0
    block = BLOCK_PAIRS
    with borrowed_buffers() as buffers:
        zcell = buffers.get("zcell", size_c, np.complex128)
        ixy = buffers.get("ixy", 2 * size_c, np.intp).reshape(size_c, 2)
        cell = buffers.get("cell", size_c, np.intp)
        count = buffers.get("count", size_c, np.intp)
        begin = buffers.get("begin", size_c, np.intp)
        shift = buffers.get("shift", size_c, np.intp)
        for a in range(0, n_points, size_c):
            b = min(n_points, a + size_c)
            m = b - a
            # Cell of each point: floor of (x - x0, y - y0) / cell, clipped into the grid's empty border.
            f = np.subtract(points_z[a:b], origin, out=zcell[:m]).view(np.float64)
            f *= grid.inv_cell_m
            np.clip(f, 0.0, grid.side - 1, out=f)
            ij = ixy[:m]
            np.copyto(ij, f.reshape(m, 2), casting="unsafe")  # truncation = floor for these values >= 0
            c = np.multiply(ij[:, 1], grid.side, out=cell[:m])
            c += ij[:, 0]
            n = np.take(grid.count, c, out=count[:m], mode="clip")
            e = np.cumsum(n, out=begin[:m])
            chunk_total = int(e[-1])
            if chunk_total == 0:
                continue
            if n_pairs + chunk_total > capacity:
                # Room for this chunk's candidates and, at the rate so far, the pairs of the chunks to come.
                rate = n_pairs / a if a else 0.0
                capacity = n_pairs + chunk_total + int(rate * (n_points - b) * 1.1)
                for array in (point_i, site_j, dist_sq):
                    array.resize(capacity, refcheck=False)
            e -= n  # first candidate of each point, counted from the chunk's first
            # List entry of candidate t of point u: t + shift[u].
            s = np.take(grid.start, c, out=shift[:m], mode="clip")
            s -= e
            if chunk_total <= block:
                cuts = [0, m]
            else:
                block = max(block, int(n.max()))  # a point's candidates stay in one block
                # Blocks of whole points, each of at most `block` candidates.
                bounds = np.append(e, chunk_total)
                cuts = [0]
                while cuts[-1] < m:
                    cuts.append(int(np.searchsorted(bounds, bounds[cuts[-1]] + block, side="right")) - 1)
            for j0, j1 in itertools.pairwise(cuts):
                t0 = int(e[j0])
                size = (int(e[j1]) if j1 < m else chunk_total) - t0
                u, k, site, kept = (buffers.get(name, block, np.intp)[:size] for name in _INDEX_BUFFERS)
                z, z_site = (buffers.get(name, block, np.complex128)[:size] for name in ("z", "z_site"))
                d2 = buffers.get("d2", block, np.float64)[:size]
                inside = buffers.get("inside", block, np.bool_)[:size]
                # Point of each candidate (in the chunk): the number of points beginning at or before it,
                # less one. A point without candidates begins where the next one does, so the last point
                # counted at a candidate is the one it belongs to.
                np.cumsum(np.bincount(e[j0:j1] - t0, minlength=size + 1)[:size], out=u)
                u += j0 - 1
                s[j0:j1] += t0  # list entry = s[u] + (t - t0)
                np.take(s, u, out=k, mode="clip")
                k += buffers.arange(size)
                np.take(grid.site, k, out=site, mode="clip")
                # Squared distance: (x + iy) of the point less that of the site, squared part by part.
                np.take(points_z[a:b], u, out=z, mode="clip")
                z -= np.take(grid.sites_z, site, out=z_site, mode="clip")
                sq = z.view(np.float64)
                sq *= sq
                np.add(sq[0::2], sq[1::2], out=d2)
                keep = np.flatnonzero(np.less_equal(d2, reach_sq, out=inside))
                end = n_pairs + keep.size
                kept = np.take(u, keep, out=kept[: keep.size], mode="clip")
                kept += a
                point_i[n_pairs:end] = kept
                site_j[n_pairs:end] = np.take(site, keep, out=kept, mode="clip")
                np.take(d2, keep, out=dist_sq[n_pairs:end], mode="clip")
                n_pairs = end
    for array in (point_i, site_j, dist_sq):
        array.resize(n_pairs, refcheck=False)  # shrinks in place: no copy
    return point_i, site_j, dist_sq
