"""`assetmap case`: community-rights cases from the terminal (docs/CASES.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

app = typer.Typer(
    help="Community-rights cases: Right to Bid, Right to Challenge, asset transfer.", no_args_is_help=True
)

KINDS = ("acv", "challenge", "transfer")


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date: write it as YYYY-MM-DD") from None


def _summary(case: dict[str, Any]) -> str:
    deadlines = ", ".join(f"{name} {case['deadlines'][name]}" for name in case["running_deadlines"])
    moratorium = f" ({case['moratorium']} moratorium)" if case["moratorium"] else ""
    return f"case {case['id']} ({case['kind']}, {case['asset']['name']}): {case['stage']}{moratorium}" + (
        f"; {deadlines}" if deadlines else ""
    )


@app.command("list")
def case_list(
    city: Annotated[str | None, typer.Option("--city", help="city id or name")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="e.g. listed, unsuccessful, expired")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="acv, challenge or transfer")] = None,
    neighbourhood: Annotated[int | None, typer.Option("--neighbourhood", help="neighbourhood id")] = None,
    public: Annotated[
        bool, typer.Option("--public", help="only the public register, as a visitor sees it")
    ] = False,
) -> None:
    """List cases with their stage and the deadlines still running."""
    from app.services.cases import CaseFilters
    from app.services.cases.terminal import list_from_terminal

    filters = CaseFilters(city=city, stage=stage, kind=kind, neighbourhood=neighbourhood)
    try:
        rows = list_from_terminal(load_settings(), filters, public=public)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    table = Table()
    for column in ("id", "kind", "asset", "community body", "stage", "next deadline"):
        table.add_column(column)
    for case in rows:
        running = case["running_deadlines"]
        upcoming = sorted((case["deadlines"][name], name) for name in running)
        next_deadline = f"{upcoming[0][0]} {upcoming[0][1]}" if upcoming else ""
        stage = case["stage"] + (f" ({case['moratorium']})" if case["moratorium"] else "")
        table.add_row(
            str(case["id"]),
            case["kind"],
            case["asset"]["name"],
            case["community_body"]["name"],
            stage,
            next_deadline,
        )
    console.print(table)


@app.command("add")
def case_add(
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    kind: Annotated[str, typer.Option("--kind", help="acv, challenge or transfer")],
    body_name: Annotated[str, typer.Option("--body", help="the community body's name")],
    body_kind: Annotated[
        str, typer.Option("--body-kind", help="e.g. community_group, charity, parish_council")
    ],
    asset_id: Annotated[int | None, typer.Option("--asset", help="the asset's id")] = None,
    new_place: Annotated[
        str | None,
        typer.Option("--new-place", help="or the name of a new physical space (with --lon, --lat)"),
    ] = None,
    lon: Annotated[float | None, typer.Option("--lon", help="its longitude (WGS 84)")] = None,
    lat: Annotated[float | None, typer.Option("--lat", help="its latitude (WGS 84)")] = None,
    contact: Annotated[str | None, typer.Option("--contact", help="the body's contact (private)")] = None,
    opened_on: Annotated[
        str | None, typer.Option("--on", help="day of the nomination or request, YYYY-MM-DD")
    ] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="the council's reference")] = None,
) -> None:
    """Open a case on an asset, with its opening event (a nomination, an expression of interest, a request)."""
    from app.services.cases.terminal import add_from_terminal

    if kind not in KINDS:
        raise fail(f"--kind: use one of {', '.join(KINDS)}")
    if (asset_id is None) == (new_place is None):
        raise fail("name the asset: --asset ID, or --new-place NAME with --lon and --lat")
    if new_place is not None and (lon is None or lat is None):
        raise fail("--new-place needs --lon and --lat")
    new_asset = (
        None
        if new_place is None
        else {"name": new_place, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
    )
    data: dict[str, Any] = {
        "city": city,
        "kind": kind,
        "asset_id": asset_id,
        "asset": new_asset,
        "community_body": {"name": body_name, "kind": body_kind, "contact": contact},
        "opened_on": _date(opened_on, "--on"),
        "reference": reference,
    }
    try:
        case = add_from_terminal(load_settings(), data)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    console.print(_summary(case), style="green", highlight=False)


@app.command("event")
def case_event(
    case_id: Annotated[int, typer.Argument(help="the case's id")],
    kind: Annotated[str, typer.Argument(help="e.g. listed, notice_of_sale, bidder_request")],
    on: Annotated[str, typer.Option("--on", help="the event's day, YYYY-MM-DD")],
    to_group: Annotated[
        bool, typer.Option("--to-community-interest-group", help="a sale to a community interest group")
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help="a private note")] = None,
) -> None:
    """Record a dated event; one the process does not allow at the case's stage is refused, saying why."""
    from app.services.cases.terminal import event_from_terminal

    day = _date(on, "--on")
    assert day is not None
    try:
        case = event_from_terminal(load_settings(), case_id, kind, day, to_group=to_group, note=note)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    console.print(_summary(case), style="green", highlight=False)


