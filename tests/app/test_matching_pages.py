"""The organiser's matching page and the dashboard page: what each reader may do there, text shown as text."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.matching_helpers import create_need, offering, point_at
from tests.conftest import Berlin

HTML = {"Accept": "text/html"}


def test_the_matching_page_ranks_and_lets_the_organiser_commit(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin, description="<b>Shopping</b> for neighbours")
    _, near = offering(client, berlin, point_at(200), description="<script>alert(1)</script> errands")
    _, far = offering(client, berlin, point_at(2500))
    page = client.get(
        "/matches", params={"need": need["id"]}, headers={**HTML, **berlin.headers("organiser")}
    )
    assert page.status_code == 200, page.text
    body = page.text
    assert body.index(f'id="candidate-{near}"') < body.index(f'id="candidate-{far}"')
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt; errands" in body
    assert "&lt;b&gt;Shopping&lt;/b&gt; for neighbours" in body
    assert f'class="commit-form" data-resource="{near}"' in body
    assert "from the need" in body and "/static/js/matches.js" in body
    assert "script-src 'self';" in page.headers["content-security-policy"]  # no inline script
    made = client.post(
        "/api/commitments",
        json={"resource_id": near, "need_id": need["id"], "quantity": 2},
        headers=berlin.headers("organiser"),
    ).json()
    again = client.get(
        "/matches", params={"need": need["id"]}, headers={**HTML, **berlin.headers("organiser")}
    ).text
    assert f'id="commitment-{made["id"]}"' in again and 'data-stage="agreed"' in again
    assert "8 hours left" in again
    visitor = client.get("/matches", params={"need": need["id"]}, headers=HTML).text
    assert "commit-form" not in visitor and "stage-button" not in visitor
    contributor = client.get(
        "/matches", params={"need": need["id"]}, headers={**HTML, **berlin.headers("contributor")}
    )
    assert "commit-form" not in contributor.text and f'id="commitment-{made["id"]}"' in contributor.text


def test_the_matching_page_lists_needs_and_refuses_bad_input(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    chooser = client.get("/matches", params={"city": "Berlin"}, headers=HTML)
    assert chooser.status_code == 200 and f'<option value="{need["id"]}"' in chooser.text
    missing = client.get("/matches", params={"need": 99_999_999}, headers=HTML)
    assert missing.status_code == 404 and "no need 99999999" in missing.text
    bad_date = client.get("/matches", params={"need": need["id"], "starts_on": "tomorrow"}, headers=HTML)
    assert bad_date.status_code == 422 and "write it as YYYY-MM-DD" in bad_date.text
    assert client.get("/matches", params={"city": "Atlantis"}, headers=HTML).status_code == 404


def test_the_dashboard_page(client: TestClient, berlin: Berlin) -> None:
    need = create_need(client, berlin)
    _, resource = offering(client, berlin, point_at(200))
    c = client.post(
        "/api/commitments",
        json={"resource_id": resource, "need_id": need["id"], "quantity": 1},
        headers=berlin.headers("organiser"),
    ).json()
    for stage in ("agreed", "active"):
        client.patch(
            f"/api/commitments/{c['id']}", json={"stage": stage}, headers=berlin.headers("organiser")
        )
    client.patch(
        f"/api/commitments/{c['id']}",
        json={"stage": "done", "hours_given": 6.5, "people_helped": 3},
        headers=berlin.headers("organiser"),
    )
    mitte = need["properties"]["neighbourhood_id"]
    page = client.get("/dashboard", params={"city": "Berlin", "neighbourhood": mitte}, headers=HTML)
    assert page.status_code == 200, page.text
    assert '<th scope="row">older-people</th><td class="num">1</td>' in page.text
    assert '<td class="num">6.5</td><td class="num">3</td>' in page.text
    bad = client.get("/dashboard", params={"city": "Berlin", "period": "last week"}, headers=HTML)
    assert bad.status_code == 422 and "YYYY or YYYY-MM" in bad.text
