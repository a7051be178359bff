"""Import runs as GIS staff see them: the list (newest first) and one run with its report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import City, ImportRun, User
from app.errors import InvalidInput, NotFound
from app.services.catalogue import resolve_city

LIST_LIMIT_MAX = 200


def import_record(
    run: ImportRun, city: str | None, user: str | None, *, with_report: bool = True
) -> dict[str, Any]:
    """An import run as JSON-ready data: status, counts, options and (unless asked not to) the full report."""
    record: dict[str, Any] = {
        "id": run.id,
        "status": run.status,
        "city_id": run.city_id,
        "city": city,
        "layer": run.layer,
        "filename": run.filename,
        "sha256": run.sha256,
        "options": run.options,
        "counts": {"inserted": run.inserted, "updated": run.updated, "skipped": run.skipped},
        "user_id": run.user_id,
        "user": user,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
    if with_report:
        record["report"] = run.report
    else:
        record["error"] = (run.report or {}).get("error")
    return record


def _names(db: Session, run: ImportRun) -> tuple[str | None, str | None]:
    city = db.scalar(select(City.name).where(City.id == run.city_id))
    user = db.scalar(select(User.username).where(User.id == run.user_id)) if run.user_id else None
    return city, user


def describe_import(db: Session, run: ImportRun) -> dict[str, Any]:
    """One run with its report, naming its city and user."""
    return import_record(run, *_names(db, run))


def get_import(db: Session, import_id: int) -> dict[str, Any]:
    """One import run with its report, or 404."""
    run = db.get(ImportRun, import_id)
    if run is None:
        raise NotFound(f"no import {import_id}")
    return describe_import(db, run)


def list_imports(
    db: Session, *, city: str | None = None, before: int | None = None, limit: int = 50
) -> dict[str, Any]:
    """Import runs newest first, without their reports; page with `before` (the last id seen)."""
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInput(f"limit must be between 1 and {LIST_LIMIT_MAX}", field="limit")
    stmt = (
        select(ImportRun, City.name, User.username)
        .join(City, City.id == ImportRun.city_id)
        .outerjoin(User, User.id == ImportRun.user_id)
        .order_by(ImportRun.id.desc())
        .limit(limit + 1)
    )
    if city:
        stmt = stmt.where(ImportRun.city_id == resolve_city(db, city).id)
    if before is not None:
        stmt = stmt.where(ImportRun.id < before)
    rows = db.execute(stmt).all()
    items = [import_record(run, name, user, with_report=False) for run, name, user in rows[:limit]]
    return {"items": items, "next_before": items[-1]["id"] if len(rows) > limit and items else None}


def user_id_by_name(db: Session, username: str) -> int:
    """The id of an account, for recording who ran an import from the command line."""
    user_id = db.scalar(select(User.id).where(User.username == username))
    if user_id is None:
        raise NotFound(f"no user {username[:100]!r}: list accounts with `assetmap user list`", field="user")
    return user_id
