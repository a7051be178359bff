"""Cases as the services read them: the rows, the city's regime, the state the rules give on the city's today, and
each case shaped for one reader (the public register leaves out what is private)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from app.db import queries
from app.db.hierarchy import subtree_ids
from app.db.models import Asset, CaseDocument, CaseEvent, CaseRegime, City, CommunityCase, Neighbourhood
from app.policy import Principal
from app.services.cases import access
from app.services.cases.rules import (
    DEADLINES,
    CaseState,
    Event,
    Regime,
    default_regime,
    evaluate,
    regime_config,
    regime_from_config,
)
from app.settings import Settings


def regime_for(db: Session, city: City) -> Regime:
    """The city's own regime, else England's periods in its country's time zone."""
    base = default_regime(city.country)
    row = db.get(CaseRegime, city.id)
    if row is None:
        return base
    return regime_from_config(
        {"name": row.name, "time_zone": row.time_zone, "periods": row.periods}, base=base
    )


def today_in(regime: Regime) -> dt.date:
    """Today's date where the city is."""
    return dt.datetime.now(ZoneInfo(regime.time_zone)).date()


def as_rule_events(events: list[CaseEvent]) -> list[Event]:
    """Stored events as the rules take them."""
    return [Event(e.kind, e.occurred_on, bool(e.to_community_interest_group)) for e in events]


@dataclass
class CaseRecord:
    """One case with what its answers need: its city, asset, events, documents, regime and state today."""

    case: CommunityCase
    city_name: str
    asset: dict[str, Any]
    neighbourhood: dict[str, Any] | None
    geometry: dict[str, Any] | None
    events: list[CaseEvent]
    documents: list[CaseDocument]
    regime: Regime
    today: dt.date
    state: CaseState

    @property
    def neighbourhood_id(self) -> int | None:
        """The neighbourhood of the case's asset, which decides who may work on it."""
        return self.asset["neighbourhood_id"]


def load_records(
    db: Session,
    settings: Settings,
    principal: Principal,
    *,
    city_id: int | None = None,
    case_id: int | None = None,
    neighbourhood_id: int | None = None,
    kind: str | None = None,
    lock: bool = False,
) -> list[CaseRecord]:
    """The cases the caller may see (their asset visible to them, never a suppressed one), with their state today.
    Stages are not filtered here: read.py keeps the public register to its stages."""
    shown = queries.asset_shown_geom(principal, settings)
    stmt = (
        select(
            CommunityCase,
            City,
            Asset.id,
            Asset.name,
            Asset.category,
            Asset.neighbourhood_id,
            Asset.ownership,
            Neighbourhood.name,
            Neighbourhood.code,
            func.ST_AsGeoJSON(shown, queries.COORD_DECIMALS),
        )
        .join(City, City.id == CommunityCase.city_id)
        .join(Asset, Asset.id == CommunityCase.asset_id)
        .outerjoin(Neighbourhood, Neighbourhood.id == Asset.neighbourhood_id)
        .where(queries.visible(Asset, principal, "all"), ~queries.asset_suppressed(principal, settings))
        .order_by(CommunityCase.id)
    )
    where: list[ColumnElement[bool]] = [true()]
    if city_id is not None:
        where.append(CommunityCase.city_id == city_id)
    if case_id is not None:
        where.append(CommunityCase.id == case_id)
    if kind is not None:
        where.append(CommunityCase.kind == kind)
    if neighbourhood_id is not None:
        where.append(Asset.neighbourhood_id.in_(subtree_ids(neighbourhood_id)))
    stmt = stmt.where(*where)
    if lock:
        stmt = stmt.with_for_update(of=CommunityCase)
    rows = db.execute(stmt).all()
    ids = [row[0].id for row in rows]
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    documents: dict[int, list[CaseDocument]] = defaultdict(list)
    if ids:
        for event in db.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(ids)).order_by(CaseEvent.id)):
            events[event.case_id].append(event)
        for doc in db.scalars(
            select(CaseDocument).where(CaseDocument.case_id.in_(ids)).order_by(CaseDocument.id)
        ):
            documents[doc.case_id].append(doc)
    regimes: dict[int, tuple[Regime, dt.date]] = {}
    records = []
    for case, city, asset_id, name, category, nid, ownership, n_name, n_code, geojson in rows:
        if city.id not in regimes:
            regime = regime_for(db, city)
            regimes[city.id] = (regime, today_in(regime))
        regime, today = regimes[city.id]
        state = evaluate(case.kind, regime, as_rule_events(events[case.id]), today, strict=False)
        records.append(
            CaseRecord(
                case=case,
                city_name=city.name,
                asset={
                    "id": asset_id,
                    "name": name,
                    "category": category,
                    "neighbourhood_id": nid,
                    "ownership": ownership,
                },
                neighbourhood=None if nid is None else {"id": nid, "code": n_code, "name": n_name},
                geometry=json.loads(geojson) if geojson else None,
                events=events[case.id],
                documents=documents[case.id],
                regime=regime,
                today=today,
                state=state,
            )
        )
    return records


