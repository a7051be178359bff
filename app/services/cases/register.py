"""The register of cases as people take it away: the page's rows, CSV and GeoJSON, an iCalendar feed of the
deadlines and an Atom feed of the events. Each is built from the reader's view of the cases (records.shape), so
nothing private (a community body's contact, event notes, a person's exact location) can reach them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET  # writes the Atom feed only; it never parses XML
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from icalendar import Alarm, Calendar
from icalendar import Event as CalendarEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import City, Neighbourhood
from app.policy import Principal
from app.services.cases import access
from app.services.cases.read import ALL_STAGES, CaseFilters, due_soon, find_records, get_record
from app.services.cases.records import CaseRecord, regime_for, shape, today_in
from app.services.cases.rules import DEADLINES, PUBLIC_STAGES
from app.services.catalogue import resolve_city
from app.settings import Settings
from geo.vocab import COMMUNITY_BODY_KINDS, EVENT_KINDS

REGISTER_COLUMNS = (
    "case_id",
    "kind",
    "stage",
    "moratorium",
    "asset_id",
    "asset_name",
    "neighbourhood_code",
    "neighbourhood_name",
    "community_body_name",
    "community_body_kind",
    "reference",
    "opened_on",
    "listed_on",
    "ended_on",
    "end_reason",
    *DEADLINES,
)
# A spreadsheet reads a cell that starts with one of these as a formula: such community text gets a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_EVENTS_MAX = 500
STAGE_LABELS = {
    "nominated": "nominated, waiting for the decision",
    "listed": "listed",
    "unsuccessful": "unsuccessful nomination",
    "withdrawn": "withdrawn",
    "removed": "removed from the list",
    "expired": "listing expired",
    "submitted": "expression of interest submitted",
    "accepted": "accepted",
    "procurement": "procurement exercise",
    "closed": "closed",
    "rejected": "rejected",
    "requested": "transfer requested",
    "approved": "transfer approved",
    "terms_agreed": "terms agreed",
    "completed": "transfer completed",
    "refused": "refused",
}
KIND_LABELS = {
    "acv": "Asset of Community Value",
    "challenge": "Right to Challenge",
    "transfer": "Asset transfer",
}
REGISTER_STAGES = tuple(stage for stage in ALL_STAGES if any(stage in s for s in PUBLIC_STAGES.values()))


def register_records(
    db: Session, settings: Settings, principal: Principal, filters: CaseFilters
) -> list[CaseRecord]:
    """The public register (its stages only, whoever asks), in the reader's view."""
    public = CaseFilters(
        city=filters.city,
        stage=filters.stage,
        kind=filters.kind,
        neighbourhood=filters.neighbourhood,
        public_only=True,
    )
    return find_records(db, settings, principal, public)


