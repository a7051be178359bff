"""`assetmap analyse`, `suggest-sites`, `what-if`, `prune-runs` and `map`: coverage gaps from the terminal.

The command line acts with planner rights (whoever runs it can read the database anyway), except `map`, which
writes a file meant to be shared: it draws the public view unless --exact-locations is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError
from app.policy import ANONYMOUS, Principal

app = typer.Typer()

# The operator at the terminal; no user id, so runs they start record no user.
CLI_PRINCIPAL = Principal(username="assetmap-cli", role="planner")
MISSING = "\N{EN DASH}"
OPTION_NAMES = {
    "city": "--city",
    "service_type": "--service",
    "radius_m": "--radius-m",
    "decay": "--decay",
    "resolution": "--resolution",
    "p": "--p",
    "candidates": "--candidates",
    "capacity": "--capacity",
    "close": "--close",
    "out": "--out",
    "distance": "--distance",
}

RunOption = Annotated[int | None, typer.Option("--run", help="analysis run id")]
CityOption = Annotated[str | None, typer.Option("--city", help="city id or name")]
ServiceOption = Annotated[str | None, typer.Option("--service", help="service type slug, e.g. childcare")]
DistanceOption = Annotated[
    str,
    typer.Option(
        "--distance",
        help="straight (line) or network (walking distances on the city's street network, `assetmap streets import`)",
    ),
]


@contextmanager
def _readable_errors() -> Iterator[None]:
    """Bad input and domain errors end the command with one readable line and exit code 1."""
    try:
        yield
    except ValidationError as exc:
        problems = "; ".join(
            f"{OPTION_NAMES.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else 'input'}: {e['msg']}"
            for e in exc.errors()
        )
        raise fail(problems) from None
    except AssetmapError as exc:
        option = OPTION_NAMES.get(exc.field or "", exc.field)
        raise fail(f"{option}: {exc.detail}" if option else exc.detail) from None


def _percent(value: Any) -> str:
    return MISSING if value is None else f"{100 * value:.2f} %"


def _people(value: Any) -> str:
    return MISSING if value is None else f"{value:,.0f}"


def _unmet_change(result: dict[str, Any]) -> str:
    """'unmet need A → B', or that it is not computable (capacity unknown)."""
    totals = result["totals"]
    if not result.get("unmet_need_computable", True):
        return "unmet need not computed (capacity unknown)"
    return f"unmet need {_people(totals['unmet_need_before'])} → {_people(totals['unmet_need_after'])}"


def _print_warnings(document: dict[str, Any]) -> None:
    for warning in document.get("warnings") or []:
        console.print(f"warning: {warning}", style="yellow", highlight=False, soft_wrap=True)


def _run_ref(
    run: int | None, city: str | None, service: str | None, distance: str = "straight"
) -> int | tuple[str, str, str]:
    """The run a command works on: --run ID, or the latest default run of --city and --service (and --distance)."""
    if run is not None:
        return run
    if not city or not service:
        raise AssetmapError("give --run ID, or --city and --service")
    return city, service, distance


@app.command("analyse")
def analyse(
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    service: Annotated[str, typer.Option("--service", help="service type slug, e.g. childcare")],
    radius_m: Annotated[float | None, typer.Option("--radius-m", help="catchment radius in metres")] = None,
    decay: Annotated[str | None, typer.Option("--decay", help="gaussian, step or none")] = None,
    resolution: Annotated[
        int | None, typer.Option("--resolution", help="H3 resolution of demand units")
    ] = None,
    distance: DistanceOption = "straight",
    include_pending: Annotated[bool, typer.Option(help="also analyse entries waiting for review")] = False,
    top: Annotated[int, typer.Option(help="how many neighbourhoods to list")] = 10,
    out: Annotated[
        Path | None, typer.Option("--out", help="write results to .gpkg, .csv or .geojson")
    ] = None,
) -> None:
    """Run a coverage-gap analysis and list the neighbourhoods with the largest unmet need (or, where capacity is
    unknown and no default is set, the most people beyond reach)."""
    from app.schemas.analysis import RunCreate
    from app.services.analysis import terminal

    settings = load_settings()
    with _readable_errors():
        body = RunCreate(
            city=city,
            service_type=service,
            radius_m=radius_m,
            decay=decay,
            resolution=resolution,
            distance=distance,
            include_pending=include_pending,
        )
        with console.status("analysing..."):
            analysed = terminal.analyse(settings, CLI_PRINCIPAL, body, out)
    document, rows, written = analysed.document, analysed.neighbourhoods, analysed.written
    params, totals = document["params"], document["totals"]
    console.print(
        Text.assemble(
            (f"run {analysed.run_id}", "bold"),
            f": {params['service_type']} in {params['city']}, radius {params['radius_m']:,.0f} m, "
            f"decay {params['decay']}, {params.get('distance', 'straight')} distances, "
            f"H3 resolution {params['resolution']}, group {params['group']}, "
            f"data {document['data_version']}",
        ),
        highlight=False,
    )
    computable = document["capacity"]["unmet_need_computable"]
    unmet = f"unmet need {_people(totals['unmet_need'])}" if computable else "unmet need not computed"
    console.print(
        f"covered share: {_percent(totals['covered_share'])} of {_people(totals['need'])} people within "
        f"{params['radius_m']:,.0f} m · {_people(totals.get('uncovered_need'))} beyond reach · {unmet} · "
        f"{totals['n_deserts']} deserts · {document['timing_ms']['total']:,.0f} ms",
        highlight=False,
    )
    _print_warnings(document)
    console.print(_ranking(rows, top, computable))
    if written:
        console.print(f"wrote {written}", highlight=False)


def _ranking(rows: list[dict[str, Any]], top: int, computable: bool) -> Table:
    """The neighbourhoods with the largest unmet need, or (not computable) the most people beyond reach."""
    measure = "unmet_need" if computable else "uncovered_need"
    title = "Largest unmet need" if computable else "Most people beyond reach (unmet need not computed)"
    table = Table(title=f"{title} (top {top} of {len(rows)})")
    columns = [("rank", "right"), ("code", "left"), ("neighbourhood", "left"), ("population", "right")]
    columns += [("covered", "right"), ("beyond reach", "right")]
    columns += [("unmet need", "right"), ("gap share", "right")] if computable else []
    for column, justify in (*columns, ("desert", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    ranked = sorted(rows, key=lambda r: (-(r[measure] or 0), r["code"]))
    for rank, row in enumerate(ranked[:top], start=1):
        cells = [str(rank), row["code"], row["name"], _people(row["population"])]
        cells += [_percent(row["covered_share"]), _people(row["uncovered_need"])]
        cells += [f"{row['unmet_need']:,.1f}", _percent(row["gap_share"])] if computable else []
        table.add_row(*cells, "yes" if row["desert"] else "")
    return table


def _share_needed(entry: dict[str, Any], max_share: Any) -> str:
    """'23 sites (proven fewest)', '23 sites (at least 21)' or 'not reachable (...)' for one share of the gap."""
    if entry["n_sites"] is None:
        return f"not reachable (all candidates together close at most {_percent(max_share)})"
    sites = f"{entry['n_sites']} site{'s' if entry['n_sites'] != 1 else ''}"
    if entry["exact"]:
        return f"{sites} (proven fewest)"
    return f"{sites} (at least {entry['lower_bound']})"


@app.command("suggest-sites")
def suggest_sites_command(
    p: Annotated[int, typer.Option("--p", help="number of sites to choose")],
    run: RunOption = None,
    city: CityOption = None,
    service: ServiceOption = None,
    candidates: Annotated[
        str,
        typer.Option(
            help="venues (places whose kind suits the service, or that offer space: `assetmap venues list`), "
            "physical_spaces (every community space) or h3 (cell centres)"
        ),
    ] = "venues",
    capacity: Annotated[
        float | None,
        typer.Option(
            "--capacity",
            help="capacity each new site adds (default: median known capacity of the service, else the run's "
            "default capacity, else 1)",
        ),
    ] = None,
    capacitated: Annotated[
        bool,
        typer.Option(
            "--capacitated",
            help="each site takes at most its capacity (the place's own where known, else the new-site capacity "
            "of --capacity) of the demand within reach; shows the demand assigned to each",
        ),
    ] = False,
    distance: DistanceOption = "straight",
) -> None:
    """Suggest p sites (places that could host the service, community spaces, or H3 cell centres) that would close
    the most gap; say why each qualifies, the share of the gap they close and how many sites half and nine
    tenths of it would take."""
    from app.schemas.analysis import SuggestSitesRequest
    from app.services.analysis import terminal

    settings = load_settings()
    with _readable_errors():
        request = SuggestSitesRequest(p=p, candidates=candidates, capacity=capacity, capacitated=capacitated)
        result = terminal.suggest_sites(
            settings,
            CLI_PRINCIPAL,
            _run_ref(run, city, service, distance),
            request.p,
            request.candidates,
            capacity=request.capacity,
            capacitated=request.capacitated,
        )
    gained = "unmet need covered" if result.get("unmet_need_computable", True) else "beyond reach covered"
    if capacitated:
        gained = "assigned"
    title = f"Suggested sites for run {result['run']} ({result['candidates']}"
    table = Table(title=title + (", capacitated)" if capacitated else ")"))
    columns = ["rank", "site", "kind", "neighbourhood", gained, "why it qualifies"]
    if capacitated:
        columns.insert(4, "capacity")
    for column in columns:
        table.add_column(column, justify="right" if column in ("rank", gained, "capacity") else "left")
    for site in result["sites"]:
        where = site["neighbourhood"]
        cells = [
            str(site["rank"]),
            site["name"],
            (site.get("kind") or MISSING).replace("_", " "),
            f"{where['name']} ({where['code']})" if where else MISSING,
            f"{site['shortfall_covered']:,.1f}",
            "; ".join(site.get("reasons") or []) or MISSING,
        ]
        if capacitated:
            own = " (its own)" if site.get("capacity_source") == "candidate" else ""
            cells.insert(4, f"{site['capacity']:,.4g}{own}")
        table.add_row(*cells)
    console.print(table)
    console.print(
        f"candidates: {result['n_candidates']:,} {result['candidates']}: {result['candidate_rule']}",
        highlight=False,
        soft_wrap=True,
    )
    new_capacity = result["new_site_capacity"]
    console.print(
        ("a site whose capacity is not known takes " if capacitated else "each new site adds ")
        + f"capacity {new_capacity['value']:,.4g}: {new_capacity['text']}"
        + ("" if new_capacity["rule"] == "given" else " (set it with --capacity)"),
        highlight=False,
        soft_wrap=True,
    )
    proof = "optimal" if result["exact"] else "gap " + _percent(result["gap"])
    if capacitated:
        console.print(
            f"demand assigned within capacities {result['objective']:,.1f} (heuristic "
            f"{result['greedy_objective']:,.1f}) ≤ bound {result['upper_bound']:,.1f} · {proof} · "
            + _unmet_change(result),
            highlight=False,
        )
    else:
        console.print(
            f"objective {result['objective']:,.1f} (greedy {result['greedy_objective']:,.1f}) ≤ LP bound "
            f"{result['lp_upper_bound']:,.1f} · {proof} · " + _unmet_change(result),
            highlight=False,
        )
    closed = result["gap_closed"]
    gap = "people-equivalents of unmet need" if closed["measure"] == "shortfall" else "people beyond reach"
    console.print(
        f"the {len(result['sites'])} sites close {_percent(closed['share_closed'])} of the gap (the gap: "
        f"{_people(closed['total'])} {gap}; a site closes what lies within its radius{', up to its capacity' if capacitated else ''}); all "
        f"{result['n_candidates']:,} candidates together could close {_percent(closed['max_share'])}",
        highlight=False,
        soft_wrap=True,
    )
    for entry in closed["sites_needed"]:
        console.print(
            f"sites needed to close {100 * entry['share']:.0f} % of the gap: "
            + _share_needed(entry, closed["max_share"]),
            highlight=False,
            soft_wrap=True,
        )
    _print_warnings(result)


@app.command("what-if")
def what_if_command(
    close: Annotated[list[int], typer.Option("--close", help="asset id to close (repeat for more)")],
    run: RunOption = None,
    city: CityOption = None,
    service: ServiceOption = None,
    distance: DistanceOption = "straight",
) -> None:
    """What if these assets closed: people losing coverage and unmet need per neighbourhood."""
    from app.services.analysis import terminal

    settings = load_settings()
    with _readable_errors():
        result = terminal.what_if(settings, CLI_PRINCIPAL, _run_ref(run, city, service, distance), close)
    names = ", ".join(f"{a['name']} ({a['id']})" for a in result["closed"])
    totals = result["totals"]
    console.print(
        f"closing {names} in run {result['run']}: {_people(totals['population_losing_coverage'])} people lose "
        f"coverage, " + _unmet_change(result),
        highlight=False,
    )
    _print_warnings(result)
    worse = [
        n
        for n in result["neighbourhoods"]
        if n["population_losing_coverage"] > 0 or (n["unmet_need_change"] or 0) > 0.05
    ]
    table = Table(title="Neighbourhoods losing coverage or with more unmet need")
    for column in ("code", "neighbourhood", "people losing coverage", "unmet need change"):
        table.add_column(column, justify="left" if column in ("code", "neighbourhood") else "right")
    for row in worse:
        table.add_row(
            row["code"],
            row["name"],
            _people(row["population_losing_coverage"]),
            MISSING if row["unmet_need_change"] is None else f"{row['unmet_need_change']:+,.1f}",
        )
    console.print(table)
    others = len(result["neighbourhoods"]) - len(worse)
    if others:
        console.print(
            f"{others} other neighbourhoods change by less than 0.05 or improve slightly: access scores are "
            "relative to the city's supply per person, which a closure lowers",
            highlight=False,
        )


@app.command("prune-runs")
def prune_runs_command(
    older_than_days: Annotated[
        float,
        typer.Option("--older-than-days", help="delete finished runs created more than this many days ago"),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count them")] = False,
) -> None:
    """Delete old finished analysis runs and their demand cells (queued and running ones are kept)."""
    import datetime as dt

    from app.services.analysis import terminal

    settings = load_settings()
    with _readable_errors():
        count = terminal.prune_runs(settings, dt.timedelta(days=older_than_days), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"{verb} {count:,} finished analysis runs older than {older_than_days:g} days", highlight=False
    )


@app.command("map")
def map_command(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write, e.g. gaps.html")],
    run: RunOption = None,
    city: CityOption = None,
    service: ServiceOption = None,
    png: Annotated[Path | None, typer.Option("--png", help="also write a static PNG")] = None,
    distance: DistanceOption = "straight",
    walk_from: Annotated[
        int | None, typer.Option("--walk-from", help="asset id: draw its 5, 10 and 15 minute walks")
    ] = None,
    exact_locations: Annotated[
        bool,
        typer.Option(help="show people's and sensitive assets' exact locations (do not publish the file)"),
    ] = False,
) -> None:
    """Write the gap map of a run (the same page as /maps/gaps) and, if asked, a PNG for reports."""
    from app.services.analysis import terminal

    settings = load_settings()
    viewer = CLI_PRINCIPAL if exact_locations else ANONYMOUS
    with _readable_errors():
        run_id = terminal.write_gap_map(
            settings,
            CLI_PRINCIPAL,
            _run_ref(run, city, service, distance),
            out,
            png,
            viewer=viewer,
            walk_from=walk_from,
        )
    console.print(f"wrote {out}" + (f" and {png}" if png else "") + f" (run {run_id})", highlight=False)
