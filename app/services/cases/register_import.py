"""Import a council's published register of assets of community value into a city's cases (docs/CASES.md;
the import itself: docs/CASES_REGISTER_IMPORT.md).

Each row is matched to an existing asset of the city by its name (and, where two assets share the name, its
address), or placed as a new physical space where the row has coordinates; then its case is opened and its dates
recorded as events through the cases' own services (`write.open_case`, `write.add_event`), so the rules, the
access checks and the history are the same as for a case opened by hand. A row that cannot be placed or imported
gets its reason and is listed for an organiser to place on the map; it never stops the other rows.

The whole import is one transaction: every row in a savepoint of its own, one commit at the end, or none for a
dry run (which runs every step, so it finds what the real import would find, and then rolls everything back).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import queries
from app.db.models import Asset, CaseEvent, CommunityCase, Neighbourhood
from app.errors import AssetmapError, Forbidden, InvalidInput, PayloadTooLarge
from app.policy import CASE_DECISION_ROLES, Principal
from app.services.cases import access
from app.services.cases.register_file import (
    RegisterFile,
    RegisterRow,
    match_key,
    parse_date,
    postcode_key,
    read_register,
)
from app.services.cases.rules import DECISION_EVENTS
from app.services.cases.write import add_event, open_case
from app.services.catalogue import resolve_city
from app.settings import Settings

NEW_ASSET_SOURCE = "acv-register"
_CHUNK = 1024 * 1024
UNKNOWN_BODY = "not named in the council's register"

# What a register's status or outcome column says, by its comparison key's words (the first that fits wins).
_OUTCOMES = (
    ("unsuccessful", ("not listed", "unsuccessful", "refused", "rejected", "declined", "not accepted")),
    ("removed", ("removed", "delisted", "de listed")),
    ("withdrawn", ("withdrawn",)),
    (
        "listed",
        ("listed", "successful", "accepted", "approved", "added", "included", "on list", "on the list"),
    ),
    ("pending", ("pending", "nominated", "under consideration", "awaiting", "received", "being considered")),
)
_BODY_KINDS = (
    ("parish_council", ("parish council", "town council", "community council", "parish meeting")),
    ("neighbourhood_forum", ("neighbourhood forum", "neighborhood forum")),
    ("community_interest_company", ("community interest company", " cic")),
    ("charity", ("charity", "charitable", " trust", "cio")),
)


@dataclass(frozen=True)
class RegisterImport:
    """What to import: the city, the user's column mapping, how to read the file, and whether to write at all."""

    city: str | int
    mapping: Mapping[str, str] | None = None
    crs: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    dry_run: bool = False


