"""Citizen budgets (docs/BUDGETS.md): rounds and their phases, proposals scored against the gap analysis,
approval ballots by account or one-time code, results by greedy and by the Method of Equal Shares (pabutools),
and the pabulib `.pb` export.

Phases follow from the round's dates and the clock: before `proposals_at` the round is not open yet, then
proposals, review, voting, and results from `results_at` on. Every refusal says what would be allowed instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import itertools
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

import geopandas as gpd
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from app.db.models import (
    BudgetBallot,
    BudgetProposal,
    BudgetRound,
    BudgetVotingCode,
    City,
    Neighbourhood,
    ServiceType,
)
from app.db.session import session_scope
from app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from app.policy import ANONYMOUS, Principal
from app.services.catalogue import resolve_city, resolve_service_type
from app.settings import Settings

PHASES = ("not_open", "proposals", "review", "voting", "results")
PHASE_STARTS = {
    "proposals": "proposals_at",
    "review": "review_at",
    "voting": "voting_at",
    "results": "results_at",
}
PHASE_TEXT = {
    "not_open": "not open yet",
    "proposals": "proposals are being collected",
    "review": "organisers are reviewing the proposals",
    "voting": "voting is open",
    "results": "voting has closed: results",
}
# Who organises rounds: organisers, planners and admins (the run_analysis access rule: scoring runs the analysis).
ORGANISER_ROLES = frozenset({"admin", "planner", "organiser"})
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
CODE_LENGTH = 10
MAX_CODES = 5000
PABUTOOLS_RULES = {
    "greedy": "greedy_utilitarian_welfare with Cost_Sat (projects by approvals, each funded while it fits)",
    "mes": "method_of_equal_shares with Cost_Sat (each voter holds an equal share of the budget)",
}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def phase_of(round_: BudgetRound, at: dt.datetime | None = None) -> str:
    """The phase of a round at a moment (now by default)."""
    moment = at or now_utc()
    phase = "not_open"
    for name, column in PHASE_STARTS.items():
        if getattr(round_, column) <= moment:
            phase = name
    return phase


def _organiser(principal: Principal) -> None:
    if principal.role not in ORGANISER_ROLES:
        raise Forbidden("only organisers, planners and admins run budget rounds")


def _round(db: Session, round_id: int, *, lock: bool = False) -> BudgetRound:
    stmt = select(BudgetRound).where(BudgetRound.id == round_id)
    if lock:
        stmt = stmt.with_for_update()
    found = db.scalar(stmt)
    if found is None:
        raise NotFound(f"no budget round {round_id}: list them at /api/budget-rounds")
    return found


def _proposal(db: Session, round_: BudgetRound, proposal_id: int) -> BudgetProposal:
    found = db.get(BudgetProposal, proposal_id)
    if found is None or found.round_id != round_.id:
        raise NotFound(f"no proposal {proposal_id} in budget round {round_.id}")
    return found


def _text(value: Any, field: str, *, limit: int, required: bool = True) -> str | None:
    """Text people typed: trimmed, without control characters but line breaks, within a length."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field} is required", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} should be text", field=field)
    cleaned = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", value).strip()
    if len(cleaned) > limit:
        raise InvalidInput(f"{field} is {len(cleaned)} characters: keep it to {limit}", field=field)
    return cleaned


def _moment(value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time(), dt.UTC)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"{field} should be a date or date and time (2027-03-01 or 2027-03-01T09:00+01:00), got {value!r}",
                field=field,
            ) from None
    else:
        raise InvalidInput(f"{field} should be a date", field=field)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _check_order(starts: dict[str, dt.datetime]) -> None:
    names = list(PHASE_STARTS)
    for first, second in itertools.pairwise(names):
        if not starts[first] < starts[second]:
            raise InvalidInput(
                f"the {second} phase must start after the {first} phase "
                f"({starts[second].isoformat()} is not after {starts[first].isoformat()})",
                field=PHASE_STARTS[second],
            )


# --- rounds -------------------------------------------------------------------------------------------------


