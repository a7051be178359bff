"""What `assetmap import --join` prints: matches both ways, the fields and the columns they came from."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from app.cli.base import console

SHOWN = 20


def _listed(values: list[str], total: int) -> str:
    shown = ", ".join(values[:SHOWN])
    return shown + (f" ... and {total - SHOWN:,} more (see the import's report)" if total > SHOWN else "")


def print_join(report: dict[str, Any]) -> None:
    """The join part of an import's report: matched rows, unmatched rows, left-out neighbourhoods, sources."""
    join = report.get("join") or {}
    table = Table(title="Join (neighbourhood field <- table columns)")
    for column in ("field", "source columns", "how"):
        table.add_column(column)
    for target, source in (join.get("sources") or {}).items():
        columns = source.get("columns") or []
        shown = (
            " + ".join(columns)
            if len(columns) <= 6
            else f"{columns[0]} + ... + {columns[-1]} ({len(columns)})"
        )
        table.add_row(target, shown, source.get("how", ""))
    console.print(table)
    console.print(
        f"  key: code <- {join.get('key_column')!r}; {join.get('matched', 0):,} of {join.get('table_rows', 0):,} "
        "table rows match a neighbourhood",
        highlight=False,
    )
    unmatched = join.get("unmatched_rows") or []
    if unmatched:
        rows = [f"row {u['row_number']} ({u['code']})" for u in unmatched]
        console.print(
            f"  rows whose code matches no neighbourhood: {_listed(rows, int(join['unmatched_rows_total']))}",
            highlight=False,
        )
    missing = join.get("neighbourhoods_not_in_table") or []
    if missing:
        total = int(join["neighbourhoods_not_in_table_total"])
        console.print(f"  neighbourhoods the table leaves out: {_listed(missing, total)}", highlight=False)
    padded = join.get("padded_codes") or {}
    if padded.get("count"):
        first = padded["rows"][0]
        what = "code stored as a number was" if padded["count"] == 1 else "codes stored as numbers were"
        console.print(
            f"  {padded['count']:,} {what} padded to {padded['width']} digits "
            f"(e.g. row {first['row_number']}: {first['in_file']} -> {first['matched_as']})",
            highlight=False,
        )
    for note in join.get("notes") or []:
        console.print(Text.assemble(("  note: ", "yellow"), note), highlight=False)


def join_summary(record: dict[str, Any], dry_run: bool) -> Text:
    """The last line of a join: what was (or would be) updated."""
    report = record["report"]
    join = report.get("join") or {}
    tail = (
        f"{join.get('matched', 0):,} matched, {join.get('unmatched_rows_total', 0):,} rows unmatched, "
        f"{join.get('neighbourhoods_not_in_table_total', 0):,} neighbourhoods not in the table, "
        f"{record['counts']['skipped']:,} rows with errors"
    )
    if dry_run:
        return Text.assemble((f"dry run {record['id']}: nothing was stored", "green"), f"; {tail}")
    return Text.assemble(
        (f"join {record['id']} onto {record['city']} neighbourhoods:", "green"),
        f" {record['counts']['updated']:,} updated, {report.get('unchanged', 0):,} unchanged; {tail}",
    )