# Exit codes of import-register (docs/CASES.md): 0 every row imported (or would be), 1 refused (nothing written),
# 2 bad usage, 3 imported (or would be) but some rows were left to place or rejected, each with its reason.
EXIT_ROWS_LEFT = 3


@app.command("import-register")
def case_import_register(
    file: Annotated[Path, typer.Argument(help="the council's register, CSV or XLSX")],
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="field=COLUMN, e.g. --map name='Asset name' --map listed_on='Date added'; field= leaves it out",
        ),
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option("--crs", help="the coordinates' CRS (default EPSG:27700 for easting/northing)"),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="a CSV's encoding (default UTF-8, else cp1252)")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="a workbook's sheet (default: the first)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would happen, write nothing")] = False,
) -> None:
    """Import a council's published register of assets of community value: each row matched to an asset by name
    and address (or placed by its coordinates), its case opened and its dates recorded; rows that could not be
    placed are listed with the reason."""
    from app.services.cases.register_import import RegisterImport, import_from_terminal

    pairs: dict[str, str] = {}
    for value in mapping or []:
        target, sep, source = value.partition("=")
        if not sep or not target.strip():
            raise fail(
                f"--map takes field=COLUMN, e.g. --map name='Asset name', or field= to leave it out (got {value[:60]!r})"
            )
        pairs[target.strip()] = source.strip()
    request = RegisterImport(
        city=city, mapping=pairs or None, crs=crs, encoding=encoding, sheet=sheet, dry_run=dry_run
    )
    try:
        report = import_from_terminal(load_settings(), request, file)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    for note in report["notes"]:
        console.print(f"note: {note}", highlight=False, markup=False)
    mapped = ", ".join(f"{field}={column}" for field, column in report["mapping"].items())
    console.print(f"columns: {mapped}", highlight=False, markup=False)
    table = Table()
    for column in ("row", "name", "outcome", "asset", "case", "events or reason"):
        table.add_column(column)
    for row in report["rows"]:
        events = ", ".join(f"{e['kind']} {e['on']}" for e in row["events"])
        detail = row["reason"] if row["reason"] else events
        if row["warnings"]:
            detail += "; " + "; ".join(row["warnings"])
        asset = "new" if row["new_asset"] else str(row["asset_id"] or "")
        table.add_row(
            Text(str(row["row"])),
            Text(row["name"] or ""),
            Text(row["outcome"]),
            Text(asset),
            Text(str(row["case_id"] or "")),
            Text(detail),
        )
    console.print(table)
    counts = report["counts"]
    done = counts["would_import"] if dry_run else counts["imported"]
    left = counts["unplaced"] + counts["rejected"]
    verb = "would import" if dry_run else "imported"
    console.print(
        f"{verb} {done} of {counts['rows']} rows ({counts['new_assets']} new places), {counts['skipped']} imported "
        f"before, {counts['unplaced']} to place on the map, {counts['rejected']} rejected"
        + ("; dry run: nothing was written" if dry_run else ""),
        highlight=False,
        markup=False,
    )
    if left:
        raise typer.Exit(EXIT_ROWS_LEFT)


@app.command("pack")
def case_pack(
    case_id: Annotated[int, typer.Argument(help="the case's id")],
    out: Annotated[Path, typer.Option("--out", help="the file to write (.pdf, or .html with --html)")],
    html: Annotated[
        bool, typer.Option("--html", help="write the pack's HTML page instead of its PDF")
    ] = False,
    service: Annotated[
        str | None, typer.Option("--service", help="a challenge's service type slug (default: its asset's)")
    ] = None,
    neighbourhood: Annotated[
        str | None,
        typer.Option("--neighbourhood", help="a challenge's area, id or code (default: its asset's)"),
    ] = None,
    run: Annotated[
        int | None, typer.Option("--run", help="the analysis run to use (default: the latest)")
    ] = None,
) -> None:
    """Write a case's evidence pack (docs/PACKS.md): the PDF a community body hands the council, or its HTML."""
    from app.services.cases.terminal import pack_from_terminal

    if case_id < 1:
        raise fail("the case id is a whole number from 1")
    try:
        body, runs = pack_from_terminal(
            load_settings(), case_id, html=html, service=service, neighbourhood=neighbourhood, run_id=run
        )
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    try:
        out.write_bytes(body)
    except OSError as exc:
        raise fail(f"could not write {out}: {exc.strerror or exc}") from None
    used = ", ".join(map(str, runs)) or "none"
    console.print(f"wrote {out} ({len(body):,} bytes; analysis runs {used})", highlight=False, markup=False)
