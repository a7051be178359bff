"""`assetmap budget`: citizen-budget rounds from the terminal (docs/BUDGETS.md), as the local administrator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from app.cli.base import console, fail, load_settings
from app.errors import AssetmapError

app = typer.Typer(help="Citizen budgets: rounds, proposals, voting codes, results.", no_args_is_help=True)
rounds = typer.Typer(help="Budget rounds: add, list, show, move on, results, export.", no_args_is_help=True)
app.add_typer(rounds, name="round")

T = TypeVar("T")


@contextmanager
def _refused() -> Iterator[None]:
    try:
        yield
    except AssetmapError as exc:
        raise fail(exc.detail) from None


def _in_session(work: Callable[..., T]) -> T:
    """Run `work(db, settings, principal)` in a session of its own, as the command line's administrator."""
    from app.services.budget import in_cli_session

    settings = load_settings()
    with _refused():
        return in_cli_session(settings, work)


def _print_round(document: dict[str, Any]) -> None:
    console.print(
        f"round {document['id']} ({document['name']}, {document['city']}): {document['amount']:,} "
        f"{document['currency']}; {document['phase_text']}"
    )
    for column, value in document["dates"].items():
        console.print(f"  {column.removesuffix('_at')}: {value}")
    for p in document.get("proposals", []):
        score = p["score"] or {}
        reach = (
            f"; {score['people_newly_within_reach']:,.0f} people newly within reach"
            if score.get("status") == "scored"
            else ""
        )
        feasible = {None: "not reviewed", True: "feasible", False: "not feasible"}[p["feasible"]]
        console.print(f"  proposal {p['id']}: {p['title']} ({p['cost']:,}), {feasible}{reach}")


@rounds.command("add")
def round_add(
    city: Annotated[str, typer.Option("--city", help="city id or name")],
    name: Annotated[str, typer.Option("--name")],
    amount: Annotated[int, typer.Option("--amount", help="whole currency units")],
    proposals: Annotated[
        str, typer.Option("--proposals", help="when proposals open (date or date and time)")
    ],
    review: Annotated[str, typer.Option("--review", help="when review starts")],
    voting: Annotated[str, typer.Option("--voting", help="when voting opens")],
    results: Annotated[str, typer.Option("--results", help="when voting closes and results are published")],
    neighbourhood: Annotated[
        list[str] | None, typer.Option("--neighbourhood", help="a neighbourhood code in scope (repeat)")
    ] = None,
    currency: Annotated[str, typer.Option("--currency")] = "EUR",
    limit_to_budget: Annotated[
        bool, typer.Option("--limit-to-budget", help="a ballot may approve at most the budget's worth")
    ] = False,
) -> None:
    """Add a round with its scope, amount and phase dates."""
    from app.services import budget

    body = {
        "city": city,
        "name": name,
        "amount": amount,
        "currency": currency,
        "neighbourhoods": neighbourhood or [],
        "limit_to_budget": limit_to_budget,
        "proposals_at": proposals,
        "review_at": review,
        "voting_at": voting,
        "results_at": results,
    }
    _print_round(_in_session(lambda db, s, p: budget.round_document(db, p, budget.create_round(db, p, body))))


@rounds.command("list")
def round_list(city: Annotated[str | None, typer.Option("--city")] = None) -> None:
    """List rounds with their phase now."""
    from app.services import budget

    found = _in_session(lambda db, s, p: [budget.round_summary(r) for r in budget.list_rounds(db, city)])
    table = Table()
    for column in ("id", "name", "amount", "phase"):
        table.add_column(column)
    for r in found:
        table.add_row(str(r["id"]), r["name"], f"{r['amount']:,} {r['currency']}", r["phase"])
    console.print(table)


@rounds.command("show")
def round_show(round_id: Annotated[int, typer.Argument()]) -> None:
    """A round with its proposals and their need scores."""
    from app.services import budget

    _print_round(_in_session(lambda db, s, p: budget.round_document(db, p, budget.get_round(db, round_id))))


@rounds.command("phase")
def round_phase(
    round_id: Annotated[int, typer.Argument()],
    phase: Annotated[str, typer.Argument(help="proposals, review, voting or results: starts now")],
) -> None:
    """Move a round on: the phase starts now (phases only move forward)."""
    from app.services import budget

    _print_round(
        _in_session(lambda db, s, p: budget.round_document(db, p, budget.set_phase(db, p, round_id, phase)))
    )