def _flat(record: CaseRecord, principal: Principal) -> dict[str, Any]:
    body = shape(record, principal, detail=False)
    neighbourhood = body["neighbourhood"] or {}
    return {
        "case_id": body["id"],
        "kind": body["kind"],
        "stage": body["stage"],
        "moratorium": body["moratorium"],
        "asset_id": body["asset"]["id"],
        "asset_name": body["asset"]["name"],
        "neighbourhood_code": neighbourhood.get("code"),
        "neighbourhood_name": neighbourhood.get("name"),
        "community_body_name": body["community_body"]["name"],
        "community_body_kind": body["community_body"]["kind"],
        "reference": body["reference"],
        "opened_on": body["opened_on"],
        "listed_on": body["listed_on"],
        "ended_on": body["ended_on"],
        "end_reason": body["end_reason"],
        **body["deadlines"],
    }


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def register_csv(records: list[CaseRecord], principal: Principal) -> str:
    """The register as CSV (UTF-8, one row per case, lon/lat of the location the reader may see)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*REGISTER_COLUMNS, "lon", "lat"])
    for record in records:
        row = _flat(record, principal)
        coords = (record.geometry or {}).get("coordinates") or [None, None]
        writer.writerow([_cell(row[c]) for c in REGISTER_COLUMNS] + [_cell(coords[0]), _cell(coords[1])])
    return out.getvalue()


def register_geojson(records: list[CaseRecord], principal: Principal) -> str:
    """The register as an RFC 7946 FeatureCollection (a case per Feature, at the location the reader may see)."""
    features = [
        {"type": "Feature", "id": r.case.id, "geometry": r.geometry, "properties": _flat(r, principal)}
        for r in records
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def deadlines_calendar(
    db: Session, settings: Settings, principal: Principal, filters: CaseFilters, base_url: str
) -> bytes:
    """An iCalendar feed (RFC 5545) of the cases' deadlines: one all-day event per deadline, on the day it falls in
    the city's time zone, with a reminder a week before for those the process still waits on."""
    records = find_records(db, settings, principal, filters)
    calendar = Calendar()
    calendar.add("prodid", "-//assetmap//community-rights cases//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Community-rights deadlines" + (f": {filters.city}" if filters.city else ""))
    zones = sorted({r.regime.time_zone for r in records})
    if filters.city is not None:
        zones = [regime_for(db, resolve_city(db, filters.city)).time_zone]
    if len(zones) == 1:
        calendar.add("x-wr-timezone", zones[0])
    stamp = dt.datetime.now(dt.UTC)
    for record in records:
        asset = record.asset["name"]
        for name, day in record.state.deadlines.items():
            entry = CalendarEvent()
            entry.add("uid", f"case-{record.case.id}-{name}@assetmap")
            entry.add("dtstamp", stamp)
            entry.add("dtstart", day)
            entry.add("dtend", day + dt.timedelta(days=1))
            entry.add("transp", "TRANSPARENT")
            entry.add("summary", f"{DEADLINES[name].capitalize()}: {asset} ({KIND_LABELS[record.case.kind]})")
            entry.add(
                "description",
                f"Case {record.case.id}, {STAGE_LABELS[record.state.stage]}; community body: "
                f"{record.case.community_body_name}. Day counted in {record.regime.time_zone} "
                f"({record.regime.name}).",
            )
            entry.add("url", f"{base_url}/cases/{record.case.id}")
            entry.add("categories", [record.case.kind, name])
            if name in record.state.running:
                alarm = Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", f"{DEADLINES[name]} in a week: {asset}")
                alarm.add("trigger", dt.timedelta(days=-7))
                entry.add_component(alarm)
            calendar.add_component(entry)
    return calendar.to_ical()


def _atom(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def events_feed(
    db: Session, settings: Settings, principal: Principal, filters: CaseFilters, base_url: str, self_url: str
) -> bytes:
    """An Atom feed (RFC 4287) of the cases' events, newest first; text is escaped by the XML writer."""
    records = find_records(db, settings, principal, filters)
    events = sorted(
        ((event, record) for record in records for event in record.events),
        key=lambda pair: (pair[0].recorded_at, pair[0].id),
        reverse=True,
    )[:FEED_EVENTS_MAX]
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    query = urlencode({"city": filters.city}) if filters.city else ""
    _atom(feed, "id", f"{base_url}/api/cases/events.atom" + (f"?{query}" if query else ""))
    _atom(feed, "title", "Community-rights case events" + (f": {filters.city}" if filters.city else ""))
    newest = events[0][0].recorded_at if events else dt.datetime.now(dt.UTC)
    _atom(feed, "updated", newest.isoformat())
    _atom(feed, "link", rel="self", href=self_url)
    _atom(feed, "link", rel="alternate", href=f"{base_url}/cases")
    author = _atom(feed, "author")
    _atom(author, "name", "assetmap")
    for event, record in events:
        entry = _atom(feed, "entry")
        _atom(entry, "id", f"{base_url}/cases/{record.case.id}#event-{event.id}")
        title = f"{record.asset['name']}: {event.kind.replace('_', ' ')} ({KIND_LABELS[record.case.kind]})"
        _atom(entry, "title", title, type="text")
        _atom(entry, "updated", event.recorded_at.isoformat())
        _atom(entry, "published", event.recorded_at.isoformat())
        _atom(entry, "link", rel="alternate", href=f"{base_url}/cases/{record.case.id}")
        summary = (
            f"{event.kind.replace('_', ' ')} on {event.occurred_on.isoformat()}; the case is now "
            f"{STAGE_LABELS[record.state.stage]}. Community body: {record.case.community_body_name}."
        )
        _atom(entry, "summary", summary, type="text")
        _atom(entry, "category", term=record.case.kind)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True)
class RegisterPage:
    """What the register page shows: the city, the filters and their choices, and a row per case."""

    city_name: str
    city_id: int
    cities: list[tuple[int, str]]
    neighbourhoods: list[tuple[int, str, str]]
    stage: str | None
    neighbourhood: int | None
    stages: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    today: str
    time_zone: str
    regime: str
    query: str
    can_open: bool
    body_kinds: tuple[str, ...] = COMMUNITY_BODY_KINDS


def _city_choices(db: Session) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in db.scalars(select(City).order_by(City.name))]


