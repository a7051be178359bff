"""`assetmap streets import` and `streets show`: a city's street network for walking distances."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

if TYPE_CHECKING:
    from app.services.streets import StreetNetworkInfo

app = typer.Typer(
    help="Street networks: import a city's streets for walking distances, show where they came from.",
    no_args_is_help=True,
)


def _print(info: StreetNetworkInfo) -> None:
    table = Table(show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    rows = [
        ("city", info.city),
        ("source", f"{info.source_name} ({info.source_format})"),
        ("sha256", info.sha256),
        ("licence", info.licence or "\N{EN DASH}"),
        ("attribution", info.attribution or "\N{EN DASH}"),
        ("measured in", info.crs),
        ("imported", info.imported_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    rows += [(name.replace("_", " "), f"{value:,}") for name, value in info.counts.items()]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)


@app.command("import")
def streets_import(
    file: Annotated[
        Path, typer.Argument(help="lines: GeoPackage, shapefile, GeoJSON, or OpenStreetMap .osm.pbf / .osm")
    ],
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    licence: Annotated[
        str | None, typer.Option("--licence", help="the data's licence, kept with the network (e.g. ODbL)")
    ] = None,
    attribution: Annotated[
        str | None,
        typer.Option("--attribution", help="attribution to show, e.g. '© OpenStreetMap contributors'"),
    ] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="layer of a multi-layer file")] = None,
) -> None:
    """Import a city's street network (replacing the one it had); walkable ways only where the file tags them."""
    from app.services.streets import import_streets

    settings = load_settings()
    try:
        info = import_streets(settings, file, city, licence=licence, attribution=attribution, layer=layer)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    console.print(
        f"[green]imported the street network of {info.city}[/green] ({info.counts['edges']:,} edges)"
    )
    _print(info)


@app.command("show")
def streets_show(city: Annotated[str, typer.Option("--city", help="city id or name")]) -> None:
    """Show a city's street network: its source, licence, import time and counts."""
    from app.services.streets import network_info

    settings = load_settings()
    try:
        info = network_info(settings, city)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    if info is None:
        raise fail(
            f"{city} has no street network yet: import one with `assetmap streets import FILE --city {city}`"
        )
    _print(info)
