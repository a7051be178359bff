"""Streamed assets imports: each slice checked while the server stores the one before, with the whole file's
report, refusal and rollback (the slices are made small here, so a few rows make several)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.imports import ImportRequest, pipeline, run_import
from tests.app.test_imports import count, forecast_areas, imported, new_city, post_import
from tests.conftest import Berlin

HEADER = "id,name,category,services,lat,lon\n"
SLICE = 2


def _csv(rows: list[tuple[str, str, str, str]]) -> list[tuple[str, bytes]]:
    body = "".join(
        f"{key},{name},{category},{services},{52.51 + i * 0.001:.4f},{13.40 + i * 0.001:.4f}\n"
        for i, (key, name, category, services) in enumerate(rows)
    )
    return [("assets.csv", (HEADER + body).encode())]


def _rows(n: int) -> list[tuple[str, str, str, str]]:
    return [(f"T{i + 1}", f"Treff {i + 1}", "association", "Food support; Culture") for i in range(n)]


def _city(client: TestClient, berlin: Berlin, name: str) -> int:
    city_id = new_city(client, berlin, name)
    imported(client, berlin, forecast_areas(), city=name, layer="neighbourhoods")
    return city_id


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "STREAM_SLICE_ROWS", SLICE)


def _stored(db: Session, city_id: int) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT a.source_id, a.name, a.category, a.status, a.version, n.code, ST_AsText(a.geom), "
                "ST_AsText(a.blurred_location), (SELECT array_agg(st.slug ORDER BY st.slug) FROM "
                "asset_service_type x JOIN service_type st ON st.id = x.service_type_id WHERE x.asset_id = a.id) "
                "FROM asset a LEFT JOIN neighbourhood n ON n.id = a.neighbourhood_id WHERE a.city_id = :c "
                "ORDER BY a.source_id"
            ),
            {"c": city_id},
        )
    ]


def _problems(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (p["row_number"], p["source_id"], p["field"], p["reason"], p["severity"]) for p in body["problems"]
    ]


def test_a_streamed_import_stores_what_the_whole_file_import_stores(
    client: TestClient, berlin: Berlin, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _csv(_rows(7))
    whole_city, streamed_city = _city(client, berlin, "Ganz"), _city(client, berlin, "Scheiben")
    whole = imported(client, berlin, files, city="Ganz", layer="assets")
    monkeypatch.setattr(pipeline, "STREAM_SLICE_ROWS", SLICE)
    streamed = imported(client, berlin, files, city="Scheiben", layer="assets")
    assert "slices" not in whole["report"] and streamed["report"]["slices"] == 4
    assert streamed["counts"] == whole["counts"] == {"inserted": 7, "updated": 0, "skipped": 0}
    assert _stored(db, streamed_city) == _stored(db, whole_city)
    assert len(_stored(db, streamed_city)) == 7
    for key in ("rows", "rows_ready", "rows_with_errors", "problem_counts", "problems", "preview", "mapping"):
        assert streamed["report"][key] == whole["report"][key], key
    # The new items are named by the import's one history row.
    ids = db.scalars(text("SELECT id FROM asset WHERE city_id = :c ORDER BY id"), {"c": streamed_city}).all()
    named = db.scalar(text("SELECT item_ids::text FROM change WHERE import_id = :i"), {"i": streamed["id"]})
    assert named == f"{{[{ids[0]},{ids[-1] + 1})}}"


def test_a_streamed_reimport_updates_known_rows_in_every_slice_and_adds_the_new(
    client: TestClient, berlin: Berlin, db: Session, small_slices: None
) -> None:
    city_id = _city(client, berlin, "Scheiben")
    first = imported(client, berlin, _csv(_rows(5)), city="Scheiben", layer="assets")
    assert first["report"]["slices"] == 3
    changed = _rows(7)
    changed[1] = ("T2", "Chor", "culture", "Culture")  # first slice
    changed[4] = ("T5", "Tafel", "association", "Food support")  # third slice
    record = imported(client, berlin, _csv(changed), city="Scheiben", layer="assets")
    assert record["counts"] == {"inserted": 2, "updated": 2, "skipped": 0}
    assert record["report"]["unchanged"] == 3
    stored = {row[0]: row for row in _stored(db, city_id)}
    assert len(stored) == 7
    assert (
        stored["T2"][1:3] == ("Chor", "culture") and stored["T2"][4] == 2 and stored["T2"][8] == ["culture"]
    )
    assert stored["T5"][1] == "Tafel" and stored["T5"][8] == ["food-support"]
    assert stored["T3"][4] == 1 and stored["T7"][8] == ["culture", "food-support"]


def test_a_row_error_in_the_last_slice_rolls_back_every_slice_with_the_whole_files_report(
    client: TestClient, berlin: Berlin, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _rows(7)
    rows[2] = ("T3", "Treff 3", "spaceship", "Culture")  # row 3: the second slice
    rows[6] = ("T7", "Treff 7", "association", "Teleportation")  # row 7: the last slice, alone
    whole_city, streamed_city = _city(client, berlin, "Ganz"), _city(client, berlin, "Scheiben")
    whole = post_import(client, berlin, _csv(rows), city="Ganz", layer="assets")
    monkeypatch.setattr(pipeline, "STREAM_SLICE_ROWS", SLICE)
    streamed = post_import(client, berlin, _csv(rows), city="Scheiben", layer="assets")
    assert whole.status_code == streamed.status_code == 422
    body = streamed.json()
    assert "2 of 7 rows cannot be stored, so nothing was imported" in body["detail"]
    assert _problems(body) == _problems(whole.json())
    assert [(p["row_number"], p["source_id"], p["field"]) for p in body["problems"]] == [
        (3, "T3", "category"),
        (7, "T7", "service_types"),
    ]
    assert count(db, "asset", streamed_city) == count(db, "asset", whole_city) == 0
    assert db.scalar(text("SELECT count(*) FROM change WHERE import_id = :i"), {"i": body["import_id"]}) == 0
    runs = db.execute(
        text("SELECT status, inserted FROM import_run WHERE city_id = :c AND layer = 'assets'"),
        {"c": streamed_city},
    ).all()
    assert [tuple(r) for r in runs] == [("failed", 0)]


def test_a_key_repeated_across_slices_is_refused_before_any_slice_is_written(
    client: TestClient, berlin: Berlin, db: Session, small_slices: None
) -> None:
    city_id = _city(client, berlin, "Scheiben")
    rows = _rows(6)
    rows[4] = ("T1", "Treff 5", "association", "Culture")  # row 5 repeats row 1's key, two slices on
    response = post_import(client, berlin, _csv(rows), city="Scheiben", layer="assets")
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [(p["row_number"], p["field"]) for p in problems] == [(1, "source_id"), (5, "source_id")]
    assert "appears 2 times (rows 1, 5)" in problems[0]["reason"]
    assert count(db, "asset", city_id) == 0


def test_rows_without_keys_are_keyed_by_their_row_across_slices(
    client: TestClient, berlin: Berlin, db: Session, small_slices: None
) -> None:
    city_id = _city(client, berlin, "Scheiben")
    rows = _rows(5)
    rows[1] = ("", "Ohne 2", "association", "Culture")
    rows[3] = ("", "Ohne 4", "association", "Culture")
    record = imported(client, berlin, _csv(rows), city="Scheiben", layer="assets")
    assert record["report"]["slices"] == 3
    assert {row[0] for row in _stored(db, city_id)} == {"T1", "row-2", "T3", "row-4", "T5"}
    notes = [p for p in record["report"]["problems"] if p["field"] == "source_id"]
    assert len(notes) == 1 and notes[0]["reason"].startswith("2 rows have no source_id")


def test_the_streamed_import_reports_its_stages_and_a_late_refusal_after_the_write_began(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Any, small_slices: None
) -> None:
    _city(client, berlin, "Scheiben")
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(_csv(_rows(5))[0][1])
    rows = _rows(5)
    rows[4] = ("T5", "Treff 5", "spaceship", "Culture")
    bad.write_bytes(_csv(rows)[0][1])
    stages: list[str] = []
    run = run_import(
        db, berlin.settings, ImportRequest(city="Scheiben", layer="assets"), [good], progress=stages.append
    )
    assert run.status == "succeeded" and run.inserted == 5 and run.report["slices"] == 3
    assert stages == ["read", "validate", "stage", "locate", "write", "update", "history", "commit", "done"]
    stages.clear()
    with pytest.raises(pipeline.RowsInvalid):
        run_import(
            db, berlin.settings, ImportRequest(city="Scheiben", layer="assets"), [bad], progress=stages.append
        )
    # The first slices were sent before row 5 was checked; the whole file was then checked and refused.
    assert stages == ["read", "validate", "stage", "locate", "write"]


def _areas(db: Session, city_id: int) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in db.execute(
            text(
                "SELECT code, name, level, population, population_by_group::text, version, ST_AsBinary(geom) "
                "FROM neighbourhood WHERE city_id = :c ORDER BY code"
            ),
            {"c": city_id},
        )
    ]


def test_areas_stream_too_and_store_what_the_whole_file_import_stores(
    client: TestClient, berlin: Berlin, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole_city, streamed_city = new_city(client, berlin, "Ganz"), new_city(client, berlin, "Scheiben")
    whole = imported(client, berlin, forecast_areas(), city="Ganz", layer="neighbourhoods")
    monkeypatch.setattr(pipeline, "STREAM_AREA_SLICE_ROWS", 2)
    streamed = imported(client, berlin, forecast_areas(), city="Scheiben", layer="neighbourhoods")
    assert "slices" not in whole["report"] and streamed["report"]["slices"] >= 2
    assert streamed["counts"] == whole["counts"] and whole["counts"]["inserted"] >= 3
    assert _areas(db, streamed_city) == _areas(db, whole_city)
    for key in ("rows", "rows_ready", "problem_counts", "problems", "preview", "mapping"):
        assert streamed["report"][key] == whole["report"][key], key
    again = imported(client, berlin, forecast_areas(), city="Scheiben", layer="neighbourhoods")
    assert again["counts"] == {"inserted": 0, "updated": 0, "skipped": 0}
    assert again["report"]["slices"] == streamed["report"]["slices"]


def test_z_values_in_a_late_slice_give_one_note_for_the_whole_file(
    client: TestClient, berlin: Berlin, db: Session, small_slices: None
) -> None:
    city_id = _city(client, berlin, "Scheiben")
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"T{i + 1}", "name": f"Treff {i + 1}", "category": "association"},
            "geometry": {
                "type": "Point",
                "coordinates": [13.40 + i * 0.001, 52.51 + i * 0.001, *([34.5] if i >= 3 else [])],
            },
        }
        for i in range(6)
    ]
    document = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    record = imported(client, berlin, [("z.geojson", document)], city="Scheiben", layer="assets")
    assert record["counts"]["inserted"] == 6 and count(db, "asset", city_id) == 6
    notes = [p["reason"] for p in record["report"]["problems"] if p["field"] == "geometry"]
    assert notes == ["Z/M values dropped from 3 features (geometries are stored in 2D)"]
    assert "slices" not in record["report"]  # the whole file was checked and loaded instead
