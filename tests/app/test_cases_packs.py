"""Evidence packs (docs/PACKS.md): the PDF is made and pdftotext reads the asset, the what-if API's figure, the
data date and the run id in it; community text stays text in the page and the PDF; no contact and no exact
location of a person; the challenge pack's worst-served areas and sites; nothing fetched; 4xx; who may see."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import (
    AnalysisRun,
    Asset,
    AssetServiceType,
    Change,
    City,
    CommunityCase,
    Neighbourhood,
    ServiceType,
)
from app.templating import templates
from tests.app.helpers import MITTE_POINT, create_asset
from tests.conftest import Berlin
from tests.inert_text import assert_not_in_templates, compiled_template_sources

CONTACT = "chair@friends-of-the-bath.example"
MARKUP = "<b>x</b> {{ 7*7 }} {% if 1 %}block{% endif %}"
# a person right next to the centre: their exact place must never show
PERSON_LON, PERSON_LAT = 13.41987, 52.52345


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    )
    return re.sub(r"[ \t]+", " ", done.stdout)


def community_centre(db: Session, berlin: Berlin) -> Asset:
    """A published community centre of the sample in the organiser's Mitte, the one with the fewest other places
    offering community space within the service's radius (so closing it takes access from someone)."""
    other = aliased(Asset)
    offering = (
        select(AssetServiceType.asset_id)
        .join(ServiceType, ServiceType.id == AssetServiceType.service_type_id)
        .where(ServiceType.slug == "community-space")
    )
    radius = (
        select(ServiceType.default_radius_m).where(ServiceType.slug == "community-space").scalar_subquery()
    )
    neighbours = (
        select(func.count())
        .where(
            other.id != Asset.id,
            other.id.in_(offering),
            other.status == "approved",
            func.ST_DWithin(func.Geography(other.geom), func.Geography(Asset.geom), radius),
        )
        .scalar_subquery()
    )
    asset = db.scalar(
        select(Asset)
        .where(
            Asset.city_id == berlin.city_id,
            Asset.kind == "community_centre",
            Asset.status == "approved",
            Asset.neighbourhood_id.in_(berlin.mitte_ids),
            Asset.id.in_(offering),
        )
        .order_by(neighbours, Asset.id)
        .limit(1)
    )
    assert asset is not None, "the Berlin sample has a community centre in Mitte"
    return asset


def open_case(
    client: TestClient, berlin: Berlin, asset_id: int, kind: str = "acv", **more: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "city": "Berlin",
        "kind": kind,
        "asset_id": asset_id,
        "community_body": {"name": f"Friends {MARKUP}", "kind": "community_group", "contact": CONTACT},
        "description": f"Why it matters: {MARKUP}",
        "opened_on": "2026-01-31",
        **more,
    }
    response = client.post("/api/cases", json=body, headers=berlin.headers("organiser"))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def run_id_of(html: str) -> int:
    found = re.search(r'class="run-id">(\d+)<', html)
    assert found, "the pack names its run"
    return int(found.group(1))


@pytest.fixture
def acv(client: TestClient, berlin: Berlin, db: Session) -> dict[str, Any]:
    centre = community_centre(db, berlin)
    person = create_asset(
        client,
        berlin,
        name="Person offering a room",
        category="individual",
        geometry={"type": "Point", "coordinates": [PERSON_LON, PERSON_LAT]},
    )
    case = open_case(client, berlin, centre.id)
    return {"case": case, "centre": centre, "person": person}


def test_the_acv_pack_pdf_holds_the_asset_the_what_if_figure_the_data_date_and_the_run(
    client: TestClient, berlin: Berlin, db: Session, acv: dict[str, Any], tmp_path: Path
) -> None:
    case, centre = acv["case"], acv["centre"]
    organiser = berlin.headers("organiser")
    page = client.get(f"/cases/{case['id']}/pack", headers=organiser)
    assert page.status_code == 200, page.text
    html = page.text
    run_id = run_id_of(html)

    pdf = client.get(f"/cases/{case['id']}/pack.pdf", headers=organiser)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    text = pdf_text(pdf.content, tmp_path)

    # the figure equals the what-if API's on the same run, asked by the same reader (the public view)
    answer = client.post(
        f"/api/analysis/runs/{run_id}/what-if", json={"close": [centre.id]}, headers=organiser
    )
    assert answer.status_code == 200, answer.text
    losing = answer.json()["totals"]["population_losing_coverage"]
    assert losing > 0, "closing a community centre takes access from someone"
    shown = re.search(r'class="figure people-losing" data-value="([^"]+)"', html)
    assert shown and float(shown.group(1)) == losing
    assert f"{losing:,.0f} people" in text

    data_date = db.scalar(select(City.data_date).where(City.id == berlin.city_id))
    assert data_date and f"Data date: {data_date}" in text
    assert (
        f"analysis run {run_id}" in text and f"runs {run_id}" in text
    )  # the check box and every page's foot
    assert centre.name in text and "community-space" in text
    assert "Its place in the relationship network" in text and "Resources it holds" in text
    assert "Needs mapped nearby" in text


