"""`assetmap import` and `assetmap export`: GIS files in and out from the terminal."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import OperationalError

from app.cli.base import console, err, fail, load_settings
from app.cli.join_report import join_summary, print_join
from app.errors import AssetmapError

app = typer.Typer()

# Inputs from this size on show a progress display (reading, checking and loading take seconds).
LARGE_INPUT_BYTES = 1024 * 1024
SHOWN_PROBLEMS = 50
SHOWN_PREVIEW_COLUMNS = 8
SHOWN_COLUMNS = 80
# Exit codes (README "Import and export"): 0 done or would import, 1 refused or failed, 2 bad usage or settings,
# 3 a dry run found that the real import would fail.
EXIT_DRY_RUN_WOULD_FAIL = 3


def _pairs(values: list[str] | None, option: str) -> dict[str, str] | None:
    """Parse repeated target=value options."""
    if not values:
        return None
    pairs: dict[str, str] = {}
    for value in values:
        target, sep, source = value.partition("=")
        if not sep or not target.strip():
            raise fail(f"{option} takes target=value, e.g. {option} name=BEZEICHNUNG (got {value[:60]!r})")
        pairs[target.strip()] = source.strip()
    return pairs


@contextmanager
def _progress(total_bytes: int) -> Iterator[Any]:
    """A rich progress display over the import's stages for large inputs; None (no display) for small ones."""
    from app.services.imports import STAGES

    if total_bytes < LARGE_INPUT_BYTES:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<10}", style="bold", markup=False),
        BarColumn(),
        TextColumn("stage {task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("read", total=len(STAGES))

        def hook(stage: str) -> None:
            if stage in STAGES:
                progress.update(task, completed=STAGES.index(stage), description=stage)
            else:
                progress.update(task, completed=len(STAGES), description=stage)

        yield hook


def _cell(value: Any, width: int = 40) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "type" in value:
        shown = f"{value['type']} {value.get('coordinates', '')}"
    elif isinstance(value, list):
        shown = "; ".join(str(v) for v in value)
    else:
        shown = str(value)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def _print_source(report: dict[str, Any]) -> None:
    table = Table(title="Source", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    crs = report.get("crs") or "-"
    if report.get("crs_epsg") and f"EPSG:{report['crs_epsg']}" not in crs:
        crs = f"EPSG:{report['crs_epsg']} ({crs})"
    if report.get("crs_source"):
        crs = f"{crs} (from the {report['crs_source']})"
    encoding = report.get("encoding") or "-"
    if report.get("encoding_source"):
        encoding = f"{encoding} ({report['encoding_source']})"
    for label, value in (
        ("file", report.get("source_name")),
        ("format", report.get("format")),
        ("layer in file", report.get("layer")),
        ("CRS", crs),
        ("encoding", encoding),
        ("geometry types", ", ".join(report.get("geometry_types") or []) or "none"),
        ("features", f"{report.get('feature_count', 0):,}"),
        ("rows ready", f"{report.get('rows_ready', 0):,}"),
        ("rows with errors", f"{report.get('rows_with_errors', 0):,}"),
        ("source label", report.get("source_label")),
    ):
        table.add_row(label, str(value) if value is not None else "-")
    console.print(table)


def _print_columns(report: dict[str, Any]) -> None:
    """The file's columns: inferred type, sample values, the field each feeds (or was suggested for) and why."""
    columns = report.get("source_columns") or []
    if not columns:
        return
    table = Table(title="Columns of the file")
    for column in ("column", "type", "samples", "field", "why"):
        table.add_column(column)
    for entry in columns[:SHOWN_COLUMNS]:
        reason = entry.get("reason") or {}
        why = f"{reason.get('detail', '')}; {reason.get('type_check', '')}" if reason else ""
        target = entry.get("target") or ""
        if not target and entry.get("suggested_target"):
            target = f"({entry['suggested_target']})"
        rejected = "; ".join(f"not {r['target']}: {r['reason']}" for r in entry.get("rejected") or [])
        for target in entry.get("ambiguous_for") or []:
            rejected += f"{'; ' if rejected else ''}one of several columns for {target}: map one with --map"
        table.add_row(
            _cell(entry.get("name"), 30),
            str(entry.get("type") or ""),
            _cell(" | ".join(entry.get("samples") or []), 50),
            target,
            _cell("; ".join(part for part in (why, rejected) if part), 110),
        )
    console.print(table)
    if len(columns) > SHOWN_COLUMNS:
        console.print(f"  ... and {len(columns) - SHOWN_COLUMNS:,} more columns", highlight=False)


def _print_dropped(report: dict[str, Any]) -> None:
    kept = report.get("filter") or {}
    dropped = kept.get("dropped") or {}
    if not (kept.get("where") or kept.get("clip")):
        return
    console.print(
        f"  kept {kept.get('rows_kept', 0):,} of {kept.get('rows_read', 0):,} rows: "
        f"{dropped.get('where', 0):,} dropped by --where, {dropped.get('outside_clip', 0):,} outside the clip area",
        highlight=False,
    )


def _print_mapping(report: dict[str, Any]) -> None:
    mapping = report.get("mapping") or {}
    suggested = report.get("suggested_mapping") or {}
    table = Table(title="Field mapping (target <- source column)")
    for column in ("target field", "source column", "how"):
        table.add_column(column)
    for target, source in mapping.items():
        table.add_row(target, source, "suggested" if suggested.get(target) == source else "given")
    for target, value in (report.get("defaults") or {}).items():
        table.add_row(target, f"= {value!r}", "default")
    console.print(table)
    unmapped = report.get("unmapped_columns") or []
    if unmapped:
        console.print(f"  columns not imported: {', '.join(unmapped)}", highlight=False)


def _print_preview(report: dict[str, Any]) -> None:
    rows = report.get("preview") or []
    if not rows:
        return
    keys = ("source_id", "code")
    fields = [k for k in keys if k in rows[0]]
    fields += [k for k in rows[0] if k not in (*keys, "row_number", "source_fid", "geometry")] + ["geometry"]
    shown = [k for k in fields if any(r.get(k) not in (None, [], "") for r in rows)][:SHOWN_PREVIEW_COLUMNS]
    table = Table(title=f"First {len(rows)} rows as they would be stored")
    table.add_column("row", justify="right")
    for key in shown:
        table.add_column(key)
    for row in rows:
        table.add_row(str(row.get("row_number", "")), *(_cell(row.get(k)) for k in shown))
    console.print(table)


def _print_problems(problems: list[dict[str, Any]], total: int) -> None:
    if not problems:
        return
    table = Table(title=f"Problems ({total:,})")
    for column in ("row", "id", "field", "severity", "reason"):
        table.add_column(column)
    for problem in problems[:SHOWN_PROBLEMS]:
        severity = problem.get("severity", "")
        colour = {"error": "red", "warning": "yellow"}.get(severity, "cyan")
        table.add_row(
            str(problem.get("row_number") or ""),
            _cell(problem.get("source_id"), 20),
            str(problem.get("field") or ""),
            f"[{colour}]{severity}[/{colour}]",
            _cell(problem.get("reason"), 100),
        )
    console.print(table)
    if total > SHOWN_PROBLEMS:
        console.print(f"  ... and {total - SHOWN_PROBLEMS:,} more: see the import's report", highlight=False)


@app.command("import")
def import_command(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="a zip, GeoPackage, GeoJSON, CSV or XLSX, or a shapefile's .shp/.shx/.dbf/.prj/.cpg"
        ),
    ],
    city: Annotated[str, typer.Option(help="city id or name")],
    layer: Annotated[str, typer.Option(help="neighbourhoods, assets, needs or resources")],
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="target=source column (any case), added to the suggested mapping (repeat; target= unmaps)",
        ),
    ] = None,
    defaults: Annotated[
        list[str] | None, typer.Option("--default", help="target=value for empty or unmapped fields (repeat)")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="EPSG:nnnn when the file has no .prj or CRS")] = None,
    encoding: Annotated[str | None, typer.Option(help="text encoding of a DBF or CSV, e.g. cp1252")] = None,
    gpkg_layer: Annotated[
        str | None, typer.Option("--gpkg-layer", help="which layer of a GeoPackage")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="assets: source label that with source_id identifies a row (default: file name)"),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="check and report only (columns, mapping, problems); store nothing. Exit code 3: the import would fail",
        ),
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="load the valid rows and list the others in the report")
    ] = False,
    where: Annotated[
        str | None,
        typer.Option(
            help="keep only matching rows, e.g. \"status = 'open' and kind in ('library', 'centre')\""
        ),
    ] = None,
    clip: Annotated[
        str | None,
        typer.Option(help="keep only rows inside 'city' (its neighbourhoods) or 'bbox=W,S,E,N' (degrees)"),
    ] = None,
    clip_buffer_m: Annotated[
        float | None, typer.Option("--clip-buffer-m", help="grow the clip area by this many metres")
    ] = None,
    user: Annotated[str | None, typer.Option(help="record the import as this user's")] = None,
    join: Annotated[
        str | None,
        typer.Option(
            help="code=COLUMN: update existing neighbourhoods matched by code from a table (no new areas, "
            "no geometry); --map field=a+b+c sums columns"
        ),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="which sheet of an XLSX workbook (default: the first)")
    ] = None,
) -> None:
    """Import a GIS file into a city's layer; re-importing updates rows instead of duplicating them."""
    from app.services import imports
    from app.services.imports.terminal import import_files

    request = imports.ImportRequest(
        city=city,
        layer=layer,
        crs=crs,
        encoding=encoding,
        gpkg_layer=gpkg_layer,
        mapping=_pairs(mapping, "--map"),
        defaults=_pairs(defaults, "--default"),
        source=source,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        where=where,
        clip=clip,
        clip_buffer_m=clip_buffer_m,
        join=join,
        sheet=sheet,
    )
    total = sum(p.stat().st_size for p in files if p.is_file())
    settings = load_settings()
    try:
        with _progress(total) as hook:
            record = import_files(settings, request, files, user=user, progress=hook)
    except AssetmapError as exc:
        _print_columns(exc.extra)
        _print_problems(exc.extra.get("problems") or [], int(exc.extra.get("problems_total") or 0))
        where = f" (import {exc.extra['import_id']})" if exc.extra.get("import_id") else ""
        raise fail(f"{exc.detail}{where}") from None
    except OperationalError:
        raise fail(
            "cannot reach the database: check ASSETMAP_DATABASE_URL and that PostgreSQL runs"
        ) from None
    report = record["report"]
    _print_source(report)
    if join is not None:
        print_join(report)
        _print_problems(report.get("problems") or [], int(report.get("problems_total") or 0))
        console.print(join_summary(record, dry_run), highlight=False)
        _exit_if_it_would_fail(report, dry_run)
        return
    _print_columns(report)
    _print_dropped(report)
    _print_mapping(report)
    if dry_run:
        _print_preview(report)
    _print_problems(report.get("problems") or [], int(report.get("problems_total") or 0))
    counts = record["counts"]
    if dry_run:
        console.print(
            Text.assemble(
                (f"dry run {record['id']}: nothing was stored", "green"),
                f"; {report.get('rows_ready', 0):,} rows would be imported, {counts['skipped']:,} have errors",
            ),
            highlight=False,
        )
        _exit_if_it_would_fail(report, dry_run)
        return
    console.print(
        Text.assemble(
            (f"import {record['id']} into {record['city']} {record['layer']}:", "green"),
            f" {counts['inserted']:,} inserted, {counts['updated']:,} updated, "
            f"{report.get('unchanged', 0):,} unchanged, {counts['skipped']:,} skipped",
        ),
        highlight=False,
    )


