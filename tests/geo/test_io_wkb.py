"""The WKB point codec: points decoded straight from an Arrow column agree with the bytes path."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely

from geo.io.wkb import points_from_arrow, points_from_wkb


def _column(geometries: list[object], kind: pa.DataType = pa.binary()) -> pa.ChunkedArray:
    wkb = [None if g is None else shapely.to_wkb(g, byte_order=1) for g in geometries]
    return pa.chunked_array([pa.array(wkb[:2], type=kind), pa.array(wkb[2:], type=kind)])


def test_points_with_missing_rows_decode_as_from_bytes() -> None:
    geometries = [shapely.Point(1, 2), None, shapely.Point(-3.5, 4e6), shapely.Point(0, 0), None]
    for kind in (pa.binary(), pa.large_binary()):
        column = _column(geometries, kind)
        arrow = points_from_arrow(column)
        raw = points_from_wkb(np.array(column.to_pylist(), dtype=object))
        assert arrow is not None and raw is not None
        for got, expected in zip(arrow, raw, strict=True):
            np.testing.assert_array_equal(got, expected)
        assert arrow[2].tolist() == [False, True, False, False, True]


def test_a_slice_of_an_array_is_read_from_its_offset() -> None:
    array = _column([shapely.Point(k, -k) for k in range(6)]).combine_chunks().slice(2, 3)
    decoded = points_from_arrow(array)
    assert decoded is not None
    assert decoded[0].tolist() == [2, 3, 4] and decoded[1].tolist() == [-2, -3, -4]


def test_anything_but_2d_points_is_left_to_the_general_path() -> None:
    assert points_from_arrow(_column([shapely.Point(1, 2), shapely.box(0, 0, 1, 1)])) is None
    assert points_from_arrow(_column([shapely.Point(1, 2, 3), shapely.Point(1, 2, 3)])) is None
    assert points_from_arrow(_column([None, None, None])) is None
    assert points_from_arrow(pa.chunked_array([pa.array(["a"])])) is None