def _neighbourhood_choices(db: Session, city_id: int) -> list[tuple[int, str, str]]:
    rows = db.execute(
        select(Neighbourhood.id, Neighbourhood.code, Neighbourhood.name)
        .where(Neighbourhood.city_id == city_id)
        .order_by(Neighbourhood.code)
    ).all()
    return [(nid, code, name) for nid, code, name in rows]


def _query(city: str, stage: str | None, neighbourhood: int | None) -> str:
    params: dict[str, Any] = {"city": city}
    if stage:
        params["stage"] = stage
    if neighbourhood:
        params["neighbourhood"] = neighbourhood
    return urlencode(params)


def register_page(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: str | None,
    stage: str | None,
    neighbourhood: int | None,
) -> RegisterPage:
    """The public register page of a city (the first city when none is named)."""
    cities = _city_choices(db)
    city_row = resolve_city(db, city if city is not None else (cities[0][1] if cities else None))
    filters = CaseFilters(city=str(city_row.id), stage=stage, neighbourhood=neighbourhood)
    records = register_records(db, settings, principal, filters)
    regime = regime_for(db, city_row)
    rows = []
    for record in records:
        flat = _flat(record, principal)
        flat["kind_label"] = KIND_LABELS[record.case.kind]
        flat["stage_label"] = STAGE_LABELS[record.state.stage]
        flat["running"] = [
            (DEADLINES[name], getattr(record.state.deadlines, name).isoformat())
            for name in record.state.running
        ]
        rows.append(flat)
    return RegisterPage(
        city_name=city_row.name,
        city_id=city_row.id,
        cities=cities,
        neighbourhoods=_neighbourhood_choices(db, city_row.id),
        stage=stage,
        neighbourhood=neighbourhood,
        stages=[(s, STAGE_LABELS[s]) for s in REGISTER_STAGES],
        rows=rows,
        today=today_in(regime).isoformat(),
        time_zone=regime.time_zone,
        regime=regime.name,
        query=_query(city_row.name, stage, neighbourhood),
        can_open=access.may_open(principal),
    )


@dataclass(frozen=True)
class DueSoonPage:
    """What the due-soon page shows: the deadlines of the next `days` days in a city (or a neighbourhood)."""

    city_name: str
    neighbourhoods: list[tuple[int, str, str]]
    neighbourhood: int | None
    days: int
    rows: list[dict[str, Any]]
    time_zone: str
    query: str


def due_soon_page(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: str | None,
    neighbourhood: int | None,
    days: int,
) -> DueSoonPage:
    """The deadlines falling due soon, as the page lists them."""
    cities = _city_choices(db)
    city_row = resolve_city(db, city if city is not None else (cities[0][1] if cities else None))
    items = due_soon(
        db, settings, principal, CaseFilters(city=str(city_row.id), neighbourhood=neighbourhood), days
    )
    rows = []
    for item in items:
        body = item.as_json(principal)
        rows.append(
            {
                "on": body["on"],
                "days_left": body["days_left"],
                "label": body["label"],
                "case_id": item.record.case.id,
                "kind_label": KIND_LABELS[item.record.case.kind],
                "asset_name": item.record.asset["name"],
                "community_body_name": item.record.case.community_body_name,
                "stage_label": STAGE_LABELS[item.record.state.stage],
            }
        )
    return DueSoonPage(
        city_name=city_row.name,
        neighbourhoods=_neighbourhood_choices(db, city_row.id),
        neighbourhood=neighbourhood,
        days=days,
        rows=rows,
        time_zone=regime_for(db, city_row).time_zone,
        query=_query(city_row.name, None, neighbourhood),
    )


@dataclass(frozen=True)
class CasePage:
    """What one case's page shows: the case in the reader's view, and whether they may record its events."""

    case: dict[str, Any]
    kind_label: str
    stage_label: str
    deadlines: list[tuple[str, str, str]]
    event_kinds: tuple[str, ...]
    can_record: bool


def case_page(db: Session, settings: Settings, principal: Principal, case_id: int) -> CasePage:
    """One case's page (a 404 where the reader may not see it, as in the API)."""
    record = get_record(db, settings, principal, case_id)
    body = shape(record, principal)
    may = access.may_record_on(principal, record.neighbourhood_id)
    return CasePage(
        case=body,
        kind_label=KIND_LABELS[record.case.kind],
        stage_label=STAGE_LABELS[record.state.stage],
        deadlines=[(name, DEADLINES[name], day.isoformat()) for name, day in record.state.deadlines.items()],
        event_kinds=EVENT_KINDS[record.case.kind][1:],
        can_record=may and not record.state.ended,
    )
