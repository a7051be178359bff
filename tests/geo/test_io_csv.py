"""Delimited text: sniffed delimiter, coordinate or WKT columns, and every bad row named by its line."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from geo.io import MalformedSourceError, SourceCRSError, read_source


def csv_file(tmp_path: Path, text: str, name: str = "assets.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def reasons(result: object) -> list[tuple[int | None, str | None, str]]:
    return [(p.row_number, p.source_id, p.reason) for p in result.problems]  # type: ignore[attr-defined]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = ["name,Latitude,LONGITUDE,zip", "Mitte,52.52,13.40,01067", "Pankow,52.57,13.40,13187"]
    path = csv_file(tmp_path, "\n".join(r.replace(",", delimiter) for r in rows) + "\n")
    result = read_source(path)
    assert result.feature_count == 2
    assert result.frame["zip"].tolist() == ["01067", "13187"]
    assert result.frame.geometry.iloc[1].equals(shapely.Point(13.40, 52.57))
    assert (result.crs_epsg, result.crs_source) == (4326, "default for longitude/latitude columns")


def test_semicolon_csv_with_decimal_commas_and_x_y_columns(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "name;X;Y\nAlex;392300,5;5820700,25\n")
    with pytest.raises(SourceCRSError, match="x/y coordinates but no CRS: pass --crs EPSG:xxxx"):
        read_source(path)
    result = read_source(path, crs="EPSG:25833")
    assert result.crs_epsg == 25833
    assert 13.40 < result.frame.geometry.x.iloc[0] < 13.42
    assert "X" not in result.frame.columns


def test_wkt_column_with_semicolons(tmp_path: Path) -> None:
    text = 'name;wkt\nKiez;"POLYGON ((13.40 52.50, 13.41 52.50, 13.41 52.51, 13.40 52.50))"\nPunkt;POINT (13.4 52.5)\n'
    path = csv_file(tmp_path, text)
    with pytest.raises(SourceCRSError, match="WKT geometries but no CRS"):
        read_source(path)
    result = read_source(path, crs="EPSG:4326")
    assert result.geometry_types == ["Point", "Polygon"]
    assert result.columns == ["name"]
    assert result.geometry_columns == ["wkt"]


def test_missing_unparsable_and_out_of_range_coordinates_are_reported_per_line(tmp_path: Path) -> None:
    text = (
        "name,lat,lon\n"
        "ok,52.5,13.4\n"
        "no lat,,13.4\n"
        "words,north,13.4\n"
        "too far north,95.1,13.4\n"
        "too far east,52.5,190\n"
        "\n"
        "after a blank line,52.4,13.3\n"
    )
    result = read_source(csv_file(tmp_path, text))
    assert result.feature_count == 6
    assert reasons(result) == [
        (2, "3", "missing coordinates (lat empty)"),
        (3, "4", "'north' is not a number"),
        (4, "5", "latitude 95.1 is outside -90..90"),
        (5, "6", "longitude 190 is outside -180..180"),
    ]
    assert result.frame.geometry.isna().tolist() == [False, True, True, True, True, False]
    assert result.frame["source_fid"].tolist() == [2, 3, 4, 5, 6, 8]


def test_unparsable_wkt_is_reported_per_row(tmp_path: Path) -> None:
    text = 'name,wkt\na,POINT (13.4 52.5)\nb,"POLYGON ((0 0, 1 0, 1 1))"\nc,not wkt at all\nd,\n'
    result = read_source(csv_file(tmp_path, text), crs="EPSG:4326")
    found = reasons(result)
    assert [row for row, _line, _reason in found] == [2, 3, 4]
    assert "closed linestring" in found[0][2]
    assert "could not be read as WKT" in found[1][2]
    assert found[2][2] == "no geometry (empty WKT)"


def test_a_broken_quote_names_its_line(tmp_path: Path) -> None:
    text = 'name,lat,lon\nMitte,52.5,13.4\n"Haus ""am See,52.4,13.7\nPankow,52.6,13.4\n'
    with pytest.raises(
        MalformedSourceError, match=r"row that starts on line 3 has a broken quote.*check the quotes"
    ):
        read_source(csv_file(tmp_path, text))


def test_a_stray_quote_inside_a_field_names_its_line(tmp_path: Path) -> None:
    text = 'name,lat,lon\nMitte,52.5,13.4\n"Haus" am See,52.4,13.7\n'
    with pytest.raises(MalformedSourceError, match="line 3"):
        read_source(csv_file(tmp_path, text))


def test_rows_with_the_wrong_number_of_fields_are_reported(tmp_path: Path) -> None:
    text = "name,lat,lon\nMitte,52.5,13.4\nPankow,52.6\n"
    result = read_source(csv_file(tmp_path, text))
    assert reasons(result)[0] == (
        2,
        "3",
        "line 3 has 2 fields, the header has 3: check delimiters and quotes",
    )


def test_a_header_is_required_and_must_be_unique(tmp_path: Path) -> None:
    with pytest.raises(MalformedSourceError, match="has no header row"):
        read_source(csv_file(tmp_path, "52.5,13.4\n52.6,13.5\n", "a.csv"))
    with pytest.raises(MalformedSourceError, match="two columns named 'Name' \\(columns 1 and 3\\)"):
        read_source(csv_file(tmp_path, "name,lat,Name,lon\na,52.5,b,13.4\n", "b.csv"))


def test_a_latitude_without_longitude_is_named(tmp_path: Path) -> None:
    with pytest.raises(MalformedSourceError, match="'lat' column but not its partner"):
        read_source(csv_file(tmp_path, "name,lat,east\nMitte,52.5,13.4\n"))


def test_a_table_without_coordinates_reads_as_attributes_only(tmp_path: Path) -> None:
    result = read_source(csv_file(tmp_path, "kind,quantity\nvolunteers,12\nfunding,5000\n"))
    assert result.geometry_types == []
    assert result.crs is None
    assert result.frame.geometry.isna().all()
    assert result.frame["quantity"].tolist() == ["12", "5000"]


def test_berlin_points_with_swapped_columns_are_named(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "name,lat,lon\nAlexanderplatz,13.4132,52.5219\nTempelhof,13.4034,52.4731\n")
    with pytest.raises(SourceCRSError, match="longitude and latitude look swapped"):
        read_source(path, expected_bounds=(13.08, 52.33, 13.77, 52.68))
