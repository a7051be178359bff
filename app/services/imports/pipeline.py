"""The import use case: read a GIS file, check every row, report, and load it whole in one transaction."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import pandas as pd
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from app.db.models import City, ImportRun
from app.errors import AssetmapError, InvalidInput, PayloadTooLarge
from app.services.catalogue import resolve_city
from app.services.imports import checks, filtering, load
from app.services.imports.failures import RowsInvalid, _domain_error, _record_failure
from app.services.imports.join_run import _run_join
from app.services.imports.report import PREVIEW_ROWS, _new_run, _now, _record_dry_run, _report, _verdict
from app.services.imports.request import (
    _HASH_CHUNK,
    STAGES,
    ImportRequest,
    ProgressHook,
    _check_layer,
    _check_request,
    _fields_by_case,
    _Pending,
    _pending,
    default_source_label,
)
from app.services.imports.validation import (
    _check_rows,
    _check_slice,
    _Checked,
    _CheckedSlice,
    _final_mapping,
    _key_pass,
    _streamed_problems,
)
from app.settings import Settings
from geo.io import GeoFileError, ImportLimits, MappingError, ReadResult, error_rows, read_source
from geo.io.detect import TABLE_FORMATS
from geo.io.gc_pause import collector_paused
from geo.layers import (
    LAYERS,
    ColumnProfile,
    explain_mapping,
    mapping_report,
    profile_columns,
    unmapped_required_reason,
)

__all__ = [
    "STAGES",
    "ImportRequest",
    "ProgressHook",
    "RowsInvalid",
    "default_source_label",
    "import_uploads",
    "run_import",
]


# Rows per slice of a streamed import (each checked while the server stores the slice before): points, areas.
STREAM_SLICE_ROWS = load.COPY_SLICE_ROWS
STREAM_AREA_SLICE_ROWS = load.AREA_SLICE_ROWS

# ------------------------------------------------------------------------------------------- entry points


def import_uploads(
    db: Session,
    settings: Settings,
    request: ImportRequest,
    uploads: Sequence[tuple[str | None, IO[bytes]]],
    *,
    user_id: int | None,
) -> ImportRun:
    """Save uploaded parts in a fresh private folder under generated names (size-bounded), import, clean up."""
    if not uploads:
        raise InvalidInput(
            "send the file to import as a 'file' part (several parts for a loose shapefile)", field="file"
        )
    folder = Path(tempfile.mkdtemp(prefix="assetmap-upload-"))
    try:
        paths: list[Path] = []
        names: list[str] = []
        budget = settings.upload_max_bytes
        for index, (name, stream) in enumerate(uploads):
            target = folder / f"upload-{index:03d}"
            with target.open("xb") as sink:
                while chunk := stream.read(_HASH_CHUNK):
                    budget -= len(chunk)
                    if budget < 0:
                        raise PayloadTooLarge(
                            f"the upload is larger than the limit of {settings.upload_max_bytes:,} bytes: split the "
                            "data or ask an administrator to raise ASSETMAP_UPLOAD_MAX_BYTES"
                        )
                    sink.write(chunk)
            paths.append(target)
            # The user's name is only a label for messages and for matching a shapefile's parts.
            names.append(name or f"upload-{index + 1}")
        return run_import(db, settings, request, paths, names, user_id=user_id)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_import(
    db: Session,
    settings: Settings,
    request: ImportRequest,
    paths: Sequence[Path | str],
    original_names: Sequence[str] | None = None,
    *,
    user_id: int | None = None,
    progress: ProgressHook | None = None,
) -> ImportRun:
    """Import local files into a city's layer: a dry run records the report only; a load lands whole or not at all.

    A failure after the city is known leaves an import run with status 'failed' and its report (committed on its
    own) and raises a domain error that carries the run's id.
    """
    layer = _check_layer(request.layer)
    request = _fields_by_case(request)
    _check_request(request)
    row_filter = filtering.parse_row_filter(layer, request.where, request.clip, request.clip_buffer_m)
    city = resolve_city(db, request.city)
    path_list = [Path(p) for p in paths]
    if not path_list:
        raise InvalidInput("name at least one file to import", field="file")
    names = list(original_names) if original_names is not None else [p.name for p in path_list]
    if len(names) != len(path_list):
        raise ValueError(f"got {len(path_list)} paths but {len(names)} original names")
    pending = _pending(city, layer, request, path_list, names, user_id)
    pending.options.update(row_filter.options())
    notify = progress or (lambda _stage: None)
    try:
        with collector_paused():
            return _run(db, settings, request, city, layer, path_list, names, pending, notify, row_filter)
    except Exception as exc:
        db.rollback()
        run_id = _record_failure(db, pending, exc)
        if isinstance(exc, (GeoFileError, AssetmapError, IntegrityError, DataError)):
            raise _domain_error(exc, run_id, pending.report) from None
        raise


# ------------------------------------------------------------------------------------------- the run


def _run(
    db: Session,
    settings: Settings,
    request: ImportRequest,
    city: City,
    layer: str,
    paths: list[Path],
    names: list[str],
    pending: _Pending,
    notify: ProgressHook,
    row_filter: filtering.RowFilter,
) -> ImportRun:
    notify("read")
    read = read_source(
        paths,
        original_names=names,
        crs=request.crs,
        encoding=request.encoding,
        layer=request.gpkg_layer,
        limits=ImportLimits(max_total_bytes=4 * settings.upload_max_bytes),
        sheet=request.sheet,
    )
    pending.report = {"source": read.to_dict(), "files": pending.files}
    if read.feature_count == 0:
        raise InvalidInput(f"{read.source_name} holds no features: there is nothing to import", field="file")
    if request.join is not None:
        # A long table (one row per area and sex, say) is narrowed with --where before codes are matched.
        read, kept = filtering.keep_rows(db, city, layer, read, row_filter, check_area=False)
        return _run_join(db, request, city, read, pending, notify, kept)
    if read.format in TABLE_FORMATS and layer != "resources":
        raise InvalidInput(
            f"{read.source_name} is a table without geometry ({read.format}): join it onto the city's "
            "neighbourhoods with --join code=COLUMN, add the .shp and .shx of a shapefile, or save points as a "
            "CSV with lon and lat columns",
            field="file",
        )
    # Whether the data lands in the city is checked on the rows kept, so a wider register can be clipped.
    try:
        read, kept = filtering.keep_rows(db, city, layer, read, row_filter)
    except (AssetmapError, GeoFileError):
        # Refused before any mapping: the file's columns still tell the user what --where and --map can name.
        whole = profile_columns(read.frame, read.columns)
        suggested = explain_mapping(read.columns, layer, profiles=whole).mapping
        pending.report = {**pending.report, **mapping_report(read.columns, layer, suggested, whole)}
        raise
    pending.report["filter"] = kept
    profiles = profile_columns(read.frame, read.columns)
    mapping = _final_mapping(read, layer, request.mapping, profiles, pending)
    refusal = unmapped_required_reason(layer, mapping, request.defaults)
    if refusal is not None:
        # The columns and the suggestion are what the user needs to write a mapping: keep them either way.
        pending.report = {**pending.report, **mapping_report(read.columns, layer, mapping, profiles)}
        if not request.dry_run:
            raise MappingError(refusal)
        unchecked = _Checked(read.frame.iloc[0:0][["row_number"]], mapping, list(read.problems))
        report = _report(read, unchecked, layer, pending, set(), profiles)
        report["rows_ready"] = 0
        report["filter"], report["dropped"] = kept, kept["dropped"]
        _verdict(report, request, set(), refusal)
        return _record_dry_run(db, pending, report, skipped=0)
    notify("validate")
    streamed = _run_streamed(
        db, settings, request, city, layer, read, mapping, pending, notify, kept, profiles
    )
    if streamed is not None:
        return streamed
    checked = _check_rows(db, city.id, layer, read, request, mapping)
    bad_rows = error_rows(checked.problems)
    report = _report(read, checked, layer, pending, bad_rows, profiles)
    report["filter"], report["dropped"] = kept, kept["dropped"]
    _verdict(report, request, bad_rows, None)
    pending.report = report
    if request.dry_run:
        return _record_dry_run(db, pending, report, skipped=len(bad_rows))
    if bad_rows and not request.skip_invalid:
        raise RowsInvalid(
            f"{len(bad_rows):,} of {len(checked.rows):,} rows cannot be stored, so nothing was imported: fix them "
            "(the problems name each row), or import with skip_invalid to load the other rows",
            field="file",
        )

    run = _new_run(pending, status="running", report=report, skipped=len(bad_rows))
    db.add(run)
    db.flush()
    notify("stage")
    keep = ~checked.rows["row_number"].isin(list(bad_rows)).to_numpy()
    if keep.all():
        rows, extras = checked.rows, dict(checked.extras)  # every row is kept: no copy of the frame
    else:
        rows = checked.rows[keep]
        extras = {name: values[keep] for name, values in checked.extras.items()}
    mapped = frozenset(checked.mapping) | frozenset(request.defaults or {})
    context = load.LoadContext(
        city_id=city.id,
        import_id=run.id,
        user_id=pending.user_id,
        source_label=pending.options["source"],
        message=f"imported from {pending.filename}",
        mapped=mapped,
    )
    result = _load(db, settings, layer, context, rows, extras, notify)
    run.inserted, run.updated = result.inserted, result.updated
    run.status = "succeeded"
    run.finished_at = _now()
    run.report = {
        **report,
        "rows_loaded": len(rows),
        "unchanged": len(rows) - result.inserted - result.updated,
        "relocated": {"assets": result.relocated_assets, "needs": result.relocated_needs},
    }
    notify("commit")
    db.commit()
    db.refresh(run)
    notify("done")
    return run


class _SliceRefused(Exception):
    """A slice of a streamed import has a row error: the COPY is abandoned and the whole file checked instead."""


def _run_streamed(
    db: Session,
    settings: Settings,
    request: ImportRequest,
    city: City,
    layer: str,
    read: ReadResult,
    mapping: dict[str, str],
    pending: _Pending,
    notify: ProgressHook,
    kept: dict[str, Any],
    profiles: list[ColumnProfile],
) -> ImportRun | None:
    """Import assets or areas slice by slice: each slice is checked and encoded while the server stores the one
    before.

    The whole-file checks (each key once) run first, on the key column. None when the file takes the whole-file
    path instead: dry runs, skip_invalid, needs and resources, areas with parent codes (found among the whole
    file's), one slice only, a repeated key, or in any slice a row error, geometries that lose Z/M values (noted
    once for the whole file) or a server error. Then everything written is rolled back and the caller checks the
    whole file as before, so its report (every problem, by row) and its refusal are the same.
    """
    mapped = frozenset(mapping) | frozenset(request.defaults or {})
    size = STREAM_SLICE_ROWS if layer == "assets" else STREAM_AREA_SLICE_ROWS
    if (
        request.dry_run
        or request.skip_invalid
        or layer not in ("assets", "neighbourhoods")
        or (layer == "neighbourhoods" and "parent_code" in mapped)
        or len(read.frame) <= size
    ):
        return None
    key_pass = _key_pass(read, layer, request, mapping)
    if key_pass is None:
        return None
    known = checks.service_type_ids(db) if "service_types" in mapped else None
    report: dict[str, Any] = dict(pending.report)
    run = _new_run(pending, status="running", report=report, skipped=0)
    db.add(run)
    db.flush()
    notify("stage")
    context = load.LoadContext(
        city_id=city.id,
        import_id=run.id,
        user_id=pending.user_id,
        source_label=pending.options["source"],
        message=f"imported from {pending.filename}",
        mapped=mapped,
    )
    done: list[_CheckedSlice] = []

    def parts() -> Iterator[tuple[pd.DataFrame, pd.Series | None]]:
        for start in range(0, len(read.frame), size):
            stop = start + size
            part = _check_slice(
                read.frame.iloc[start:stop], layer, request, mapping, key_pass.keys.iloc[start:stop], known
            )
            if part.flattened or error_rows(part.early) or error_rows(part.late):
                raise _SliceRefused
            # The problems of every slice are kept, the rows only as far as the report's preview shows them.
            previewed = sum(len(p.rows) for p in done)
            done.append(part if previewed < PREVIEW_ROWS else replace(part, rows=part.rows.iloc[0:0]))
            yield part.rows, part.extras.get("service_type_ids")

    try:
        if layer == "assets":
            result = load.load_assets_streamed(
                db, context, key_pass.keys, parts(), notify, blur_resolution=settings.privacy_h3_resolution
            )
        else:
            result = load.load_neighbourhoods_streamed(db, context, key_pass.keys, parts(), notify)
    except (_SliceRefused, IntegrityError, DataError):
        db.rollback()  # nothing of it stays: the whole file is checked, and refused or loaded, as before
        return None
    problems = _streamed_problems(read, key_pass, done, LAYERS[layer].key)
    total = len(read.frame)
    head = pd.concat([p.rows for p in done if len(p.rows)]).iloc[:PREVIEW_ROWS]
    report = _report(read, _Checked(head, mapping, problems), layer, pending, set(), profiles)
    report["rows"], report["rows_ready"] = total, total
    report["slices"] = len(done)  # checked and written slice by slice
    report["filter"], report["dropped"] = kept, kept["dropped"]
    _verdict(report, request, set(), None)
    pending.report = report
    run.inserted, run.updated = result.inserted, result.updated
    run.status = "succeeded"
    run.finished_at = _now()
    run.report = {
        **report,
        "rows_loaded": total,
        "unchanged": total - result.inserted - result.updated,
        "relocated": {"assets": result.relocated_assets, "needs": result.relocated_needs},
    }
    notify("commit")
    db.commit()
    db.refresh(run)
    notify("done")
    return run


def _load(
    db: Session,
    settings: Settings,
    layer: str,
    context: load.LoadContext,
    rows: pd.DataFrame,
    extras: dict[str, pd.Series],
    notify: ProgressHook,
) -> load.LoadResult:
    if layer == "assets":
        # Each slice's blurred locations are found while the server stores the slice before.
        return load.load_assets(
            db,
            context,
            rows,
            extras.get("service_type_ids"),
            notify,
            blur_resolution=settings.privacy_h3_resolution,
        )
    if layer == "needs":
        return load.load_needs(db, context, rows, extras["service_type_id"], notify)
    if layer == "resources":
        return load.load_resources(db, context, rows, extras["asset_id"], extras["neighbourhood_id"], notify)
    return load.load_neighbourhoods(db, context, rows, notify)
