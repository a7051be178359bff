"""An import's report (problems bounded), the verdict a dry run gives, and the import run rows it records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import ImportRun
from app.services.imports.request import ImportRequest, _Pending
from app.services.imports.validation import _Checked
from geo.io import ReadResult
from geo.layers import ColumnProfile, dry_run_report

PREVIEW_ROWS = 10


# The stored report lists at most this many problems (the counts always cover all of them).
MAX_REPORTED_PROBLEMS = 10_000


def _report(
    read: ReadResult,
    checked: _Checked,
    layer: str,
    pending: _Pending,
    bad_rows: set[int],
    profiles: Sequence[ColumnProfile],
) -> dict[str, Any]:
    report = dry_run_report(
        read, checked.mapping, checked.rows, checked.problems, PREVIEW_ROWS, layer=layer, profiles=profiles
    )
    return _limited(report, bad_rows, pending)


def _limited(report: dict[str, Any], bad_rows: set[int], pending: _Pending) -> dict[str, Any]:
    """The report with its problem list bounded (the counts always cover all of them) and the files named."""
    problems = report["problems"]
    assert isinstance(problems, list)
    report["problems_total"] = len(problems)
    if len(problems) > MAX_REPORTED_PROBLEMS:
        report["problems"] = problems[:MAX_REPORTED_PROBLEMS]
    report["problems_truncated"] = len(problems) > MAX_REPORTED_PROBLEMS
    report["skipped_rows"] = sorted(bad_rows)[:MAX_REPORTED_PROBLEMS]
    report["files"] = pending.files
    report["source_label"] = pending.options["source"]
    report["defaults"] = pending.options["defaults"]
    return report


def _verdict(report: dict[str, Any], request: ImportRequest, bad_rows: set[int], refusal: str | None) -> None:
    """Say in the report whether the real import (same file, same options) would land, and if not why."""
    reasons = [refusal] if refusal else []
    if bad_rows and not request.skip_invalid:
        reasons.append(
            f"{len(bad_rows):,} of {report.get('rows', 0):,} rows cannot be stored (see the problems): fix them, "
            "or import with skip_invalid to load the other rows"
        )
    report["would_import"] = not reasons
    report["would_fail_because"] = reasons


def _record_dry_run(db: Session, pending: _Pending, report: dict[str, Any], *, skipped: int) -> ImportRun:
    pending.report = report
    run = _new_run(pending, status="dry_run", report=report, skipped=skipped)
    run.finished_at = _now()
    db.add(run)
    db.commit()
    db.refresh(run)
    return run


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_run(pending: _Pending, *, status: str, report: dict[str, Any], skipped: int) -> ImportRun:
    return ImportRun(
        city_id=pending.city_id,
        layer=pending.layer,
        filename=pending.filename,
        sha256=pending.sha256,
        status=status,
        options=pending.options,
        inserted=0,
        updated=0,
        skipped=skipped,
        report=report,
        user_id=pending.user_id,
    )