@rounds.command("results")
def round_results(round_id: Annotated[int, typer.Argument()]) -> None:
    """Greedy by votes and the Method of Equal Shares side by side, with the reasons."""
    from app.services import budget

    document = _in_session(lambda db, s, p: budget.results(db, p, round_id))
    console.print(
        f"round {round_id}: {document['n_voters']} ballots, {document['amount']:,} {document['currency']}"
        + ("" if document["final"] else " (voting has not closed: the count so far)")
        + f"; pabutools {document['pabutools']['version']}"
    )
    table = Table()
    for column in ("id", "proposal", "cost", "votes", "greedy", "equal shares"):
        table.add_column(column)
    for row in document["projects"]:
        table.add_row(
            str(row["proposal"]["id"]),
            row["proposal"]["title"],
            f"{row['proposal']['cost']:,}",
            str(row["votes"]),
            row["greedy"]["why"],
            row["mes"]["why"],
        )
    console.print(table)
    console.print(f"greedy funds {document['greedy']['funded']} ({document['greedy']['spent']:,})")
    console.print(f"equal shares funds {document['mes']['funded']} ({document['mes']['spent']:,})")


@rounds.command("export")
def round_export(
    round_id: Annotated[int, typer.Argument()],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
) -> None:
    """The round in pabulib's .pb format."""
    from app.services import budget

    text = _in_session(lambda db, s, p: budget.export_pabulib(db, p, round_id))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


@app.command("codes")
def codes(
    round_id: Annotated[int, typer.Argument()],
    count: Annotated[int, typer.Option("--count", help="how many codes")] = 20,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file for the codes")] = None,
) -> None:
    """One-time voting codes for paper ballots: printed once, only their hashes are stored."""
    from app.services import budget

    made = _in_session(lambda db, s, p: budget.generate_codes(db, p, round_id, count))
    if output is None:
        typer.echo("\n".join(made))
    else:
        output.write_text("\n".join(made) + "\n", encoding="utf-8")
        console.print(f"wrote {len(made)} codes to {output}")


@app.command("propose")
def propose(
    round_id: Annotated[int, typer.Argument()],
    title: Annotated[str, typer.Option("--title")],
    cost: Annotated[int, typer.Option("--cost")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    service: Annotated[str | None, typer.Option("--service", help="service type slug")] = None,
    neighbourhood: Annotated[str | None, typer.Option("--neighbourhood", help="neighbourhood code")] = None,
    lon: Annotated[float | None, typer.Option("--lon")] = None,
    lat: Annotated[float | None, typer.Option("--lat")] = None,
) -> None:
    """Enter a resident's proposal (from a paper form); scored against the gap analysis."""
    from app.services import budget

    body: dict[str, Any] = {"title": title, "cost": cost, "for_resident": True}
    if description:
        body["description"] = description
    if service:
        body["service_type"] = service
    if lon is not None and lat is not None:
        body["point"] = {"type": "Point", "coordinates": [lon, lat]}
    elif neighbourhood:
        body["neighbourhood"] = neighbourhood

    def work(db: Any, settings: Any, principal: Any) -> dict[str, Any]:
        return budget.proposal_document(db, budget.add_proposal(db, settings, principal, round_id, body))

    made = _in_session(work)
    score = made["score"] or {}
    reach = (
        f"; {score['people_newly_within_reach']:,.0f} people newly within reach, "
        f"{score['unmet_need_covered'] or 0:,.0f} unmet need covered"
        if score.get("status") == "scored"
        else ""
    )
    console.print(f"proposal {made['id']}: {made['title']} ({made['cost']:,}){reach}")


@app.command("review")
def review(
    round_id: Annotated[int, typer.Argument()],
    proposal_id: Annotated[int, typer.Argument()],
    feasible: Annotated[bool, typer.Option("--feasible/--not-feasible")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Mark a proposal feasible or not (a reason is required for not)."""
    from app.services import budget

    made = _in_session(
        lambda db, s, p: budget.proposal_document(
            db, budget.review_proposal(db, p, round_id, proposal_id, feasible, reason)
        )
    )
    console.print(f"proposal {made['id']}: {'feasible' if made['feasible'] else 'not feasible'}")
