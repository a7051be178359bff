"""The services directory through the API: service offers with history, the budget question on the Berlin demo,
eligibility and budget filters, privacy of people and sensitive assets, the phone page, and bad input."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.app.helpers import create_asset
from tests.conftest import Berlin

ALEX: dict[str, Any] = {"city": "Berlin", "lat": 52.5219, "lon": 13.4132}
# Monday 30 March 2026, the day after Berlin's clocks went forward (CET -> CEST)
MONDAY_AFTER_DST = "2026-03-30T10:30:00+02:00"


def _offer(
    client: TestClient, berlin: Berlin, asset_id: int, role: str = "admin", **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"service_type": "older-people", "name": "Lunch club"}
    body.update(fields)
    response = client.post(f"/api/assets/{asset_id}/service-offers", json=body, headers=berlin.headers(role))
    assert response.status_code == 201, response.text
    return response.json()


def _budget(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/directory/budget", params={**ALEX, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_200_euros_a_month_for_a_70_year_old_near_alexanderplatz(client: TestClient) -> None:
    answer = _budget(client, budget=200, age=70, at=MONDAY_AFTER_DST)
    names = [row["name"] for row in answer["items"]]
    assert "Seniorencafé (coffee and conversation)" in names
    assert "Weekday lunch table (Mittagstisch)" in names  # 4.50 x 20 = 90 a month
    assert "Polish language course" not in names  # 240 a month: over budget
    assert (
        "Children's health check" not in names and "Youth club evenings" not in names
    )  # not for a 70-year-old
    assert answer["left_out"]["over budget"] >= 1 and answer["left_out"]["not eligible"] >= 1
    lunch = next(r for r in answer["items"] if r["name"].startswith("Weekday lunch"))
    assert lunch["cost_per_month"]["min"] == 90.0 and lunch["cost_per_month"]["currency"] == "EUR"
    assert "20 sessions" in lunch["cost_per_month"]["basis"]
    assert lunch["open_at_asked_time"] == "closed"  # 10:30, lunch is 12:00-14:00
    for row in answer["items"]:
        assert row["cost_per_month"]["min"] <= 200
    # ranked by distance band, then cost
    keys = [(int(r["distance_m"] // 250), r["cost_per_month"]["min"]) for r in answer["items"]]
    assert keys == sorted(keys)
    assert [r["rank"] for r in answer["items"]] == list(range(1, len(answer["items"]) + 1))


def test_budget_and_service_type_filters(client: TestClient) -> None:
    cheap = _budget(client, budget=10, age=70)
    assert all(r["cost_per_month"]["min"] <= 10 for r in cheap["items"])
    assert "Seated gymnastics for older people" not in [r["name"] for r in cheap["items"]]  # 5 x 4 = 20
    # a range whose lower end fits is listed, flagged as not wholly within budget
    pay_what_you_can = _budget(client, budget=10, age=30, service_type="food-support")
    rows = {r["name"]: r for r in pay_what_you_can["items"]}
    assert rows["Pay-what-you-can neighbourhood lunch"]["cost_per_month"] == {
        "min": 0.0,
        "max": 24.0,
        "currency": "EUR",
        "basis": "per session x 8 sessions a month (the service's)",
        "within_budget": False,
    }
    assert {r["service_type"] for r in pay_what_you_can["items"]} == {"food-support"}
    # the question's sessions a month applies to per-session prices that do not give their own
    only_sport = _budget(client, budget=1000, age=30, service_type="sport-and-play")
    assert {r["service_type"] for r in only_sport["items"]} == {"sport-and-play"}


def test_eligibility_age_group_residency_and_referral(client: TestClient, berlin: Berlin) -> None:
    asset = create_asset(client, berlin, name="Stadtteiltreff test")["id"]
    _offer(
        client, berlin, asset, name="Women's group", population_group="female", service_type="community-space"
    )
    _offer(
        client,
        berlin,
        asset,
        name="Residents' advice",
        residency_required=True,
        service_type="housing-advice",
    )
    _offer(client, berlin, asset, name="Referred care", referral_required=True, service_type="health")
    _offer(client, berlin, asset, name="Over 65 club", population_group="over_65", min_age=65)

    def names(**params: Any) -> set[str]:
        return {r["name"] for r in _budget(client, budget=50, radius_m=300, **params)["items"]}

    plain = names(age=70)
    assert "Over 65 club" in plain and "Residents' advice" in plain
    assert "Women's group" not in plain and "Referred care" not in plain
    assert "Women's group" in names(age=70, group="female")
    assert "Referred care" in names(age=70, referral="true")
    assert "Residents' advice" not in names(age=70, resident="false")
    assert "Over 65 club" not in names(age=40)


def test_offer_crud_history_and_versions(client: TestClient, berlin: Berlin) -> None:
    asset = create_asset(client, berlin)["id"]
    offer = _offer(
        client,
        berlin,
        asset,
        cost_kind="fixed",
        cost_period="session",
        cost_min=3.5,
        currency="EUR",
        sessions_per_month=8,
        languages=["de", "tr"],
        opening_hours="Mo-Fr 12:00-14:00; PH off",
        booking="Call the desk",
    )
    assert offer["cost"]["per_month"]["min"] == 28.0 and offer["languages"] == ["de", "tr"]
    got = client.get(f"/api/service-offers/{offer['id']}")
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    listed = client.get(f"/api/assets/{asset}/service-offers").json()["items"]
    assert [o["id"] for o in listed] == [offer["id"]]
    admin = berlin.headers("admin")
    changed = client.patch(
        f"/api/service-offers/{offer['id']}",
        json={"cost_kind": "free", "message": "now free"},
        headers={**admin, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["cost"]["kind"] == "free" and changed.json()["version"] == 2
    stale = client.patch(
        f"/api/service-offers/{offer['id']}", json={"name": "x"}, headers={**admin, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert client.delete(f"/api/service-offers/{offer['id']}", headers=admin).status_code == 204
    entries = client.get(f"/api/service-offers/{offer['id']}/history", headers=admin).json()["items"]
    assert [e["action"] for e in entries] == ["create", "update", "delete"]
    assert entries[1]["before"]["cost_min"] == 3.5 and entries[1]["after"]["cost_kind"] == "free"
    assert entries[1]["message"] == "now free"
    assert client.get(f"/api/service-offers/{offer['id']}").status_code == 404


def test_writing_needs_edit_rights_where_the_asset_is(client: TestClient, berlin: Berlin) -> None:
    asset = create_asset(client, berlin)["id"]
    body = {"service_type": "older-people", "name": "x"}
    assert client.post(f"/api/assets/{asset}/service-offers", json=body).status_code in (401, 403)
    contributor = client.post(
        f"/api/assets/{asset}/service-offers", json=body, headers=berlin.headers("contributor")
    )
    assert contributor.status_code == 403


def test_bad_offers_are_refused_with_the_field_to_fix(client: TestClient, berlin: Berlin) -> None:
    asset = create_asset(client, berlin)["id"]
    admin = berlin.headers("admin")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"cost_kind": "fixed", "cost_period": "month", "currency": "EUR"}, "cost_min"),
        (
            {"cost_kind": "range", "cost_period": "month", "cost_min": 9, "cost_max": 3, "currency": "EUR"},
            "cost_max",
        ),
        ({"cost_kind": "fixed", "cost_period": "month", "cost_min": 9}, "currency"),
        ({"min_age": 70, "max_age": 20}, "max_age"),
        ({"opening_hours": "Mo-Fr 9-17 or so"}, "opening_hours"),
        ({"population_group": "martians"}, "population_group"),
        ({"service_type": "no-such-type"}, "service_type"),
        ({"cost_kind": "gratis"}, "cost_kind"),
        ({"languages": ["de!"]}, "languages"),
    ]
    for fields, field in cases:
        body = {"service_type": "older-people", "name": "x", **fields}
        response = client.post(f"/api/assets/{asset}/service-offers", json=body, headers=admin)
        assert response.status_code in (400, 422), (fields, response.text)
        assert field in response.text, (fields, response.text)


def test_bad_budget_questions_are_4xx(client: TestClient) -> None:
    for params in (
        {"budget": -1},
        {"budget": "lots"},
        {"budget": 100, "lat": 95},
        {"budget": 100, "age": 200},
        {"budget": 100, "service_type": "no-such-type"},
        {"budget": 100, "group": "martians"},
        {"budget": 100, "city": "Atlantis"},
        {"budget": 100, "at": "yesterday"},
        {"budget": 100, "radius_m": 0},
    ):
        response = client.get("/api/directory/budget", params={**ALEX, **params})
        assert 400 <= response.status_code < 500, (params, response.status_code, response.text)


def test_people_and_sensitive_assets_are_never_in_the_answer(client: TestClient, berlin: Berlin) -> None:
    person = create_asset(client, berlin, name="Volunteer Jo", category="individual")["id"]
    hidden = create_asset(client, berlin, name="Shelter", sensitive=True)["id"]
    _offer(client, berlin, person, name="Jo's home visits")
    _offer(client, berlin, hidden, name="Shelter lunches")
    names = {r["name"] for r in _budget(client, budget=500, age=70, radius_m=500)["items"]}
    assert "Jo's home visits" not in names and "Shelter lunches" not in names
    # nor readable by anonymous visitors through the offers API
    assert client.get(f"/api/assets/{person}/service-offers").status_code == 404


def test_the_phone_page_answers_the_example_and_escapes_text(client: TestClient, berlin: Berlin) -> None:
    page = client.get("/directory/budget", params={**ALEX, "budget": "200", "age": "70"})
    assert page.status_code == 200
    assert 'name="viewport"' in page.text and "Seniorencafé" in page.text
    assert "Weekday lunch table" in page.text and "Polish language course" not in page.text
    assert "<script>" not in page.text.replace('<script src="/static/js/directory.js"></script>', "")
    asset = create_asset(client, berlin, name="Café <b>Treff</b>")["id"]
    _offer(client, berlin, asset, name="<script>alert(1)</script>")
    shown = client.get("/directory/budget", params={**ALEX, "budget": "200", "age": "70"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text and "<script>alert(1)" not in shown.text
    bad = client.get("/directory/budget", params={**ALEX, "budget": "lots"})
    assert bad.status_code == 422 and "budget must be a number" in bad.text
    empty = client.get("/directory/budget")
    assert empty.status_code == 200 and "Example: 200 euros a month" in empty.text
