"""The row-filter language (parse, refuse, evaluate with nulls) and the clip areas, without a database."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.filters import (
    And,
    ClipArea,
    ClipError,
    Column,
    Compare,
    In,
    Literal,
    Not,
    Or,
    WhereError,
    clip_area,
    columns_of,
    evaluate_where,
    inside_clip,
    parse_bbox,
    parse_clip,
    parse_where,
    to_text,
)
from geo.filters.expression import MAX_WHERE_CHARS, MAX_WHERE_NODES
from geo.io import MappingError, SourceCRSError
from geo.io.expected_area import check_expected_area, expanded
from geo.io.source_crs import parse_user_crs


@pytest.fixture
def libraries() -> pd.DataFrame:
    """Text as a CSV gives it (numbers as text, empty cells), and a numeric column as a GeoPackage gives it."""
    return pd.DataFrame(
        {
            "Status": ["open", "closed", None, "", "open", "Open"],
            "seats_text": ["9", "10", "100", None, "25", "x"],
            "seats": [9.0, 10.0, 100.0, np.nan, 25.0, 3.0],
            "code": ["01", "1", "010", "2", None, "02"],
            "name": ["Bibliothek Mitte", "Stadtbibliothek", "Bib_Nord", None, "Kiez 100%", "Bücherei"],
        }
    )


def matches(where: str, frame: pd.DataFrame) -> list[int]:
    """The 0-based positions of the rows the filter keeps."""
    return np.flatnonzero(evaluate_where(parse_where(where), frame, list(frame.columns))).tolist()


# ------------------------------------------------------------------------------------------- parsing


def test_and_binds_tighter_than_or_and_long_chains_are_flat() -> None:
    tree = parse_where("a1 = 1 or (b1 = 'x' and c1 <> 2 and d1 >= 3)")
    assert tree == Or(
        (
            Compare("=", Column("a1"), Literal(1)),
            And(
                (
                    Compare("=", Column("b1"), Literal("x")),
                    Compare("<>", Column("c1"), Literal(2)),
                    Compare(">=", Column("d1"), Literal(3)),
                )
            ),
        )
    )
    assert columns_of(tree) == ["a1", "b1", "c1", "d1"]


def test_and_mixed_with_or_needs_parentheses() -> None:
    # The grammar reads a or b and c as (a or b) and c, unlike SQL: the ambiguous form is refused.
    with pytest.raises(WhereError, match="mixes and with or: add parentheses"):
        parse_where("kind = 'library' or kind = 'centre' and status = 'open'")
    assert isinstance(parse_where("(kind = 'library' or kind = 'centre') and status = 'open'"), And)
    assert isinstance(parse_where("seats between 1 and 5 or seats > 100"), Or)
    assert isinstance(parse_where("name = 'Rock and roll or jazz' and seats > 1"), And)


def test_between_not_in_is_not_null_and_a_value_on_the_left_become_the_small_tree() -> None:
    assert to_text(parse_where("seats between 10 and 20")) == '("seats" >= 10 AND "seats" <= 20)'
    assert parse_where("code not in ('01', 2)") == Not(In(Column("code"), (Literal("01"), Literal(2))))
    assert to_text(parse_where("name is not null")) == 'NOT ("name" IS NULL)'
    assert parse_where("10 < seats") == Compare(">", Column("seats"), Literal(10))
    assert parse_where("\"Straße\" = 'Unter den Linden'") == Compare(
        "=", Column("Straße"), Literal("Unter den Linden")
    )


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("upper(name) = 'X'", "the function upper()"),
        ("seats * 2 > 10", "arithmetic"),
        ("S_INTERSECTS(geom, POINT(13.4 52.5))", "spatial operators"),
        ("opened = DATE('2020-01-01')", "dates and times"),
        ("INCLUDE", "include / exclude"),
        ("1 = 1", "compares two values"),
        ("status = 'open'; DROP TABLE asset", "at character 16"),
        ("status = 'open' OR 1=1 --", "cannot read the expression"),
        ("status = 'open' UNION SELECT password FROM app_user", "cannot read the expression"),
        ("", "empty"),
    ],
)
def test_anything_outside_the_language_is_refused_naming_what_is_allowed(where: str, reason: str) -> None:
    with pytest.raises(WhereError, match=reason) as caught:
        parse_where(where)
    if reason != "empty":
        assert "like" in str(caught.value) and "is null" in str(caught.value)


def test_hostile_sizes_are_refused_quickly() -> None:
    nested = "seats = 0"
    for level in range(1, 30):
        nested = f"seats = {level} {'and' if level % 2 else 'or'} ({nested})"
    huge_in = "seats in (" + ",".join(str(i) for i in range(MAX_WHERE_NODES)) + ")"
    started = time.perf_counter()
    with pytest.raises(WhereError, match="nests more than"):
        parse_where(nested)
    with pytest.raises(WhereError, match=r"more than \d+ parts"):
        parse_where(huge_in)
    with pytest.raises(WhereError, match="longer than"):
        parse_where("a1 = 1 and " * 1000 + "a1 = 1")
    for hostile in ("(" * 3000 + "a1 = 1" + ")" * 3000, "(" * 3900, "POINT" + "(" * 3000, "- " * 1900 + "1"):
        with pytest.raises(WhereError):
            parse_where(hostile[:MAX_WHERE_CHARS])
    assert time.perf_counter() - started < 5


# ------------------------------------------------------------------------------------------- evaluation


def test_comparisons_nulls_and_not(libraries: pd.DataFrame) -> None:
    assert matches("status = 'open'", libraries) == [0, 4]  # case-sensitive value, case-insensitive column
    # Null and empty rows never match a comparison, neither plainly nor under not.
    assert matches("not status = 'open'", libraries) == [1, 5]
    assert matches("status <> 'open'", libraries) == [1, 5]
    assert matches("status is null", libraries) == [2, 3]
    assert matches("status is not null and not status in ('closed')", libraries) == [0, 4, 5]


def test_numbers_compare_numerically_in_numeric_text_and_codes_keep_leading_zeros(
    libraries: pd.DataFrame,
) -> None:
    assert matches("seats >= 10", libraries) == [1, 2, 4]
    # Text that holds numbers compares as numbers with a number ('9' >= '10' as text, not as numbers)...
    assert matches("seats_text >= 10", libraries) == [1, 2, 4]
    assert matches("seats_text between 9 and 25", libraries) == [0, 1, 4]
    # ...while a quoted code is compared as text, so 01 and 1 stay different codes.
    assert matches("code = '01'", libraries) == [0]
    assert matches("code in ('1', '2')", libraries) == [1, 3]
    assert matches("seats in (9, 25)", libraries) == [0, 4]
    assert matches("seats = '25'", libraries) == [4]
    with pytest.raises(WhereError, match="holds numbers: compare it with a number"):
        evaluate_where(parse_where("seats = 'many'"), libraries, list(libraries.columns))


def test_like_with_percent_underscore_and_escapes(libraries: pd.DataFrame) -> None:
    assert matches("name like 'Bib%'", libraries) == [0, 2]
    assert matches("name like '%bibliothek'", libraries) == [1]
    assert matches("name like 'Bib\\_%'", libraries) == [2]
    assert matches("name like 'B_cherei'", libraries) == [5]
    assert matches("name like '%100\\%'", libraries) == [4]
    assert matches("name not like '%e%'", libraries) == [2]


def test_a_like_pattern_cannot_backtrack_for_ever() -> None:
    frame = pd.DataFrame({"name": ["a" * 20_000, "ab"]})
    started = time.perf_counter()
    assert matches("name like '" + "%a" * 40 + "%b'", frame) == []
    assert time.perf_counter() - started < 2


def test_columns_resolve_ignoring_case_and_unknown_or_ambiguous_names_are_refused(
    libraries: pd.DataFrame,
) -> None:
    assert matches("STATUS = 'closed'", libraries) == [1]
    with pytest.raises(
        MappingError, match=r"--where: the file has no column 'opening'; its columns are 'Status'"
    ):
        matches("opening = 1", libraries)
    twice = libraries.assign(STATUS=libraries["Status"])
    with pytest.raises(MappingError, match="differ from 'status' only by case"):
        matches("status = 'open'", twice)


# ------------------------------------------------------------------------------------------- clip


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("13.3,52.4,13.5", "four numbers"),
        ("13.3,52.4,nan,52.6", "four numbers"),
        ("13.3,52.4,inf,52.6", "four numbers"),
        ("13.5,52.4,13.3,52.6", "west must be less than east"),
        ("13.3,95,13.5,96", "latitudes within -90..90"),
    ],
)
def test_bad_boxes_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ClipError, match=reason):
        parse_bbox(text)


def test_clip_options() -> None:
    assert parse_clip(None) is None
    assert parse_clip("City", 250) == ClipArea("city", None, 250.0)
    assert parse_clip("bbox=13.3,52.4,13.5,52.6") == ClipArea("bbox", (13.3, 52.4, 13.5, 52.6), 0.0)
    with pytest.raises(ClipError, match="needs --clip"):
        parse_clip(None, 100)
    with pytest.raises(ClipError, match="from 0 to"):
        parse_clip("city", float("nan"))
    with pytest.raises(ClipError, match="is not known"):
        parse_clip("berlin")


def test_a_buffer_in_metres_grows_the_area() -> None:
    box = ClipArea("bbox", (13.3, 52.4, 13.5, 52.6), 0.0)
    # 1 km east of the box's east edge, in ETRS89 / UTM 33N metres, back to lon/lat.
    metres = gpd.GeoSeries(shapely.points([13.5, 13.4], [52.5, 52.5]), crs=4326).to_crs(25833)
    moved = shapely.points(metres.x.to_numpy() + np.array([1000.0, 0.0]), metres.y.to_numpy())
    east = gpd.GeoSeries(moved, crs=25833).to_crs(4326).to_numpy()
    assert inside_clip(east, clip_area(box, None)).tolist() == [False, True]
    grown = clip_area(ClipArea("bbox", box.bbox, 1500.0), None, "EPSG:25833")
    assert inside_clip(east, grown).tolist() == [True, True]
    assert inside_clip(east, clip_area(ClipArea("bbox", box.bbox, 500.0), None)).tolist() == [False, True]


def test_missing_geometries_are_never_inside_and_city_clip_needs_a_city() -> None:
    area = shapely.box(13.3, 52.4, 13.5, 52.6)
    geometries = np.array([None, shapely.Point(), shapely.Point(13.4, 52.5)], dtype=object)
    assert inside_clip(geometries, area).tolist() == [False, False, True]
    with pytest.raises(ClipError, match="no neighbourhoods yet"):
        clip_area(ClipArea("city"), None)


# ------------------------------------------------------------------------------------------- the area check

BERLIN = (13.09, 52.34, 13.76, 52.68)


def grid_around_berlin(times: float) -> np.ndarray:
    """Lon/lat points on a grid `times` as wide and tall as Berlin, centred on it."""
    west, south, east, north = BERLIN
    grow_x, grow_y = (east - west) * (times - 1) / 2, (north - south) * (times - 1) / 2
    lon, lat = np.meshgrid(
        np.linspace(west - grow_x, east + grow_x, 21), np.linspace(south - grow_y, north + grow_y, 21)
    )
    return shapely.points(lon.ravel(), lat.ravel())


def test_a_register_wider_than_the_city_is_told_to_clip_and_passes_once_clipped() -> None:
    utm33 = parse_user_crs("EPSG:25833")
    points = grid_around_berlin(3)
    with pytest.raises(SourceCRSError) as caught:
        check_expected_area(points, utm33, "libraries.gpkg", BERLIN, margin_deg=0.1)
    message = str(caught.value)
    outside = ~inside_clip(points, shapely.box(*expanded(BERLIN, 0.1)))
    assert f"{outside.mean():.0%} of the rows ({outside.sum():,} of {len(points):,}) lie outside" in message
    assert "the CRS (EPSG:25833, from the --crs) fits the coordinates" in message and "--clip city" in message
    check_expected_area(points[inside_clip(points, shapely.box(*BERLIN))], utm33, "libraries.gpkg", BERLIN)
    check_expected_area(grid_around_berlin(1.5), utm33, "libraries.gpkg", BERLIN, margin_deg=0.1)


def test_data_that_misses_the_city_entirely_is_told_to_fix_the_crs_not_to_clip() -> None:
    # Berlin's UTM 33N coordinates read as UTM 32N land about 400 km west, where 32N itself is in use.
    to_utm33 = pyproj.Transformer.from_crs(4326, 25833, always_xy=True)
    from_utm32 = pyproj.Transformer.from_crs(25832, 4326, always_xy=True)
    berlin = grid_around_berlin(1)
    lon, lat = from_utm32.transform(*to_utm33.transform(shapely.get_x(berlin), shapely.get_y(berlin)))
    with pytest.raises(
        SourceCRSError, match=r"far from the expected area.*100% of the rows.*pass the right --crs"
    ) as caught:
        check_expected_area(shapely.points(lon, lat), parse_user_crs("EPSG:25832"), "a.shp", BERLIN)
    assert "--clip" not in str(caught.value)
