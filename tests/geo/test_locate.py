"""Which neighbourhood a location falls in: the smallest covering area, boundaries included, ties by id."""

from __future__ import annotations

import numpy as np
import shapely

from geo.locate import NO_AREA, anchor_points, smallest_covering


def test_the_smallest_covering_area_wins_and_boundaries_count() -> None:
    district = shapely.box(0, 0, 10, 10)
    west, east = shapely.box(0, 0, 5, 10), shapely.box(5, 0, 10, 10)
    areas = np.array([district, east, west], dtype=object)
    ids = np.array([100, 7, 3])
    points = shapely.points([(1, 1), (9, 9), (5, 5), (0, 0), (11, 5), (10, 10)])
    found = smallest_covering(points, areas, ids)
    # West and east are equal in size: a point on their shared edge goes to the lower id (3). A corner of the
    # district is covered by it and by west. Outside every area: none.
    assert found.tolist() == [3, 7, 3, 3, NO_AREA, 7]


def test_a_district_holds_what_no_neighbourhood_covers() -> None:
    areas = np.array([shapely.box(0, 0, 10, 10), shapely.box(0, 0, 2, 2)], dtype=object)
    found = smallest_covering(shapely.points([(1, 1), (8, 8)]), areas, np.array([1, 2]))
    assert found.tolist() == [2, 1]


def test_missing_and_empty_locations_and_no_areas_give_none() -> None:
    points = np.array([None, shapely.Point(), shapely.Point(1, 1)], dtype=object)
    assert smallest_covering(
        points, np.array([shapely.box(0, 0, 2, 2)], dtype=object), np.array([4])
    ).tolist() == [
        NO_AREA,
        NO_AREA,
        4,
    ]
    assert (
        smallest_covering(points, np.array([], dtype=object), np.array([], dtype=np.int64)).tolist()
        == [NO_AREA] * 3
    )


def test_an_area_is_placed_by_a_point_on_its_surface() -> None:
    # A C-shaped need area: its centroid lies in the gap, its point on surface inside the shape.
    c_shape = shapely.Polygon([(0, 0), (6, 0), (6, 1), (1, 1), (1, 5), (6, 5), (6, 6), (0, 6)])
    anchors = anchor_points(np.array([c_shape, shapely.Point(3, 3), None], dtype=object))
    assert c_shape.covers(anchors[0]) and anchors[1] == shapely.Point(3, 3) and anchors[2] is None
    gap = shapely.box(2, 2, 5, 4)
    found = smallest_covering(anchors, np.array([c_shape.buffer(0.1), gap], dtype=object), np.array([1, 2]))
    assert found.tolist() == [1, 2, NO_AREA]
