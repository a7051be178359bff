"""Cases through the API: who may open, update and decide, what the public register shows (never a community
body's contact), the rules' refusals as 409s that say why, history, a transfer's ownership and a city's regime."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.schemas.cases import CaseListed, CaseOut, DueSoonList, RegimeOut
from tests.app.helpers import MITTE_POINT, SPANDAU_POINT, create_asset
from tests.conftest import Berlin

CONTACT = "chair@friends-of-the-hall.example, 030 1234567"


def berlin_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/Berlin")).date()


def holds_exactly(model: type[BaseModel], body: dict[str, Any]) -> None:
    model.model_validate(body)
    assert set(body) == set(model.model_fields), model.__name__


def open_acv(client: TestClient, berlin: Berlin, role: str = "organiser", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "city": "Berlin",
        "kind": "acv",
        "asset": {"name": "Old Bathhouse", "geometry": MITTE_POINT},
        "community_body": {"name": "Friends of the Hall", "kind": "community_group", "contact": CONTACT},
        "opened_on": "2026-01-31",
    }
    body.update(fields)
    response = client.post("/api/cases", json=body, headers=berlin.headers(role))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def event(
    client: TestClient,
    berlin: Berlin,
    case_id: int,
    kind: str,
    on: str | dt.date,
    role: str = "planner",
    **more: Any,
) -> Any:
    return client.post(
        f"/api/cases/{case_id}/events",
        json={"kind": kind, "on": str(on), **more},
        headers=berlin.headers(role),
    )


def test_an_organiser_nominates_the_council_lists_and_the_register_shows_it_without_the_contact(
    client: TestClient, berlin: Berlin
) -> None:
    case = open_acv(client, berlin)
    holds_exactly(CaseOut, case)
    assert case["stage"] == "nominated" and case["asset"]["category"] == "physical_space"
    assert case["deadlines"]["decision_due"] == "2026-03-28"  # 31 January + 8 weeks
    assert case["community_body"]["contact"] == CONTACT
    assert case["neighbourhood"]["id"] in berlin.mitte_ids
    assert [e["kind"] for e in case["events"]] == ["nominated"]

    # a nomination waiting for its decision is not on the public register
    assert client.get(f"/api/cases/{case['id']}").status_code == 404
    assert case["id"] not in [
        c["id"] for c in client.get("/api/cases", params={"city": "Berlin"}).json()["items"]
    ]

    listed = event(client, berlin, case["id"], "listed", "2026-03-02")
    assert listed.status_code == 201, listed.text
    body = listed.json()
    assert body["stage"] == "listed" and body["decision_late"] is False
    assert body["deadlines"]["listing_expiry"] == "2031-03-01"
    assert body["deadlines"]["review_request_until"] == "2026-04-26"

    public = client.get(f"/api/cases/{case['id']}")
    assert public.status_code == 200
    assert public.json()["community_body"] == {
        "name": "Friends of the Hall",
        "kind": "community_group",
        "contact": None,
    }
    assert all(e["note"] is None for e in public.json()["events"])
    register = client.get("/api/cases", params={"city": "Berlin", "stage": "listed"})
    assert register.status_code == 200
    row = next(c for c in register.json()["items"] if c["id"] == case["id"])
    holds_exactly(CaseListed, row)
    assert row["community_body"]["contact"] is None
    assert CONTACT not in register.text and CONTACT not in public.text
    assert CONTACT in client.get(f"/api/cases/{case['id']}", headers=berlin.headers("organiser")).text


def test_roles_open_update_and_decide_where_they_may(client: TestClient, berlin: Berlin) -> None:
    refused = client.post(
        "/api/cases",
        json={
            "city": "Berlin",
            "kind": "acv",
            "asset": {"name": "Hall", "geometry": SPANDAU_POINT},
            "community_body": {"name": "G", "kind": "charity"},
        },
        headers=berlin.headers("organiser"),
    )
    assert refused.status_code == 403, refused.text  # Spandau is not the organiser's
    contributor = client.post(
        "/api/cases",
        json={
            "city": "Berlin",
            "kind": "acv",
            "asset_id": 1,
            "community_body": {"name": "G", "kind": "charity"},
        },
        headers=berlin.headers("contributor"),
    )
    assert contributor.status_code == 403 and "your role" in contributor.json()["detail"]
    assert client.post("/api/cases", json={}).status_code == 401

    case = open_acv(client, berlin)
    organiser_decides = event(client, berlin, case["id"], "listed", "2026-03-02", role="organiser")
    assert organiser_decides.status_code == 403
    assert "council's decision" in organiser_decides.json()["detail"]
    assert event(client, berlin, case["id"], "listed", "2026-03-02", role="contributor").status_code == 403
    assert event(client, berlin, case["id"], "listed", "2026-03-02", role=None).status_code == 401  # type: ignore[arg-type]
    assert event(client, berlin, case["id"], "listed", "2026-03-02", role="planner").status_code == 201
    # the organiser records the owner's notice; planners may too
    assert (
        event(client, berlin, case["id"], "notice_of_sale", "2026-05-04", role="organiser").status_code == 201
    )

    stale = client.patch(
        f"/api/cases/{case['id']}",
        json={"version": 1, "reference": "ACV/2026/7"},
        headers=berlin.headers("organiser"),
    )
    assert stale.status_code == 412
    current = client.get(f"/api/cases/{case['id']}", headers=berlin.headers("organiser")).json()["version"]
    changed = client.patch(
        f"/api/cases/{case['id']}",
        json={
            "version": current,
            "reference": "ACV/2026/7",
            "community_body": {"contact": "new@example.org"},
        },
        headers=berlin.headers("organiser"),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["reference"] == "ACV/2026/7"
    assert changed.json()["community_body"]["contact"] == "new@example.org"
    nameless = client.patch(
        f"/api/cases/{case['id']}",
        json={"version": current + 1, "community_body": {"kind": None}},
        headers=berlin.headers("organiser"),
    )
    assert nameless.status_code == 422 and nameless.json()["errors"][0]["field"] == "kind"
    assert (
        client.patch(
            f"/api/cases/{case['id']}", json={"version": current + 1}, headers=berlin.headers("contributor")
        ).status_code
        == 403
    )


def test_refused_transitions_are_409s_that_say_why_and_change_nothing(
    client: TestClient, berlin: Berlin
) -> None:
    case = open_acv(client, berlin)
    not_listed = event(client, berlin, case["id"], "notice_of_sale", "2026-02-10")
    assert not_listed.status_code == 409
    assert "not listed" in not_listed.json()["detail"]
    assert event(client, berlin, case["id"], "listed", "2026-03-02").status_code == 201
    assert event(client, berlin, case["id"], "notice_of_sale", "2026-04-01").status_code == 201
    second = event(client, berlin, case["id"], "notice_of_sale", "2026-11-02")
    assert second.status_code == 409
    assert "protected period" in second.json()["detail"] and "2027-09-30" in second.json()["detail"]
    late = event(client, berlin, case["id"], "bidder_request", "2026-05-13")
    assert late.status_code == 409 and "2026-05-12" in late.json()["detail"]
    future = event(client, berlin, case["id"], "sale_completed", berlin_today() + dt.timedelta(days=3))
    assert future.status_code == 409 and "after today" in future.json()["detail"]
    wrong_kind = event(client, berlin, case["id"], "terms_agreed", "2026-06-01", role="organiser")
    assert wrong_kind.status_code == 409 and "has no event" in wrong_kind.json()["detail"]
    stored = client.get(f"/api/cases/{case['id']}", headers=berlin.headers("planner")).json()
    assert [e["kind"] for e in stored["events"]] == ["nominated", "listed", "notice_of_sale"]
    assert stored["deadlines"]["interim_moratorium_end"] == "2026-05-12"
    assert stored["deadlines"]["protected_period_end"] == "2027-09-30"
    opened_late = client.post(
        "/api/cases",
        json={
            "city": "Berlin",
            "kind": "acv",
            "asset": {"name": "Future Hall", "geometry": MITTE_POINT},
            "community_body": {"name": "G", "kind": "charity"},
            "opened_on": str(berlin_today() + dt.timedelta(days=1)),
        },
        headers=berlin.headers("organiser"),
    )
    assert opened_late.status_code == 409
    assert (
        client.get("/api/assets", params={"q": "Future Hall"}).json()["features"] == []
    )  # nothing was stored


def test_the_moratorium_now_and_what_falls_due_soon(client: TestClient, berlin: Berlin) -> None:
    today = berlin_today()
    notice = today - dt.timedelta(days=10)
    case = open_acv(client, berlin, opened_on=str(today - dt.timedelta(days=120)))
    assert event(client, berlin, case["id"], "listed", today - dt.timedelta(days=90)).status_code == 201
    assert event(client, berlin, case["id"], "notice_of_sale", notice).status_code == 201
    state = event(client, berlin, case["id"], "bidder_request", today, role="organiser").json()
    interim_end = notice + dt.timedelta(days=41)  # six weeks beginning with the notice day
    assert state["moratorium"] == "interim"
    assert state["deadlines"]["interim_moratorium_end"] == interim_end.isoformat()
    assert state["running_deadlines"][:2] == ["interim_moratorium_end", "full_moratorium_end"]

    due = client.get("/api/cases/due-soon", params={"city": "Berlin", "days": 40})
    assert due.status_code == 200, due.text
    DueSoonList.model_validate(due.json())
    mine = [item for item in due.json()["items"] if item["case"]["id"] == case["id"]]
    assert [(i["deadline"], i["on"], i["days_left"]) for i in mine] == [
        ("interim_moratorium_end", interim_end.isoformat(), 31)
    ]
    assert CONTACT not in due.text
    neighbourhood = case["neighbourhood"]["id"]
    assert client.get("/api/cases/due-soon", params={"neighbourhood": neighbourhood, "days": 40}).json()[
        "items"
    ]
    other = client.get("/api/cases/due-soon", params={"city": "Berlin", "days": 30}).json()["items"]
    assert [i for i in other if i["case"]["id"] == case["id"]] == []
    assert client.get("/api/cases/due-soon", params={"days": 0}).status_code == 422


def test_a_completed_transfer_makes_the_asset_community_owned_in_its_history(
    client: TestClient, berlin: Berlin
) -> None:
    asset = create_asset(
        client, berlin, name="Town Hall Annex", category="physical_space", ownership="public"
    )
    opened = client.post(
        "/api/cases",
        json={
            "city": "Berlin",
            "kind": "transfer",
            "asset_id": asset["id"],
            "community_body": {"name": "Annex Trust", "kind": "charity"},
            "opened_on": "2026-02-02",
        },
        headers=berlin.headers("organiser"),
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    assert client.get(f"/api/cases/{case_id}").json()["stage"] == "requested"  # open transfers are public
    assert event(client, berlin, case_id, "approved", "2026-04-01").status_code == 201
    assert event(client, berlin, case_id, "terms_agreed", "2026-06-01", role="organiser").status_code == 201
    done = event(client, berlin, case_id, "completed", "2026-09-01", role="organiser")
    assert done.status_code == 201 and done.json()["stage"] == "completed"
    assert done.json()["asset"]["ownership"] == "community"
    assert client.get(f"/api/assets/{asset['id']}").json()["properties"]["ownership"] == "community"
    asset_history = client.get(f"/api/assets/{asset['id']}/history", headers=berlin.headers("admin")).json()[
        "items"
    ]
    assert asset_history[-1]["message"] == f"transfer completed (case {case_id})"
    assert client.get(f"/api/cases/{case_id}").status_code == 404  # completed: off the public register

    changes = client.get(f"/api/cases/{case_id}/history", headers=berlin.headers("organiser"))
    assert changes.status_code == 200
    items = changes.json()["items"]
    assert [c["action"] for c in items] == ["create", "update", "update", "update"]
    assert items[-1]["message"] == "completed on 2026-09-01"
    assert [e["kind"] for e in items[-1]["after"]["events"]] == [
        "requested",
        "approved",
        "terms_agreed",
        "completed",
    ]
    assert items[-1]["before"]["events"][-1]["kind"] == "terms_agreed"
    assert client.get(f"/api/cases/{case_id}/history").status_code == 401
    assert (
        client.get(f"/api/cases/{case_id}/history", headers=berlin.headers("contributor")).status_code == 403
    )


def test_a_case_is_never_on_a_person_and_a_case_asset_cannot_be_deleted(
    client: TestClient, berlin: Berlin
) -> None:
    person = create_asset(client, berlin, name="Ana, carpenter", category="individual")
    refused = client.post(
        "/api/cases",
        json={
            "city": "Berlin",
            "kind": "acv",
            "asset_id": person["id"],
            "community_body": {"name": "G", "kind": "charity"},
        },
        headers=berlin.headers("organiser"),
    )
    assert refused.status_code == 422 and "not on a person" in refused.json()["detail"]
    case = open_acv(client, berlin)
    asset = client.get(f"/api/assets/{case['asset']['id']}", headers=berlin.headers("admin"))
    deleted = client.delete(
        f"/api/assets/{case['asset']['id']}",
        headers={**berlin.headers("admin"), "If-Match": asset.headers["etag"]},
    )
    assert deleted.status_code == 409 and "cases" in deleted.json()["detail"]


def test_documents_are_metadata_and_only_public_ones_reach_the_register(
    client: TestClient, berlin: Berlin
) -> None:
    case = open_acv(client, berlin)
    assert event(client, berlin, case["id"], "listed", "2026-03-02").status_code == 201
    for title, public in (("Decision letter", True), ("Members' list", False)):
        added = client.post(
            f"/api/cases/{case['id']}/documents",
            json={
                "title": title,
                "document_kind": "decision" if public else "evidence",
                "document_date": "2026-03-02",
                "url": "https://council.example/acv/7.pdf",
                "media_type": "application/pdf",
                "public": public,
            },
            headers=berlin.headers("organiser"),
        )
        assert added.status_code == 201, added.text
    assert [d["title"] for d in client.get(f"/api/cases/{case['id']}").json()["documents"]] == [
        "Decision letter"
    ]
    staff = client.get(f"/api/cases/{case['id']}", headers=berlin.headers("organiser")).json()
    assert [d["title"] for d in staff["documents"]] == ["Decision letter", "Members' list"]
    bad = client.post(
        f"/api/cases/{case['id']}/documents",
        json={"title": "x", "document_kind": "other", "url": "javascript:alert(1)"},
        headers=berlin.headers("organiser"),
    )
    assert bad.status_code == 422


def test_a_city_sets_its_regime_and_its_cases_follow_it(client: TestClient, berlin: Berlin) -> None:
    default = client.get("/api/cases/regimes/Berlin")
    assert default.status_code == 200
    holds_exactly(RegimeOut, default.json())
    assert default.json()["own"] is False and default.json()["time_zone"] == "Europe/Berlin"
    assert default.json()["periods"]["acv_decision"] == {
        "amount": 8,
        "unit": "weeks",
        "start_day_counts": False,
    }
    assert default.json()["periods"]["challenge_decision"] is None
    body = {"periods": {"challenge_decision": {"amount": 3, "unit": "months", "start_day_counts": False}}}
    assert (
        client.put("/api/cases/regimes/Berlin", json=body, headers=berlin.headers("planner")).status_code
        == 403
    )
    changed = client.put("/api/cases/regimes/Berlin", json=body, headers=berlin.headers("admin"))
    assert changed.status_code == 200, changed.text
    assert changed.json()["own"] is True and changed.json()["periods"]["acv_listing"]["amount"] == 5
    challenge = client.post(
        "/api/cases",
        json={
            "city": "Berlin",
            "kind": "challenge",
            "asset": {"name": "Youth club", "geometry": MITTE_POINT},
            "community_body": {"name": "Staff mutual", "kind": "employees"},
            "opened_on": "2026-11-30",
        },
        headers=berlin.headers("organiser"),
    )
    assert challenge.status_code == 201, challenge.text
    assert (
        challenge.json()["deadlines"]["decision_due"] == "2027-02-28"
    )  # 30 November + 3 months: February's end
    bad = client.put(
        "/api/cases/regimes/Berlin", json={"time_zone": "Berlin/Mitte"}, headers=berlin.headers("admin")
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "time_zone"
    reset = client.put("/api/cases/regimes/Berlin", json={"reset": True}, headers=berlin.headers("admin"))
    assert reset.json()["own"] is False


def test_list_filters_are_checked(client: TestClient, berlin: Berlin) -> None:
    assert client.get("/api/cases", params={"stage": "sold"}).status_code == 422
    assert client.get("/api/cases", params={"kind": "lease"}).status_code == 422
    assert client.get("/api/cases", params={"city": "Atlantis"}).status_code == 404
    assert client.get("/api/cases", params={"neighbourhood": 999999}).status_code == 404
    assert client.get("/api/cases/999999").status_code == 404


def test_a_listing_expires_by_the_calendar_alone_and_stays_on_the_register(
    client: TestClient, berlin: Berlin
) -> None:
    case = open_acv(client, berlin, opened_on="2020-01-06")
    listed = event(client, berlin, case["id"], "listed", "2020-02-03")
    assert listed.status_code == 201, listed.text
    body = listed.json()
    assert body["stage"] == "expired" and body["ended_on"] == "2025-02-02" and body["running_deadlines"] == []
    expired = client.get("/api/cases", params={"city": "Berlin", "stage": "expired"}).json()["items"]
    assert case["id"] in [c["id"] for c in expired]
    refused = event(client, berlin, case["id"], "notice_of_sale", "2025-03-03", role="organiser")
    assert refused.status_code == 409 and "not listed" in refused.json()["detail"]
