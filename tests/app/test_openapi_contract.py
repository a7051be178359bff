"""/openapi.json describes what every JSON answer holds: no success answer without a schema a client can read."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import text

from app.main import create_app
from app.schemas.analysis_runs import RunDocument
from app.schemas.health import Readiness
from app.schemas.imports import ImportRunList, ImportRunOut, ImportRunSummary
from app.schemas.items import HistoryEntry, HistoryList, LinkList, LinkOut, ResourceList, ResourceOut
from app.settings import Settings
from tests.app.helpers import create_asset
from tests.conftest import Berlin

# A schema that says nothing about the body: FastAPI's default for an un-modelled answer, or a bare object.
SAYS_NOTHING: tuple[dict[str, Any], ...] = ({}, {"type": "object"})


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(environment="test", secret_key="x" * 32)).openapi()


def is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def success_answers(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every 2xx answer of every operation, named 'METHOD path status'."""
    return [
        (f"{method.upper()} {path} {status}", answer)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation.get("responses", {}).items()
        if status.startswith("2")
    ]


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its top-level $ref followed into components."""
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def test_every_json_success_answer_has_a_schema(document: dict[str, Any]) -> None:
    unschematised = []
    for name, answer in success_answers(document):
        for media_type, content in (answer.get("content") or {}).items():
            schema = content.get("schema")
            if is_json(media_type) and (schema is None or resolved(document, schema) in SAYS_NOTHING):
                unschematised.append(f"{name} {media_type}")
    assert unschematised == []


def test_every_success_answer_but_no_content_says_what_it_sends(document: dict[str, Any]) -> None:
    silent = [name for name, answer in success_answers(document) if not answer.get("content")]
    assert all(name.endswith(" 204") for name in silent), silent


def test_item_answers_name_their_fields(document: dict[str, Any]) -> None:
    """Spot checks of what the models must say, so a model that loses its fields is caught."""
    schemas = document["components"]["schemas"]
    assert {"id", "kind", "asset_id", "quantity", "status", "version"} <= set(
        schemas["ResourceOut"]["required"]
    )
    assert {"source_asset_id", "target_asset_id", "kind", "directed"} <= set(schemas["LinkOut"]["required"])
    run = schemas["ImportRunOut"]
    assert {"id", "status", "counts", "report", "sha256"} <= set(run["required"])
    assert run["properties"]["report"]["type"] == "object"  # free-form: the import adds what it found
    history = document["paths"]["/api/assets/{item_id}/history"]["get"]["responses"]["200"]
    assert history["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/HistoryList"}


def holds_exactly(model: type[BaseModel], body: dict[str, Any]) -> None:
    """The answer validates against the model, and the model names every member the answer has and no other."""
    model.model_validate(body)
    assert set(body) == set(model.model_fields), model.__name__


def test_the_models_name_exactly_what_the_routes_answer(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    a, b = create_asset(client, berlin, name="Tool library"), create_asset(client, berlin, name="Repair café")
    resource = client.post(
        "/api/resources",
        json={
            "kind": "equipment",
            "quantity": 3,
            "unit": "drills",
            "asset_id": a["id"],
            "available_from": "2026-01-05",
        },
        headers=admin,
    ).json()
    link = client.post(
        "/api/links",
        json={"source_asset_id": a["id"], "target_asset_id": b["id"], "kind": "shared_space"},
        headers=admin,
    ).json()
    holds_exactly(ResourceOut, resource)
    holds_exactly(LinkOut, link)
    holds_exactly(ResourceOut, client.get(f"/api/resources/{resource['id']}", headers=admin).json())
    resources = client.get("/api/resources", params={"limit": 2}, headers=admin).json()
    holds_exactly(ResourceList, resources)
    holds_exactly(LinkList, client.get("/api/links", headers=admin).json())
    history = client.get(f"/api/links/{link['id']}/history", headers=admin).json()
    holds_exactly(HistoryList, history)
    holds_exactly(HistoryEntry, history["items"][0])

    points = '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Hall","category":"association","source_id":"h1"},"geometry":{"type":"Point","coordinates":[13.40,52.52]}}]}'
    upload = [("file", ("halls.geojson", points.encode(), "application/octet-stream"))]
    dry_run = client.post(
        "/api/imports",
        files=upload,
        data={"city": "Berlin", "layer": "assets", "dry_run": "true"},
        headers=admin,
    )
    assert dry_run.status_code == 201, dry_run.text
    holds_exactly(ImportRunOut, dry_run.json())
    holds_exactly(ImportRunOut, client.get(f"/api/imports/{dry_run.json()['id']}", headers=admin).json())
    runs = client.get("/api/imports", headers=admin).json()
    holds_exactly(ImportRunList, runs)
    holds_exactly(ImportRunSummary, runs["items"][0])


def test_a_run_and_the_readiness_probe_answer_as_their_models_say(client: TestClient, berlin: Berlin) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200
    holds_exactly(Readiness, ready.json())
    body = {"city": "Berlin", "service_type": "childcare", "radius_m": 500, "resolution": 8}
    computed = client.post("/api/analysis/runs", json=body, headers=berlin.headers("planner"))
    assert computed.status_code == 201, computed.text
    holds_exactly(RunDocument, computed.json())


def test_a_queued_run_answers_as_its_model_says(berlin: Berlin) -> None:
    body = {
        "city": "Berlin",
        "service_type": "childcare",
        "radius_m": 500,
        "resolution": 8,
        "background": True,
    }
    run_id = None
    try:
        with TestClient(
            create_app(berlin.settings)
        ) as client:  # real sessions: the worker commits on its own
            queued = client.post("/api/analysis/runs", json=body, headers=berlin.headers("planner"))
            assert queued.status_code == 202, queued.text
            run_id = queued.json()["id"]
            holds_exactly(RunDocument, queued.json())
            deadline = time.monotonic() + 120
            while client.get(f"/api/analysis/runs/{run_id}").json()["status"] in ("pending", "running"):
                assert time.monotonic() < deadline, "the queued run did not finish"
                time.sleep(0.1)
    finally:
        if run_id is not None:
            with berlin.engine.begin() as conn:
                conn.execute(text("DELETE FROM analysis_run WHERE id = :r"), {"r": run_id})
