"""Reading cases: the list (staff see every stage, everyone else the public register), one case, what falls due
soon, and a case's history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import Neighbourhood
from app.errors import Forbidden, InvalidInput, NotFound
from app.policy import Principal
from app.services import history
from app.services.cases import access
from app.services.cases.records import CaseRecord, load_records, shape
from app.services.cases.rules import ALL_STAGES, CASE_KINDS, DEADLINES, due_between
from app.services.catalogue import resolve_city
from app.settings import Settings

DUE_SOON_MAX_DAYS = 366


@dataclass(frozen=True)
class CaseFilters:
    """Checked list filters: the city (id or name), stage, kind and neighbourhood (with the areas inside it)."""

    city: str | None = None
    stage: str | None = None
    kind: str | None = None
    neighbourhood: int | None = None
    public_only: bool = False  # the register: its stages only, whoever asks


def _check(filters: CaseFilters) -> None:
    if filters.stage is not None and filters.stage not in ALL_STAGES:
        raise InvalidInput(
            f"unknown stage {filters.stage!r}: use one of {', '.join(ALL_STAGES)}", field="stage"
        )
    if filters.kind is not None and filters.kind not in CASE_KINDS:
        raise InvalidInput(f"unknown kind {filters.kind!r}: use one of {', '.join(CASE_KINDS)}", field="kind")


def find_records(
    db: Session, settings: Settings, principal: Principal, filters: CaseFilters
) -> list[CaseRecord]:
    """The cases the caller may see that match the filters, in id order."""
    _check(filters)
    city_id = resolve_city(db, filters.city).id if filters.city is not None else None
    if filters.neighbourhood is not None and db.get(Neighbourhood, filters.neighbourhood) is None:
        raise NotFound(f"no neighbourhood {filters.neighbourhood}", field="neighbourhood")
    records = load_records(
        db, settings, principal, city_id=city_id, neighbourhood_id=filters.neighbourhood, kind=filters.kind
    )
    every_stage = access.sees_every_stage(principal) and not filters.public_only
    return [
        r
        for r in records
        if (every_stage or r.state.public) and (filters.stage is None or r.state.stage == filters.stage)
    ]


def list_cases(
    db: Session, settings: Settings, principal: Principal, filters: CaseFilters
) -> list[dict[str, Any]]:
    """The cases as JSON, without their events and documents."""
    return [shape(r, principal, detail=False) for r in find_records(db, settings, principal, filters)]


def get_record(db: Session, settings: Settings, principal: Principal, case_id: int) -> CaseRecord:
    """One case the caller may see; one they may not is a 404, like a missing one."""
    records = load_records(db, settings, principal, case_id=case_id)
    if not records or not (access.sees_every_stage(principal) or records[0].state.public):
        raise NotFound(f"no case {case_id}")
    return records[0]


def get_case(db: Session, settings: Settings, principal: Principal, case_id: int) -> dict[str, Any]:
    """One case as JSON, with its events and documents."""
    return shape(get_record(db, settings, principal, case_id), principal)


@dataclass(frozen=True)
class DueItem:
    """One deadline that falls due soon."""

    record: CaseRecord
    deadline: str
    on: dt.date

    def as_json(self, principal: Principal) -> dict[str, Any]:
        """The deadline with its case."""
        return {
            "deadline": self.deadline,
            "label": DEADLINES[self.deadline],
            "on": self.on.isoformat(),
            "days_left": (self.on - self.record.today).days,
            "case": shape(self.record, principal, detail=False),
        }


def due_soon(
    db: Session, settings: Settings, principal: Principal, filters: CaseFilters, days: int
) -> list[DueItem]:
    """The deadlines the cases still wait on from today to `days` days ahead (in each city's time zone), soonest
    first: decisions due, review requests, moratoria and protected periods ending, listings expiring."""
    if not 1 <= days <= DUE_SOON_MAX_DAYS:
        raise InvalidInput(f"days must be from 1 to {DUE_SOON_MAX_DAYS}", field="days")
    items = [
        DueItem(record, name, on)
        for record in find_records(db, settings, principal, filters)
        for name, on in due_between(record.state, record.today, record.today + dt.timedelta(days=days))
    ]
    return sorted(items, key=lambda item: (item.on, item.record.case.id, item.deadline))


def case_history(db: Session, settings: Settings, principal: Principal, case_id: int) -> list[dict[str, Any]]:
    """A case's changes, oldest first; only for those who see its private details (the history holds them)."""
    record = get_record(db, settings, principal, case_id)
    if not access.sees_private(principal, record.neighbourhood_id):
        raise Forbidden(
            "a case's history holds the community body's contact: its neighbourhood's organisers, planners, GIS "
            "staff and admins read it"
        )
    return [
        {
            "id": e.change.id,
            "action": e.change.action,
            "version": e.change.version,
            "at": e.change.at.isoformat(),
            "user": e.username,
            "import_id": e.change.import_id,
            "message": e.change.message,
            "before": e.change.before,
            "after": e.after,
        }
        for e in history.list_changes(db, "cases", case_id)
    ]