def create_round(db: Session, principal: Principal, body: dict[str, Any]) -> BudgetRound:
    """A new round of a city (or some of its neighbourhoods) with its amount and phase dates."""
    _organiser(principal)
    city = resolve_city(db, body.get("city"))
    name = _text(body.get("name"), "name", limit=200)
    amount = body.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvalidInput("amount should be a whole number of currency units > 0", field="amount")
    currency = str(body.get("currency") or "EUR").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InvalidInput(
            f"currency should be a three-letter code (EUR), got {currency!r}", field="currency"
        )
    codes = list(body.get("neighbourhoods") or [])
    ids: list[int] = []
    if codes:
        rows = db.execute(
            select(Neighbourhood.id, Neighbourhood.code).where(
                Neighbourhood.city_id == city.id, Neighbourhood.code.in_([str(c) for c in codes])
            )
        ).all()
        found = {code for _, code in rows}
        missing = [str(c) for c in codes if str(c) not in found]
        if missing:
            raise InvalidInput(
                f"no neighbourhood with code {', '.join(missing[:5])} in {city.name}: check the codes",
                field="neighbourhoods",
            )
        ids = sorted(i for i, _ in rows)
    starts = {name_: _moment(body.get(column), column) for name_, column in PHASE_STARTS.items()}
    _check_order(starts)
    round_ = BudgetRound(
        city_id=city.id,
        name=name,
        neighbourhood_ids=ids,
        amount=amount,
        currency=currency,
        limit_to_budget=bool(body.get("limit_to_budget", False)),
        proposals_at=starts["proposals"],
        review_at=starts["review"],
        voting_at=starts["voting"],
        results_at=starts["results"],
        created_by=principal.user_id,
    )
    db.add(round_)
    db.commit()
    return round_


def list_rounds(db: Session, city: str | int | None = None) -> list[BudgetRound]:
    stmt = select(BudgetRound).order_by(BudgetRound.id.desc())
    if city is not None:
        stmt = stmt.where(BudgetRound.city_id == resolve_city(db, city).id)
    return list(db.scalars(stmt))


def get_round(db: Session, round_id: int) -> BudgetRound:
    return _round(db, round_id)


def set_phase(db: Session, principal: Principal, round_id: int, phase: str) -> BudgetRound:
    """Move a round on to `phase` now: that phase starts now; earlier ones have started, later ones follow.

    Phases only move forward (a ballot cast or a proposal closed is never reopened by a date change)."""
    _organiser(principal)
    if phase not in PHASE_STARTS:
        raise InvalidInput(f"unknown phase {phase!r}: use one of {', '.join(PHASE_STARTS)}", field="phase")
    round_ = _round(db, round_id, lock=True)
    now = now_utc()
    current = phase_of(round_, now)
    if PHASES.index(phase) < PHASES.index(current):
        raise Conflict(
            f"round {round_.id} is in its {current} phase: phases only move forward "
            f"({', '.join(PHASES[PHASES.index(current) + 1 :]) or 'none left'})",
            field="phase",
        )
    if phase == current:
        return round_
    names = list(PHASE_STARTS)
    target = names.index(phase)
    for index, name in enumerate(names):
        column = PHASE_STARTS[name]
        value = getattr(round_, column)
        if index < target and value >= now:
            setattr(round_, column, now - dt.timedelta(seconds=target - index))
        elif index == target:
            setattr(round_, column, now)
        elif index > target and value <= now:
            setattr(round_, column, now + dt.timedelta(days=7 * (index - target)))
    db.commit()
    return round_


def set_dates(db: Session, principal: Principal, round_id: int, body: dict[str, Any]) -> BudgetRound:
    """Change phase dates; a phase that has started keeps its start (phases only move forward)."""
    _organiser(principal)
    round_ = _round(db, round_id, lock=True)
    now = now_utc()
    starts = {name: getattr(round_, column) for name, column in PHASE_STARTS.items()}
    for name, column in PHASE_STARTS.items():
        if body.get(column) is None:
            continue
        value = _moment(body[column], column)
        if starts[name] <= now and value != starts[name]:
            raise Conflict(f"the {name} phase has started: its start cannot move", field=column)
        if value <= now:
            raise InvalidInput(
                f"{column} is in the past: to start a phase now, move the round on to it", field=column
            )
        starts[name] = value
    _check_order(starts)
    for name, column in PHASE_STARTS.items():
        setattr(round_, column, starts[name])
    db.commit()
    return round_


def round_document(db: Session, principal: Principal, round_: BudgetRound) -> dict[str, Any]:
    """A round as the API shows it: phase, dates, scope, proposals (with scores) and how many have voted."""
    city = db.get(City, round_.city_id)
    phase = phase_of(round_)
    scope = []
    if round_.neighbourhood_ids:
        scope = [
            {"id": i, "code": c, "name": n}
            for i, c, n in db.execute(
                select(Neighbourhood.id, Neighbourhood.code, Neighbourhood.name)
                .where(Neighbourhood.id.in_(round_.neighbourhood_ids))
                .order_by(Neighbourhood.code)
            )
        ]
    n_ballots = db.scalar(select(func.count()).where(BudgetBallot.round_id == round_.id)) or 0
    return {
        "id": round_.id,
        "city": city.name if city else None,
        "name": round_.name,
        "amount": round_.amount,
        "currency": round_.currency,
        "limit_to_budget": round_.limit_to_budget,
        "scope": scope,
        "phase": phase,
        "phase_text": PHASE_TEXT[phase],
        "dates": {column: getattr(round_, column).isoformat() for column in PHASE_STARTS.values()},
        "n_ballots": int(n_ballots),
        "proposals": [
            proposal_document(db, p, organiser=principal.role in ORGANISER_ROLES)
            for p in proposals_of(db, round_)
        ],
    }


