"""The import use case: read a GIS file, check every row, report, and load it whole in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.db.models import City, ImportRun
from app.db.queries import domain_error
from app.errors import AssetmapError, InvalidInput, PayloadTooLarge
from app.services.catalogue import resolve_city
from app.services.imports import checks, filtering, join, load
from app.settings import Settings
from geo.io import (
    GeoFileError,
    ImportLimits,
    LayerChoiceError,
    MappingError,
    Problem,
    ReadResult,
    SourceTooLargeError,
    error_rows,
    read_source,
)
from geo.io.detect import TABLE_FORMATS
from geo.io.gc_pause import collector_paused
from geo.io.spreadsheet import SheetChoiceError
from geo.io.stage import display_name
from geo.layers import (
    LAYERS,
    ColumnProfile,
    apply_mapping,
    dry_run_report,
    explain_mapping,
    mapping_report,
    merge_mapping,
    profile_columns,
    unmapped_required_reason,
)
from geo.privacy import blur_points
from geo.validate import prepare_geometries

log = logging.getLogger("assetmap.imports")

ProgressHook = Callable[[str], None]
# Progress stages in order (a load skips those it has no use for): read and check the file, type and encode the rows,
# find their neighbourhoods, write the new ones, update the changed ones, record the history, re-locate items after
# new boundaries, commit.
STAGES = ("read", "validate", "stage", "locate", "write", "update", "history", "relocate", "commit")
PREVIEW_ROWS = 10
# The stored report lists at most this many problems (the counts always cover all of them).
MAX_REPORTED_PROBLEMS = 10_000
SOURCE_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$")
_LABEL_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_TEXT_KINDS = ("text", "code")
_STRING = pd.StringDtype("python")
_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ImportRequest:
    """What to import and how: target city and layer, reading options, field mapping and what to do with errors."""

    city: str | int
    layer: str
    crs: str | None = None
    encoding: str | None = None
    gpkg_layer: str | None = None
    mapping: Mapping[str, str] | None = None
    defaults: Mapping[str, Any] | None = None
    source: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    where: str | None = None
    clip: str | None = None
    clip_buffer_m: float | None = None
    join: str | None = None  # "code=COLUMN": update existing neighbourhoods from a table instead
    sheet: str | None = None  # the sheet of an XLSX workbook (default: the first)


class RowsInvalid(InvalidInput):
    """Some rows cannot be stored and the user did not ask to skip them; nothing was written."""


@dataclass
class _Checked:
    rows: pd.DataFrame
    mapping: dict[str, str]
    problems: list[Problem]
    extras: dict[str, pd.Series] = field(default_factory=dict)


@dataclass
class _Pending:
    """What an import run will record, known before the file is read (so a failure can be recorded too)."""

    city_id: int
    layer: str
    filename: str
    sha256: str
    options: dict[str, Any]
    user_id: int | None
    files: list[dict[str, Any]]
    report: dict[str, Any] = field(default_factory=dict)


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


# ------------------------------------------------------------------------------------------- request checks


def _check_layer(layer: str) -> str:
    if layer not in LAYERS:
        raise InvalidInput(
            f"unknown layer {str(layer)[:40]!r}: use one of {', '.join(LAYERS)}", field="layer"
        )
    return layer


def _fields_by_case(request: ImportRequest) -> ImportRequest:
    """Target fields named in another case (`--map NAME=...`) spelled as the layer spells them."""
    fields = {name.casefold(): name for name in LAYERS[request.layer].field_names}

    def spelled(given: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if not isinstance(given, Mapping):
            return given
        return {fields.get(str(k).casefold(), k) if isinstance(k, str) else k: v for k, v in given.items()}

    return replace(request, mapping=spelled(request.mapping), defaults=spelled(request.defaults))


def _check_request(request: ImportRequest) -> None:
    if request.join is not None:
        join.check_join_layer(request.layer)
        if request.defaults:
            raise InvalidInput(
                "a join updates fields from the table's columns and takes no defaults: leave out --default",
                field="defaults",
            )
        if request.clip is not None:
            raise InvalidInput(
                "a join matches the table's rows by code and ignores their geometry: leave out --clip (use --where "
                "to keep only some rows, e.g. --where \"sex = 'Persons'\")",
                field="clip",
            )
    fields = set(LAYERS[request.layer].field_names)
    for name, given in (("mapping", request.mapping), ("defaults", request.defaults)):
        if given is None:
            continue
        if not isinstance(given, Mapping):
            raise InvalidInput(f"{name} must be an object of target field -> value", field=name)
        unknown = [str(k)[:60] for k in given if k not in fields]
        if unknown:
            raise InvalidInput(
                f"{request.layer} has no field {', '.join(repr(u) for u in unknown)}: its fields are "
                f"{', '.join(LAYERS[request.layer].field_names)}",
                field=name,
            )
    if request.mapping is not None and not all(isinstance(v, str) for v in request.mapping.values()):
        raise InvalidInput("mapping values must be column names (text)", field="mapping")
    if request.defaults is not None and not all(
        v is None or isinstance(v, (str, int, float, bool)) for v in request.defaults.values()
    ):
        raise InvalidInput("defaults must be plain values (text, numbers, true/false)", field="defaults")
    if request.source is not None and not SOURCE_LABEL.match(request.source):
        raise InvalidInput(
            "source must be a label of letters, digits and . _ - : (at most 100 characters), e.g. register-2024",
            field="source",
        )


def default_source_label(names: Sequence[str]) -> str:
    """The import's source label when none is given: the first file's name without extension, made safe."""
    base = re.split(r"[/\\]", names[0])[-1] if names else ""
    stem = base.rsplit(".", 1)[0] if "." in base[1:] else base
    label = _LABEL_CHARS.sub("-", stem).strip("-._")[:100]
    return label if label and SOURCE_LABEL.match(label) else "import"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _pending(
    city: City, layer: str, request: ImportRequest, paths: list[Path], names: list[str], user_id: int | None
) -> _Pending:
    files: list[dict[str, Any]] = []
    digests: list[str] = []
    for path, name in zip(paths, names, strict=True):
        if not path.is_file():
            raise InvalidInput(f"{display_name(name)} is not a readable file", field="file")
        digests.append(_sha256(path))
        files.append({"name": display_name(name), "bytes": path.stat().st_size, "sha256": digests[-1]})
    # One file: its own digest. A loose shapefile's parts: a digest of the sorted part digests.
    sha256 = (
        digests[0] if len(digests) == 1 else hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()
    )
    options = {
        "crs": request.crs,
        "encoding": request.encoding,
        "gpkg_layer": request.gpkg_layer,
        "mapping": dict(request.mapping) if request.mapping else None,
        "defaults": dict(request.defaults) if request.defaults else None,
        "source": request.source or default_source_label(names),
        "dry_run": request.dry_run,
        "skip_invalid": request.skip_invalid,
        "join": request.join,
        "sheet": request.sheet,
    }
    filename = ", ".join(display_name(name) for name in names)
    return _Pending(
        city.id,
        layer,
        filename if len(filename) <= 300 else filename[:297] + "...",
        sha256,
        options,
        user_id,
        files,
    )


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


def _final_mapping(
    read: ReadResult,
    layer: str,
    given: Mapping[str, str] | None,
    profiles: Sequence[ColumnProfile],
    pending: _Pending,
) -> dict[str, str]:
    """The suggested mapping (names checked against values) with the user's entries on top, columns matched by case.

    A mapping that names no column of the file fails with the file's columns in the failed run's report.
    """
    suggested = explain_mapping(read.columns, layer, profiles=profiles).mapping
    try:
        return merge_mapping(read.columns, suggested, given)
    except MappingError:
        pending.report = {**pending.report, **mapping_report(read.columns, layer, suggested, profiles)}
        raise


def _check_rows(
    db: Session, city_id: int, layer: str, read: ReadResult, request: ImportRequest, mapping: dict[str, str]
) -> _Checked:
    """Geometry repair, field mapping and the database checks; every problem names its row."""
    schema = LAYERS[layer]
    problems: list[Problem] = list(read.problems)
    frame = read.frame
    if layer == "resources":
        # Resources have no place of their own: they belong to an asset or a neighbourhood.
        if (~frame.geometry.isna()).any():
            problems.append(
                Problem(
                    None,
                    None,
                    "geometry",
                    "resources are stored without a location (they belong to an asset or a neighbourhood): the "
                    "file's geometries are not imported",
                    "info",
                )
            )
    else:
        frame, geometry_problems = prepare_geometries(
            frame, schema.geometry, geometry_optional=schema.geometry_optional
        )
        problems += geometry_problems
    rows, mapping_problems = apply_mapping(frame, layer, mapping, defaults=request.defaults)
    problems += mapping_problems
    problems += _text_problems(rows, layer)
    mapped = set(mapping) | set(request.defaults or {})
    extras: dict[str, pd.Series] = {}
    key = schema.key
    if layer != "neighbourhoods":
        rows[key], key_problems = checks.fill_row_keys(rows, key)
        problems += key_problems + _duplicate_keys(rows, key)
    if layer == "assets" and "service_types" in mapped:
        extras["service_type_ids"], found = checks.check_asset_service_types(db, rows, key)
        problems += found
    elif layer == "needs":
        extras["service_type_id"], found = checks.check_need_service_type(db, rows, key)
        problems += found
    elif layer == "resources":
        extras["asset_id"], extras["neighbourhood_id"], found = checks.resolve_resource_owners(
            db, city_id, rows, key
        )
        problems += found
    elif layer == "neighbourhoods" and "parent_code" in mapped:
        problems += checks.check_parent_codes(db, city_id, rows, key)
    problems = _named_by_key(problems, rows, key)
    problems.sort(key=lambda p: (p.row_number or 0, p.field or ""))
    return _Checked(rows, mapping, problems, extras)


def _named_by_key(problems: list[Problem], rows: pd.DataFrame, key: str) -> list[Problem]:
    """Name every row problem by the row's own key (code, source_id) once it is known, not by its feature id."""
    if not any(p.row_number is not None for p in problems):
        return problems
    keys = rows[key].astype(object)
    known = dict(zip(rows["row_number"].tolist(), keys.where(keys.notna(), None).tolist(), strict=True))
    return [
        replace(p, source_id=str(known[p.row_number]))
        if p.row_number is not None and known.get(p.row_number) is not None
        else p
        for p in problems
    ]