def _day(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def shape(record: CaseRecord, principal: Principal, *, detail: bool = True) -> dict[str, Any]:
    """A case as JSON for this reader: the community body's contact, event notes and private documents only for
    those who see private details (access.sees_private); `detail` adds the events and documents."""
    case, state = record.case, record.state
    private = access.sees_private(principal, record.neighbourhood_id)
    deadlines = {name: _day(getattr(state.deadlines, name)) for name in DEADLINES}
    body: dict[str, Any] = {
        "id": case.id,
        "city": record.city_name,
        "city_id": case.city_id,
        "kind": case.kind,
        "reference": case.reference,
        "asset": record.asset,
        "neighbourhood": record.neighbourhood,
        "geometry": record.geometry,
        "community_body": {
            "name": case.community_body_name,
            "kind": case.community_body_kind,
            "contact": case.community_body_contact if private else None,
        },
        "description": case.description,
        "stage": state.stage,
        "moratorium": state.moratorium,
        "deadlines": deadlines,
        "running_deadlines": list(state.running),
        "opened_on": _day(state.opened_on),
        "listed_on": _day(state.listed_on),
        "ended_on": _day(state.ended_on),
        "end_reason": state.end_reason,
        "decision_late": state.decision_late,
        "review_pending": state.review_pending,
        "public": state.public,
        "regime": record.regime.name,
        "time_zone": record.regime.time_zone,
        "today": record.today.isoformat(),
        "problems": list(state.problems),
        "version": case.version,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }
    if detail:
        body["events"] = [
            {
                "id": e.id,
                "kind": e.kind,
                "on": e.occurred_on.isoformat(),
                "to_community_interest_group": bool(e.to_community_interest_group),
                "note": e.note if private else None,
                "recorded_at": e.recorded_at.isoformat(),
            }
            for e in record.events
        ]
        body["documents"] = [shape_document(d) for d in record.documents if private or d.public]
    return body


def shape_document(doc: CaseDocument) -> dict[str, Any]:
    """A document's metadata as JSON."""
    return {
        "id": doc.id,
        "title": doc.title,
        "document_kind": doc.document_kind,
        "document_date": _day(doc.document_date),
        "url": doc.url,
        "media_type": doc.media_type,
        "size_bytes": doc.size_bytes,
        "public": bool(doc.public),
        "added_at": doc.added_at.isoformat(),
    }


def snapshot(case: CommunityCase, events: list[CaseEvent], documents: list[CaseDocument]) -> dict[str, Any]:
    """A case as its history keeps it: every column, its events and its documents."""
    return {
        "id": case.id,
        "city_id": case.city_id,
        "asset_id": case.asset_id,
        "kind": case.kind,
        "reference": case.reference,
        "community_body_name": case.community_body_name,
        "community_body_kind": case.community_body_kind,
        "community_body_contact": case.community_body_contact,
        "description": case.description,
        "version": case.version,
        "events": [
            {
                "kind": e.kind,
                "on": e.occurred_on.isoformat(),
                "to_community_interest_group": bool(e.to_community_interest_group),
                "note": e.note,
            }
            for e in events
        ],
        "documents": [shape_document(d) for d in documents],
    }


def regime_answer(city: City, regime: Regime, *, own: bool) -> dict[str, Any]:
    """A city's regime as the API answers it."""
    return {"city": city.name, "city_id": city.id, "own": own, **regime_config(regime)}