def round_summary(round_: BudgetRound, city_name: str | None = None) -> dict[str, Any]:
    phase = phase_of(round_)
    return {
        "id": round_.id,
        "city": city_name,
        "name": round_.name,
        "amount": round_.amount,
        "currency": round_.currency,
        "phase": phase,
        "phase_text": PHASE_TEXT[phase],
        "dates": {column: getattr(round_, column).isoformat() for column in PHASE_STARTS.values()},
    }


# --- proposals ----------------------------------------------------------------------------------------------


def proposals_of(db: Session, round_: BudgetRound) -> list[BudgetProposal]:
    return list(
        db.scalars(
            select(BudgetProposal).where(BudgetProposal.round_id == round_.id).order_by(BudgetProposal.id)
        )
    )


def proposal_document(db: Session, proposal: BudgetProposal, *, organiser: bool = False) -> dict[str, Any]:
    service = db.get(ServiceType, proposal.service_type_id) if proposal.service_type_id else None
    neighbourhood = db.get(Neighbourhood, proposal.neighbourhood_id) if proposal.neighbourhood_id else None
    document = {
        "id": proposal.id,
        "title": proposal.title,
        "description": proposal.description,
        "cost": proposal.cost,
        "service_type": service.slug if service else None,
        "place": {
            "point": None
            if proposal.lon is None
            else {"type": "Point", "coordinates": [proposal.lon, proposal.lat]},
            "neighbourhood": None
            if neighbourhood is None
            else {"id": neighbourhood.id, "code": neighbourhood.code, "name": neighbourhood.name},
        },
        "for_resident": proposal.for_resident,
        "feasible": proposal.feasible,
        "feasibility_reason": proposal.feasibility_reason,
        "score": proposal.score,
    }
    if organiser:
        document["submitted_by"] = proposal.submitted_by
    return document


def _neighbourhood_at(db: Session, city_id: int, lon: float, lat: float) -> Neighbourhood | None:
    """The smallest neighbourhood of the city that holds the point."""
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    return db.scalar(
        select(Neighbourhood)
        .where(Neighbourhood.city_id == city_id, func.ST_Covers(Neighbourhood.geom, point))
        .order_by(func.ST_Area(Neighbourhood.geom))
        .limit(1)
    )


def _in_scope(db: Session, round_: BudgetRound, neighbourhood: Neighbourhood) -> bool:
    """A neighbourhood is in scope when it is one of the round's, or inside one (its parents up the tree)."""
    if not round_.neighbourhood_ids:
        return neighbourhood.city_id == round_.city_id
    seen: set[int] = set()
    current: Neighbourhood | None = neighbourhood
    while current is not None and current.id not in seen:
        if current.id in round_.neighbourhood_ids:
            return True
        seen.add(current.id)
        current = db.get(Neighbourhood, current.parent_id) if current.parent_id else None
    return False


def add_proposal(
    db: Session, settings: Settings, principal: Principal, round_id: int, body: dict[str, Any]
) -> BudgetProposal:
    """A resident's proposal (or an organiser's on a resident's behalf), while proposals are open; scored at once
    when it has a service type and a place."""
    if principal.is_anonymous:
        raise NotAuthenticated("sign in to propose: residents propose with their account")
    round_ = _round(db, round_id)
    phase = phase_of(round_)
    if phase != "proposals":
        raise Conflict(
            f"round {round_.id} takes no new proposals: {PHASE_TEXT[phase]}"
            + (f" (proposals open {round_.proposals_at.isoformat()})" if phase == "not_open" else ""),
            field="phase",
        )
    for_resident = bool(body.get("for_resident", False))
    if for_resident and principal.role not in ORGANISER_ROLES:
        raise Forbidden("only organisers enter proposals on a resident's behalf", field="for_resident")
    title = _text(body.get("title"), "title", limit=200)
    description = _text(body.get("description"), "description", limit=5000, required=False)
    cost = body.get("cost")
    if not isinstance(cost, int) or isinstance(cost, bool) or cost <= 0:
        raise InvalidInput("cost should be a whole number of currency units > 0", field="cost")
    if cost > round_.amount:
        raise InvalidInput(
            f"cost {cost:,} is more than the round's whole budget ({round_.amount:,} {round_.currency})",
            field="cost",
        )
    service = (
        resolve_service_type(db, str(body["service_type"]), field="service_type")
        if body.get("service_type")
        else None
    )
    lon = lat = None
    neighbourhood: Neighbourhood | None = None
    point = body.get("point")
    if point is not None:
        coords = point.get("coordinates") if isinstance(point, dict) else None
        if (
            not isinstance(point, dict)
            or point.get("type") != "Point"
            or not isinstance(coords, list | tuple)
            or len(coords) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords)
            or not (-180 <= coords[0] <= 180 and -90 <= coords[1] <= 90)
        ):
            raise InvalidInput(
                'point should be a GeoJSON Point {"type": "Point", "coordinates": [lon, lat]}', field="point"
            )
        lon, lat = float(coords[0]), float(coords[1])
        neighbourhood = _neighbourhood_at(db, round_.city_id, lon, lat)
        if neighbourhood is None:
            raise InvalidInput("the point is outside every neighbourhood of the round's city", field="point")
    elif body.get("neighbourhood") is not None:
        code = str(body["neighbourhood"])
        neighbourhood = db.scalar(
            select(Neighbourhood).where(Neighbourhood.city_id == round_.city_id, Neighbourhood.code == code)
        )
        if neighbourhood is None:
            raise InvalidInput(
                f"no neighbourhood with code {code!r} in the round's city", field="neighbourhood"
            )
    if neighbourhood is not None and not _in_scope(db, round_, neighbourhood):
        raise InvalidInput(
            f"{neighbourhood.name} is outside the round's neighbourhoods: propose inside its scope",
            field="point" if point is not None else "neighbourhood",
        )
    proposal = BudgetProposal(
        round_id=round_.id,
        title=title,
        description=description,
        cost=cost,
        service_type_id=service.id if service else None,
        lon=lon,
        lat=lat,
        neighbourhood_id=neighbourhood.id if neighbourhood else None,
        submitted_by=principal.user_id,
        for_resident=for_resident,
    )
    db.add(proposal)
    db.commit()
    if service is not None and neighbourhood is not None:
        score_proposals(db, settings, principal, round_, [proposal])
    return proposal


