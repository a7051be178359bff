"""The public register and what people take away from it: the page, CSV, GeoJSON, the iCalendar feed of deadlines
and the Atom feed of events. Markup in a community body's name stays text, and no contact reaches any of them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from tests.app.helpers import MITTE_POINT
from tests.conftest import Berlin

CONTACT = "private-contact@example.org"
HOSTILE = '<script>alert("x")</script> & {{ 7*7 }} Friends'
ATOM = "{http://www.w3.org/2005/Atom}"


def berlin_today() -> dt.date:
    return dt.datetime.now(ZoneInfo("Europe/Berlin")).date()


def post(client: TestClient, berlin: Berlin, url: str, body: dict[str, Any], role: str) -> dict[str, Any]:
    response = client.post(url, json=body, headers=berlin.headers(role))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def open_case(
    client: TestClient, berlin: Berlin, name: str, body_name: str, on: str, kind: str = "acv"
) -> int:
    body = {
        "city": "Berlin",
        "kind": kind,
        "asset": {"name": name, "geometry": MITTE_POINT},
        "community_body": {"name": body_name, "kind": "community_group", "contact": CONTACT},
        "opened_on": on,
        "note": "call the chair after 6pm",
    }
    return int(post(client, berlin, "/api/cases", body, "organiser")["id"])


@pytest.fixture
def cases(client: TestClient, berlin: Berlin) -> dict[str, int]:
    """A listed ACV under a notice of sale (markup in its body's name), a nomination waiting, an unsuccessful one
    and an open transfer."""
    today = berlin_today()
    listed = open_case(client, berlin, "Old Bathhouse", HOSTILE, "2026-01-31")
    post(client, berlin, f"/api/cases/{listed}/events", {"kind": "listed", "on": "2026-03-02"}, "planner")
    notice = today - dt.timedelta(days=10)
    post(
        client,
        berlin,
        f"/api/cases/{listed}/events",
        {"kind": "notice_of_sale", "on": str(notice)},
        "organiser",
    )
    waiting = open_case(client, berlin, "Corner Pub", "Pub Friends", str(today - dt.timedelta(days=3)))
    unsuccessful = open_case(client, berlin, "Car Park", '=HYPERLINK("http://evil.example")', "2026-02-02")
    post(
        client,
        berlin,
        f"/api/cases/{unsuccessful}/events",
        {"kind": "unsuccessful", "on": "2026-03-20"},
        "planner",
    )
    transfer = open_case(client, berlin, "Library Annex", "Annex Trust", "2026-06-01", kind="transfer")
    return {"listed": listed, "waiting": waiting, "unsuccessful": unsuccessful, "transfer": transfer}


def test_the_register_page_shows_the_public_cases_with_markup_as_text(
    client: TestClient, berlin: Berlin, cases: dict[str, int]
) -> None:
    page = client.get("/cases", params={"city": "Berlin"})
    assert page.status_code == 200
    text = page.text
    for key in ("listed", "unsuccessful", "transfer"):
        assert f'id="case-{cases[key]}"' in text
    assert f'id="case-{cases["waiting"]}"' not in text  # a nomination waiting for its decision is not public
    assert "<script>alert" not in text and "&lt;script&gt;alert(" in text
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; {{ 7*7 }} Friends"
    assert f'<td class="community-body">{escaped}</td>' in text  # shown as typed, never run as a template
    assert CONTACT not in text and "call the chair" not in text
    assert "interim moratorium" in text
    only_unsuccessful = client.get("/cases", params={"city": "Berlin", "stage": "unsuccessful"}).text
    assert f'id="case-{cases["unsuccessful"]}"' in only_unsuccessful
    assert f'id="case-{cases["listed"]}"' not in only_unsuccessful
    listed_case = client.get(f"/api/cases/{cases['listed']}").json()
    inside = client.get(
        "/cases", params={"city": "Berlin", "neighbourhood": listed_case["neighbourhood"]["id"]}
    )
    assert f'id="case-{cases["listed"]}"' in inside.text
    spandau = next(
        f["id"]
        for f in client.get("/api/neighbourhoods", params={"city": "Berlin", "limit": 1000}).json()[
            "features"
        ]
        if f["properties"]["code"].startswith("05")
    )
    elsewhere = client.get("/cases", params={"city": "Berlin", "neighbourhood": spandau}).text
    assert (
        f'id="case-{cases["listed"]}"' not in elsewhere
        and "No case on the register with these filters" in elsewhere
    )
    assert 'id="open-case-form"' not in text  # visitors cannot open cases
    assert 'id="open-case-form"' in client.get("/cases", headers=berlin.headers("organiser")).text
    assert client.get("/cases", params={"city": "Atlantis"}).status_code == 404


def test_a_case_page_shows_the_contact_only_to_its_organisers_and_the_council(
    client: TestClient, berlin: Berlin, cases: dict[str, int]
) -> None:
    public = client.get(f"/cases/{cases['listed']}")
    assert public.status_code == 200
    assert CONTACT not in public.text and "call the chair" not in public.text
    assert "&lt;script&gt;" in public.text and "<script>alert" not in public.text
    assert 'id="event-form"' not in public.text
    assert "2031-03-01" in public.text  # the listing's expiry
    organiser = client.get(f"/cases/{cases['listed']}", headers=berlin.headers("organiser"))
    assert CONTACT in organiser.text and 'id="event-form"' in organiser.text
    assert client.get(f"/cases/{cases['waiting']}").status_code == 404
    assert client.get(f"/cases/{cases['waiting']}", headers=berlin.headers("planner")).status_code == 200


def test_the_csv_and_geojson_exports_hold_the_register_and_no_contact(
    client: TestClient, berlin: Berlin, cases: dict[str, int]
) -> None:
    exported = client.get("/api/cases/register.csv", params={"city": "Berlin"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = {int(r["case_id"]): r for r in csv.DictReader(io.StringIO(exported.text))}
    assert set(rows) >= {cases["listed"], cases["unsuccessful"], cases["transfer"]}
    assert cases["waiting"] not in rows
    listed = rows[cases["listed"]]
    assert listed["community_body_name"] == HOSTILE  # as typed: a CSV is data
    assert listed["stage"] == "listed" and listed["moratorium"] == "interim"
    assert listed["listing_expiry"] == "2031-03-01" and listed["decision_due"] == "2026-03-28"
    assert float(listed["lon"]) == pytest.approx(13.4132) and float(listed["lat"]) == pytest.approx(52.5219)
    assert rows[cases["unsuccessful"]]["community_body_name"].startswith(
        "'=HYPERLINK"
    )  # no formula in a spreadsheet
    assert CONTACT not in exported.text and "call the chair" not in exported.text

    geojson = client.get("/api/cases/register.geojson", params={"city": "Berlin", "stage": "listed"})
    assert geojson.status_code == 200 and geojson.headers["content-type"] == "application/geo+json"
    features = {f["id"]: f for f in geojson.json()["features"]}
    assert cases["listed"] in features and cases["unsuccessful"] not in features
    assert features[cases["listed"]]["geometry"]["type"] == "Point"
    assert features[cases["listed"]]["properties"]["community_body_name"] == HOSTILE
    assert CONTACT not in geojson.text
    # staff asking for the register get the register too, not their own view of every stage
    staff = client.get(
        "/api/cases/register.csv", params={"city": "Berlin"}, headers=berlin.headers("planner")
    )
    assert str(cases["waiting"]) not in [r["case_id"] for r in csv.DictReader(io.StringIO(staff.text))]


def test_the_calendar_feed_parses_and_holds_the_computed_deadlines(
    client: TestClient, berlin: Berlin, cases: dict[str, int]
) -> None:
    feed = client.get("/api/cases/deadlines.ics", params={"city": "Berlin"})
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    listed = cases["listed"]
    notice = berlin_today() - dt.timedelta(days=10)
    expected = {
        f"case-{listed}-decision_due@assetmap": dt.date(2026, 3, 28),
        f"case-{listed}-review_request_until@assetmap": dt.date(2026, 4, 26),
        f"case-{listed}-listing_expiry@assetmap": dt.date(2031, 3, 1),
        f"case-{listed}-interim_moratorium_end@assetmap": notice + dt.timedelta(days=41),
    }
    for uid, day in expected.items():
        assert events[uid].decoded("DTSTART") == day, uid
        assert events[uid].decoded("DTEND") == day + dt.timedelta(days=1)
    protected = events[f"case-{listed}-protected_period_end@assetmap"].decoded("DTSTART")
    assert protected == notice + _months(notice, 18)
    assert "Old Bathhouse" in str(events[f"case-{listed}-listing_expiry@assetmap"]["SUMMARY"])
    running = events[f"case-{listed}-interim_moratorium_end@assetmap"]
    assert [a.decoded("TRIGGER") for a in running.walk("VALARM")] == [dt.timedelta(days=-7)]
    assert not any(uid.startswith(f"case-{cases['waiting']}-") for uid in events)  # not public
    assert CONTACT.encode() not in feed.content
    staff = Calendar.from_ical(
        client.get(
            "/api/cases/deadlines.ics", params={"city": "Berlin"}, headers=berlin.headers("planner")
        ).content
    )
    assert f"case-{cases['waiting']}-decision_due@assetmap" in {str(e["UID"]) for e in staff.walk("VEVENT")}


def _months(start: dt.date, months: int) -> dt.timedelta:
    """The length of `months` months beginning with `start`, worked out without dateutil (the day before the
    corresponding date; the last day of a month that has none)."""
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    end = (
        dt.date(year, month, start.day) - dt.timedelta(days=1)
        if start.day <= last
        else dt.date(year, month, last)
    )
    return end - start


def test_the_atom_feed_parses_and_its_text_is_escaped(
    client: TestClient, berlin: Berlin, cases: dict[str, int]
) -> None:
    feed = client.get("/api/cases/events.atom", params={"city": "Berlin"})
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert b"<script>" not in feed.content and CONTACT.encode() not in feed.content
    assert b"call the chair" not in feed.content
    root = ET.fromstring(feed.content)  # noqa: S314 - our own answer
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}updated") is not None
    entries = root.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") or "" for e in entries]
    assert any(t.startswith("Old Bathhouse: notice of sale") for t in titles)
    summaries = [e.findtext(f"{ATOM}summary") or "" for e in entries]
    assert any(HOSTILE in s for s in summaries)  # the parsed text is the name as typed
    assert not any("Corner Pub" in t for t in titles)  # the waiting nomination is not public
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids))
    updated = [e.findtext(f"{ATOM}updated") or "" for e in entries]
    assert updated == sorted(updated, reverse=True)


def test_the_due_soon_page_lists_the_interim_moratorium_ending(
    client: TestClient, berlin: Berlin, cases: dict[str, int]
) -> None:
    interim_end = berlin_today() - dt.timedelta(days=10) + dt.timedelta(days=41)
    page = client.get("/cases/due-soon", params={"city": "Berlin", "days": 60})
    assert page.status_code == 200
    assert interim_end.isoformat() in page.text and "interim moratorium ends" in page.text
    assert "&lt;script&gt;alert" in page.text and "<script>alert" not in page.text
    assert CONTACT not in page.text
    short = client.get("/cases/due-soon", params={"city": "Berlin", "days": 1})
    assert interim_end.isoformat() not in short.text
