"""`assetmap load-sample`: the Berlin sample city, and demo accounts outside production."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from app.cli.base import console, load_settings

app = typer.Typer()


@app.command("load-sample")
def load_sample(
    demo_users: Annotated[bool, typer.Option(help="also create one demo account per role")] = True,
) -> None:
    """Load the Berlin sample (58 forecast areas under 12 districts, 3,240 facilities); safe to run again."""
    from app.services.sample import load_sample as load

    report, accounts = load(load_settings(), demo_users=demo_users)
    table = Table(title="Berlin sample", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in report.counts.items():
        table.add_row(key, str(value))
    console.print(table)
    for note in report.notes:
        console.print(Text.assemble("  ", ("note:", "yellow"), f" {note}"), highlight=False)
    if accounts:
        users = Table(title="Demo accounts (development only)")
        for col in ("user", "password", "role", "can"):
            users.add_column(col)
        for acc in accounts:
            users.add_row(acc.username, acc.password, acc.role, acc.description)
        console.print(users)
