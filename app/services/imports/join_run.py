"""The run of a table join: the table checked and reported like a file, then one UPDATE of the city's
neighbourhoods."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.db.models import City, ImportRun
from app.services.imports import join, load
from app.services.imports.failures import RowsInvalid
from app.services.imports.report import PREVIEW_ROWS, _limited, _new_run, _now, _record_dry_run, _verdict
from app.services.imports.request import ImportRequest, ProgressHook, _Pending
from geo.io import ReadResult


def _run_join(
    db: Session,
    request: ImportRequest,
    city: City,
    read: ReadResult,
    pending: _Pending,
    notify: ProgressHook,
    kept: dict[str, Any],
) -> ImportRun:
    """A table joined onto the city's neighbourhoods by code: checked and reported, then one UPDATE."""
    assert request.join is not None
    notify("validate")
    prepared = join.prepare_join(db, city.id, city.name, read, request.join, request.mapping, PREVIEW_ROWS)
    report = _limited(prepared.report, prepared.bad_rows, pending)
    report["filter"], report["dropped"] = kept, kept["dropped"]
    pending.report = report
    _verdict(report, request, prepared.bad_rows, None)
    if request.dry_run:
        return _record_dry_run(db, pending, report, skipped=len(prepared.bad_rows))
    if prepared.bad_rows and not request.skip_invalid:
        raise RowsInvalid(
            f"{len(prepared.bad_rows):,} rows of the table cannot be used, so nothing was updated: fix them (the "
            "problems name each row), or join with skip_invalid to update from the other rows",
            field="file",
        )
    run = _new_run(pending, status="running", report=report, skipped=len(prepared.bad_rows))
    db.add(run)
    db.flush()
    notify("stage")
    context = load.LoadContext(
        city_id=city.id,
        import_id=run.id,
        user_id=pending.user_id,
        source_label=pending.options["source"],
        message=f"joined from {pending.filename}",
        mapped=prepared.fields,
    )
    notify("update")
    result = load.update_neighbourhood_fields(db, context, prepared.rows)
    run.updated = result.updated
    run.status = "succeeded"
    run.finished_at = _now()
    run.report = {
        **report,
        "rows_loaded": len(prepared.rows),
        "unchanged": len(prepared.rows) - result.updated,
    }
    notify("commit")
    db.commit()
    db.refresh(run)
    notify("done")
    return run
