"""The `assetmap` command line: database, sample data, users, the web server, analysis, imports and exports.

One module per command family; each declares its commands on its own Typer and imports only `app.cli.base`,
so nothing here imports back into this package:

base      the consoles, the one error line, loading the settings
db        `db up`, `db upgrade`, `db downgrade`
sample    `load-sample`
serve     `serve`
users     `user add`, `user list`, `user set-role`, `user assign`, `user revoke-key`
analysis  `analyse`, `suggest-sites`, `what-if`, `prune-runs`, `map`
capacity  `capacity set`, `capacity clear`, `capacity list`
venues    `venues list`, `venues set`, `venues reset`
imports   `import`, `export`
cities    `city add`, `city list`, `city show`
streets   `streets import`, `streets show`
cases     `case list`, `case add`, `case event`
directory `directory add`, `directory set`, `directory list`, `directory budget`, `directory zone`,
          `directory export-hsds`
budget    `budget round add|list|show|phase|results|export`, `budget codes`, `budget propose`, `budget review`
matching  `match`, `commitment add|stage|outcome`, `dashboard`
"""

from __future__ import annotations

import sys

import typer

from app.cli import (
    analysis,
    budget,
    capacity,
    cases,
    cities,
    db,
    directory,
    imports,
    matching,
    sample,
    serve,
    streets,
    users,
    venues,
)
from app.cli.base import fail
from app.errors import AssetmapError

cli = typer.Typer(
    help="assetmap: asset-based community mapping on PostGIS.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Added without a name, a family's commands sit at the top level; `assetmap --help` lists them in this order.
for family in (sample, serve, analysis, imports):
    cli.add_typer(family.app)
cli.add_typer(db.app, name="db")
cli.add_typer(users.app, name="user")
cli.add_typer(capacity.app, name="capacity")
cli.add_typer(venues.app, name="venues")
cli.add_typer(cities.app, name="city")
cli.add_typer(streets.app, name="streets")
cli.add_typer(cases.app, name="case")
cli.add_typer(directory.app, name="directory")
cli.add_typer(budget.app, name="budget")
cli.add_typer(matching.app)
cli.add_typer(matching.commitment_app, name="commitment")


def main() -> None:
    """Entry point of the console script; domain errors become one readable line and exit code 1."""
    try:
        cli()
    except AssetmapError as exc:
        fail(exc.detail)  # prints the line; outside typer the exit is ours to make
        sys.exit(1)
