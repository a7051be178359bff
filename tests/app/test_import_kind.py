"""An asset's kind (geo.vocab.VENUE_KINDS) in imports and exports: mapped from a file's column (with the usual
spellings), refused with a row error naming the known kinds, and written back out by the export."""

from __future__ import annotations

import io

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.app.test_imports import imported, new_city, places_frame, post_import
from tests.conftest import Berlin


def _file(kinds: list[str | None], column: str = "kind") -> list[tuple[str, bytes]]:
    names = [f"Ort {i}" for i in range(len(kinds))]
    frame = places_frame(names, crs="EPSG:4326", category=["physical_space"] * len(kinds), **{column: kinds})
    return [("orte.geojson", frame.to_json().encode())]


def test_kinds_are_imported_by_their_usual_names_and_exported(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    record = imported(
        client, berlin, _file(["Kita", "community centre", None]), city="Neustadt", layer="assets"
    )
    assert record["counts"] == {"inserted": 3, "updated": 0, "skipped": 0}
    stored = db.execute(
        text("SELECT name, kind FROM asset WHERE city_id = :c ORDER BY name"), {"c": city_id}
    ).all()
    assert [tuple(r) for r in stored] == [
        ("Ort 0", "kindergarten"),
        ("Ort 1", "community_centre"),
        ("Ort 2", None),
    ]
    exported = client.get(
        "/api/exports/assets", params={"city": "Neustadt", "format": "csv"}, headers=berlin.headers("planner")
    )
    assert exported.status_code == 200, exported.text
    table = pd.read_csv(io.BytesIO(exported.content)).sort_values("name")
    assert table["kind"].fillna("").tolist() == ["kindergarten", "community_centre", ""]


def test_a_column_named_otherwise_maps_to_kind(client: TestClient, berlin: Berlin, db: Session) -> None:
    city_id = new_city(client, berlin)
    imported(
        client, berlin, _file(["library", "playground"], column="venue_kind"), city="Neustadt", layer="assets"
    )
    kinds = db.scalars(text("SELECT kind FROM asset WHERE city_id = :c ORDER BY name"), {"c": city_id}).all()
    assert kinds == ["library", "playground"]


def test_an_unknown_kind_is_a_row_error_naming_the_known_ones(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    response = post_import(client, berlin, _file(["library", "pub"]), city="Neustadt", layer="assets")
    assert response.status_code == 422, response.text
    body = response.json()
    assert [(p["row_number"], p["field"]) for p in body["problems"]] == [(2, "kind")]
    reason = body["problems"][0]["reason"]
    assert "'pub' is not a kind: use one of community_centre" in reason and "playground" in reason
    assert db.scalar(text("SELECT count(*) FROM asset WHERE city_id = :c"), {"c": city_id}) == 0
    # With skip_invalid the good row lands, with its kind.
    record = imported(
        client, berlin, _file(["library", "pub"]), city="Neustadt", layer="assets", skip_invalid=True
    )
    assert record["counts"] == {"inserted": 1, "updated": 0, "skipped": 1}
    assert db.scalars(text("SELECT kind FROM asset WHERE city_id = :c"), {"c": city_id}).all() == ["library"]
