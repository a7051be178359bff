"""Schemathesis over every operation of /openapi.json: no server errors, and every answer as documented.

The app runs on its own scratch database (Berlin sample and one admin), so what the fuzzer writes and deletes never
reaches the session database the other tests share. Runs are bounded and seeded, so CI gets the same cases each time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from app.db.models import User
from app.deps import get_db
from app.main import create_app
from app.policy import Principal
from app.settings import Settings
from tests.conftest import create_database, drop_database, make_settings

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Bounded and seeded for CI (about three minutes in all on two cores); raise the examples to search harder locally.
SEED = int(os.environ.get("ASSETMAP_FUZZ_SEED", "20240601"))
MAX_EXAMPLES = int(os.environ.get("ASSETMAP_FUZZ_EXAMPLES", "12"))  # per operation and mode (fuzzing phase)
STATEFUL_STEPS = 10
STATEFUL_SCENARIOS = 30
FUZZ_ADMIN = "fuzz-admin"
FUZZ_ORGANISER = "fuzz-organiser"
# The organiser's run covers the writes where per-neighbourhood rights decide (map items, neighbourhoods, cases),
# with fewer examples: its reads are the admin's minus what the rules hide, and the admin-only routes refuse it
# outright. The point is the rights on writes: 403 and 404 answers as documented, never a 5xx.
WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
ORGANISER_PATHS = r"^/api/(assets|needs|resources|links|neighbourhoods|cases)(/|$)"
ORGANISER_EXAMPLES = max(1, MAX_EXAMPLES // 3)


# Findings other work still has to fix: (finding, the cases it covers). Only matching cases are skipped, never an
# operation. Empty: every finding of the security review is fixed; keep the mechanism for the next one.
KNOWN_ISSUES: list[tuple[str, Callable[[Any], bool]]] = []


@dataclass
class FuzzSite:
    """The scratch database the fuzzer may break, with an admin account whose tokens it can always renew."""

    url: str
    settings: Settings
    engine: Engine
    admin_id: int
    organiser_id: int
    organiser_areas: list[int]


@pytest.fixture(scope="module")
def fuzz_site() -> Iterator[FuzzSite]:
    """A database of its own: Berlin sample, one admin; dropped at the end."""
    from app.db.session import session_scope
    from app.services import auth
    from app.services.migrations import upgrade
    from app.services.sample import load_berlin

    url = create_database("assetmap_fuzz")
    try:
        upgrade(url)
        settings = make_settings(url)
        with session_scope(settings) as db:
            # Berlin gets an id the fuzzer does not guess, so a DELETE /api/cities/1 early in the run cannot take
            # the sample away from every operation after it.
            db.execute(text("SELECT setval(pg_get_serial_sequence('city', 'id'), :start)"), {"start": 90_000})
            report = load_berlin(db, settings)
            admin = auth.add_user(db, FUZZ_ADMIN, "fuzz-admin-password", "admin")
            admin_id = admin.id
            organiser = auth.add_user(db, FUZZ_ORGANISER, "fuzz-organiser-password", "organiser")
            organiser_id = organiser.id
            areas = auth.assign_by_code(db, FUZZ_ORGANISER, report.city_id, ["0110", "0120"])
        engine = create_engine(url)
        yield FuzzSite(url, settings, engine, admin_id, organiser_id, areas)
        engine.dispose()
    finally:
        drop_database(url)


class DeferredApp:
    """An ASGI app that forwards to the app the `fuzz_app` fixture builds on the scratch database.

    Schemathesis needs the schema when the module is collected, before a fixture can make the database;
    `schemathesis.pytest.from_fixture` would wait, but it does not work with pytest 9.2 (it sets `_nodeid`).
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "the fuzz_app fixture builds the app"
        await self.app(scope, receive, send)


DEFERRED_APP = DeferredApp()


@pytest.fixture(scope="module", autouse=True)
def fuzz_app(fuzz_site: FuzzSite) -> Iterator[FastAPI]:
    """The real app on the scratch database, behind DEFERRED_APP."""
    DEFERRED_APP.app = create_app(fuzz_site.settings)
    yield DEFERRED_APP.app


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large", "large_base_example"],
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
        }
    )


