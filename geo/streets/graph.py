"""A routable street graph in metres: lines split where they share a vertex, one node per junction or end.

Two lines are joined only where they share a vertex (to the centimetre), never where they merely cross: a
bridge over a road or a river crosses it without a junction, as OpenStreetMap and Berlin's Detailnetz draw
them. Edges are the pieces of line between junctions, undirected (people walk both ways along one-way
streets), weighted by their length in metres in the graph's projected CRS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import sparse

from geo.crs import AnalysisInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Vertices closer than this (metres) are the same node: coordinates are compared after rounding to it.
NODE_PRECISION_M = 0.01


@dataclass(frozen=True)
class StreetGraph:
    """Nodes (x/y in metres), undirected edges between them (line geometry in metres) and the adjacency.

    edge_source/edge_target index node_xy; edge_geometry runs from its source node to its target node.
    """

    node_xy: FloatArray
    edge_source: IntArray
    edge_target: IntArray
    edge_geometry: NDArray[np.object_]
    edge_length_m: FloatArray
    adjacency: sparse.csr_matrix = field(repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_source)

    @classmethod
    def from_edges(
        cls, node_xy: FloatArray, source: IntArray, target: IntArray, geometry: NDArray[np.object_]
    ) -> StreetGraph:
        """A graph from stored edges: node indices into `node_xy` and line geometries in metres."""
        node_xy = np.asarray(node_xy, dtype=np.float64).reshape(-1, 2)
        source = np.asarray(source, dtype=np.int64)
        target = np.asarray(target, dtype=np.int64)
        geometry = np.asarray(geometry, dtype=object)
        if not (len(source) == len(target) == len(geometry)):
            raise AnalysisInputError("every street edge needs a source node, a target node and a line")
        if len(source) and (
            min(source.min(), target.min()) < 0 or max(source.max(), target.max()) >= len(node_xy)
        ):
            raise AnalysisInputError("street edges name nodes that are not in the network")
        length = shapely.length(geometry).astype(np.float64) if len(geometry) else np.empty(0)
        if not np.isfinite(length).all():
            raise AnalysisInputError("some street edges have no length in metres: check their CRS")
        return cls(
            node_xy, source, target, geometry, length, _adjacency(len(node_xy), source, target, length)
        )

    def components(self) -> tuple[int, IntArray]:
        """Number of connected parts and each node's part (0 = the first node's)."""
        n_parts, labels = sparse.csgraph.connected_components(self.adjacency, directed=False)
        return int(n_parts), labels


def _adjacency(n_nodes: int, source: IntArray, target: IntArray, length: FloatArray) -> sparse.csr_matrix:
    """Symmetric CSR of the shortest edge between each pair of nodes (loops dropped; a zero length kept)."""
    keep = source != target
    a = np.concatenate([source[keep], target[keep]])
    b = np.concatenate([target[keep], source[keep]])
    w = np.concatenate([length[keep], length[keep]])
    # csr_matrix sums duplicate entries: keep only the shortest of parallel edges instead.
    order = np.lexsort((w, b, a))
    a, b, w = a[order], b[order], w[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    # A zero weight would be read as "no edge": a hair above zero keeps the edge and changes no distance.
    w = np.maximum(w[first], 1e-9)
    return sparse.csr_matrix((w, (a[first], b[first])), shape=(n_nodes, n_nodes))


def build_street_graph(lines: object) -> StreetGraph:
    """Split lines (LineString/MultiLineString, projected metres) at shared vertices into a StreetGraph."""
    node_xy, source, target, pieces, _ = split_at_shared_vertices(lines)
    return StreetGraph.from_edges(node_xy, source, target, pieces)


def split_at_shared_vertices(
    lines: object,
) -> tuple[FloatArray, IntArray, IntArray, NDArray[np.object_], IntArray]:
    """Nodes (x/y), edge source and target nodes, edge lines, and each edge's input line (its position).

    Nodes are the ends of every line and every vertex two lines (or one line twice) share; each edge is the
    piece of one input line between two consecutive nodes on it. Empty and missing geometries are skipped;
    MultiLineStrings are taken part by part (their edges name the input line they came from).
    """
    geoms = np.asarray(getattr(lines, "values", lines), dtype=object).reshape(-1)
    empty = np.empty(0, dtype=np.int64)
    if geoms.size == 0:
        return np.empty((0, 2)), empty, empty, np.empty(0, dtype=object), empty
    present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    parts, part_of = shapely.get_parts(geoms[present], return_index=True)
    if parts.size and (shapely.get_type_id(parts) != shapely.GeometryType.LINESTRING).any():
        raise AnalysisInputError("a street network is made of lines: some geometries are not lines")
    if parts.size == 0:
        return np.empty((0, 2)), empty, empty, np.empty(0, dtype=object), empty
    coords, line_of = shapely.get_coordinates(parts, return_index=True)
    if not np.isfinite(coords).all():
        raise AnalysisInputError("some street vertices have no finite x/y in metres: check the CRS")
    keys = np.round(coords / NODE_PRECISION_M).astype(np.int64)
    _, key_id, key_count = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    key_id = key_id.reshape(-1)
    n = len(coords)
    starts = np.flatnonzero(np.r_[True, line_of[1:] != line_of[:-1]])
    ends = np.r_[starts[1:] - 1, n - 1]
    junction = key_count[key_id] > 1
    junction[starts] = True
    junction[ends] = True
    # Pieces run from one junction vertex to the next one of the same line.
    at = np.flatnonzero(junction)
    same_line = line_of[at[1:]] == line_of[at[:-1]]
    piece_start, piece_end = at[:-1][same_line], at[1:][same_line]
    sizes = piece_end - piece_start + 1
    piece_of = np.repeat(np.arange(len(piece_start)), sizes)
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    flat = np.repeat(piece_start, sizes) + offsets
    pieces = shapely.linestrings(coords[flat], indices=piece_of)
    used = np.unique(key_id[at])
    node_of_key = np.full(key_id.max() + 1, -1, dtype=np.int64)
    node_of_key[used] = np.arange(len(used))
    node_xy = np.zeros((len(used), 2))
    node_xy[node_of_key[key_id[at]]] = coords[at]
    source = node_of_key[key_id[piece_start]]
    target = node_of_key[key_id[piece_end]]
    line_index = present[part_of[line_of[piece_start]]].astype(np.int64)
    return node_xy, source, target, pieces, line_index
