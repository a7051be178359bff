"""Distances along the streets: reach pairs within a radius and the nearest asset, by multi-source Dijkstra.

A walk from a demand unit to an asset is: straight to the unit's nearest street (its snapping distance), along
the streets, and straight from the street to the asset. The smaller set of points are the sources: each is a
node of its own, joined to the two ends of its edge, and one scipy.sparse.csgraph.dijkstra call per block of
sources (with `limit` set to the radius, so the search stops there) gives the distance to every street node in
reach; a destination point is then reached through the nearer end of its own edge. Two points on the same edge
may also walk straight along it, which the ends alone would miss: those pairs are added directly.

`StraightLine` and `StreetNetwork` give an analysis its distances through the same two calls (`pairs` and
`nearest`), so coverage, E2SFCA, the gap index, site suggestion and closures run unchanged on either.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse import csgraph

from geo.coverage import FloatArray, IntArray, ReachPairs, check_radius_m, nearest_distance_m, pairs_within
from geo.crs import AnalysisInputError
from geo.streets.graph import StreetGraph, _adjacency
from geo.streets.snap import Snapped, snap_points

# Sources per Dijkstra call: scipy returns a dense (sources x nodes) block of doubles, so at most 128 sources and
# about 4 million cells (32 MB) a call: 128 sources on a district's network, fewer on a whole city's OSM network.
_SOURCE_BLOCK = 128
_BLOCK_CELLS = 4_000_000


def _source_block(n_nodes: int) -> int:
    return max(1, min(_SOURCE_BLOCK, _BLOCK_CELLS // max(n_nodes, 1)))


DISTANCE_KINDS = ("straight", "network")


class DistanceSource(Protocol):
    """What an analysis asks of its distances (x/y in metres of the run's CRS)."""

    kind: str

    def pairs(self, units_xy: FloatArray, assets_xy: FloatArray, radius_m: float) -> ReachPairs: ...

    def nearest(self, units_xy: FloatArray, assets_xy: FloatArray) -> tuple[FloatArray, IntArray]: ...

    def describe(self, units_xy: FloatArray) -> dict[str, Any]: ...


class StraightLine:
    """Straight-line (Euclidean) distances: geo.coverage's grid search and KD-tree."""

    kind = "straight"

    def pairs(self, units_xy: FloatArray, assets_xy: FloatArray, radius_m: float) -> ReachPairs:
        return pairs_within(units_xy, assets_xy, radius_m)

    def nearest(self, units_xy: FloatArray, assets_xy: FloatArray) -> tuple[FloatArray, IntArray]:
        return nearest_distance_m(units_xy, assets_xy)

    def describe(self, units_xy: FloatArray) -> dict[str, Any]:
        return {"distance": "straight"}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StraightLine)

    def __hash__(self) -> int:
        return hash("straight")


STRAIGHT = StraightLine()


class StreetNetwork:
    """Walking distances on a StreetGraph in the run's CRS; snapped points are cached per set of points."""

    kind = "network"

    def __init__(
        self, graph: StreetGraph, *, max_snap_m: float | None = None, about: dict[str, Any] | None = None
    ) -> None:
        self.graph = graph
        self.max_snap_m = max_snap_m
        self.about = dict(about or {})
        self._snaps: OrderedDict[bytes, Snapped] = OrderedDict()

    def snap(self, xy: FloatArray) -> Snapped:
        """Snapped points for (n, 2) x/y, from the cache when the same points were snapped before."""
        xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
        key = hashlib.blake2b(xy.tobytes(), digest_size=16).digest()
        found = self._snaps.get(key)
        if found is None:
            found = snap_points(self.graph, xy, max_snap_m=self.max_snap_m)
            self._snaps[key] = found
            while len(self._snaps) > 8:
                self._snaps.popitem(last=False)
        return found

    def pairs(self, units_xy: FloatArray, assets_xy: FloatArray, radius_m: float) -> ReachPairs:
        return network_pairs(self.graph, self.snap(units_xy), self.snap(assets_xy), radius_m)

    def nearest(self, units_xy: FloatArray, assets_xy: FloatArray) -> tuple[FloatArray, IntArray]:
        return network_nearest(self.graph, self.snap(units_xy), self.snap(assets_xy))

    def describe(self, units_xy: FloatArray) -> dict[str, Any]:
        snapped = self.snap(units_xy)
        on = snapped.on_network
        snap_m = snapped.snap_m[on]
        return {
            "distance": "network",
            **self.about,
            "n_nodes": self.graph.n_nodes,
            "n_edges": self.graph.n_edges,
            "max_snap_m": self.max_snap_m,
            "n_units_off_network": int((~on).sum()),
            "unit_snap_m_median": float(np.median(snap_m)) if snap_m.size else None,
            "unit_snap_m_max": float(snap_m.max()) if snap_m.size else None,
        }