class _RowRefused(Exception):
    """A row that cannot be imported: `placing` when it is its place that is missing (the organiser's job)."""

    def __init__(self, reason: str, *, placing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.placing = placing


def _outcome(text: Any) -> str | None:
    key = f" {match_key(str(text))} " if text is not None else ""
    for outcome, phrases in _OUTCOMES:
        if any(f" {phrase} " in key for phrase in phrases):
            return outcome
    return None


def body_kind(name: str) -> str:
    """A community body's kind guessed from its name (a register rarely says): 'other' where the name tells
    nothing."""
    key = f" {match_key(name)} "
    for kind, phrases in _BODY_KINDS:
        if any(phrase in key for phrase in phrases):
            return kind
    return "other"


def _date(row: RegisterRow, name: str) -> dt.date | None:
    try:
        return parse_date(row.values.get(name))
    except ValueError as exc:
        raise _RowRefused(f"{name}: {exc}") from None


def _text(row: RegisterRow, name: str, limit: int = 300) -> str | None:
    value = row.values.get(name)
    if value is None:
        return None
    # Control characters (a NUL the database refuses, a stray escape) are dropped; runs of spaces become one.
    text = " ".join("".join(c for c in str(value) if c.isprintable() or c.isspace()).split())
    return text[:limit] if text else None


def _events(row: RegisterRow, warnings: list[str]) -> list[tuple[str, dt.date]]:
    """The row's events in order: the nomination, the decision (listed or unsuccessful), a removal."""
    nominated = _date(row, "nominated_on")
    listed, unsuccessful = _date(row, "listed_on"), _date(row, "unsuccessful_on")
    decided, removed = _date(row, "decided_on"), _date(row, "removed_on")
    outcome = _outcome(row.values.get("outcome"))
    if listed is None and unsuccessful is None and decided is not None:
        if outcome in ("listed", "removed"):
            listed = decided
        elif outcome == "unsuccessful":
            unsuccessful = decided
        else:
            warnings.append(
                f"a decision on {decided.isoformat()} but no outcome that says listed or unsuccessful: "
                "only the nomination is imported"
            )
    if listed is not None and unsuccessful is not None:
        raise _RowRefused(
            f"the row is both listed ({listed.isoformat()}) and unsuccessful ({unsuccessful.isoformat()}): correct "
            "one of them"
        )
    decision = ("listed", listed) if listed else ("unsuccessful", unsuccessful) if unsuccessful else None
    if decision is None and outcome in ("listed", "unsuccessful", "removed"):
        warnings.append(
            f"the outcome says {outcome} but the row has no date of the decision: only the nomination is imported"
        )
    if nominated is None:
        if decision is None or decision[1] is None:
            raise _RowRefused(
                "the row has no date of nomination, listing or decision: a case starts on a day; add the date "
                "the nomination was received"
            )
        nominated = decision[1]
        warnings.append(
            f"no date of nomination: the decision's day ({nominated.isoformat()}) stands in for it"
        )
    events: list[tuple[str, dt.date]] = [("nominated", nominated)]
    if decision is not None and decision[1] is not None:
        events.append((decision[0], decision[1]))
    if removed is not None:
        if decision is None or decision[0] != "listed":
            raise _RowRefused(
                f"removed on {removed.isoformat()} but never listed: add the date it was listed"
            )
        events.append(("removed", removed))
    elif outcome == "withdrawn" and decision is None:
        warnings.append("the outcome says withdrawn but gives no date: imported as nominated")
    return events


@dataclass(frozen=True, slots=True)
class _Known:
    """What matching needs of an asset: its id, name and description (not the whole row: a city has many)."""

    id: int
    name: str
    description: str | None


@dataclass
class _Place:
    asset: _Known | None
    new_point: tuple[float, float] | None = None


class _Assets:
    """The city's assets that a case may be on (no people), indexed by their name's comparison key."""

    def __init__(self, db: Session, principal: Principal, city_id: int) -> None:
        rows = db.execute(
            select(Asset.id, Asset.name, Asset.description).where(
                Asset.city_id == city_id,
                Asset.category != "individual",
                queries.visible(Asset, principal, "all"),
            )
        )
        # A new place must lie in one of the city's neighbourhoods, where it has any (a wrong grid lands far away).
        self.has_neighbourhoods = (
            db.scalar(select(Neighbourhood.id).where(Neighbourhood.city_id == city_id).limit(1)) is not None
        )
        self.by_name: dict[str, list[_Known]] = {}
        for asset_id, name, description in rows:
            self.add(_Known(asset_id, name, description))

    def add(self, asset: _Known) -> None:
        self.by_name.setdefault(match_key(asset.name), []).append(asset)

    def place(self, row: RegisterRow, city_name: str) -> _Place:
        name = _text(row, "name")
        if not name or not match_key(name):
            raise _RowRefused("the row has no name: a register row needs the asset's name", placing=True)
        address = " ".join(filter(None, (_text(row, "address", 1000), _text(row, "postcode"))))
        first_line = address.split(",")[0] if address else ""
        found = self.by_name.get(match_key(name), []) or (
            self.by_name.get(match_key(f"{name} {first_line}"), []) if first_line else []
        )
        if len(found) > 1:
            found = self._by_address(found, address) if address else found
        if len(found) == 1:
            return _Place(found[0])
        if len(found) > 1:
            ids = ", ".join(str(a.id) for a in found[:10])
            why = (
                "and the row has no address to tell them apart"
                if not address
                else "and its address tells them apart for none of them"
            )
            raise _RowRefused(
                f"ambiguous: {len(found)} assets of {city_name} are called {name!r} (ids {ids}) {why}: open the "
                "case on the right one by hand, or give each asset its address in its description",
                placing=True,
            )
        if row.point is not None:
            return _Place(None, row.point)
        extra = f" (its coordinates could not be used: {row.point_problem})" if row.point_problem else ""
        raise _RowRefused(
            f"no asset of {city_name} is called {name!r} and the row has no coordinates{extra}: place it on the "
            "map (open the case with a new place), or map the asset first and import again",
            placing=True,
        )

    @staticmethod
    def _by_address(found: list[_Known], address: str) -> list[_Known]:
        """The assets whose description holds the row's address, or failing that its postcode."""
        wanted = match_key(address.split(",")[0])
        postcode = postcode_key(address)
        by_street = [a for a in found if wanted and wanted in match_key(a.description)]
        if by_street:
            return by_street
        return [a for a in found if postcode and postcode == postcode_key(a.description)] if postcode else []


def _already_imported(db: Session, asset_id: int, reference: str | None, nominated: dt.date) -> int | None:
    """An ACV case of this asset with the same reference or nomination day: the row was imported before."""
    cases = db.execute(
        select(CommunityCase.id, CommunityCase.reference, CaseEvent.occurred_on)
        .join(CaseEvent, CaseEvent.case_id == CommunityCase.id)
        .where(
            CommunityCase.asset_id == asset_id,
            CommunityCase.kind == "acv",
            CaseEvent.kind == "nominated",
        )
    ).all()
    for case_id, stored_reference, opened_on in cases:
        if (reference and stored_reference == reference) or opened_on == nominated:
            return int(case_id)
    return None


@contextmanager
def _one_transaction(db: Session, *, dry_run: bool) -> Iterator[None]:
    """The services' commits become flushes; at the end one commit, or for a dry run a rollback."""
    real_commit = db.commit
    db.commit = db.flush  # type: ignore[method-assign]
    try:
        yield
    except BaseException:
        db.commit = real_commit  # type: ignore[method-assign]
        db.rollback()
        raise
    db.commit = real_commit  # type: ignore[method-assign]
    if dry_run:
        db.rollback()
    else:
        db.commit()


@contextmanager
def _row_savepoint(db: Session) -> Iterator[None]:
    """One row's writes in a savepoint: a row the services refuse is undone alone. The services roll back the
    whole session on an error; inside a row that rollback is left to the savepoint."""
    savepoint = db.begin_nested()
    real_rollback = db.rollback
    db.rollback = lambda: None  # type: ignore[method-assign]
    try:
        yield
    except BaseException:
        db.rollback = real_rollback  # type: ignore[method-assign]
        savepoint.rollback()
        raise
    db.rollback = real_rollback  # type: ignore[method-assign]
    savepoint.commit()


def _import_row(
    db: Session,
    settings: Settings,
    principal: Principal,
    city: Any,
    assets: _Assets,
    row: RegisterRow,
    source_name: str,
    dry_run: bool,
) -> dict[str, Any]:
    warnings: list[str] = []
    answer: dict[str, Any] = {
        "row": row.row,
        "name": _text(row, "name"),
        "address": _text(row, "address", 1000),
        "postcode": _text(row, "postcode"),
        "reference": _text(row, "reference", 100),
        "community_body": _text(row, "body"),
        "coordinates": list(row.point) if row.point else None,
        "asset_id": None,
        "new_asset": False,
        "case_id": None,
        "events": [],
        "warnings": warnings,
        "reason": None,
    }
    try:
        events = _events(row, warnings)
        answer["events"] = [{"kind": kind, "on": on.isoformat()} for kind, on in events]
        decided = [f"{kind} on {on.isoformat()}" for kind, on in events if kind in DECISION_EVENTS]
        if decided and principal.role not in CASE_DECISION_ROLES:
            raise _RowRefused(
                f"the row holds the council's decision ({', '.join(decided)}), which only a planner or an admin "
                "records: ask an admin to import the register, or leave the decision columns out (--map "
                "listed_on= --map unsuccessful_on= --map decided_on= --map removed_on=) to import the nominations"
            )
        place = assets.place(row, city.name)
        if place.asset is not None:
            answer["asset_id"] = place.asset.id
            previous = _already_imported(db, place.asset.id, answer["reference"], events[0][1])
            if previous is not None:
                answer.update(outcome="skipped", case_id=previous)
                answer["reason"] = f"already imported: case {previous} on this asset has this nomination"
                return answer
        body = answer["community_body"] or UNKNOWN_BODY
        data: dict[str, Any] = {
            "city": city.id,
            "kind": "acv",
            "community_body": {
                "name": body,
                "kind": body_kind(body) if answer["community_body"] else "other",
            },
            "opened_on": events[0][1],
            "reference": answer["reference"],
            "note": f"imported from the council's register {source_name}, row {row.row}"
            + (f"; {_text(row, 'note', 2000)}" if _text(row, "note") else ""),
        }
        if place.asset is not None:
            data["asset_id"] = place.asset.id
        else:
            assert place.new_point is not None
            description = ", ".join(filter(None, (answer["address"], answer["postcode"])))
            data["asset"] = {
                "name": answer["name"],
                "geometry": {"type": "Point", "coordinates": list(place.new_point)},
                "description": description or None,
                "source": NEW_ASSET_SOURCE,
            }
        with _row_savepoint(db):
            case_id = open_case(db, settings, principal, data)
            case = db.get(CommunityCase, case_id)
            assert case is not None
            asset = db.get(Asset, case.asset_id)
            outside = asset is not None and asset.neighbourhood_id is None and assets.has_neighbourhoods
            if place.new_point is not None and outside:
                lon, lat = place.new_point
                raise _RowRefused(
                    f"the coordinates {lon:.5f}, {lat:.5f} (longitude, latitude) "
                    f"lie outside every neighbourhood of {city.name}: check them (easting and northing are read "
                    "as British National Grid) or place it on the map",
                    placing=True,
                )
            for kind, on in events[1:]:
                add_event(db, settings, principal, case_id, {"kind": kind, "on": on})
        if place.asset is None and asset is not None:
            assets.add(
                _Known(asset.id, asset.name, asset.description)
            )  # a later row of the same place finds it
        answer["asset_id"] = None if dry_run and place.asset is None else case.asset_id
        answer["new_asset"] = place.asset is None
        answer["case_id"] = None if dry_run else case_id
        answer["outcome"] = "would_import" if dry_run else "imported"
    except _RowRefused as exc:
        answer.update(outcome="unplaced" if exc.placing else "rejected", reason=exc.reason)
    except AssetmapError as exc:
        placing = isinstance(exc, Forbidden)
        answer.update(outcome="unplaced" if placing else "rejected", reason=exc.detail)
    return answer


def import_register(
    db: Session,
    settings: Settings,
    principal: Principal,
    request: RegisterImport,
    path: Path,
    source_name: str,
) -> dict[str, Any]:
    """Import (or with dry_run, try) a register file; the answer has a line per row and the rows to place."""
    if not access.may_open(principal):
        raise Forbidden(
            f"your role ({principal.role}) may not import a register: an organiser, GIS staff or an admin may"
        )
    city = resolve_city(db, request.city)
    register: RegisterFile = read_register(
        path,
        source_name,
        mapping=request.mapping,
        crs=request.crs,
        encoding=request.encoding,
        sheet=request.sheet,
    )
    if not register.rows:
        raise InvalidInput(f"{source_name} has a header but no rows to import", field="file")
    rows: list[dict[str, Any]] = []
    with _one_transaction(db, dry_run=request.dry_run):
        assets = _Assets(db, principal, city.id)
        for row in register.rows:
            rows.append(_import_row(db, settings, principal, city, assets, row, source_name, request.dry_run))
    counts = {
        outcome: sum(1 for r in rows if r["outcome"] == outcome)
        for outcome in ("imported", "would_import", "skipped", "unplaced", "rejected")
    }
    return {
        "dry_run": request.dry_run,
        "city": city.name,
        "file": source_name,
        "format": register.format,
        "encoding": register.encoding,
        "mapping": register.mapping,
        "suggested_mapping": register.suggested,
        "unmapped_columns": register.unmapped_columns,
        "notes": register.notes,
        "counts": {"rows": len(rows), **counts, "new_assets": sum(1 for r in rows if r["new_asset"])},
        "rows": rows,
        "unplaced": [r for r in rows if r["outcome"] in ("unplaced", "rejected")],
    }


def import_register_upload(
    db: Session,
    settings: Settings,
    principal: Principal,
    request: RegisterImport,
    filename: str | None,
    stream: IO[bytes],
) -> dict[str, Any]:
    """An uploaded register saved under a generated name in a private folder (size-bounded), imported, removed."""
    folder = Path(tempfile.mkdtemp(prefix="assetmap-register-"))
    try:
        target = folder / "register-upload"
        budget = settings.upload_max_bytes
        with target.open("xb") as sink:
            while chunk := stream.read(_CHUNK):
                budget -= len(chunk)
                if budget < 0:
                    raise PayloadTooLarge(
                        f"the register is larger than the limit of {settings.upload_max_bytes:,} bytes",
                        field="file",
                    )
                sink.write(chunk)
        return import_register(db, settings, principal, request, target, filename or "register")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def import_from_terminal(settings: Settings, request: RegisterImport, path: Path) -> dict[str, Any]:
    """`assetmap case import-register`: as the command line's administrator, in a session of its own."""
    from app.db.session import session_scope
    from app.services.cases.terminal import CLI_PRINCIPAL

    if not path.is_file():
        raise InvalidInput(f"{path.name} is not a readable file", field="file")
    with session_scope(settings) as db:
        return import_register(db, settings, CLI_PRINCIPAL, request, path, path.name)


def import_page(db: Session, city_ref: str | None) -> dict[str, Any]:
    """The register import page's choices: the cities, the one chosen (by id or name) and the register's fields."""
    from app.services.cases.register_file import FIELD_NAMES
    from app.services.catalogue import list_cities

    cities = [(c.id, c.name) for c in list_cities(db)]
    chosen = resolve_city(db, city_ref).name if city_ref else (cities[0][1] if cities else None)
    return {"cities": cities, "city": chosen, "fields": list(FIELD_NAMES)}