def review_proposal(
    db: Session, principal: Principal, round_id: int, proposal_id: int, feasible: bool, reason: str | None
) -> BudgetProposal:
    """Mark a proposal feasible or not, with the reason; until voting opens."""
    _organiser(principal)
    round_ = _round(db, round_id)
    phase = phase_of(round_)
    if phase not in ("proposals", "review"):
        raise Conflict(
            f"round {round_.id}: {PHASE_TEXT[phase]}; proposals are reviewed before voting opens",
            field="phase",
        )
    proposal = _proposal(db, round_, proposal_id)
    text = _text(reason, "reason", limit=2000, required=not feasible)
    proposal.feasible = bool(feasible)
    proposal.feasibility_reason = text
    db.commit()
    return proposal


# --- scoring against the gap analysis ---------------------------------------------------------------------


def _site_of(db: Session, proposal: BudgetProposal) -> tuple[float, float, str]:
    """Where the proposed service would open: its point, or a point inside its neighbourhood."""
    if proposal.lon is not None and proposal.lat is not None:
        return proposal.lon, proposal.lat, "point"
    row = db.execute(
        select(
            func.ST_X(func.ST_PointOnSurface(Neighbourhood.geom)),
            func.ST_Y(func.ST_PointOnSurface(Neighbourhood.geom)),
        ).where(Neighbourhood.id == proposal.neighbourhood_id)
    ).one()
    return float(row[0]), float(row[1]), "neighbourhood_point_on_surface"


def score_proposals(
    db: Session,
    settings: Settings,
    principal: Principal,
    round_: BudgetRound,
    proposals: Sequence[BudgetProposal] | None = None,
) -> list[BudgetProposal]:
    """Score proposals with a service type and a place against the latest default gap run of the city and
    service (a run is computed when none is on the current data): the people newly within reach and the unmet
    need covered if the service opened there, in the public view (every reader sees the same figures)."""
    from app.services.analysis.compute import clean
    from app.services.analysis.gap_map import latest_or_new_run
    from app.services.analysis.scenarios import rerun
    from geo.crs import AnalysisInputError
    from geo.siting.opening import open_sites
    from geo.siting.scenarios import new_site_capacity

    chosen = [
        p
        for p in (proposals if proposals is not None else proposals_of(db, round_))
        if p.service_type_id is not None and p.neighbourhood_id is not None
    ]
    by_service: dict[int, list[BudgetProposal]] = {}
    for proposal in chosen:
        by_service.setdefault(int(proposal.service_type_id or 0), []).append(proposal)
    runner = principal if principal.role in ORGANISER_ROLES else _scoring_principal()
    for service_id, group in by_service.items():
        service = db.get(ServiceType, service_id)
        assert service is not None
        try:
            run = latest_or_new_run(db, settings, runner, round_.city_id, service.slug)
            if run.status != "succeeded":
                raise InvalidInput(f"the gap run {run.id} of {service.slug} is {run.status}")
            analysis = rerun(db, settings, ANONYMOUS, run)
        except (InvalidInput, Conflict, NotFound) as exc:
            for proposal in group:
                proposal.score = {"status": "not_scored", "reason": exc.detail}
            db.commit()
            continue
        capacity, rule = new_site_capacity(analysis.result)
        for proposal in group:
            lon, lat, where = _site_of(db, proposal)
            site = gpd.GeoDataFrame(
                {"id": [proposal.id], "name": [f"proposal {proposal.id}"]},
                geometry=[Point(lon, lat)],
                crs="EPSG:4326",
            )
            try:
                opening = open_sites(analysis.result, site, capacity=capacity)
            except AnalysisInputError as exc:
                proposal.score = {"status": "not_scored", "reason": str(exc)}
                continue
            totals = {key: clean(value) for key, value in opening.totals.items()}
            before, after = totals["unmet_need_before"], totals["unmet_need_after"]
            proposal.score = {
                "status": "scored",
                "run": run.id,
                "data_version": run.data_version,
                "service_type": service.slug,
                "radius_m": analysis.result.params.radius_m,
                "site": {"lon": round(lon, 6), "lat": round(lat, 6), "from": where},
                "capacity": capacity,
                "capacity_rule": rule,
                "people_newly_within_reach": totals["population_newly_covered"],
                "need_newly_within_reach": totals["need_newly_covered"],
                "units_newly_within_reach": totals["n_units_newly_covered"],
                "unmet_need_before": before,
                "unmet_need_after": after,
                "unmet_need_covered": None if before is None or after is None else before - after,
            }
        db.commit()
    return chosen