def _virtual_graph(graph: StreetGraph, *snapped: Snapped) -> tuple[sparse.csr_matrix, list[IntArray]]:
    """The graph plus one node per snapped point, joined to both ends of its edge; and those nodes' ids."""
    n = graph.n_nodes
    base = graph.adjacency.tocoo()
    parts_a, parts_b, parts_w = [base.row.astype(np.int64)], [base.col.astype(np.int64)], [base.data]
    ids: list[IntArray] = []
    start = n
    for points in snapped:
        own = np.arange(start, start + len(points), dtype=np.int64)
        ids.append(own)
        start += len(points)
        on = points.on_network
        edge = points.edge[on]
        step = points.snap_m[on]
        along = points.along_m[on]
        rest = graph.edge_length_m[edge] - along
        for end, weight in ((graph.edge_source[edge], step + along), (graph.edge_target[edge], step + rest)):
            parts_a += [own[on], end]
            parts_b += [end, own[on]]
            parts_w += [weight, weight]
    a, b, w = np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(parts_w)
    # Base edges come in both directions already; _adjacency adds the reverse again, harmlessly (it keeps
    # the shortest of duplicates).
    return _adjacency(start, a, b, w), ids


def _same_edge_pairs(
    units: Snapped, assets: Snapped, radius_m: float | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
    """(unit, asset, metres) for points on the same edge, walked straight along it."""
    u_on = np.flatnonzero(units.on_network)
    a_on = np.flatnonzero(assets.on_network)
    if not u_on.size or not a_on.size:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    a_order = a_on[np.argsort(assets.edge[a_on], kind="stable")]
    a_edges = assets.edge[a_order]
    lo = np.searchsorted(a_edges, units.edge[u_on], side="left")
    hi = np.searchsorted(a_edges, units.edge[u_on], side="right")
    counts = hi - lo
    unit_i = np.repeat(u_on, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    asset_j = a_order[np.repeat(lo, counts) + offsets]
    dist = (
        units.snap_m[unit_i]
        + np.abs(units.along_m[unit_i] - assets.along_m[asset_j])
        + assets.snap_m[asset_j]
    )
    if radius_m is not None:
        keep = dist <= radius_m
        unit_i, asset_j, dist = unit_i[keep], asset_j[keep], dist[keep]
    return unit_i, asset_j, dist


def _shortest_per_pair(unit_i: NDArray[np.int64], asset_j: NDArray[np.int64], dist: FloatArray) -> ReachPairs:
    n_assets = int(asset_j.max()) + 1 if len(asset_j) else 1
    key = unit_i * n_assets + asset_j
    order = np.lexsort((dist, key))
    key, dist = key[order], dist[order]
    first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.empty(0, dtype=bool)
    key, dist = key[first], dist[first]
    return ReachPairs((key // n_assets).astype(np.int32), (key % n_assets).astype(np.int32), dist)


def network_pairs(graph: StreetGraph, units: Snapped, assets: Snapped, radius_m: float) -> ReachPairs:
    """Every (unit, asset) pair at most `radius_m` metres apart on foot, sorted by unit then asset."""
    radius_m = check_radius_m(radius_m)
    if not len(units) or not len(assets):
        return ReachPairs(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0))
    # Search from the smaller side; the graph is undirected, so either way gives the same distances. Only the
    # sources get nodes of their own: a destination is reached through either end of its edge.
    from_assets = assets.on_network.sum() <= units.on_network.sum()
    sources, targets = (assets, units) if from_assets else (units, assets)
    matrix, (source_nodes,) = _virtual_graph(graph, sources)
    src_points = np.flatnonzero(sources.on_network)
    dst_points = np.flatnonzero(targets.on_network)
    dst_edge = targets.edge[dst_points]
    dst_source_node = graph.edge_source[dst_edge]
    dst_target_node = graph.edge_target[dst_edge]
    to_source = targets.snap_m[dst_points] + targets.along_m[dst_points]
    to_target = targets.snap_m[dst_points] + graph.edge_length_m[dst_edge] - targets.along_m[dst_points]
    # Destinations by street node (either end of their edge), as CSR rows over the street nodes.
    ends = np.concatenate([dst_source_node, dst_target_node])
    by_node = np.argsort(ends, kind="stable")
    end_step = np.concatenate([to_source, to_target])[by_node]
    end_point = np.concatenate([dst_points, dst_points])[by_node]
    indptr = np.searchsorted(ends[by_node], np.arange(graph.n_nodes + 1))
    parts_src, parts_dst, parts_d = [], [], []
    step = _source_block(matrix.shape[0])
    for start in range(0, len(src_points), step):
        block = source_nodes[src_points[start : start + step]]
        found = csgraph.dijkstra(matrix, directed=True, indices=block, limit=radius_m)[:, : graph.n_nodes]
        row, node = np.nonzero(found <= radius_m)
        counts = indptr[node + 1] - indptr[node]
        reached = np.repeat(np.arange(len(node)), counts)
        at = np.repeat(indptr[node], counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        walk = found[row[reached], node[reached]] + end_step[at]
        keep = walk <= radius_m
        parts_src.append(src_points[start + row[reached][keep]].astype(np.int64))
        parts_dst.append(end_point[at][keep].astype(np.int64))
        parts_d.append(walk[keep])
    parts_u, parts_a = (parts_dst, parts_src) if from_assets else (parts_src, parts_dst)
    same_u, same_a, same_d = _same_edge_pairs(units, assets, radius_m)
    return _shortest_per_pair(
        np.concatenate([*parts_u, same_u]),
        np.concatenate([*parts_a, same_a]),
        np.concatenate([*parts_d, same_d]),
    )


def network_nearest(graph: StreetGraph, units: Snapped, assets: Snapped) -> tuple[FloatArray, IntArray]:
    """Walking distance (metres) from each unit to its nearest asset and that asset (NaN, -1: none reachable)."""
    n_units = len(units)
    distance = np.full(n_units, np.nan)
    nearest = np.full(n_units, -1, dtype=np.int64)
    reachable_assets = np.flatnonzero(assets.on_network)
    if n_units == 0 or reachable_assets.size == 0:
        return distance, nearest
    matrix, (unit_nodes, asset_nodes) = _virtual_graph(graph, units, assets)
    dist, _, source = csgraph.dijkstra(
        matrix, directed=True, indices=asset_nodes[reachable_assets], min_only=True, return_predecessors=True
    )
    found = dist[unit_nodes]
    reached = np.isfinite(found)
    distance[reached] = found[reached]
    nearest[reached] = source[unit_nodes[reached]] - asset_nodes[0]
    same_u, same_a, same_d = _same_edge_pairs(units, assets, None)
    if same_u.size:
        order = np.lexsort((same_a, same_d, same_u))
        same_u, same_a, same_d = same_u[order], same_a[order], same_d[order]
        first = np.r_[True, same_u[1:] != same_u[:-1]]
        same_u, same_a, same_d = same_u[first], same_a[first], same_d[first]
        better = ~(same_d >= distance[same_u])  # NaN (unreached) compares False: the direct walk wins
        distance[same_u[better]] = same_d[better]
        nearest[same_u[better]] = same_a[better]
    return distance, nearest


def distance_source_kind(value: str) -> str:
    """Check a `distance` parameter: "straight" or "network"."""
    if value not in DISTANCE_KINDS:
        raise AnalysisInputError(f"unknown distance {value!r}: use one of {', '.join(DISTANCE_KINDS)}")
    return value
