"""Walking distances on the Berlin street network against networkx and pandana, on the same inputs, in one run.

    .venv/bin/python benchmarks/network_vs_peers.py [--origins 10000] [--sites 1000] [--radius-m 1500]

Network: data/berlin/berlin-streets-radvorrangsnetz.gpkg (data/berlin/PROVENANCE.md), split at shared vertices
(geo.streets.build_street_graph). Origins: seeded random points inside Berlin's districts; sites: the first
`--sites` kindergartens of the sample (more are drawn at random if asked for more than there are).

Every tool answers the same question: all (origin, site) pairs at most r metres apart on foot, where a walk is the
straight step from the point to its nearest street, along the streets, and the step from the street to the other
point. assetmap (geo.streets.network_pairs) snaps both sets, joins each point to the two ends of its edge and runs
scipy.sparse.csgraph.dijkstra from blocks of sites with limit=r, adding walks straight along a shared edge. The
peers get the classic split graph instead: every edge holding snapped points is cut at them, each point hangs on
its cut by its snapping step, and
- networkx runs `single_source_dijkstra_path_length(G, site, cutoff=r)` from every site (a planner's catchments);
- pandana (contraction hierarchies) answers `Network.nodes_in_range(sites, r)` after `precompute(r)`.
Results must be equal on every pair (the pair sets identical, distances within 1e-6 m for networkx; pandana
computes in single precision, so within 0.1 m). Timing: the snapping is shared and shown apart; ours counts
building its joined graph and the search; networkx counts only the searches (its graph is built beforehand and
shown apart); pandana counts the `Network(...)` build, `precompute` and the query (shown apart too). Best of
`--repeat` runs each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.streets import build_street_graph, network_pairs, snap_points
from geo.streets.graph import StreetGraph
from geo.streets.snap import Snapped

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "berlin"
CRS = "EPSG:25833"


def inputs(n_origins: int, n_sites: int, seed: int) -> tuple[StreetGraph, np.ndarray, np.ndarray]:
    streets = gpd.read_file(DATA / "berlin-streets-radvorrangsnetz.gpkg").to_crs(CRS)
    graph = build_street_graph(streets.geometry)
    districts = gpd.read_file(DATA / "berlin-lor-districts.geojson").to_crs(CRS)
    area = shapely.union_all(districts.geometry.values)
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = area.bounds
    origins: list[np.ndarray] = []
    while sum(len(o) for o in origins) < n_origins:
        xy = rng.uniform((xmin, ymin), (xmax, ymax), size=(n_origins, 2))
        origins.append(xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])])
    origins_xy = np.concatenate(origins)[:n_origins]
    kitas = pd.read_csv(DATA / "berlin-points-of-interest-kindergartens-details.csv")
    sites = gpd.GeoSeries(gpd.points_from_xy(kitas["lon"], kitas["lat"]), crs="EPSG:4326").to_crs(CRS)
    inside = sites[shapely.contains_xy(area, sites.x.to_numpy(), sites.y.to_numpy())]
    sites_xy = shapely.get_coordinates(inside.values)
    if len(sites_xy) < n_sites:
        extra = rng.uniform((xmin, ymin), (xmax, ymax), size=(4 * n_sites, 2))
        extra = extra[shapely.contains_xy(area, extra[:, 0], extra[:, 1])]
        sites_xy = np.concatenate([sites_xy, extra])
    return graph, origins_xy, sites_xy[:n_sites]


def split_graph(graph: StreetGraph, *snapped: Snapped) -> tuple[pd.DataFrame, np.ndarray, list[np.ndarray]]:
    """Edges (a, b, w) of the graph cut at every snapped point, point nodes and node x/y; each set's node ids."""
    n = graph.n_nodes
    edge = np.concatenate([s.edge for s in snapped])
    along = np.concatenate([s.along_m for s in snapped])
    step = np.concatenate([s.snap_m for s in snapped])
    feet_xy = np.concatenate([s.snapped_xy for s in snapped])
    points_xy = feet_xy.copy()
    n_points = len(edge)
    point_node = n + np.arange(n_points)  # the point itself
    foot_node = n + n_points + np.arange(n_points)  # where it meets its street
    on = edge >= 0
    order = np.flatnonzero(on)[np.lexsort((along[on], edge[on]))]
    e, t = edge[order], along[order]
    first = np.r_[True, e[1:] != e[:-1]]
    last = np.r_[e[1:] != e[:-1], True]
    prev = np.where(first, graph.edge_source[e], foot_node[np.r_[order[:1], order[:-1]]])
    prev_t = np.where(first, 0.0, np.r_[t[:1], t[:-1]])
    a = [prev, foot_node[order[last]], point_node[on]]
    b = [foot_node[order], graph.edge_target[e[last]], foot_node[on]]
    w = [t - prev_t, graph.edge_length_m[e[last]] - t[last], step[on]]
    untouched = np.setdiff1d(np.arange(graph.n_edges), e)
    a.append(graph.edge_source[untouched])
    b.append(graph.edge_target[untouched])
    w.append(graph.edge_length_m[untouched])
    edges = pd.DataFrame({"a": np.concatenate(a), "b": np.concatenate(b), "w": np.concatenate(w)})
    edges = edges[edges["a"] != edges["b"]]
    node_xy = np.concatenate([graph.node_xy, points_xy, feet_xy])
    ids, start = [], n
    for s in snapped:
        ids.append(np.arange(start, start + len(s)))
        start += len(s)
    return edges, node_xy, ids


