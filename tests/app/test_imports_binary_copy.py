"""Binary COPY of import rows: every kind of value arrives as the text format would have stored it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from app.services.imports.load.binary_copy import copy_binary, encode_rows
from geo.io.wkb import geometries_ewkb

COLUMNS = [("i", "int4"), ("f", "float8"), ("b", "bool"), ("s", "text"), ("v", "text"), ("g", "point")]
TEXTS = ["plain", "tab\there", "line\nbreak\r", "back\\slash", "Köpenicker Straße", "", None, "🌳 ünïcödé"]


def _table(db: Session) -> None:
    db.execute(text("DROP TABLE IF EXISTS bin_t"))
    db.execute(
        text(
            "CREATE TEMP TABLE bin_t (i int, f float8, b boolean, s text, v varchar(3), "
            "g geometry(Point, 4326), c int, t text) ON COMMIT DROP"
        )
    )


def _values(n: int) -> dict[str, object]:
    return {
        "i": pd.array([*range(-3, n - 4), None], dtype="Int64"),
        "f": np.array([1.5, np.nan, -0.0, np.inf, 1e-300, 2.0, 3.25, 7.0][:n]),
        "b": pd.array([True, False, None, True, False, True, None, False][:n], dtype="boolean"),
        "s": pd.Series(TEXTS[:n], dtype="str"),
        "v": pd.Series(["ab", None, "abc", "x", "", "ä", "ßß", "z"][:n], dtype=object),
        "g": (
            np.array([13.4, np.nan, -180.0, 0.0, 1.0, 2.0, 3.0, 179.999999][:n]),
            np.array([52.5, 1.0, -90.0, 0.0, 1.0, 2.0, 3.0, 89.5][:n]),
        ),
    }


def test_every_kind_of_value_reads_back_as_written(db: Session) -> None:
    _table(db)
    n = len(TEXTS)
    copy_binary(db, "bin_t", COLUMNS, [(_values(n), n)], {"c": ("int4", 7), "t": ("text", "bench")})
    rows = db.execute(text("SELECT i, f, b, s, v, ST_AsEWKT(g), c, t FROM bin_t ORDER BY i NULLS LAST")).all()
    assert [r[0] for r in rows] == [-3, -2, -1, 0, 1, 2, 3, None]
    floats = [r[1] for r in rows]
    assert floats[0] == 1.5 and floats[1] is None and floats[3] == float("inf") and floats[4] == 1e-300
    assert str(floats[2]) == "-0.0"
    assert [r[2] for r in rows] == [True, False, None, True, False, True, None, False]
    assert [r[3] for r in rows] == TEXTS  # tabs, line breaks and backslashes need no escaping here
    assert [r[4] for r in rows] == ["ab", None, "abc", "x", "", "ä", "ßß", "z"]
    assert rows[0][5] == "SRID=4326;POINT(13.4 52.5)" and rows[1][5] is None
    assert rows[7][5] == "SRID=4326;POINT(179.999999 89.5)"
    assert {(r[6], r[7]) for r in rows} == {(7, "bench")}


def test_slices_of_arrow_text_and_values_that_are_not_text(db: Session) -> None:
    _table(db)
    whole = pd.Series([f"name {k}" for k in range(10)], dtype="str")
    numbers = pd.Series([1, 2.5, None, "x"], dtype=object)  # written as their text, like the text format
    slices = [
        ({"i": np.arange(4), "s": whole.iloc[3:7], "v": numbers}, 4),
        ({"i": np.arange(4, 6), "s": whole.iloc[8:10], "v": pd.Series([None, None], dtype=object)}, 2),
    ]
    copy_binary(db, "bin_t", [("i", "int4"), ("s", "text"), ("v", "text")], slices)
    rows = db.execute(text("SELECT i, s, v FROM bin_t ORDER BY i")).all()
    assert [r[1] for r in rows] == ["name 3", "name 4", "name 5", "name 6", "name 8", "name 9"]
    assert [r[2] for r in rows] == ["1", "2.5", None, "x", None, None]


def test_the_server_still_checks_each_value(db: Session) -> None:
    _table(db)
    too_long = {"i": np.arange(2), "v": pd.Series(["ok", "far too long"], dtype=object)}
    with pytest.raises(DataError, match="too long"):
        copy_binary(db, "bin_t", [("i", "int4"), ("v", "text")], [(too_long, 2)])


def test_numbers_that_do_not_fit_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match="4-byte"):
        encode_rows([("i", "int4")], {"i": np.array([2**31])}, 1)
    with pytest.raises(ValueError, match="values for"):
        encode_rows([("i", "int4")], {"i": np.array([1, 2])}, 3)
    assert encode_rows([("i", "int4")], {"i": np.array([], dtype=np.int64)}, 0) == b""


def test_areas_and_json_arrive_as_written(db: Session) -> None:
    db.execute(text("DROP TABLE IF EXISTS bin_a"))
    db.execute(text("CREATE TEMP TABLE bin_a (i int, j jsonb, g geometry(Geometry, 4326)) ON COMMIT DROP"))
    polygons = np.array(
        [
            shapely.box(13.0, 52.0, 13.1, 52.1),
            None,
            shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
        ],
        dtype=object,
    )
    values = {"i": np.arange(3), "j": ['{"a": 1}', None, "{}"], "g": geometries_ewkb(polygons)}
    copy_binary(db, "bin_a", [("i", "int4"), ("j", "jsonb"), ("g", "ewkb")], [(values, 3)])
    rows = db.execute(text("SELECT j, ST_SRID(g), ST_AsText(g) FROM bin_a ORDER BY i")).all()
    assert rows[0] == ({"a": 1}, 4326, "POLYGON((13.1 52,13.1 52.1,13 52.1,13 52,13.1 52))")
    assert rows[1] == (None, None, None)
    assert rows[2][0] == {} and rows[2][1] == 4326 and rows[2][2].startswith("MULTIPOLYGON")


def test_a_number_too_large_is_a_data_error(db: Session) -> None:
    _table(db)
    with pytest.raises(DataError):
        copy_binary(db, "bin_t", [("i", "int4")], [({"i": np.array([2**40])}, 1)])
