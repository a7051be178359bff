"""A failed import: the error it raises (with the failed run's id and report) and the failed run it records."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.db.queries import domain_error
from app.errors import AssetmapError, InvalidInput, PayloadTooLarge
from app.services.imports.report import _new_run, _now
from app.services.imports.request import _Pending
from geo.io import GeoFileError, LayerChoiceError, MappingError, SourceTooLargeError
from geo.io.spreadsheet import SheetChoiceError

log = logging.getLogger("assetmap.imports")


class RowsInvalid(InvalidInput):
    """Some rows cannot be stored and the user did not ask to skip them; nothing was written."""


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, AssetmapError):
        return exc.detail
    if isinstance(exc, GeoFileError):
        return str(exc)
    if isinstance(exc, (IntegrityError, DataError)):
        return "the database refused a row of the file; nothing was imported"
    return "the import failed on the server; nothing was imported"


def _record_failure(db: Session, pending: _Pending, exc: Exception) -> int | None:
    """Keep a 'failed' import run with what is known, in its own small transaction."""
    try:
        report = {"files": pending.files, **pending.report, "error": _failure_message(exc)}
        run = _new_run(pending, status="failed", report=report, skipped=0)
        run.finished_at = _now()
        db.add(run)
        db.commit()
        return run.id
    except SQLAlchemyError:
        db.rollback()
        log.exception("could not record the failed import of %s", pending.filename)
        return None


def _domain_error(exc: Exception, run_id: int | None, report: dict[str, Any]) -> AssetmapError:
    extra: dict[str, Any] = {"import_id": run_id}
    if isinstance(exc, RowsInvalid):
        extra["problems"] = report.get("problems", [])
        extra["problems_total"] = report.get("problems_total", 0)
        extra["rows_with_errors"] = report.get("rows_with_errors", 0)
    if "source_columns" in report:
        # Whatever stopped the import, the file's columns and the suggestion help to write the next attempt.
        for name in ("source_columns", "suggested_mapping", "rejected_suggestions"):
            if name in report:
                extra[name] = report[name]
    if isinstance(exc, AssetmapError):
        exc.extra = {**exc.extra, **extra}
        return exc
    if isinstance(exc, IntegrityError):
        error = domain_error(exc)
        error.extra = {**error.extra, **extra}
        return error
    if isinstance(exc, DataError):
        return InvalidInput(_failure_message(exc), field="file", extra=extra)
    if isinstance(exc, SourceTooLargeError):
        return PayloadTooLarge(str(exc), field="file", extra=extra)
    if isinstance(exc, LayerChoiceError):
        field = "sheet" if isinstance(exc, SheetChoiceError) else "gpkg_layer"
        return InvalidInput(str(exc), field=field, extra={**extra, "layers": exc.choices})
    if isinstance(exc, MappingError):
        return InvalidInput(str(exc), field="mapping", extra=extra)
    return InvalidInput(str(exc), field="file", extra=extra)