def best_of(repeat: int, work: Any) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - began)
    return best, result


def as_table(unit: np.ndarray, site: np.ndarray, dist: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"origin": unit.astype(np.int64), "site": site.astype(np.int64), "d": dist})
    return frame.sort_values(["origin", "site"], ignore_index=True)


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, tolerance_m: float) -> str:
    if len(ours) != len(theirs):
        return f"NO: {len(ours):,} pairs against {len(theirs):,}"
    same_pairs = (ours["origin"].to_numpy() == theirs["origin"].to_numpy()).all() and (
        ours["site"].to_numpy() == theirs["site"].to_numpy()
    ).all()
    if not same_pairs:
        return "NO: different pairs"
    worst = float(np.abs(ours["d"].to_numpy() - theirs["d"].to_numpy()).max()) if len(ours) else 0.0
    return f"{'yes' if worst <= tolerance_m else 'NO'} (largest difference {worst:.2e} m)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origins", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=1_000)
    parser.add_argument("--radius-m", type=float, default=1500.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--skip-pandana", action="store_true")
    args = parser.parse_args()
    r = args.radius_m

    graph, origins_xy, sites_xy = inputs(args.origins, args.sites, args.seed)
    print(
        f"Berlin network: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges, "
        f"{graph.edge_length_m.sum() / 1000:,.0f} km; {len(origins_xy):,} origins, {len(sites_xy):,} sites, "
        f"r = {r:,.0f} m"
    )
    snap_s, (origins, sites) = best_of(
        args.repeat, lambda: (snap_points(graph, origins_xy), snap_points(graph, sites_xy))
    )
    print(
        f"snapping both sets (shared by all tools): {snap_s:.3f} s; median step {np.median(origins.snap_m):,.0f} m"
    )

    ours_s, pairs = best_of(args.repeat, lambda: network_pairs(graph, origins, sites, r))
    ours = as_table(pairs.unit_index, pairs.asset_index, pairs.distance_m)
    print(f"assetmap geo.streets.network_pairs: {ours_s:.3f} s, {len(ours):,} pairs")

    edges, node_xy, (origin_nodes, site_nodes) = split_graph(graph, origins, sites)
    import networkx as nx

    began = time.perf_counter()
    g = nx.Graph()
    # Parallel edges: the shortest is added last, so it is the one kept.
    ordered = edges.sort_values("w", ascending=False)
    g.add_weighted_edges_from(
        zip(ordered["a"].tolist(), ordered["b"].tolist(), ordered["w"].tolist(), strict=True)
    )
    build_s = time.perf_counter() - began
    origin_of = {int(node): i for i, node in enumerate(origin_nodes)}

    def networkx_pairs() -> pd.DataFrame:
        rows_o, rows_s, rows_d = [], [], []
        for j, node in enumerate(site_nodes.tolist()):
            if node not in g:
                continue
            for other, d in nx.single_source_dijkstra_path_length(g, node, cutoff=r, weight="weight").items():
                i = origin_of.get(other)
                if i is not None:
                    rows_o.append(i)
                    rows_s.append(j)
                    rows_d.append(d)
        return as_table(np.array(rows_o), np.array(rows_s), np.array(rows_d, dtype=np.float64))

    nx_s, theirs = best_of(max(1, min(args.repeat, 2)), networkx_pairs)
    print(
        f"networkx single_source_dijkstra_path_length x {len(site_nodes):,} sites: {nx_s:.3f} s "
        f"(graph built in {build_s:.3f} s, not counted), {len(theirs):,} pairs; "
        f"equal: {compare(ours, theirs, 1e-6)}; ratio {nx_s / ours_s:.1f}x"
    )

    if not args.skip_pandana:
        import pandana as pdna

        def pandana_pairs() -> tuple[pd.DataFrame, dict[str, float]]:
            times: dict[str, float] = {}
            began = time.perf_counter()
            net = pdna.Network(
                pd.Series(node_xy[:, 0]),
                pd.Series(node_xy[:, 1]),
                edges["a"],
                edges["b"],
                edges[["w"]],
                twoway=True,
            )
            times["network"] = time.perf_counter() - began
            began = time.perf_counter()
            net.precompute(r)
            times["precompute"] = time.perf_counter() - began
            began = time.perf_counter()
            found = net.nodes_in_range(site_nodes.tolist(), r)
            times["query"] = time.perf_counter() - began
            first, second, third = found.columns[:3]
            frame = found[found[second].isin(origin_of)]
            table = as_table(
                frame[second].map(origin_of).to_numpy(),
                frame[first].to_numpy() - site_nodes[0],
                frame[third].to_numpy(dtype=np.float64),
            )
            return table, times

        pdna_s, (pd_table, pd_times) = best_of(max(1, min(args.repeat, 2)), pandana_pairs)
        parts = ", ".join(f"{k} {v:.3f} s" for k, v in pd_times.items())
        print(
            f"pandana Network + precompute + nodes_in_range: {pdna_s:.3f} s ({parts}), {len(pd_table):,} pairs; "
            f"equal: {compare(ours, pd_table, 0.1)}; ratio {pdna_s / ours_s:.1f}x "
            f"(query alone {pd_times['query'] / ours_s:.1f}x)"
        )


if __name__ == "__main__":
    main()