def _scoring_principal() -> Principal:
    """A resident's proposal is scored on the analysis as the system runs it (an organiser's rights to start a
    default run; the figures are in the public view anyway)."""
    return Principal(user_id=None, username="budget-scoring", role="organiser")


# --- voting -------------------------------------------------------------------------------------------------


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").replace(" ", "").encode()).hexdigest()


def generate_codes(db: Session, principal: Principal, round_id: int, count: int) -> list[str]:
    """One-time voting codes for paper ballots: shown once, only their SHA-256 is kept."""
    _organiser(principal)
    if not 1 <= count <= MAX_CODES:
        raise InvalidInput(f"ask for 1 to {MAX_CODES} codes at once", field="count")
    round_ = _round(db, round_id)
    if phase_of(round_) == "results":
        raise Conflict(f"round {round_.id} has closed: no new voting codes", field="phase")
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(BudgetVotingCode(round_id=round_.id, code_hash=_hash_code(raw)))
    db.commit()
    return codes


@dataclass(frozen=True)
class Voter:
    """Who casts a ballot: a resident account or a voting code."""

    user_id: int | None = None
    code_id: int | None = None


def _voter(db: Session, principal: Principal, round_: BudgetRound, code: str | None) -> Voter:
    if code:
        found = db.scalar(
            select(BudgetVotingCode).where(
                BudgetVotingCode.round_id == round_.id, BudgetVotingCode.code_hash == _hash_code(code)
            )
        )
        if found is None:
            raise Forbidden(
                "this voting code is not one of this round's: check it against the paper", field="code"
            )
        return Voter(code_id=found.id)
    if principal.is_anonymous or principal.user_id is None:
        raise NotAuthenticated("sign in to vote, or give the voting code from your paper ballot")
    return Voter(user_id=principal.user_id)


def _ballot_of(db: Session, round_: BudgetRound, voter: Voter) -> BudgetBallot | None:
    stmt = select(BudgetBallot).where(BudgetBallot.round_id == round_.id)
    stmt = (
        stmt.where(BudgetBallot.user_id == voter.user_id)
        if voter.user_id is not None
        else stmt.where(BudgetBallot.code_id == voter.code_id)
    )
    return db.scalar(stmt.with_for_update())


def on_ballot(db: Session, round_: BudgetRound) -> list[BudgetProposal]:
    """The proposals a ballot lists: those not marked infeasible."""
    return [p for p in proposals_of(db, round_) if p.feasible is not False]


