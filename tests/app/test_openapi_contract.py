"""/openapi.json describes what every JSON answer holds: no success answer without a schema a client can read."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import text

from app.main import create_app
from app.schemas.analysis_results import (
    ClosureChange,
    Network,
    NetworkAsset,
    NetworkComponent,
    NetworkLink,
    RunAssetRow,
    RunAssets,
    RunList,
    SiteSuggestionOut,
    SitingChange,
    SuggestedSite,
    WhatIfOut,
)
from app.schemas.analysis_runs import RunCapacity, RunDocument
from app.schemas.auth import (
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    Me,
    SessionOut,
    TokenOut,
    UserList,
    UserListed,
    UserOut,
)
from app.schemas.capacity import DefaultCapacityList, DefaultCapacityOut
from app.schemas.health import Liveness, Readiness
from app.schemas.imports import ImportRunList, ImportRunOut, ImportRunSummary
from app.schemas.items import HistoryEntry, HistoryList, LinkList, LinkOut, ResourceList, ResourceOut
from app.schemas.summary import NeighbourhoodSummary
from app.settings import Settings
from tests.app.helpers import create_asset
from tests.conftest import TEST_PASSWORD, Berlin

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


# JSON answers that may stay free-form objects without named members, each with its reason. None yet: a
# genuinely free-form part (an import's report, a run's totals) is a named field of a model instead.
FREE_FORM_ALLOWED: dict[str, str] = {}


def free_form_parts(document: dict[str, Any], schema: dict[str, Any], where: str = "") -> list[str]:
    """Where a schema is an object with no named members (`{}`, `additionalProperties` only), through arrays and
    unions but not into named members (those may be free-form: they are named)."""
    schema = resolved(document, schema)
    branches = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if branches:
        return [part for branch in branches for part in free_form_parts(document, branch, where)]
    if schema.get("type") == "array":
        return free_form_parts(document, schema.get("items", {}), where + "[]")
    if schema.get("type") in (None, "object") and not schema.get("properties") and "const" not in schema:
        return [where or "(body)"]
    return []


def test_no_json_success_answer_is_a_free_form_object(document: dict[str, Any]) -> None:
    """A client reading /openapi.json learns the name of every member an answer has."""
    free_form = []
    for name, answer in success_answers(document):
        for media_type, content in (answer.get("content") or {}).items():
            if is_json(media_type) and name not in FREE_FORM_ALLOWED:
                free_form += [
                    f"{name} {media_type} {part}" for part in free_form_parts(document, content["schema"])
                ]
    assert free_form == []


def test_the_check_for_free_form_answers_sees_one(document: dict[str, Any]) -> None:
    """The check above would catch what FastAPI documents for a route that returns a bare dict."""
    bare = {"type": "object", "additionalProperties": True, "title": "Response"}
    assert free_form_parts(document, bare) == ["(body)"]
    assert free_form_parts(document, {"type": "array", "items": {}}) == ["[]"]
    assert free_form_parts(document, {"anyOf": [{"type": "null"}, {"$ref": "#/components/schemas/Me"}]}) == []


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


def test_sign_in_keys_and_accounts_answer_as_their_models_say(client: TestClient, berlin: Berlin) -> None:
    holds_exactly(Liveness, client.get("/healthz").json())
    token = client.post("/api/auth/token", data={"username": "test-planner", "password": TEST_PASSWORD})
    assert token.status_code == 200, token.text
    holds_exactly(TokenOut, token.json())
    session = client.post(
        "/api/auth/session",
        data={"username": "test-planner", "password": TEST_PASSWORD},
        headers={"Origin": "http://testserver"},
    )
    assert session.status_code == 200, session.text
    holds_exactly(SessionOut, session.json())
    client.cookies.clear()
    planner = berlin.headers("planner")
    holds_exactly(Me, client.get("/api/auth/me", headers=planner).json())
    created = client.post("/api/auth/api-keys", json={"name": "nightly export"}, headers=planner)
    assert created.status_code == 201, created.text
    holds_exactly(ApiKeyCreated, created.json())
    keys = client.get("/api/auth/api-keys", headers=planner).json()
    holds_exactly(ApiKeyList, keys)
    holds_exactly(ApiKeyOut, keys["items"][0])

    admin = berlin.headers("admin")
    user = client.post(
        "/api/users",
        json={"username": "contract-org", "password": "long enough pw", "role": "organiser"},
        headers=admin,
    )
    assert user.status_code == 201, user.text
    holds_exactly(UserOut, user.json())
    changed = client.patch(f"/api/users/{user.json()['id']}", json={"active": False}, headers=admin)
    assert changed.status_code == 200, changed.text
    holds_exactly(UserOut, changed.json())
    users = client.get("/api/users", headers=admin).json()
    holds_exactly(UserList, users)
    organiser = next(u for u in users["items"] if u["username"] == "test-organiser")
    holds_exactly(UserListed, organiser)
    assert organiser["neighbourhood_codes"]  # a list with members, so the model's item type is checked too


def test_a_summary_answers_as_its_model_says(client: TestClient, berlin: Berlin) -> None:
    for role in (None, "planner"):
        summary = client.get(
            f"/api/neighbourhoods/{berlin.mitte_ids[0]}/summary", headers=berlin.headers(role)
        )
        assert summary.status_code == 200, summary.text
        holds_exactly(NeighbourhoodSummary, summary.json())
        for part in ("includes_children", "assets", "links"):
            model = NeighbourhoodSummary.model_fields[part].annotation
            assert isinstance(model, type) and issubclass(model, BaseModel)
            holds_exactly(model, summary.json()[part])


def test_run_results_and_scenarios_answer_as_their_models_say(client: TestClient, berlin: Berlin) -> None:
    planner = berlin.headers("planner")
    # with a default capacity unmet need is computable, so the scenarios have changes per area to check
    default = client.put(
        "/api/service-types/childcare/default-capacity", json={"capacity": 60}, headers=planner
    )
    assert default.status_code == 200, default.text
    holds_exactly(DefaultCapacityOut, default.json())
    defaults = client.get("/api/default-capacities", headers=planner).json()
    holds_exactly(DefaultCapacityList, defaults)
    holds_exactly(DefaultCapacityOut, defaults["items"][0])
    body = {"city": "Berlin", "service_type": "childcare", "radius_m": 500, "resolution": 8}
    run = client.post("/api/analysis/runs", json=body, headers=planner)
    assert run.status_code == 201, run.text
    holds_exactly(RunCapacity, run.json()["capacity"])
    run_id = run.json()["id"]
    for role in (None, "planner"):
        headers = berlin.headers(role)
        holds_exactly(RunDocument, client.get(f"/api/analysis/runs/{run_id}", headers=headers).json())
        runs = client.get("/api/analysis/runs", params={"limit": 2}, headers=headers).json()
        holds_exactly(RunList, runs)
        holds_exactly(RunDocument, runs["items"][0])
        assets = client.get(f"/api/analysis/runs/{run_id}/assets", headers=headers).json()
        holds_exactly(RunAssets, assets)
        assert assets["items"]
        holds_exactly(RunAssetRow, assets["items"][0])

    sites = client.post(f"/api/analysis/runs/{run_id}/suggest-sites", json={"p": 2}, headers=planner)
    assert sites.status_code == 200, sites.text
    holds_exactly(SiteSuggestionOut, sites.json())
    assert sites.json()["sites"] and sites.json()["neighbourhoods"]
    holds_exactly(SuggestedSite, sites.json()["sites"][0])
    holds_exactly(SitingChange, sites.json()["neighbourhoods"][0])
    holds_exactly(type(SiteSuggestionOut.model_validate(sites.json()).totals), sites.json()["totals"])

    close = [assets["items"][0]["id"]]
    closure = client.post(f"/api/analysis/runs/{run_id}/what-if", json={"close": close}, headers=planner)
    assert closure.status_code == 200, closure.text
    holds_exactly(WhatIfOut, closure.json())  # the planner's answer has units_losing_coverage
    holds_exactly(ClosureChange, closure.json()["neighbourhoods"][0])
    holds_exactly(type(WhatIfOut.model_validate(closure.json()).totals), closure.json()["totals"])


def test_the_network_answers_as_its_model_says(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    a, b = create_asset(client, berlin, name="Tool library"), create_asset(client, berlin, name="Repair café")
    link = client.post(
        "/api/links",
        json={"source_asset_id": a["id"], "target_asset_id": b["id"], "kind": "shared_space"},
        headers=admin,
    )
    assert link.status_code == 201, link.text
    for role in (None, "planner"):
        network = client.get("/api/analysis/network", params={"city": "Berlin"}, headers=berlin.headers(role))
        assert network.status_code == 200, network.text
        body = network.json()
        holds_exactly(Network, body)
        holds_exactly(type(Network.model_validate(body).totals), body["totals"])
        assert body["assets"] and body["links"] and body["components"], body["totals"]
        holds_exactly(NetworkAsset, body["assets"][0])
        holds_exactly(NetworkLink, body["links"][0])
        holds_exactly(NetworkComponent, body["components"][0])
