"""`assetmap directory`: the services directory from the terminal (docs/DIRECTORY.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

app = typer.Typer(
    help="Services directory: service offers, what a budget buys, the HSDS export.", no_args_is_help=True
)

OPTION_NAMES = {
    "service_type": "--service",
    "service_types": "--service",
    "cost_kind": "--cost",
    "cost_period": "--per",
    "cost_min": "--price",
    "cost_max": "--price-max",
    "currency": "--currency",
    "sessions_per_month": "--sessions",
    "min_age": "--min-age",
    "max_age": "--max-age",
    "population_group": "--group",
    "languages": "--language",
    "opening_hours": "--hours",
    "time_zone": "--zone",
    "lat": "--lat",
    "lon": "--lon",
    "budget": "--budget",
    "age": "--age",
    "city": "--city",
}


def _refused(exc: AssetmapError) -> typer.Exit:
    option = OPTION_NAMES.get(exc.field or "")
    return fail(f"{option}: {exc.detail}" if option else exc.detail)


def _money(cost: dict[str, Any]) -> str:
    per_month = cost["per_month"]
    if cost["kind"] == "free":
        return "free"
    span = f"{per_month['min']:.2f}" + (
        "" if per_month["min"] == per_month["max"] else f"-{per_month['max']:.2f}"
    )
    return f"{span} {cost['currency']}/month"


def _offer_values(
    name: str | None,
    cost: str | None,
    per: str | None,
    price: float | None,
    price_max: float | None,
    currency: str | None,
    sessions: float | None,
    min_age: int | None,
    max_age: int | None,
    group: str | None,
    residents_only: bool | None,
    referral: bool | None,
    language: list[str] | None,
    accessibility: str | None,
    hours: str | None,
    booking: str | None,
) -> dict[str, Any]:
    values = {
        "name": name,
        "cost_kind": cost,
        "cost_period": per,
        "cost_min": price,
        "cost_max": price_max,
        "currency": currency.upper() if currency else None,
        "sessions_per_month": sessions,
        "min_age": min_age,
        "max_age": max_age,
        "population_group": group,
        "residency_required": residents_only,
        "referral_required": referral,
        "languages": language,
        "accessibility": accessibility,
        "opening_hours": hours,
        "booking": booking,
    }
    return {k: v for k, v in values.items() if v is not None}


Name = Annotated[str | None, typer.Option("--name", help="what the service is called")]
CostOpt = Annotated[str | None, typer.Option("--cost", help="free, fixed or range")]
Per = Annotated[str | None, typer.Option("--per", help="session or month")]
Price = Annotated[float | None, typer.Option("--price", help="the price, or a range's lower end")]
PriceMax = Annotated[float | None, typer.Option("--price-max", help="a range's upper end")]
Currency = Annotated[str | None, typer.Option("--currency", help="ISO 4217, e.g. EUR")]
Sessions = Annotated[float | None, typer.Option("--sessions", help="sessions a month (per-session prices)")]
MinAge = Annotated[int | None, typer.Option("--min-age")]
MaxAge = Annotated[int | None, typer.Option("--max-age")]
Group = Annotated[str | None, typer.Option("--group", help="population group served, e.g. over_65")]
Residents = Annotated[bool | None, typer.Option("--residents-only/--open-to-all")]
Referral = Annotated[bool | None, typer.Option("--referral/--no-referral", help="a referral is required")]
Language = Annotated[list[str] | None, typer.Option("--language", help="BCP 47 tag; repeat for more")]
Access = Annotated[str | None, typer.Option("--accessibility")]
Hours = Annotated[
    str | None, typer.Option("--hours", help="OSM opening_hours, e.g. 'Mo-Fr 09:00-17:00; PH off'")
]
Booking = Annotated[str | None, typer.Option("--booking", help="how to book")]


@app.command("add")
def directory_add(
    asset: Annotated[int, typer.Option("--asset", help="asset id")],
    service: Annotated[str, typer.Option("--service", help="service type slug")],
    name: Annotated[str, typer.Option("--name", help="what the service is called")],
    cost: CostOpt = None,
    per: Per = None,
    price: Price = None,
    price_max: PriceMax = None,
    currency: Currency = None,
    sessions: Sessions = None,
    min_age: MinAge = None,
    max_age: MaxAge = None,
    group: Group = None,
    residents_only: Residents = None,
    referral: Referral = None,
    language: Language = None,
    accessibility: Access = None,
    hours: Hours = None,
    booking: Booking = None,
) -> None:
    """Add a service offer to an asset."""
    from app.services.directory import terminal

    values = _offer_values(
        name, cost, per, price, price_max, currency, sessions, min_age, max_age, group, residents_only, referral,
        language, accessibility, hours, booking,
    )  # fmt: skip
    values["service_type"] = service
    try:
        offer = terminal.add_offer(load_settings(), asset, values)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(f"service offer {offer['id']}: {offer['name']} ({_money(offer['cost'])})", highlight=False)


@app.command("set")
def directory_set(
    offer: Annotated[int, typer.Option("--offer", help="service offer id")],
    service: Annotated[str | None, typer.Option("--service", help="service type slug")] = None,
    name: Name = None,
    cost: CostOpt = None,
    per: Per = None,
    price: Price = None,
    price_max: PriceMax = None,
    currency: Currency = None,
    sessions: Sessions = None,
    min_age: MinAge = None,
    max_age: MaxAge = None,
    group: Group = None,
    residents_only: Residents = None,
    referral: Referral = None,
    language: Language = None,
    accessibility: Access = None,
    hours: Hours = None,
    booking: Booking = None,
) -> None:
    """Change a service offer (only the options given)."""
    from app.services.directory import terminal

    values = _offer_values(
        name, cost, per, price, price_max, currency, sessions, min_age, max_age, group, residents_only, referral,
        language, accessibility, hours, booking,
    )  # fmt: skip
    if service:
        values["service_type"] = service
    try:
        row = terminal.set_offer(load_settings(), offer, values)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(
        f"service offer {row['id']} is at version {row['version']} ({_money(row['cost'])})", highlight=False
    )


@app.command("list")
def directory_list(asset: Annotated[int, typer.Option("--asset", help="asset id")]) -> None:
    """An asset's service offers."""
    from app.services.directory import terminal

    try:
        rows = terminal.list_offers(load_settings(), asset)
    except AssetmapError as exc:
        raise _refused(exc) from None
    table = Table("id", "service", "type", "cost", "hours", "open now")
    for row in rows:
        table.add_row(
            str(row["id"]), row["name"], row["service_type"], _money(row["cost"]), row["opening_hours"] or "",
            row["open_now"] or "",
        )  # fmt: skip
    console.print(table)