def cast_ballot(
    db: Session, principal: Principal, round_id: int, approvals: list[int], code: str | None = None
) -> dict[str, Any]:
    """Cast or change the one ballot of an account or code while voting is open."""
    round_ = _round(db, round_id)
    phase = phase_of(round_)
    if phase != "voting":
        raise Conflict(
            f"round {round_.id} takes no ballots: {PHASE_TEXT[phase]}"
            + (f" (voting opens {round_.voting_at.isoformat()})" if PHASES.index(phase) < 3 else ""),
            field="phase",
        )
    voter = _voter(db, principal, round_, code)
    listed = {p.id: p for p in on_ballot(db, round_)}
    chosen = list(dict.fromkeys(approvals))
    unknown = [i for i in chosen if i not in listed]
    if unknown:
        raise InvalidInput(
            f"proposal(s) {', '.join(map(str, unknown[:10]))} are not on this round's ballot",
            field="approvals",
        )
    total = sum(listed[i].cost for i in chosen)
    if round_.limit_to_budget and total > round_.amount:
        raise InvalidInput(
            f"these proposals cost {total:,} {round_.currency} together, more than the budget of "
            f"{round_.amount:,}: approve fewer",
            field="approvals",
        )
    changed = _ballot_of(db, round_, voter) is not None
    # one ballot per account or code, also when two arrive at once: the second replaces the first
    values = {
        "round_id": round_.id,
        "user_id": voter.user_id,
        "code_id": voter.code_id,
        "approvals": sorted(chosen),
    }
    statement = pg_insert(BudgetBallot).values(**values)
    constraint = "uq_budget_ballot_round_user" if voter.user_id is not None else "uq_budget_ballot_code"
    db.execute(
        statement.on_conflict_do_update(
            constraint=constraint, set_={"approvals": statement.excluded.approvals, "updated_at": func.now()}
        )
    )
    db.commit()
    return {"round": round_.id, "approvals": sorted(chosen), "changed": changed, "total_cost": total}


def my_ballot(db: Session, principal: Principal, round_id: int, code: str | None = None) -> dict[str, Any]:
    round_ = _round(db, round_id)
    ballot = _ballot_of(db, round_, _voter(db, principal, round_, code))
    db.rollback()  # lets go of the row lock
    return {"round": round_.id, "approvals": ballot.approvals if ballot else None}


# --- results (pabutools) ------------------------------------------------------------------------------------


def ballots_of(db: Session, round_: BudgetRound) -> list[list[int]]:
    """Every ballot's approvals in casting order, without voter identity. A ballot approving nothing is an
    abstention: it does not count (nor take a share of the budget under MES)."""
    stmt = select(BudgetBallot.approvals).where(BudgetBallot.round_id == round_.id).order_by(BudgetBallot.id)
    return [list(b) for b in db.scalars(stmt) if b]


def pabutools_election(
    amount: int, projects: Sequence[tuple[int, int]], ballots: Sequence[Sequence[int]]
) -> tuple[Any, Any]:
    """A pabutools instance (projects named by proposal id) and approval profile."""
    from pabutools.election import ApprovalBallot, ApprovalProfile, Instance, Project

    by_id = {pid: Project(str(pid), cost) for pid, cost in projects}
    instance = Instance(list(by_id.values()), budget_limit=amount)
    profile = ApprovalProfile(
        [ApprovalBallot([by_id[i] for i in ballot if i in by_id]) for ballot in ballots]
    )
    return instance, profile


def run_rules(instance: Any, profile: Any) -> dict[str, Any]:
    """Greedy by votes and the Method of Equal Shares, both with cost satisfaction, with pabutools' details."""
    from pabutools.election import Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    return {
        "greedy": greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, analytics=True),
        "mes": method_of_equal_shares(instance, profile, sat_class=Cost_Sat, analytics=True),
    }


def _money(value: Any) -> float:
    return (
        float(Fraction(int(value.numerator), int(value.denominator)))
        if hasattr(value, "numerator")
        else float(value)
    )


def results(db: Session, principal: Principal, round_id: int) -> dict[str, Any]:
    """Both rules side by side, with why each project was or was not funded. Published once voting has closed;
    organisers may look earlier (a count so far)."""
    import importlib.metadata

    round_ = _round(db, round_id)
    phase = phase_of(round_)
    if phase != "results" and principal.role not in ORGANISER_ROLES:
        raise Conflict(
            f"round {round_.id}: {PHASE_TEXT[phase]}; results are published when voting closes "
            f"({round_.results_at.isoformat()})",
            field="phase",
        )
    listed = on_ballot(db, round_)
    ballots = ballots_of(db, round_)
    instance, profile = pabutools_election(round_.amount, [(p.id, p.cost) for p in listed], ballots)
    outcome = run_rules(instance, profile)
    votes = {p.id: 0 for p in listed}
    for ballot in ballots:
        for pid in ballot:
            if pid in votes:
                votes[pid] += 1
    n_voters = len(ballots)
    share = round_.amount / n_voters if n_voters else None
    greedy_ids = {int(p.name) for p in outcome["greedy"]}
    mes_ids = {int(p.name) for p in outcome["mes"]}
    greedy_why = _greedy_reasons(outcome["greedy"], votes, round_)
    mes_why = _mes_reasons(outcome["mes"], instance, profile, round_, share)
    rows = []
    for proposal in sorted(listed, key=lambda p: (-votes[p.id], p.id)):
        rows.append(
            {
                "proposal": proposal_document(db, proposal),
                "votes": votes[proposal.id],
                "greedy": {"funded": proposal.id in greedy_ids, "why": greedy_why.get(proposal.id, "")},
                "mes": {"funded": proposal.id in mes_ids, "why": mes_why.get(proposal.id, "")},
            }
        )
    excluded = [
        {
            "proposal": proposal_document(db, p),
            "why": f"not on the ballot: not feasible ({p.feasibility_reason})",
        }
        for p in proposals_of(db, round_)
        if p.feasible is False
    ]

    def spent(ids: set[int]) -> int:
        return sum(p.cost for p in listed if p.id in ids)

    return {
        "round": round_.id,
        "phase": phase,
        "final": phase == "results",
        "amount": round_.amount,
        "currency": round_.currency,
        "n_voters": n_voters,
        "equal_share": share,
        "pabutools": {"version": importlib.metadata.version("pabutools"), "rules": PABUTOOLS_RULES},
        "greedy": {"funded": sorted(greedy_ids), "spent": spent(greedy_ids)},
        "mes": {"funded": sorted(mes_ids), "spent": spent(mes_ids)},
        "projects": rows,
        "excluded": excluded,
    }


