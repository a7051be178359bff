"""`assetmap venues`: which kinds of place could host each service type (site suggestion's venues)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

app = typer.Typer(
    help="Venue kinds: which kinds of place (asset.kind) could host each service type.", no_args_is_help=True
)

ServiceOption = Annotated[str, typer.Option("--service", help="service type slug, e.g. childcare")]
OPTION_NAMES = {"service_type": "--service", "kinds": "--kinds", "city": "--city"}


def _refused(exc: AssetmapError) -> typer.Exit:
    option = OPTION_NAMES.get(exc.field or "")
    return fail(f"{option}: {exc.detail}" if option else exc.detail)


def _where(row: dict[str, object]) -> str:
    return f"{row['service_type']} in {row['city']}" if row["city"] else f"{row['service_type']} (every city)"


def _kinds(kinds: object) -> str:
    return ", ".join(kinds) if isinstance(kinds, list) and kinds else "none (only places offering space)"


@app.command("list")
def venues_list(
    city: Annotated[
        str | None, typer.Option("--city", help="city id or name: show the lists that apply there")
    ] = None,
) -> None:
    """List the kinds of place that could host each service type (in a city: the lists that apply there)."""
    from app.services import venues

    try:
        rows = venues.list_from_terminal(load_settings(), city)
    except AssetmapError as exc:
        raise _refused(exc) from None
    table = Table(
        title="Kinds of place that could host each service"
        + (f" in {rows[0]['city']}" if city and rows else "")
    )
    for column in ("service", "kinds", "whose list"):
        table.add_column(column)
    for row in rows:
        source = "the city's own" if row["source"] == "city" else "the service type's"
        table.add_row(str(row["service_type"]), _kinds(row["venue_kinds"]), source)
    console.print(table)
    kinds = ", ".join(f"{v['kind']} ({v['space']})" for v in venues.kinds_vocabulary())
    console.print(f"venue kinds: {kinds}", highlight=False, soft_wrap=True)


@app.command("set")
def venues_set(
    service: ServiceOption,
    kinds: Annotated[
        str, typer.Option("--kinds", help='comma-separated venue kinds, e.g. "family_centre,hall"')
    ],
    city: Annotated[
        str | None, typer.Option("--city", help="city id or name (default: every city without its own list)")
    ] = None,
) -> None:
    """Set the kinds of place that could host a service type, for every city or (with --city) for one city."""
    from app.services import venues

    listed = [k.strip() for k in kinds.split(",") if k.strip()]
    try:
        row = venues.set_from_terminal(load_settings(), service, listed, city)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(
        f"kinds of place for {_where(row)}: {_kinds(row['venue_kinds'])}; new suggestions propose them",
        style="green",
        highlight=False,
    )


@app.command("reset")
def venues_reset(
    service: ServiceOption,
    city: Annotated[str, typer.Option("--city", help="city id or name")],
) -> None:
    """Drop a city's own list for a service type: the service type's list applies there again."""
    from app.services import venues

    try:
        row = venues.reset_from_terminal(load_settings(), service, city)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(
        f"{row['city']} uses the service type's list for {row['service_type']} again: {_kinds(row['venue_kinds'])}",
        style="green",
        highlight=False,
    )
