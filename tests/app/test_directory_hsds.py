"""The directory in Open Referral HSDS 3.0: every answer valid against the official schemas (closed objects, as
the specification's own checks do), the standard's paging, stable UUIDs, CORS for any origin on /hsds only,
no people or sensitive assets, and the tabular export accepted by Frictionless."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from frictionless import Package

from tests.app.helpers import create_asset
from tests.app.hsds_schemas import SCHEMA_DIR, page_problems, problems
from tests.conftest import Berlin


def _get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    return response.json()


def test_the_schemas_are_the_specifications_3_0_with_their_licence() -> None:
    package = json.loads((SCHEMA_DIR / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == "3.0.0"
    assert "Creative Commons Attribution Share-Alike 4.0" in (SCHEMA_DIR / "LICENSE").read_text(
        encoding="utf-8"
    )
    assert (SCHEMA_DIR / "PROVENANCE.md").exists()


def test_root_says_hsds_3_0(client: TestClient) -> None:
    root = _get(client, "/hsds/")
    assert root["version"] == "3.0" and root["openapi_url"].endswith("/hsds/openapi.json")
    openapi = _get(client, "/hsds/openapi.json")
    assert "/services" in openapi["paths"] and openapi["info"]["title"].startswith("assetmap")


def test_services_pages_and_items_validate(client: TestClient) -> None:
    first = _get(client, "/hsds/services", per_page=3)
    assert page_problems(first, "compiled/service_list.json") == []
    assert first["page_number"] == 1 and first["size"] == 3 and first["first_page"] and not first["empty"]
    total = first["total_items"]
    assert total >= 10 and first["total_pages"] == -(-total // 3)
    last = _get(client, "/hsds/services", per_page=3, page=first["total_pages"])
    assert last["last_page"] and last["size"] == total - 3 * (first["total_pages"] - 1)
    beyond = _get(client, "/hsds/services", per_page=3, page=first["total_pages"] + 1)
    assert (
        beyond["empty"]
        and beyond["contents"] == []
        and page_problems(beyond, "compiled/service_list.json") == []
    )
    full = _get(client, "/hsds/services", per_page=50, full="true")
    assert page_problems(full, "service.json") == []
    for item in full["contents"]:
        one = _get(client, f"/hsds/services/{item['id']}")
        assert problems("service.json", one) == [], one
        assert one["id"] == item["id"]
    lunch = next(s for s in full["contents"] if s["name"].startswith("Weekday lunch"))
    assert lunch["cost_options"][0]["amount"] == 4.5 and lunch["cost_options"][0]["currency"] == "EUR"
    assert (
        lunch["schedules"][0]["byday"] == "MO,TU,WE,TH,FR" and lunch["schedules"][0]["opens_at"] == "12:00:00"
    )
    assert {lang["code"] for lang in lunch["languages"]} == {"de", "ru"}
    location = lunch["service_at_locations"][0]["location"]
    assert problems("location.json", location) == [] and location["accessibility"]


def test_organizations_locations_and_links_validate(client: TestClient) -> None:
    orgs = _get(client, "/hsds/organizations", per_page=100)
    assert page_problems(orgs, "compiled/organization_list.json") == [] and orgs["total_items"] >= 5
    one = _get(client, f"/hsds/organizations/{orgs['contents'][0]['id']}")
    assert problems("organization.json", one) == []
    locations = _get(client, "/hsds/locations", per_page=100)
    assert page_problems(locations, "location.json") == []
    place = _get(client, f"/hsds/locations/{locations['contents'][0]['id']}")
    assert problems("location.json", place) == []
    links = _get(client, "/hsds/service_at_locations", per_page=100)
    assert page_problems(links, "compiled/service_at_location_list.json") == []


def test_identifiers_are_uuids_and_stable(client: TestClient) -> None:
    a = _get(client, "/hsds/services", per_page=100)
    b = _get(client, "/hsds/services", per_page=100, city="Berlin")
    assert [s["id"] for s in a["contents"]] == [s["id"] for s in b["contents"]]
    for service in a["contents"]:
        assert uuid.UUID(service["id"]).version == 5
        assert uuid.UUID(service["organization_id"]).version == 5


def test_cors_only_on_hsds(client: TestClient) -> None:
    preflight = client.options(
        "/hsds/services", headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    missing = client.get(f"/hsds/services/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "*"
    bare = client.get("/hsds", follow_redirects=False)
    assert bare.status_code in (301, 307, 308) and bare.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in client.get("/api/directory/budget").headers
    assert "access-control-allow-origin" not in client.get("/api/service-types").headers


def test_bad_parameters_are_4xx(client: TestClient) -> None:
    for url in (
        "/hsds/services?page=0",
        "/hsds/services?per_page=0",
        "/hsds/services?per_page=100000",
        "/hsds/services?page=abc",
        "/hsds/services/not-a-uuid",
        "/hsds/organizations/not-a-uuid",
        "/hsds/locations/12",
        "/hsds/services?city=Atlantis",
    ):
        response = client.get(url)
        assert 400 <= response.status_code < 500, (url, response.status_code, response.text)
        assert response.headers["access-control-allow-origin"] == "*"


def test_people_and_sensitive_assets_are_never_published(client: TestClient, berlin: Berlin) -> None:
    admin = berlin.headers("admin")
    for name, extra in (("Volunteer Jo", {"category": "individual"}), ("Safe house", {"sensitive": True})):
        asset = create_asset(client, berlin, name=name, **extra)["id"]
        body = {"service_type": "older-people", "name": f"{name} service"}
        assert client.post(f"/api/assets/{asset}/service-offers", json=body, headers=admin).status_code == 201
    # an entry still waiting for review is not published either
    pending = create_asset(client, berlin, role="contributor", name="Unreviewed hall")
    assert pending["properties"]["status"] == "pending"
    body = {"service_type": "older-people", "name": "Unreviewed hall service"}
    assert (
        client.post(f"/api/assets/{pending['id']}/service-offers", json=body, headers=admin).status_code
        == 201
    )
    services = _get(client, "/hsds/services", per_page=500, full="true")
    assert "Unreviewed hall" not in json.dumps(services)
    text = json.dumps(services) + json.dumps(_get(client, "/hsds/organizations", per_page=500))
    text += json.dumps(_get(client, "/hsds/locations", per_page=500))
    assert "Volunteer Jo" not in text and "Safe house" not in text
    export = client.get("/hsds/export.zip")
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        everything = "".join(archive.read(n).decode() for n in archive.namelist())
    assert "Volunteer Jo" not in everything and "Safe house" not in everything


def test_tabular_export_is_a_valid_data_package(client: TestClient, tmp_path: Path) -> None:
    export = client.get("/hsds/export.zip", params={"city": "Berlin"})
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        archive.extractall(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "datapackage.json" in names and "services.csv" in names and "cost_options.csv" in names
    report = Package(str(tmp_path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    services = (tmp_path / "services.csv").read_text(encoding="utf-8").splitlines()
    assert len(services) - 1 == _get(client, "/hsds/services", city="Berlin")["total_items"]
    # a broken file is caught by the same check: the test can fail
    (tmp_path / "services.csv").write_text(services[0] + "\nnot-a-uuid,,,,,,,,,\n", encoding="utf-8")
    assert not Package(str(tmp_path / "datapackage.json")).validate().valid


def test_reloading_the_sample_keeps_offer_ids_and_so_hsds_identifiers(
    client: TestClient, berlin: Berlin
) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from app.db.models import City, ServiceOffer
    from app.services.directory.sample import load_directory_sample

    before = [s["id"] for s in _get(client, "/hsds/services", per_page=500)["contents"]]
    with Session(berlin.engine) as db:
        ids = list(db.scalars(select(ServiceOffer.id).order_by(ServiceOffer.id)))
        city = db.get(City, berlin.city_id)
        assert city is not None
        with db.begin_nested():
            assert load_directory_sample(db, city, berlin.settings.data_dir / "berlin") == 10
            assert list(db.scalars(select(ServiceOffer.id).order_by(ServiceOffer.id))) == ids
        db.rollback()
    assert [s["id"] for s in _get(client, "/hsds/services", per_page=500)["contents"]] == before


def test_search_and_organization_filters(client: TestClient) -> None:
    found = _get(client, "/hsds/services", search="lunch")
    assert {s["name"] for s in found["contents"]} == {
        "Weekday lunch table (Mittagstisch)",
        "Pay-what-you-can neighbourhood lunch",
    }
    assert _get(client, "/hsds/services", search="100%_no")["empty"]
    provider = next(s for s in found["contents"] if s["name"].startswith("Weekday"))["organization_id"]
    theirs = _get(client, "/hsds/services", organization_id=provider)
    assert theirs["total_items"] == 2 and {s["organization_id"] for s in theirs["contents"]} == {provider}
    assert page_problems(theirs, "compiled/service_list.json") == []
