"""Street-network distances: a hand-made grid with a river and one bridge, against networkx's Dijkstra."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
import shapely

from geo.coverage import pairs_within
from geo.crs import AnalysisInputError
from geo.streets import (
    StraightLine,
    StreetNetwork,
    build_street_graph,
    is_walkable,
    isochrones,
    network_nearest,
    network_pairs,
    snap_points,
)

STEP = 100.0  # metres between grid streets
SIZE = 10  # 10 x 10 crossings, x and y from 0 to 900 m
RIVER_Y = 450.0  # the river runs east-west between rows y = 400 and y = 500
BRIDGE_X = 800.0  # the only bridge joins (800, 400) and (800, 500)


def river_grid() -> list[shapely.LineString]:
    """Streets along every grid row and column, broken at the river except at the bridge.

    Whole streets share their crossings as vertices; the rows south and north of the river are joined only by
    the bridge. A footbridge-less railway (drawn as a street with no shared vertex) crosses the grid diagonally
    and must not join anything.
    """
    coords = [i * STEP for i in range(SIZE)]
    south = [c for c in coords if c < RIVER_Y]
    north = [c for c in coords if c > RIVER_Y]
    lines = [shapely.LineString([(x, y) for x in coords]) for y in coords]  # rows, one line each
    for x in coords:
        lines.append(shapely.LineString([(x, y) for y in south]))
        lines.append(shapely.LineString([(x, y) for y in north]))
    lines.append(shapely.LineString([(BRIDGE_X, south[-1]), (BRIDGE_X, north[0])]))
    lines.append(shapely.LineString([(-50.0, -50.0), (950.0, 950.0)]))  # crosses, shares no vertex
    return lines


def reference_graph(lines: list[shapely.LineString], points: dict[str, tuple[float, float]]) -> nx.Graph:
    """networkx graph of the same streets, each point joined to its street by a straight step, split by hand."""
    graph = nx.Graph()
    segments = []
    for line in lines:
        xy = list(line.coords)
        for a, b in itertools.pairwise(xy):
            segments.append((a, b))
    for name, (px, py) in points.items():
        best = min(segments, key=lambda s: shapely.LineString(s).distance(shapely.Point(px, py)))
        seg = shapely.LineString(best)
        at = seg.project(shapely.Point(px, py))
        foot = seg.interpolate(at)
        graph.add_edge(name, ("foot", name), weight=foot.distance(shapely.Point(px, py)))
        graph.add_edge(("foot", name), best[0], weight=at)
        graph.add_edge(("foot", name), best[1], weight=seg.length - at)
        for other, (ox, oy) in points.items():  # two points on the same piece of street
            if other != name and seg.distance(shapely.Point(ox, oy)) == min(
                shapely.LineString(s).distance(shapely.Point(ox, oy)) for s in segments
            ):
                o_at = seg.project(shapely.Point(ox, oy))
                graph.add_edge(("foot", name), ("foot", other), weight=abs(at - o_at))
    for a, b in segments:
        graph.add_edge(a, b, weight=float(np.hypot(b[0] - a[0], b[1] - a[1])))
    return graph


UNITS = {
    "u_south_west": (105.0, 130.0),  # off the street, 5 m from column x=100 (nearer than row y=100)
    "u_north_west": (100.0, 560.0),  # on column x = 100, north of the river
    "u_bridge_foot": (790.0, 420.0),
    "u_north_east": (870.0, 900.0),
    "u_same_edge": (330.0, 200.0),  # on the same piece of street as an asset
}
ASSETS = {
    "a_south_west": (200.0, 100.0),
    "a_same_edge": (370.0, 200.0),
    "a_north": (300.0, 700.0),
}


@pytest.fixture(scope="module")
def grid() -> tuple[object, np.ndarray, np.ndarray]:
    graph = build_street_graph(river_grid())
    units_xy = np.array(list(UNITS.values()))
    assets_xy = np.array(list(ASSETS.values()))
    return graph, units_xy, assets_xy


def test_graph_is_split_at_shared_vertices_only(grid) -> None:
    graph, _, _ = grid
    # 100 crossings plus the railway's two ends; the railway shares no vertex with the grid.
    assert graph.n_nodes == SIZE * SIZE + 2
    n_parts, _ = graph.components()
    assert n_parts == 2  # the grid (joined by the bridge) and the railway
    assert graph.n_edges == 10 * 9 + 10 * 8 + 1 + 1  # rows, columns on each bank, the bridge, the railway
    assert np.count_nonzero(np.isclose(graph.edge_length_m, STEP)) == graph.n_edges - 1


def test_distances_equal_networkx_on_every_pair(grid) -> None:
    graph, units_xy, assets_xy = grid
    units = snap_points(graph, units_xy)
    assets = snap_points(graph, assets_xy)
    pairs = network_pairs(graph, units, assets, 5000.0)
    reference = reference_graph(river_grid()[:-1], {**UNITS, **ASSETS})
    got = {
        (int(i), int(j)): d
        for i, j, d in zip(pairs.unit_index, pairs.asset_index, pairs.distance_m, strict=True)
    }
    for i, u in enumerate(UNITS):
        lengths = nx.single_source_dijkstra_path_length(reference, u, weight="weight")
        for j, a in enumerate(ASSETS):
            assert got[(i, j)] == pytest.approx(lengths[a], abs=1e-6), (u, a)


def test_the_river_makes_the_walk_longer_than_the_straight_line(grid) -> None:
    graph, units_xy, assets_xy = grid
    network = StreetNetwork(graph)
    straight = StraightLine()
    radius = 600.0
    walk = network.pairs(units_xy, assets_xy, radius)
    line = straight.pairs(units_xy, assets_xy, radius)
    walk_set = set(zip(walk.unit_index.tolist(), walk.asset_index.tolist(), strict=True))
    line_set = set(zip(line.unit_index.tolist(), line.asset_index.tolist(), strict=True))
    assert walk_set <= line_set  # a walk is never shorter than the straight line
    # North-west unit to the south-western asset: 471 m straight, but the walk goes round by the bridge.
    assert (1, 0) in line_set and (1, 0) not in walk_set
    distance, nearest = network.nearest(units_xy, assets_xy)
    line_distance, _ = straight.nearest(units_xy, assets_xy)
    assert (distance >= line_distance - 1e-9).all()
    assert distance[4] == pytest.approx(40.0)  # same edge: straight along it
    assert nearest[4] == 1


def test_snapping_records_the_step_to_the_street(grid) -> None:
    graph, units_xy, _ = grid
    snapped = snap_points(graph, units_xy)
    assert snapped.snap_m[0] == pytest.approx(5.0)
    assert snapped.snapped_xy[0] == pytest.approx([100.0, 130.0])
    assert snapped.snap_m[1] == pytest.approx(0.0)
    far = snap_points(graph, np.array([[5000.0, 5000.0]]), max_snap_m=200.0)
    assert far.edge[0] == -1 and np.isnan(far.snap_m[0])


def test_a_unit_that_cannot_reach_any_asset_on_foot() -> None:
    # An island street with one unit; the assets are on the mainland grid.
    lines = [*river_grid()[:-1], shapely.LineString([(2000.0, 0.0), (2100.0, 0.0)])]
    graph = build_street_graph(lines)
    units = snap_points(graph, np.array([[2050.0, 1.0], [100.0, 100.0]]))
    assets = snap_points(graph, np.array(list(ASSETS.values())))
    distance, nearest = network_nearest(graph, units, assets)
    assert np.isnan(distance[0]) and nearest[0] == -1
    assert np.isfinite(distance[1])
    pairs = network_pairs(graph, units, assets, 10_000.0)
    assert 0 not in pairs.unit_index.tolist()


def test_pairs_agree_with_dense_reference_on_random_points(grid) -> None:
    graph, _, _ = grid
    rng = np.random.default_rng(3)
    units_xy = rng.uniform(0, 900, size=(60, 2))
    assets_xy = rng.uniform(0, 900, size=(12, 2))
    units = snap_points(graph, units_xy)
    assets = snap_points(graph, assets_xy)
    near = network_pairs(graph, units, assets, 400.0)
    everything = network_pairs(graph, units, assets, 1e6)
    keep = everything.distance_m <= 400.0
    assert near.unit_index.tolist() == everything.unit_index[keep].tolist()
    assert near.asset_index.tolist() == everything.asset_index[keep].tolist()
    assert near.distance_m == pytest.approx(everything.distance_m[keep])
    distance, _ = network_nearest(graph, units, assets)
    best = np.full(len(units_xy), np.inf)
    np.minimum.at(best, everything.unit_index, everything.distance_m)
    best[np.isinf(best)] = np.nan  # snapped to the railway: no asset on foot
    assert distance == pytest.approx(best, nan_ok=True)
    assert (pairs_within(units_xy, assets_xy, 400.0).distance_m >= 0).all()


def test_isochrones_grow_with_time_and_stop_at_the_river(grid) -> None:
    graph, _, _ = grid
    found = isochrones(graph, (100.0, 300.0), minutes=(5, 10, 15))
    areas = [polygon.area for _, polygon in found]
    assert areas[0] < areas[1] < areas[2]
    ten = found[1][1]  # 800 m on foot: not across the river (the bridge is 700 m east plus 100 m)
    assert not ten.contains(shapely.Point(100.0, 600.0))
    assert ten.contains(shapely.Point(100.0, 0.0))
    with pytest.raises(AnalysisInputError):
        isochrones(graph, (0.0, 0.0), minutes=())


def test_walkable_ways_from_osm_tags() -> None:
    assert is_walkable({"highway": "residential"})
    assert is_walkable({"highway": "footway"})
    assert not is_walkable({"highway": "motorway"})
    assert not is_walkable({"highway": "trunk"})
    assert is_walkable({"highway": "trunk", "foot": "yes"})
    assert not is_walkable({"highway": "residential", "access": "private"})
    assert not is_walkable({"highway": "pedestrian", "area": "yes"})
    assert not is_walkable({"building": "yes"})


def test_reading_layers_keeps_lines_and_walkable_ways(tmp_path) -> None:
    import geopandas as gpd

    from geo.streets.read import read_street_lines

    lines = gpd.GeoDataFrame(
        {"highway": ["residential", "motorway", "footway", None], "foot": [None, None, "no", None]},
        geometry=[
            shapely.LineString([(13.40, 52.50), (13.41, 52.50)]),
            shapely.LineString([(13.40, 52.51), (13.41, 52.51)]),
            shapely.LineString([(13.40, 52.52), (13.41, 52.52)]),
            shapely.LineString([(13.40, 52.53), (13.41, 52.53)]),
        ],
        crs="EPSG:4326",
    )
    tagged = tmp_path / "osm_export.geojson"
    lines.to_file(tagged, driver="GeoJSON")
    read = read_street_lines(tagged)
    assert read.counts == {"features_read": 4, "not_lines": 0, "not_walkable": 3, "kept": 1}
    assert read.lines["highway"].tolist() == ["residential"]
    # A shapefile without a highway column (a council's own network) is taken whole; points are left out.
    plain = tmp_path / "council.shp"
    mixed = gpd.GeoDataFrame(
        {"kind": ["street", "street"]},
        geometry=[shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (100, 100)])],
        crs="EPSG:25833",
    )
    mixed.to_file(plain)
    read = read_street_lines(plain)
    assert read.counts["kept"] == 2 and read.source_format == "ESRI Shapefile"
    assert build_street_graph(read.lines.geometry).n_edges == 2
    with pytest.raises(AnalysisInputError, match="no street file"):
        read_street_lines(tmp_path / "missing.gpkg")


def test_blocks_of_sources_give_the_same_pairs(grid, monkeypatch) -> None:
    from geo.streets import distance

    graph, _, _ = grid
    rng = np.random.default_rng(5)
    units = snap_points(graph, rng.uniform(0, 900, size=(40, 2)))
    assets = snap_points(graph, rng.uniform(0, 900, size=(30, 2)))
    whole = network_pairs(graph, units, assets, 500.0)
    monkeypatch.setattr(distance, "_BLOCK_CELLS", 1)  # one source per Dijkstra call
    assert distance._source_block(graph.n_nodes) == 1
    one_by_one = network_pairs(graph, units, assets, 500.0)
    assert one_by_one.unit_index.tolist() == whole.unit_index.tolist()
    assert one_by_one.asset_index.tolist() == whole.asset_index.tolist()
    assert one_by_one.distance_m == pytest.approx(whole.distance_m)
