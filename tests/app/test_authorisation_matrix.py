"""Every route of the app, taken from its own route table, times every role: who gets in and who is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import Berlin

ROLES: tuple[str | None, ...] = (None, "contributor", "organiser", "planner", "gis", "admin")
# Routes anyone may call, on purpose: probes, the API description, static files and sign-in itself.
OPEN_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/api/auth/token"),
    ("POST", "/api/auth/session"),
    ("GET", "/"),
}
# Who each access rule lets in (None = anonymous, when anonymous reading is on).
RULE_ROLES: dict[str, set[str | None]] = {
    "read_public": {None, "contributor", "organiser", "planner", "gis", "admin"},
    "signed_in": {"contributor", "organiser", "planner", "gis", "admin"},
    "contribute": {"contributor", "organiser", "gis", "admin"},
    "edit_features": {"organiser", "gis", "admin"},
    "review": {"organiser", "admin"},
    "read_history": {"organiser", "planner", "gis", "admin"},
    "manage_geography": {"gis", "admin"},
    "import_data": {"gis", "admin"},
    "run_analysis": {"organiser", "planner", "admin"},
    "set_default_capacity": {"planner", "admin"},
    "set_venue_kinds": {"planner", "admin"},
    "work_cases": {"organiser", "planner", "gis", "admin"},
    "administer": {"admin"},
}


def iter_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI versions differ in how they keep them)."""
    stack: list[Any] = list(app.routes)
    while stack:
        route = stack.pop(0)
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            stack.extend(route.original_router.routes)


def access_rule(route: APIRoute) -> str | None:
    """The name of the access-rule dependency a route uses (exactly one is expected)."""
    rules = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        rule = getattr(dep.call, "access_rule", None)
        if rule:
            rules.add(rule)
        stack.extend(dep.dependencies)
    assert len(rules) <= 1, f"{route.path} has several access rules: {rules}"
    return rules.pop() if rules else None


def route_table(app: FastAPI) -> list[tuple[str, str, str | None]]:
    """(method, path, rule) for every route; logout last, since it revokes the caller's token."""
    table = [
        (method, route.path, access_rule(route))
        for route in iter_routes(app)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"})
    ]
    return sorted(table, key=lambda r: (r[1] == "/api/auth/logout", r[1], r[0]))


def concrete(path: str) -> str:
    """Fill path parameters with plausible values (ids of the Berlin sample, a service-type slug)."""
    path = path.replace("{slug}", "childcare").replace("{city}", "Berlin")
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_has_an_access_rule() -> None:
    app = create_app()
    missing = [(m, p) for m, p, rule in route_table(app) if rule is None and (m, p) not in OPEN_ROUTES]
    assert missing == [], f"routes without an access rule (add one from app.deps): {missing}"
    unknown = {rule for _m, _p, rule in route_table(app) if rule and rule not in RULE_ROLES}
    assert unknown == set(), f"rules the matrix does not know: {unknown}"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_authorisation_matrix(client: TestClient, berlin: Berlin, role: str | None) -> None:
    table = route_table(client.app)  # type: ignore[arg-type]
    assert len(table) >= 40
    outcomes = []
    for method, path, rule in table:
        if rule is None:
            continue
        response = client.request(method, concrete(path), headers=berlin.headers(role), json={})
        allowed = role in RULE_ROLES[rule]
        detail = (
            response.json().get("detail", "")
            if response.headers.get("content-type", "").startswith("application/json")
            else ""
        )
        refused_by_role = response.status_code == 403 and "your role" in str(detail)
        if allowed:
            ok = response.status_code != 401 and not refused_by_role
        elif role is None:
            ok = response.status_code == 401
        else:
            ok = refused_by_role
        outcomes.append((ok, method, path, rule, response.status_code))
        assert response.status_code < 500, (method, path, response.text)
    wrong = [o[1:] for o in outcomes if not o[0]]
    assert wrong == [], f"role {role}: unexpected outcomes (method, path, rule, status): {wrong}"


def test_anonymous_reading_can_be_turned_off(berlin: Berlin) -> None:
    from tests.conftest import make_settings

    app = create_app(make_settings(berlin.url, anonymous_read=False))
    with TestClient(app) as client:
        refused = client.get("/api/assets", params={"limit": 1})
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert (
            client.get("/api/assets", params={"limit": 1}, headers=berlin.headers("contributor")).status_code
            == 200
        )
        assert client.get("/healthz").status_code == 200
        start = client.get("/")  # the sign-in page stays reachable, without the city list
        assert start.status_code == 200 and 'id="city-' not in start.text