def _greedy_reasons(allocation: Any, votes: dict[int, int], round_: BudgetRound) -> dict[int, str]:
    """Why greedy funded each project or not, from pabutools' details (the budget left after each choice)."""
    reasons: dict[int, str] = {}
    remaining = round_.amount
    # the order greedy considered them in: by approvals (cost satisfaction per cost), ties in pabutools' order
    details = sorted(allocation.details.projects, key=lambda d: -d.score)
    for detail in details:
        pid = int(detail.project.name)
        cost = int(_money(detail.project.cost))
        if not detail.discarded:
            left = int(_money(detail.remaining_budget))
            reasons[pid] = (
                f"funded: {votes[pid]} votes; its cost {cost:,} fitted in the {remaining:,} {round_.currency} left, "
                f"leaving {left:,}"
                if votes[pid]
                else f"funded without votes: greedy spends what is left on every proposal that fits, and its cost "
                f"{cost:,} fitted in the {remaining:,} {round_.currency} left, leaving {left:,}"
            )
            remaining = left
        elif votes[pid] == 0:
            reasons[pid] = f"not funded: no votes, and its cost {cost:,} was more than the {remaining:,} left"
        else:
            reasons[pid] = (
                f"not funded: {votes[pid]} votes, but its cost {cost:,} was more than the {remaining:,} "
                f"{round_.currency} left when its turn came (more votes go first; ties in pabutools' order)"
            )
    return reasons


def _mes_reasons(
    allocation: Any, instance: Any, profile: Any, round_: BudgetRound, share: float | None
) -> dict[int, str]:
    """Why MES funded each project or not: what its supporters paid, or how little of their shares they had left."""
    reasons: dict[int, str] = {}
    supporters: dict[str, list[int]] = {p.name: [] for p in instance}
    for index, ballot in enumerate(profile):
        for project in ballot:
            supporters[project.name].append(index)
    if share is None:
        return {int(p.name): "not funded: nobody voted" for p in instance}
    last_seen: dict[str, Any] = {}
    for iteration in allocation.details.iterations:
        budgets = iteration.voters_budget
        for detail in iteration:
            last_seen[detail.project.name] = (iteration, budgets)
        chosen = iteration.selected_project
        if chosen is None:
            continue
        after = iteration.voters_budget_after_selection
        most = (
            max(_money(budgets[i]) - _money(after[i]) for i in supporters[chosen.name])
            if budgets is not None and after is not None and supporters[chosen.name]
            else None
        )
        reasons[int(chosen.name)] = (
            f"funded: its {len(supporters[chosen.name])} supporters paid its cost {int(_money(chosen.cost)):,} "
            f"{round_.currency} from their equal shares of {share:,.2f}"
            + ("" if most is None else f" (each paid at most {most:,.2f})")
        )
    for project in instance:
        pid = int(project.name)
        if pid in reasons:
            continue
        backers = supporters[project.name]
        if not backers:
            reasons[pid] = "not funded: no votes"
            continue
        seen = last_seen.get(project.name)
        budgets = seen[1] if seen else None
        held = sum(_money(budgets[i]) for i in backers) if budgets is not None else len(backers) * share
        reasons[pid] = (
            f"not funded: its {len(backers)} supporters had {held:,.2f} {round_.currency} of their equal shares "
            f"left, less than its cost {int(_money(project.cost)):,}"
        )
    return reasons


# --- pabulib export -----------------------------------------------------------------------------------------


