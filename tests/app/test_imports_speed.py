"""The fast write path of imports: new assets by COPY into the live table, known ones updated, references checked."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.db.bulk import copy_frame
from tests.app.test_imports import forecast_areas, imported, new_city
from tests.conftest import Berlin

HEADER = "id,name,category,services,lat,lon\n"


def test_a_file_of_new_and_known_assets_inserts_the_new_and_updates_the_known(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    city_id = new_city(client, berlin)
    imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods")
    first = (
        HEADER + "T1,Tafel,association,Food support,52.5219,13.4132\nT2,Chor,culture,Culture,52.53,13.42\n"
    )
    imported(client, berlin, [("a.csv", first.encode())], city="Neustadt", layer="assets")
    second = HEADER + (
        "T1,Tafel Mitte,association,Food support,52.5219,13.4132\n"
        "T2,Chor,culture,Culture,52.53,13.42\n"
        "T3,Treff,institution,Older people; Culture,52.5219,13.4132\n"
    )
    record = imported(client, berlin, [("a.csv", second.encode())], city="Neustadt", layer="assets")
    assert record["counts"] == {"inserted": 1, "updated": 1, "skipped": 0}
    rows = db.execute(
        text(
            "SELECT a.source_id, a.name, a.verified, a.sensitive, a.status, a.version, n.code, a.import_id, "
            "(SELECT array_agg(st.slug ORDER BY st.slug) FROM asset_service_type x "
            " JOIN service_type st ON st.id = x.service_type_id WHERE x.asset_id = a.id) "
            "FROM asset a LEFT JOIN neighbourhood n ON n.id = a.neighbourhood_id WHERE a.city_id = :c "
            "ORDER BY a.source_id"
        ),
        {"c": city_id},
    ).all()
    run_id = record["id"]
    assert [tuple(r) for r in rows] == [
        ("T1", "Tafel Mitte", False, False, "approved", 2, "0110", run_id, ["food-support"]),
        ("T2", "Chor", False, False, "approved", 1, rows[1][6], rows[1][7], ["culture"]),
        ("T3", "Treff", False, False, "approved", 1, "0110", run_id, ["culture", "older-people"]),
    ]
    assert rows[1][7] != run_id  # unchanged: still the first import's
    # The new asset is named by the import's one batch row; the changed one has its own before/after row.
    new_id, changed_id = _id(db, city_id, "T3"), _id(db, city_id, "T1")
    changes = db.execute(
        text(
            "SELECT coalesce(item_ids::text, ''), coalesce(item_id, 0), coalesce(before->>'name', ''), "
            "coalesce(after->>'name', '') FROM change WHERE import_id = :i ORDER BY id"
        ),
        {"i": run_id},
    ).all()
    assert sorted(tuple(c) for c in changes) == sorted(
        [(f"{{[{new_id},{new_id + 1})}}", 0, "", ""), ("", changed_id, "Tafel", "Tafel Mitte")]
    )
    history = client.get(f"/api/assets/{new_id}/history", headers=berlin.headers("gis")).json()["items"]
    assert [(h["action"], h["after"]["name"]) for h in history] == [("import", "Treff")]


def _id(db: Session, city_id: int, source_id: str) -> int:
    return int(
        db.scalar(
            text("SELECT id FROM asset WHERE city_id = :c AND source_id = :s"), {"c": city_id, "s": source_id}
        )
        or 0
    )


def test_neighbourhood_references_are_checked_per_statement(
    client: TestClient, berlin: Berlin, db: Session
) -> None:
    """Migration 0006: a missing neighbourhood is refused as the foreign key did, a deleted one is cleared from
    the items that named it, and a neighbourhood's id cannot change."""
    city_id = new_city(client, berlin)
    imported(client, berlin, forecast_areas(), city="Neustadt", layer="neighbourhoods")
    area = int(
        db.scalar(text("SELECT id FROM neighbourhood WHERE city_id = :c AND code = '0110'"), {"c": city_id})
    )
    point = "ST_SetSRID(ST_MakePoint(13.4, 52.5), 4326)"
    insert = (
        "INSERT INTO asset (city_id, neighbourhood_id, category, name, geom, blurred_location) "
        f"VALUES (:c, :n, 'culture', 'Chor', {point}, {point}) RETURNING id"
    )
    missing = "names neighbourhood 999999, which does not exist"
    with pytest.raises(DBAPIError, match=missing) as refused, db.begin_nested():
        db.execute(text(insert), {"c": city_id, "n": 999_999})
    assert refused.value.orig.diag.constraint_name == "fk_asset_neighbourhood_id_neighbourhood"  # type: ignore[union-attr]
    asset_id = db.scalar(text(insert), {"c": city_id, "n": area})
    with pytest.raises(DBAPIError, match="names neighbourhood 999998"), db.begin_nested():
        db.execute(text("UPDATE asset SET neighbourhood_id = 999998 WHERE id = :a"), {"a": asset_id})
    with pytest.raises(DBAPIError, match="cannot change"), db.begin_nested():
        db.execute(text("UPDATE neighbourhood SET id = 999997 WHERE id = :n"), {"n": area})
    db.execute(text("DELETE FROM neighbourhood WHERE id = :n"), {"n": area})
    assert db.scalar(text("SELECT neighbourhood_id FROM asset WHERE id = :a"), {"a": asset_id}) is None


def test_rows_the_database_refuses_during_copy_raise_its_integrity_error(berlin: Berlin, db: Session) -> None:
    """A constraint broken inside COPY arrives as SQLAlchemy's IntegrityError naming the constraint, as an INSERT's
    would, so the import maps it to a clear 4xx."""
    point = "SRID=4326;POINT(13.4 52.5)"
    frame = pd.DataFrame(
        {"category": ["no-such-category"], "name": ["Chor"], "geom": [point], "blurred_location": [point]}
    )
    with pytest.raises(IntegrityError) as refused, db.begin_nested():
        copy_frame(db, "asset", frame, {"city_id": berlin.city_id})
    assert refused.value.orig.diag.constraint_name == "ck_asset_category_known"  # type: ignore[union-attr]