def _load_schema() -> schemathesis.BaseSchema:
    """/openapi.json of an app with the test settings (the database is not reached to describe the API)."""
    described = create_app(
        make_settings("postgresql+psycopg://assetmap@127.0.0.1:5432/assetmap_fuzz_describe")
    )
    loaded = schemathesis.openapi.from_dict(described.openapi(), config=_config())
    loaded.app = DEFERRED_APP
    return loaded


@pytest.fixture(scope="module")
def admin_headers(fuzz_site: FuzzSite) -> Callable[[], dict[str, str]]:
    """A fresh admin key per call: the fuzzer may sign out, revoke keys or demote its own account."""
    from app.services import auth

    def issue() -> dict[str, str]:
        with Session(fuzz_site.engine) as db:
            user = db.get(User, fuzz_site.admin_id)
            assert user is not None
            user.active = True
            user.role = "admin"
            db.flush()
            principal = Principal(user.id, user.username, "admin", frozenset(), None)
            issued = auth.create_api_key(db, fuzz_site.settings, principal, "fuzz")
        return {"X-API-Key": issued.token}

    return issue


@pytest.fixture(scope="module")
def organiser_headers(fuzz_site: FuzzSite) -> Callable[[], dict[str, str]]:
    """A fresh organiser key per call, the account active and still assigned to the neighbourhoods that remain
    (the admin run may have changed or deleted either)."""
    from app.db.models import Neighbourhood
    from app.services import auth

    def issue() -> dict[str, str]:
        with Session(fuzz_site.engine) as db:
            user = db.get(User, fuzz_site.organiser_id)
            assert user is not None
            user.active = True
            user.role = "organiser"
            db.flush()
            remaining = list(
                db.scalars(select(Neighbourhood.id).where(Neighbourhood.id.in_(fuzz_site.organiser_areas)))
            )
            auth.assign_neighbourhoods(db, user.id, remaining)
            principal = Principal(user.id, user.username, "organiser", frozenset(remaining), None)
            issued = auth.create_api_key(db, fuzz_site.settings, principal, "fuzz")
        return {"X-API-Key": issued.token}

    return issue


STATUS_LOG = os.environ.get("ASSETMAP_FUZZ_LOG")  # a file to append "mode method path status" lines to


def _record(mode: str, case: Any, response: Any) -> None:
    if STATUS_LOG:
        with open(STATUS_LOG, "a", encoding="utf-8") as log:
            log.write(f"{mode} {case.method} {case.path} {response.status_code} {response.text[:200]!r}\n")


def _known_issue(case: Any) -> str | None:
    for finding, matches in KNOWN_ISSUES:
        if matches(case):
            return finding
    return None


schema = _load_schema()
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ_SETTINGS
def test_anonymous_requests_get_documented_answers(case: Any) -> None:
    """Without credentials: no 5xx, and status, content type, headers and body as /openapi.json says."""
    if _known_issue(case):
        return
    _record("anonymous", case, case.call_and_validate(checks=CHECKS))


@schema.parametrize()
@FUZZ_SETTINGS
def test_admin_requests_get_documented_answers(
    case: Any, admin_headers: Callable[[], dict[str, str]]
) -> None:
    """With an admin key (writes reach the scratch database): the same checks."""
    if _known_issue(case):
        return
    _record("admin", case, case.call_and_validate(headers=admin_headers(), checks=CHECKS))


@schema.include(method=WRITE_METHODS, path_regex=ORGANISER_PATHS).parametrize()
@hypothesis.settings(FUZZ_SETTINGS, max_examples=ORGANISER_EXAMPLES)
def test_organiser_writes_get_documented_answers(
    case: Any, organiser_headers: Callable[[], dict[str, str]]
) -> None:
    """With an organiser's key (rights in two neighbourhoods only): every write answers as documented, no 5xx."""
    if _known_issue(case):
        return
    _record("organiser", case, case.call_and_validate(headers=organiser_headers(), checks=CHECKS))