def _text_problems(rows: pd.DataFrame, layer: str) -> list[Problem]:
    """PostgreSQL text cannot hold a NUL character: such values are row errors rather than a failed load."""
    problems: list[Problem] = []
    for spec in LAYERS[layer].fields:
        if spec.kind not in _TEXT_KINDS or spec.name not in rows:
            continue
        column = rows[spec.name]
        if not isinstance(column.dtype, pd.StringDtype):
            raw = column.to_numpy(dtype=object, na_value=None)
            kind = pd.api.types.infer_dtype(raw, skipna=True)
            if kind == "empty":
                continue  # an unmapped or empty field
            # filter(None, ...) drops the missing values (and empty text, which holds no NUL) in C.
            if kind == "string" and "\x00" not in "".join(filter(None, raw.tolist())):
                continue  # all text, and none of it holds a NUL: the usual case, settled by one search
        # Text columns (the usual case) are searched in one vectorised pass.
        values = column if isinstance(column.dtype, pd.StringDtype) else column.astype(_STRING)
        has_nul = values.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
        for index in np.flatnonzero(has_nul):
            problems.append(
                Problem(
                    int(rows["row_number"].iloc[index]),
                    str(rows["source_fid"].iloc[index]),
                    spec.name,
                    "contains a NUL character (byte 0), which cannot be stored",
                )
            )
    return problems


