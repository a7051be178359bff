"""geo.escape: community-typed text is inert in HTML, attributes and JavaScript template literals."""

from __future__ import annotations

import html

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.escape import escape_properties, escape_text

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "${document.title='x'}",
    "`",
    '"><script>',
    "</script><script>alert(1)</script>",
    "\\u{110000}",  # an invalid escape sequence inside a template literal is a syntax error
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_lose_every_active_character(payload: str) -> None:
    escaped = escape_text(payload)
    for character in "<>\"'`$\\":
        assert character not in escaped
    # Still the same text for a reader: an HTML parser turns it back into exactly what was typed.
    assert html.unescape(escaped) == payload


def test_known_encodings() -> None:
    assert escape_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape_text("${document.title='x'}") == "&#36;{document.title=&#39;x&#39;}"
    assert escape_text("`") == "&#96;"
    assert escape_text('"><script>') == "&quot;&gt;&lt;script&gt;"
    assert escape_text("Tom & Jerry") == "Tom &amp; Jerry"


def test_ampersand_is_escaped_once() -> None:
    # Escaping must not be applied twice: "&lt;" typed by a person stays visible as "&lt;".
    assert escape_text("&lt;") == "&amp;lt;"


def test_umlauts_and_other_letters_stay_readable() -> None:
    assert escape_text("Köpenick") == "Köpenick"
    assert (
        escape_text("Straße der Pariser Kommune \u2013 Café ½") == "Straße der Pariser Kommune \u2013 Café ½"
    )


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, pd.NaT])
def test_missing_values_become_empty_text(missing: object) -> None:
    assert escape_text(missing) == ""


def test_numbers_become_their_text() -> None:
    assert escape_text(42) == "42"
    assert escape_text(2.5) == "2.5"
    assert escape_text(np.int64(7)) == "7"
    assert escape_text(True) == "True"


def test_bytes_are_decoded_as_utf8() -> None:
    assert escape_text("Köpenick <b>".encode()) == "Köpenick &lt;b&gt;"


def test_escape_properties_escapes_text_columns_and_keeps_the_rest() -> None:
    frame = gpd.GeoDataFrame(
        {
            "name": ["<img src=x onerror=alert(1)>", None, "Köpenick"],
            "note": ["`${x}`", "ok", float("nan")],
            "capacity": [10, 20, 30],
        },
        geometry=[Point(13.4, 52.5), Point(13.5, 52.5), Point(13.6, 52.5)],
        crs="EPSG:4326",
    )
    escaped = escape_properties(frame)

    assert isinstance(escaped, gpd.GeoDataFrame)
    assert escaped.crs == frame.crs
    assert escaped["name"].tolist() == ["&lt;img src=x onerror=alert(1)&gt;", None, "Köpenick"]
    assert escaped["note"].tolist() == ["&#96;&#36;{x}&#96;", "ok", None]
    # Numbers are not text columns and stay numbers; geometry is untouched.
    assert escaped["capacity"].tolist() == [10, 20, 30]
    assert escaped.geometry.equals(frame.geometry)
    # The input frame is not changed.
    assert frame.loc[0, "name"] == "<img src=x onerror=alert(1)>"


def test_escape_properties_with_named_columns_escapes_only_those() -> None:
    frame = pd.DataFrame({"name": ["<b>"], "code": ["<i>"], "people": [3]})
    escaped = escape_properties(frame, ["name", "people"])
    assert escaped.loc[0, "name"] == "&lt;b&gt;"
    assert escaped.loc[0, "code"] == "<i>"
    assert escaped.loc[0, "people"] == "3"


def test_escape_properties_names_unknown_columns() -> None:
    frame = pd.DataFrame({"name": ["a"]})
    with pytest.raises(KeyError, match="descripton"):
        escape_properties(frame, ["descripton"])


def test_escape_properties_refuses_the_geometry_column() -> None:
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(ValueError, match="geometry"):
        escape_properties(frame, ["geometry"])


def test_escape_properties_refuses_non_frames() -> None:
    with pytest.raises(TypeError, match="list"):
        escape_properties(["<b>"])  # type: ignore[type-var]


def test_nan_detection_does_not_swallow_text_nan() -> None:
    # The word "nan" typed by a person is text, not a missing value.
    assert escape_text("nan") == "nan"
