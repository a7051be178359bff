"""Dry runs through the API always show the file's columns and say whether the real import would land."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.app.test_imports import Files, count, new_city, post_import
from tests.conftest import Berlin

# A register whose columns match no field name: nothing can be suggested for name or category.
REGISTER = (
    "Nr;Bez;Art;services;lon;lat\n"
    "1;Stadtteilbibliothek Nord;Bibliothek;12,5;13.40;52.52\n"
    "2;Jugendclub am Park;Jugendarbeit;7,25;13.41;52.53\n"
    "3;Tafel Mitte;Lebensmittel;31;13.42;52.51\n"
    "4;Tafel Mitte;Lebensmittel;31;13.42;52.51\n"
)


def register() -> Files:
    return [("register.csv", REGISTER.encode())]


def areas(codes: list[str]) -> Files:
    """Square neighbourhoods with the given codes (a code twice is a duplicate)."""
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": f"Area {index}", "population": 100 * (index + 1)},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [13.0 + 0.01 * index, 52.0],
                        [13.01 + 0.01 * index, 52.0],
                        [13.01 + 0.01 * index, 52.01],
                        [13.0 + 0.01 * index, 52.0],
                    ]
                ],
            },
        }
        for index, code in enumerate(codes)
    ]
    return [("areas.geojson", json.dumps({"type": "FeatureCollection", "features": features}).encode())]


def columns_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in report["source_columns"]}


def test_a_dry_run_without_a_usable_mapping_shows_the_columns_and_says_it_would_fail(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    response = post_import(client, berlin, register(), city="Neustadt", layer="assets", dry_run=True)
    assert response.status_code == 201, response.text
    record = response.json()
    report = record["report"]
    assert record["status"] == "dry_run"
    assert report["would_import"] is False
    assert report["would_fail_because"] == [
        "required fields name, category of assets are not mapped: map a column to each (or give a default)"
    ]
    columns = columns_of(report)
    assert list(columns) == ["Nr", "Bez", "Art", "services"]
    assert (columns["Nr"]["type"], columns["Nr"]["samples"]) == ("integer", ["1", "2", "3", "4"])
    assert columns["Bez"]["type"] == "text"
    assert columns["Bez"]["samples"] == ["Stadtteilbibliothek Nord", "Jugendclub am Park", "Tafel Mitte"]
    # The deprivation-like score is no list of service types, and the report says why it was not suggested.
    assert columns["services"]["type"] == "number"
    assert columns["services"]["target"] is None
    assert columns["services"]["rejected"][0]["target"] == "service_types"
    assert report["rows_ready"] == 0 and report["preview"] == []
    stored = client.get(f"/api/imports/{record['id']}", headers=berlin.headers("gis")).json()
    assert stored["report"]["source_columns"] == report["source_columns"]
    assert count(db, "asset", city_id) == 0


def test_the_same_import_for_real_is_refused_with_the_columns_in_its_error_and_its_run(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    response = post_import(client, berlin, register(), city="Neustadt", layer="assets")
    assert response.status_code == 422, response.text
    body = response.json()
    assert "required fields name, category of assets are not mapped" in body["detail"]
    assert [c["name"] for c in body["source_columns"]] == ["Nr", "Bez", "Art", "services"]
    run = client.get(f"/api/imports/{body['import_id']}", headers=berlin.headers("gis")).json()
    assert run["status"] == "failed"
    assert columns_of(run["report"])["Bez"]["type"] == "text"
    assert count(db, "asset", city_id) == 0


def test_a_dry_run_with_the_mapping_given_in_any_case_would_import_but_for_duplicates(
    client: TestClient, berlin: Berlin
) -> None:
    new_city(client, berlin)
    fields: dict[str, Any] = {
        "city": "Neustadt",
        "layer": "assets",
        "dry_run": True,
        "mapping": {"NAME": "bez", "source_id": "NR"},
        "defaults": {"category": "institution"},
    }
    report = post_import(client, berlin, register(), **fields).json()["report"]
    assert report["mapping"] == {"name": "Bez", "source_id": "Nr"}
    assert columns_of(report)["Bez"]["target"] == "name"
    assert report["would_import"] is True and report["would_fail_because"] == []
    assert "service_types" not in report["mapping"]
    assert not [p for p in report["problems"] if p["field"] == "service_types"]


def test_a_dry_run_with_duplicate_codes_would_fail_unless_invalid_rows_are_skipped(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    fields: dict[str, Any] = {"city": "Neustadt", "layer": "neighbourhoods", "dry_run": True}
    report = post_import(client, berlin, areas(["A1", "A2", "A2"]), **fields).json()["report"]
    assert report["would_import"] is False
    assert report["would_fail_because"] == [
        "2 of 3 rows cannot be stored (see the problems): fix them, or import with skip_invalid to load the other rows"
    ]
    assert columns_of(report)["code"]["reason"]["match"] == "field_name"
    skipping = post_import(client, berlin, areas(["A1", "A2", "A2"]), skip_invalid=True, **fields).json()
    assert skipping["report"]["would_import"] is True
    clean = post_import(client, berlin, areas(["A1", "A2", "A3"]), **fields).json()["report"]
    assert (clean["would_import"], clean["would_fail_because"], clean["rows_ready"]) == (True, [], 3)
    assert count(db, "neighbourhood", city_id) == 0
    assert db.scalar(text("SELECT count(*) FROM import_run WHERE city_id = :c"), {"c": city_id}) == 3
