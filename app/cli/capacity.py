"""`assetmap capacity`: default capacities for assets whose capacity is unknown (docs/ANALYSIS.md)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

app = typer.Typer(
    help="Default capacities: what a run gives assets whose capacity is unknown.", no_args_is_help=True
)

ServiceOption = Annotated[str, typer.Option("--service", help="service type slug, e.g. childcare")]
CityOption = Annotated[
    str | None, typer.Option("--city", help="city id or name (default: every city without its own)")
]


OPTION_NAMES = {"service_type": "--service", "capacity": "--capacity", "city": "--city"}


def _refused(exc: AssetmapError) -> typer.Exit:
    option = OPTION_NAMES.get(exc.field or "")
    return fail(f"{option}: {exc.detail}" if option else exc.detail)


def _where(row: dict[str, object]) -> str:
    return f"{row['service_type']} in {row['city']}" if row["city"] else f"{row['service_type']} (every city)"


@app.command("set")
def capacity_set(
    service: ServiceOption,
    capacity: Annotated[float, typer.Option("--capacity", help="places, seats or visits per asset")],
    city: CityOption = None,
) -> None:
    """Set the default capacity of a service type, for every city or (with --city) for one city."""
    from app.services import capacity as capacities

    try:
        row = capacities.set_from_terminal(load_settings(), service, capacity, city)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(
        f"default capacity of {_where(row)}: {row['default_capacity']:g}; new runs use it where capacity is unknown",
        style="green",
        highlight=False,
    )


@app.command("clear")
def capacity_clear(service: ServiceOption, city: CityOption = None) -> None:
    """Clear a default capacity: unmet need is then not computed where capacity is unknown."""
    from app.services import capacity as capacities

    try:
        row = capacities.set_from_terminal(load_settings(), service, None, city)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(f"default capacity of {_where(row)} cleared", style="green", highlight=False)


@app.command("list")
def capacity_list() -> None:
    """List the default capacities of every service type and every city's own."""
    from app.services import capacity as capacities

    table = Table()
    for column in ("service", "city", "default capacity"):
        table.add_column(column, justify="right" if column == "default capacity" else "left")
    for row in capacities.list_from_terminal(load_settings()):
        value = row["default_capacity"]
        table.add_row(
            str(row["service_type"]),
            str(row["city"]) if row["city"] else "(every city)",
            "none" if value is None else f"{value:g}",
        )
    console.print(table)