def _duplicate_keys(rows: pd.DataFrame, key: str) -> list[Problem]:
    """Keys made up for rows without one could meet a real id such as 'row-3'; each key must be unique."""
    # Only keys that look made up are reported (apply_mapping reports the others), and such a key can only repeat
    # another such key: the search runs on those few.
    keys = rows[key].to_numpy(dtype=object, na_value=None)
    prefix = checks.ROW_KEY_PREFIX
    made_up = np.flatnonzero([k is not None and str(k).startswith(prefix) for k in keys.tolist()])
    duplicated = made_up[pd.Series(keys[made_up], dtype=object).duplicated(keep=False).to_numpy(dtype=bool)]
    return [
        Problem(
            int(rows["row_number"].iloc[i]),
            str(keys[i]),
            key,
            f"{key} {keys[i]!r} is used by more than one row",
        )
        for i in duplicated
    ]


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
        geometries = rows.geometry.to_numpy()
        rows = rows.copy(deep=False)  # copy-on-write: the blurred columns are added without copying the rest
        rows["blur_lon"], rows["blur_lat"] = blur_points(
            shapely.get_x(geometries), shapely.get_y(geometries), settings.privacy_h3_resolution
        )
        return load.load_assets(db, context, rows, extras.get("service_type_ids"), notify)
    if layer == "needs":
        return load.load_needs(db, context, rows, extras["service_type_id"], notify)
    if layer == "resources":
        return load.load_resources(db, context, rows, extras["asset_id"], extras["neighbourhood_id"], notify)
    return load.load_neighbourhoods(db, context, rows, notify)


# ------------------------------------------------------------------------------------------- failures


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