def _exit_if_it_would_fail(report: dict[str, Any], dry_run: bool) -> None:
    """A dry run whose real import would fail says why and exits with EXIT_DRY_RUN_WOULD_FAIL."""
    if dry_run and report.get("would_import") is False:
        for reason in report.get("would_fail_because") or []:
            err.print(Text.assemble(("the import would fail:", "red"), f" {reason}"), soft_wrap=True)
        raise typer.Exit(EXIT_DRY_RUN_WOULD_FAIL)


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="file to write (a shapefile is written as a .zip)")],
    city: Annotated[str, typer.Option(help="city id or name")],
    layer: Annotated[str, typer.Option(help="neighbourhoods, assets, needs or resources")],
    fmt: Annotated[str, typer.Option("--format", help="geojson, gpkg, shp (zipped) or csv")] = "geojson",
    neighbourhood: Annotated[
        str | None, typer.Option(help="only this neighbourhood (code) and the ones inside it")
    ] = None,
    status: Annotated[str, typer.Option(help="approved (default), pending, rejected or all")] = "approved",
    public: Annotated[
        bool,
        typer.Option("--public", help="export what an anonymous visitor sees (blurred people, no contacts)"),
    ] = False,
) -> None:
    """Export a city's layer as GeoJSON, GeoPackage, zipped shapefile or CSV (EPSG:4326)."""
    from app.policy import ANONYMOUS, Principal
    from app.services.exports import write_export

    if out.is_dir():
        raise fail(f"{out} is a folder: name the file to write, e.g. {out / f'{layer}.{fmt}'}")
    # The command line is run by an operator with database access; --public gives the public view.
    principal = ANONYMOUS if public else Principal(username="command line", role="admin")
    settings = load_settings()
    try:
        export = write_export(
            settings,
            principal,
            city=city,
            layer=layer,
            fmt=fmt,
            neighbourhood=neighbourhood,
            status=status,
        )
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    except OperationalError:
        raise fail(
            "cannot reach the database: check ASSETMAP_DATABASE_URL and that PostgreSQL runs"
        ) from None
    try:
        shutil.move(export.path, out)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror}") from None
    finally:
        export.cleanup()
    console.print(f"wrote {export.rows:,} {layer} to {out}", style="green", highlight=False)
