"""`assetmap city add`, `city list` and `city show`: start a city and see what it holds, from the terminal."""

from __future__ import annotations

import datetime as dt
import shlex
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

app = typer.Typer(
    help="Cities: add one, list them, show one with its levels and imports.", no_args_is_help=True
)

MISSING = "\N{EN DASH}"
OPTION_NAMES = {"name": "NAME", "country": "--country", "crs": "--crs"}


def _when(value: dt.datetime | None) -> str:
    return MISSING if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


@app.command("add")
def city_add(
    name: Annotated[str, typer.Argument(help="the city's name, unique in any case")],
    country: Annotated[str, typer.Option("--country", help="country code or name, e.g. DE or Germany")],
    crs: Annotated[
        str | None,
        typer.Option(
            "--crs", help="projected CRS in metres for measuring, e.g. EPSG:25833 (default: UTM zone)"
        ),
    ] = None,
) -> None:
    """Add a city; then import its boundaries and its assets into it."""
    from app.schemas.features import CityCreate
    from app.services.cities import add_city

    settings = load_settings()
    try:
        # The request model of POST /api/cities: the terminal and the API refuse the same values alike.
        body = CityCreate.model_validate({"name": name, "country": country, "crs": crs})
        city = add_city(settings, body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{OPTION_NAMES.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else 'input'}: {e['msg']}"
            for e in exc.errors()
        )
        raise fail(problems) from None
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    console.print(
        Text.assemble(
            (f"added city {city.id}: {city.name}", "green"),
            f" ({city.country}, measured in {city.crs or 'its UTM zone'}); next: "
            f"assetmap import boundaries.zip --city {shlex.quote(city.name)} --layer neighbourhoods",
        ),
        highlight=False,
        soft_wrap=True,
    )


@app.command("list")
def city_list() -> None:
    """List cities with their country, CRS, neighbourhoods, assets and last import."""
    from app.services.cities import list_city_overviews

    table = Table()
    for column, justify in (
        ("id", "right"),
        ("city", "left"),
        ("country", "left"),
        ("CRS", "left"),
        ("neighbourhoods", "right"),
        ("assets", "right"),
        ("last import", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for city in list_city_overviews(load_settings()):
        table.add_row(
            str(city.id),
            city.name,
            city.country or MISSING,
            city.crs or MISSING,
            _count(city.neighbourhoods),
            _count(city.assets),
            _when(city.last_import_at),
        )
    console.print(table)


@app.command("show")
def city_show(name: Annotated[str, typer.Argument(help="city id or name")]) -> None:
    """Show a city: neighbourhoods per level, population, assets and its latest import runs."""
    from app.services.cities import city_detail

    try:
        detail = city_detail(load_settings(), name)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    city = detail.overview
    facts = Table(title=f"City {city.id}: {city.name}", show_header=False)
    facts.add_column("what", style="bold")
    facts.add_column("value")
    for label, value in (
        ("country", city.country or MISSING),
        ("CRS", city.crs or f"{MISSING} (each analysis measures in the local UTM zone)"),
        ("data date", detail.data_date or MISSING),
        ("attribution", detail.attribution or MISSING),
        ("neighbourhoods", _count(city.neighbourhoods)),
        ("population", f"{_count(detail.population_total)} (finest areas)"),
        ("assets", _count(city.assets)),
        ("last import", _when(city.last_import_at)),
    ):
        facts.add_row(label, value)
    console.print(facts)
    if detail.levels:
        levels = Table(title="Neighbourhoods by level")
        for column in ("level", "neighbourhoods", "population"):
            levels.add_column(column, justify="left" if column == "level" else "right")
        for level in detail.levels:
            levels.add_row(level.level, _count(level.neighbourhoods), _count(level.population))
        console.print(levels)
    if not detail.imports:
        hint = (
            ""
            if city.neighbourhoods
            else f": assetmap import boundaries.zip --city {shlex.quote(city.name)} --layer neighbourhoods"
        )
        console.print(f"no import runs yet{hint}", highlight=False, soft_wrap=True)
        return
    runs = Table(title=f"Import runs ({len(detail.imports)} newest of {detail.imports_total:,})")
    for column in ("id", "when", "layer", "file", "status", "inserted", "updated", "skipped"):
        runs.add_column(
            column, justify="right" if column in ("id", "inserted", "updated", "skipped") else "left"
        )
    for run in detail.imports:
        runs.add_row(
            str(run.id),
            _when(run.created_at),
            run.layer,
            run.filename,
            run.status,
            _count(run.inserted),
            _count(run.updated),
            _count(run.skipped),
        )
    console.print(runs)