@app.command("budget")
def directory_budget(
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    lat: Annotated[float, typer.Option("--lat", help="latitude (WGS 84)")],
    lon: Annotated[float, typer.Option("--lon", help="longitude (WGS 84)")],
    budget: Annotated[float, typer.Option("--budget", help="amount a month")],
    age: Annotated[int | None, typer.Option("--age")] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="service type slug; repeat")] = None,
    currency: Annotated[str, typer.Option("--currency")] = "EUR",
    as_json: Annotated[bool, typer.Option("--json", help="the API's answer as JSON")] = False,
) -> None:
    """What a monthly budget can buy near a place, for a person of this age."""
    from app.services.directory import terminal

    try:
        answer = terminal.budget(
            load_settings(), city=city, lat=lat, lon=lon, amount=budget, currency=currency, age=age,
            service_types=service or [], groups=[], resident=True, referral=False, radius_m=None,
            sessions_per_month=None, at=None,
        )  # fmt: skip
    except AssetmapError as exc:
        raise _refused(exc) from None
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    table = Table("#", "service", "at", "km", "a month", "open now")
    for row in answer["items"]:
        money = row["cost_per_month"]
        span = f"{money['min']:.2f}" + ("" if money["min"] == money["max"] else f"-{money['max']:.2f}")
        table.add_row(
            str(row["rank"]), row["name"], row["asset_name"], f"{row['distance_m'] / 1000:.2f}",
            f"{span} {money['currency']}", row["open_at_asked_time"],
        )  # fmt: skip
    console.print(table)
    left = ", ".join(f"{n} {why}" for why, n in answer["left_out"].items())
    console.print(f"left out: {left}", highlight=False)


@app.command("zone")
def directory_zone(
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    zone: Annotated[str, typer.Option("--zone", help="IANA time zone, e.g. Europe/Berlin")],
) -> None:
    """Set the time zone a city's service schedules are read in."""
    from app.services.directory import terminal

    try:
        name = terminal.set_zone(load_settings(), city, zone)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(f"{name}: schedules are read in {zone}", style="green", highlight=False)


@app.command("export-hsds")
def directory_export(
    target: Annotated[Path, typer.Argument(help="folder to write the CSV files and datapackage.json into")],
    city: Annotated[str | None, typer.Option("--city", help="city id or name (default: every city)")] = None,
) -> None:
    """Write the directory as HSDS 3.0 tabular data (CSV files plus datapackage.json)."""
    from app.services.directory import terminal

    try:
        written = terminal.export_hsds(load_settings(), target, city)
    except AssetmapError as exc:
        raise _refused(exc) from None
    console.print(f"wrote {len(written)} files to {target}", style="green", highlight=False)
