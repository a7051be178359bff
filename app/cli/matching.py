"""`assetmap match`, `assetmap commitment` and `assetmap dashboard`: resources matched to needs (docs/MATCHING.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

app = typer.Typer()
commitment_app = typer.Typer(help="Commitments of resources to needs: add, move a stage, record the outcome.")
STAGES = ("agreed", "active", "done", "cancelled")
AsUser = Annotated[
    str | None,
    typer.Option(
        "--as", help="act and see as this user (their role and neighbourhoods); default: administrator"
    ),
]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date: write it as YYYY-MM-DD") from None


def _commitment_line(c: dict[str, Any]) -> str:
    unit = f" {c['resource']['unit']}" if c["resource"]["unit"] else ""
    outcome = ""
    if c["hours_given"] is not None or c["people_helped"] is not None:
        outcome = f"; {c['hours_given'] or 0:g} hours given, {c['people_helped'] or 0} people helped"
    left = "" if c["resource"]["remaining"] is None else f" ({c['resource']['remaining']:g}{unit} left)"
    return (
        f"commitment {c['id']}: {c['quantity']:g}{unit} of resource {c['resource']['id']}{left} "
        f"to need {c['need_id']}, {c['stage']}{outcome}"
    )


@app.command("match")
def match_command(
    need_id: Annotated[int, typer.Argument(help="the need's id")],
    starts_on: Annotated[
        str | None, typer.Option("--from", help="the need's first day (default: today)")
    ] = None,
    ends_on: Annotated[
        str | None, typer.Option("--until", help="its last day (default: four weeks on)")
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="resource kind wanted (repeatable)")
    ] = None,
    wanted: Annotated[float, typer.Option("--wanted", help="how much of a resource is wanted")] = 1.0,
    top: Annotated[int, typer.Option("--top", min=1, max=100, help="how many candidates")] = 20,
    as_user: AsUser = None,
    public: Annotated[bool, typer.Option("--public", help="as a visitor sees it")] = False,
) -> None:
    """Rank the resources that fit an open need, with why each ranks where it does."""
    from app.services.matching import MatchQuery
    from app.services.matching.terminal import match_from_terminal

    query = MatchQuery(
        starts_on=_date(starts_on, "--from"),
        ends_on=_date(ends_on, "--until"),
        kinds=tuple(kind or ()),
        wanted=wanted,
        limit=top,
    )
    try:
        result = match_from_terminal(load_settings(), need_id, query, as_user=as_user, public=public)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    need = result["need"]
    console.print(
        f"need {need['id']} ({need['service_type']}, {need['neighbourhood_name'] or 'no neighbourhood'}), "
        f"{result['window']['starts_on']} to {result['window']['ends_on']}: {result['total']} candidates",
        highlight=False,
    )
    table = Table()
    for column in ("rank", "score", "resource", "kind", "left", "owner", "distance", "why"):
        table.add_column(column)
    for c in result["candidates"]:
        distance = c["distance_band"] if c["distance_m"] is None else f"{c['distance_m']} m"
        left = "?" if c["resource"]["remaining"] is None else f"{c['resource']['remaining']:g}"
        table.add_row(
            str(c["rank"]),
            f"{c['score']:.3f}",
            str(c["resource"]["id"]),
            c["resource"]["kind"],
            left,
            c["owner"]["name"] or "",
            distance,
            "; ".join(c["why"]),
        )
    console.print(table)


@commitment_app.command("add")
def commitment_add(
    resource_id: Annotated[int, typer.Option("--resource", help="the resource's id")],
    need_id: Annotated[int, typer.Option("--need", help="the need's id")],
    quantity: Annotated[float, typer.Option("--quantity", help="how much of the resource", min=0)],
    starts_on: Annotated[
        str | None, typer.Option("--from", help="first day, YYYY-MM-DD (default: today)")
    ] = None,
    ends_on: Annotated[str | None, typer.Option("--until", help="last day, YYYY-MM-DD")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    as_user: AsUser = None,
) -> None:
    """Commit part of a resource to a need (stage proposed); refused when more is asked than is left."""
    from app.services.matching.terminal import add_from_terminal

    if quantity <= 0:
        raise fail("--quantity must be more than 0")
    data = {
        "resource_id": resource_id,
        "need_id": need_id,
        "quantity": quantity,
        "starts_on": _date(starts_on, "--from"),
        "ends_on": _date(ends_on, "--until"),
        "note": note,
    }
    try:
        commitment = add_from_terminal(load_settings(), data, as_user=as_user)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    console.print(_commitment_line(commitment), style="green", highlight=False)


@commitment_app.command("stage")
def commitment_stage(
    commitment_id: Annotated[int, typer.Argument(help="the commitment's id")],
    stage: Annotated[str, typer.Argument(help="agreed, active, done or cancelled")],
    message: Annotated[str | None, typer.Option("--message", help="why, for the history")] = None,
    as_user: AsUser = None,
) -> None:
    """Move a commitment to its next stage: proposed, agreed, active, done (or cancelled before done)."""
    from app.services.matching.terminal import update_from_terminal

    if stage not in STAGES:
        raise fail(f"stage {stage!r}: use one of {', '.join(STAGES)}")
    try:
        commitment = update_from_terminal(
            load_settings(), commitment_id, {"stage": stage, "message": message}, as_user=as_user
        )
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    console.print(_commitment_line(commitment), style="green", highlight=False)


@commitment_app.command("outcome")
def commitment_outcome(
    commitment_id: Annotated[int, typer.Argument(help="the commitment's id")],
    hours: Annotated[float | None, typer.Option("--hours", help="hours given", min=0)] = None,
    people: Annotated[int | None, typer.Option("--people", help="people helped", min=0)] = None,
    done: Annotated[bool, typer.Option("--done", help="also mark it done")] = False,
    as_user: AsUser = None,
) -> None:
    """Record what an active or done commitment achieved: hours given and people helped."""
    from app.services.matching.terminal import update_from_terminal

    if hours is None and people is None and not done:
        raise fail("give --hours, --people or both")
    data: dict[str, Any] = {"hours_given": hours, "people_helped": people}
    if done:
        data["stage"] = "done"
    try:
        commitment = update_from_terminal(load_settings(), commitment_id, data, as_user=as_user)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    console.print(_commitment_line(commitment), style="green", highlight=False)


@app.command("dashboard")
def dashboard_command(
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    neighbourhood: Annotated[int | None, typer.Option("--neighbourhood", help="neighbourhood id")] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="YYYY or YYYY-MM (default: all time)")
    ] = None,
) -> None:
    """Needs met, open needs, volunteer hours and people helped, by service type and by month."""
    from app.services.matching.terminal import dashboard_from_terminal

    try:
        result = dashboard_from_terminal(load_settings(), city, neighbourhood, period)
    except AssetmapError as exc:
        raise fail(exc.detail) from None
    where = result["neighbourhood_name"] or result["city"]
    when = f"{result['period']['from']} to {result['period']['until']}" if result["period"] else "all time"
    console.print(f"{where}, {when}", highlight=False)
    table = Table()
    for column in ("service type", "needs met", "open needs", "volunteer hours", "people helped"):
        table.add_column(column)
    for row in result["by_service_type"]:
        table.add_row(
            row["service_type"],
            str(row["needs_met"]),
            str(row["open_needs"]),
            f"{row['volunteer_hours']:g}",
            str(row["people_helped"]),
        )
    totals = result["totals"]
    table.add_row(
        "all",
        str(totals["needs_met"]),
        str(totals["open_needs"]),
        f"{totals['volunteer_hours']:g}",
        str(totals["people_helped"]),
    )
    console.print(table)