def _pb_text(value: str | None) -> str:
    """Text for one .pb field: on one line (the format is read line by line), no control characters."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", value or "").strip()


def export_pabulib(db: Session, principal: Principal, round_id: int) -> str:
    """The round in pabulib's .pb format (META, PROJECTS, VOTES; `;`-separated, fields quoted as CSV)."""
    round_ = _round(db, round_id)
    phase = phase_of(round_)
    if phase != "results" and principal.role not in ORGANISER_ROLES:
        raise Conflict(f"round {round_.id}: {PHASE_TEXT[phase]}; the export is published with the results")
    city = db.get(City, round_.city_id)
    listed = on_ballot(db, round_)
    ballots = ballots_of(db, round_)
    votes = {p.id: 0 for p in listed}
    for ballot in ballots:
        for pid in ballot:
            if pid in votes:
                votes[pid] += 1
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    services = {s.id: s.slug for s in db.scalars(select(ServiceType))}
    meta = [
        ("description", _pb_text(round_.name)),
        ("country", _pb_text(city.country if city and city.country else "")),
        ("unit", _pb_text(city.name if city else "")),
        ("instance", str(round_.id)),
        ("num_projects", str(len(listed))),
        ("num_votes", str(len(ballots))),
        ("budget", str(round_.amount)),
        ("currency", round_.currency),
        ("vote_type", "approval"),
        ("rule", "greedy"),
        ("date_begin", round_.voting_at.date().isoformat()),
        ("date_end", round_.results_at.date().isoformat()),
        ("min_length", "1"),
    ]
    if round_.limit_to_budget:
        meta.append(("max_sum_cost", str(round_.amount)))
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    writer.writerows(meta)
    writer.writerow(["PROJECTS"])
    writer.writerow(["project_id", "cost", "votes", "name", "category"])
    for proposal in listed:
        writer.writerow(
            [
                proposal.id,
                proposal.cost,
                votes[proposal.id],
                _pb_text(proposal.title),
                services.get(proposal.service_type_id or 0, "none"),
            ]
        )
    writer.writerow(["VOTES"])
    writer.writerow(["voter_id", "vote"])
    for index, ballot in enumerate(ballots, start=1):
        writer.writerow([index, ",".join(str(pid) for pid in ballot if pid in votes)])
    return out.getvalue()


# --- the gap map's proposals layer ------------------------------------------------------------------------


def _count_text(value: Any, unit: str) -> str | None:
    return None if value is None else f"{value:,.0f} {unit}"


def proposal_map_frame(
    db: Session, principal: Principal, round_id: int, service_type_id: int
) -> gpd.GeoDataFrame:
    """The round's proposals of one service with a place, for the gap map (EPSG:4326): title, cost, reach, unmet,
    status, result and funded (by either rule, once results may be shown to the reader)."""
    round_ = _round(db, round_id)
    shown = [
        p for p in proposals_of(db, round_) if p.service_type_id == service_type_id and p.neighbourhood_id
    ]
    outcome: dict[int, tuple[bool, bool]] = {}
    if phase_of(round_) == "results" or principal.role in ORGANISER_ROLES:
        document = results(db, principal, round_.id)
        outcome = {
            row["proposal"]["id"]: (row["greedy"]["funded"], row["mes"]["funded"])
            for row in document["projects"]
        }
    rows: dict[str, list[Any]] = {
        k: [] for k in ("title", "cost", "reach", "unmet", "status", "result", "funded")
    }
    geometry = []
    for proposal in shown:
        lon, lat, _ = _site_of(db, proposal)
        score = proposal.score or {}
        rows["title"].append(proposal.title)
        rows["cost"].append(f"{proposal.cost:,} {round_.currency}")
        rows["reach"].append(_count_text(score.get("people_newly_within_reach"), "people"))
        rows["unmet"].append(_count_text(score.get("unmet_need_covered"), "people"))
        rows["status"].append(
            "not reviewed yet"
            if proposal.feasible is None
            else "feasible"
            if proposal.feasible
            else f"not feasible: {proposal.feasibility_reason or ''}"
        )
        greedy, mes = outcome.get(proposal.id, (False, False))
        rows["result"].append(
            None
            if proposal.id not in outcome
            else f"greedy: {'funded' if greedy else 'not funded'}; equal shares: {'funded' if mes else 'not funded'}"
        )
        rows["funded"].append(greedy or mes)
        geometry.append(Point(lon, lat))
    return gpd.GeoDataFrame(rows, geometry=geometry, crs="EPSG:4326")


T = TypeVar("T")


def city_names(db: Session) -> dict[int, str]:
    """Every city's name by id, for lists of rounds."""
    return {c.id: c.name for c in db.scalars(select(City))}


def service_type_choices(db: Session) -> list[tuple[str, str]]:
    """(slug, name) of every service type, by name, for the proposal form."""
    return [(s.slug, s.name) for s in db.scalars(select(ServiceType).order_by(ServiceType.name))]


def in_cli_session(settings: Any, work: Callable[..., T]) -> T:
    """Run `work(db, settings, principal)` in a session of its own, as the command line's administrator."""
    with session_scope(settings) as db:
        return work(db, settings, Principal(username="assetmap-cli", role="admin"))