def test_community_text_with_markup_is_text_in_the_page_and_the_pdf(
    client: TestClient, berlin: Berlin, acv: dict[str, Any], tmp_path: Path
) -> None:
    case_id = acv["case"]["id"]
    if templates.env.cache is not None:
        templates.env.cache.clear()  # so the pack's template is compiled, and recorded, here
    with compiled_template_sources() as sources:
        html = client.get(f"/cases/{case_id}/pack", headers=berlin.headers("organiser")).text
    assert_not_in_templates(sources, [MARKUP])
    assert "<b>x</b>" not in html and "49 block" not in html and "&lt;/b&gt; 49" not in html
    assert "&lt;b&gt;x&lt;/b&gt; {{ 7*7 }} {% if 1 %}block{% endif %}" in html
    pdf = client.get(f"/cases/{case_id}/pack.pdf", headers=berlin.headers("organiser")).content
    text = pdf_text(pdf, tmp_path)
    assert "Friends <b>x</b> {{ 7*7 }} {% if 1 %}block{% endif %}" in text
    assert "Why it matters: <b>x</b> {{ 7*7 }}" in text


@pytest.mark.parametrize("role", ["organiser", "planner", "admin"])
def test_no_contact_and_no_exact_place_of_a_person_in_any_pack(
    client: TestClient, berlin: Berlin, acv: dict[str, Any], tmp_path: Path, role: str
) -> None:
    case_id = acv["case"]["id"]
    headers = berlin.headers(role)
    # the case page shows the contact to those who may see it; the pack never does
    if role == "organiser":
        assert CONTACT in client.get(f"/cases/{case_id}", headers=headers).text
    html = client.get(f"/cases/{case_id}/pack", headers=headers).text
    text = pdf_text(client.get(f"/cases/{case_id}/pack.pdf", headers=headers).content, tmp_path)
    for document in (html, text):
        assert CONTACT not in document and "friends-of-the-bath" not in document
        assert "Person offering a room" not in document
        for coordinate in (PERSON_LON, PERSON_LAT):
            assert f"{coordinate}" not in document and f"{coordinate:.4f}" not in document
    person = acv["person"]
    assert person["properties"]["name"] not in html