def test_every_error_answer_is_documented_as_the_error_body() -> None:
    """Every 4xx in /openapi.json is the ErrorBody the handlers send; FastAPI's own 422 shape appears nowhere."""
    described = schema.raw_schema
    assert "HTTPValidationError" not in described["components"]["schemas"]
    for path, operations in described["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith("4"):
                    refs = answer["content"]["application/json"]["schema"]
                    assert refs == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)


def test_admin_scenarios_follow_the_documented_links(
    fuzz_site: FuzzSite, fuzz_app: FastAPI, admin_headers: Callable[[], dict[str, str]]
) -> None:
    """Stateful: create, then read, change (with the ETag), delete and read again along /openapi.json's links.

    Each scenario runs in a transaction rolled back at its end, so every scenario starts from the same data and
    Hypothesis sees the same answers when it replays one.
    """
    checks = [*CHECKS, use_after_free, ensure_resource_availability]

    class AdminScenarios(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.connection = fuzz_site.engine.connect()
            self.transaction = self.connection.begin()

            def scenario_db() -> Iterator[Session]:
                with Session(
                    bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
                ) as session:
                    yield session

            fuzz_app.dependency_overrides[get_db] = scenario_db

        def teardown(self) -> None:
            fuzz_app.dependency_overrides.pop(get_db, None)
            self.transaction.rollback()
            self.connection.close()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": admin_headers()}

        def call(self, case: Any, **kwargs: Any) -> Any:
            # A link can carry a known-issue value (a city named "²" made by POST /api/cities): not sent at all.
            if _known_issue(case) is not None:
                hypothesis.reject()
            return super().call(case, **kwargs)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            if _known_issue(case) is None:
                _record("stateful", case, response)
                case.validate_response(response, checks=checks, headers=kwargs.get("headers"))

    AdminScenarios.run(
        settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_invalid_input_has_one_shape_from_validation_and_from_the_apps_own_checks(
    fuzz_site: FuzzSite, admin_headers: Callable[[], dict[str, str]]
) -> None:
    """A refused request body and a refused list parameter both answer an ErrorBody with the `errors` list."""
    from fastapi.testclient import TestClient

    from app.schemas.errors import ErrorBody

    with TestClient(create_app(fuzz_site.settings)) as client:
        missing = client.post("/api/assets", json={"city": "Berlin"}, headers=admin_headers())
        too_many = client.get("/api/assets", params={"limit": 0})
        not_an_etag = client.patch(
            "/api/assets/1", json={"name": "x"}, headers={**admin_headers(), "If-Match": "yesterday"}
        )
    for response in (missing, too_many, not_an_etag):
        assert response.status_code == 422, response.text
        ErrorBody.model_validate(response.json())
    body = missing.json()
    assert {(e["field"], e["location"]) for e in body["errors"]} == {
        ("name", "body"),
        ("category", "body"),
        ("geometry", "body"),
    }
    assert "name: Field required" in body["detail"]
    assert too_many.json()["errors"] == [
        {"field": "limit", "location": None, "problem": too_many.json()["detail"]}
    ]
    assert not_an_etag.json()["field"] == "If-Match"


def test_a_city_crs_that_cannot_measure_metres_is_refused_when_it_is_set(
    fuzz_site: FuzzSite, admin_headers: Callable[[], dict[str, str]]
) -> None:
    """EPSG:0000 (no such CRS) and EPSG:4326 (degrees) matched the pattern and were stored, then failed analysis."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(fuzz_site.settings)) as client:
        refused = [
            client.post("/api/cities", json={"name": f"Nowhere {crs}", "crs": crs}, headers=admin_headers())
            for crs in ("EPSG:0000", "EPSG:4326")
        ]
        riga = client.post(
            "/api/cities", json={"name": "Rīga fuzz", "crs": "EPSG:3059"}, headers=admin_headers()
        )
    for response in refused:
        assert response.status_code == 422 and response.json()["field"] == "crs", response.text
    assert "projected CRS in metres" in refused[1].json()["detail"]
    assert riga.status_code == 201