def test_a_challenge_pack_lists_the_worst_served_areas_and_suggested_sites(
    client: TestClient, berlin: Berlin, db: Session, tmp_path: Path
) -> None:
    area = db.get(Neighbourhood, berlin.mitte_ids[0])
    assert area is not None
    params = {"city": "Berlin", "service": "community-space", "neighbourhood": area.code}
    page = client.get("/packs/challenge", params=params, headers=berlin.headers("organiser"))
    assert page.status_code == 200, page.text
    html = page.text
    worst = re.findall(r'<td class="worst-name">([^<]+?) <span', html)
    sites = re.findall(r'<td class="site-name">([^<]+?)(?: <span|</td>)', html)
    assert len(worst) >= 3 and sites, "worst-served neighbourhoods and suggested sites are listed"
    assert area.name in html and 'id="pack-candidates"' in html
    run_id = run_id_of(html)

    pdf = client.get("/packs/challenge.pdf", params=params, headers=berlin.headers("organiser"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    text = pdf_text(pdf.content, tmp_path)
    assert worst[0].replace("&#39;", "'") in text
    assert "Suggestion" in text and f"run {run_id}" in text

    # the same pack for a Right to Challenge case on an asset of that area
    centre = community_centre(db, berlin)
    case = open_case(client, berlin, centre.id, kind="challenge")
    pack = client.get(f"/cases/{case['id']}/pack", headers=berlin.headers("organiser"))
    assert pack.status_code == 200, pack.text
    assert "Right to Challenge" in pack.text and 'id="pack-worst"' in pack.text


class _Counting(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    _Counting.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", _Counting.hits
    finally:
        server.shutdown()
        server.server_close()


def test_rendering_fetches_nothing_but_its_own_map(
    client: TestClient, berlin: Berlin, db: Session, acv: dict[str, Any], http_server: tuple[str, list[str]]
) -> None:
    from weasyprint import HTML

    from app.policy import Principal
    from app.services.cases import packs
    from app.services.cases.read import get_record

    base, hits = http_server
    # the fetcher refuses a network URL in a document (a real server counts what reaches it)
    fetcher = packs.offline_fetcher()
    hostile = f'<p>x</p><img src="{base}/tile.png"><link rel="stylesheet" href="{base}/a.css">'
    HTML(string=hostile, url_fetcher=fetcher).write_pdf()
    assert hits == [] and len(fetcher.refused) == 2

    # a real pack: only its data: map is fetched, nothing is refused, no URL of a resource is in it
    organiser = Principal(
        user_id=berlin.user_ids["organiser"], role="organiser", neighbourhood_ids=frozenset(berlin.mitte_ids)
    )
    record = get_record(db, berlin.settings, organiser, acv["case"]["id"])
    pack = packs.asset_pack(db, berlin.settings, organiser, record)
    fetcher = packs.offline_fetcher()
    assert packs.render_pdf(pack, fetcher).startswith(b"%PDF-")
    assert (
        fetcher.refused == []
        and fetcher.fetched
        and all(u.startswith("data:image/png") for u in fetcher.fetched)
    )
    html = packs.render_html(pack)
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_bad_requests_are_4xx_that_say_what_to_do(
    client: TestClient, berlin: Berlin, acv: dict[str, Any]
) -> None:
    organiser = berlin.headers("organiser")
    assert client.get("/cases/999999/pack.pdf", headers=organiser).status_code == 404
    assert client.get("/cases/0/pack", headers=organiser).status_code == 422
    case_id = acv["case"]["id"]
    wrong = client.get(f"/cases/{case_id}/pack", params={"service": "schools"}, headers=organiser)
    assert wrong.status_code in (400, 422) and "Right to Challenge" in wrong.text
    base = {"city": "Berlin", "service": "community-space", "neighbourhood": "0110"}
    for change, status in (
        ({"service": "no-such-service"}, 422),
        ({"neighbourhood": "no-such-area"}, 404),
        ({"city": "Atlantis"}, 404),
        ({"run": "999999"}, 404),
    ):
        answer = client.get("/packs/challenge", params={**base, **change}, headers=organiser)
        assert answer.status_code == status, (change, answer.status_code, answer.text[:300])
    assert client.get("/packs/challenge", params={"city": "Berlin"}, headers=organiser).status_code == 422
    # a run of another service
    run_id = run_id_of(client.get(f"/cases/{case_id}/pack", headers=organiser).text)
    other = client.get(
        "/packs/challenge", params={**base, "service": "schools", "run": run_id}, headers=organiser
    )
    assert other.status_code == 422 and "is not a run of schools" in other.text


def test_who_may_see_a_pack(client: TestClient, berlin: Berlin, acv: dict[str, Any], tmp_path: Path) -> None:
    case_id = acv["case"]["id"]
    # a nomination waiting for the decision is not public: no pack for visitors or contributors
    assert client.get(f"/cases/{case_id}/pack.pdf").status_code == 404
    assert client.get(f"/cases/{case_id}/pack", headers=berlin.headers("contributor")).status_code == 404
    listed = client.post(
        f"/api/cases/{case_id}/events",
        json={"kind": "listed", "on": "2026-03-02"},
        headers=berlin.headers("planner"),
    )
    assert listed.status_code == 201, listed.text
    # listed, it is on the public register: a visitor's pack says what it lacks until someone who may compute
    # scenarios has opened it, then prints the run and what-if that reader's pack stored
    first = client.get(f"/cases/{case_id}/pack")
    assert first.status_code == 200
    # (another test's committed run may exist: then the what-if is what is missing)
    assert "no coverage-gap run" in first.text or "it has not been yet" in first.text
    organiser_html = client.get(f"/cases/{case_id}/pack", headers=berlin.headers("organiser")).text
    visitor_html = client.get(f"/cases/{case_id}/pack").text
    figure = re.compile(r'class="figure people-losing" data-value="([^"]+)"')
    shown = figure.search(visitor_html)
    assert shown and shown.group(1) == figure.search(organiser_html).group(1)  # type: ignore[union-attr]
    assert run_id_of(visitor_html) == run_id_of(organiser_html)
    visitor = client.get(f"/cases/{case_id}/pack.pdf")
    assert visitor.status_code == 200 and visitor.content.startswith(b"%PDF-")
    text = pdf_text(visitor.content, tmp_path)
    assert acv["centre"].name in text and "people" in text and CONTACT not in text

    # a visitor's challenge pack computes no sites: it prints the ones an organiser's pack suggested
    params = {"city": "Berlin", "service": "community-space", "neighbourhood": "0110"}
    before = client.get("/packs/challenge", params=params)
    assert before.status_code == 200 and "no sites suggested on run" in before.text
    client.get("/packs/challenge", params=params, headers=berlin.headers("organiser"))
    after = client.get("/packs/challenge", params=params)
    assert 'id="pack-sites"' in after.text and "Suggestion 1 of run" in after.text


@pytest.fixture
def assetmap(berlin: Berlin) -> Iterator[CliRunner]:
    """Commands against the session database; the cases and runs they commit are removed afterwards."""
    with berlin.engine.connect() as conn:
        last_case = conn.execute(select(func.coalesce(func.max(CommunityCase.id), 0))).scalar_one()
        last_run = conn.execute(select(func.coalesce(func.max(AnalysisRun.id), 0))).scalar_one()
    yield CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "COLUMNS": "200",
        }
    )
    with berlin.engine.begin() as conn:
        conn.execute(delete(Change).where(Change.kind == "cases", Change.item_id > last_case))
        conn.execute(delete(CommunityCase).where(CommunityCase.id > last_case))
        conn.execute(delete(AnalysisRun).where(AnalysisRun.id > last_run))


def test_the_command_line_writes_the_pdf_and_the_html(
    assetmap: CliRunner, berlin: Berlin, tmp_path: Path
) -> None:
    with berlin.engine.connect() as conn:
        centre = community_centre(Session(bind=conn), berlin)
    added = assetmap.invoke(
        cli,
        [
            "case",
            "add",
            "--city",
            "Berlin",
            "--kind",
            "acv",
            "--asset",
            str(centre.id),
            "--body",
            "CLI friends",
            "--body-kind",
            "community_group",
            "--contact",
            CONTACT,
            "--on",
            "2026-01-31",
        ],
    )
    assert added.exit_code == 0, added.output
    case_id = int(re.search(r"case (\d+)", added.output).group(1))  # type: ignore[union-attr]
    out = tmp_path / "pack.pdf"
    done = assetmap.invoke(cli, ["case", "pack", str(case_id), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_bytes().startswith(b"%PDF-") and "analysis runs" in done.output
    text = pdf_text(out.read_bytes(), tmp_path)
    assert centre.name in text and "CLI friends" in text and CONTACT not in text
    page = tmp_path / "pack.html"
    done = assetmap.invoke(cli, ["case", "pack", str(case_id), "--out", str(page), "--html"])
    assert done.exit_code == 0, done.output
    assert 'id="pack-asset-name"' in page.read_text(encoding="utf-8")
    missing = assetmap.invoke(cli, ["case", "pack", "999999", "--out", str(out)])
    assert missing.exit_code != 0 and "no case 999999" in missing.output


def test_a_pack_of_a_new_building_without_services_says_what_it_cannot_measure(
    client: TestClient, berlin: Berlin, tmp_path: Path
) -> None:
    body = {
        "city": "Berlin",
        "kind": "acv",
        "asset": {"name": "Old Bathhouse", "geometry": MITTE_POINT},
        "community_body": {"name": "Friends of the Bathhouse", "kind": "community_group", "contact": CONTACT},
        "opened_on": "2026-01-31",
    }
    opened = client.post("/api/cases", json=body, headers=berlin.headers("organiser"))
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    html = client.get(f"/cases/{case_id}/pack", headers=berlin.headers("organiser")).text
    assert "The asset offers no service, so no closure can be measured." in html
    pdf = client.get(f"/cases/{case_id}/pack.pdf", headers=berlin.headers("organiser"))
    assert pdf.status_code == 200
    text = pdf_text(pdf.content, tmp_path)
    assert "Old Bathhouse" in text and "not shaded: no analysis run" in text and CONTACT not in text
    assert 'id="pack-map" src="data:image/png;base64,' in html
