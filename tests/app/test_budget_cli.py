"""`assetmap budget`: a round run from the terminal, through the same services as the API."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pabutools.election import Cost_Sat, parse_pabulib
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import BudgetRound
from app.db.session import session_scope
from app.policy import Principal
from app.services import budget
from tests.conftest import Berlin


@pytest.fixture
def assetmap(berlin: Berlin) -> Iterator[CliRunner]:
    """Commands against the session database; the rounds they commit are removed afterwards."""
    with berlin.engine.connect() as conn:
        last = conn.execute(select(func.coalesce(func.max(BudgetRound.id), 0))).scalar_one()
    yield CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "COLUMNS": "250",
        }
    )
    with berlin.engine.begin() as conn:
        conn.execute(delete(BudgetRound).where(BudgetRound.id > last))


def test_a_round_from_the_terminal(assetmap: CliRunner, berlin: Berlin, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    dates = [
        "--proposals",
        (now - dt.timedelta(hours=1)).isoformat(),
        "--review",
        (now + dt.timedelta(days=1)).isoformat(),
        "--voting",
        (now + dt.timedelta(days=2)).isoformat(),
        "--results",
        (now + dt.timedelta(days=3)).isoformat(),
    ]
    added = assetmap.invoke(
        cli,
        ["budget", "round", "add", "--city", "Berlin", "--name", "[bold]Kiez[/]", "--amount", "1000", *dates],
    )
    assert added.exit_code == 0, added.output
    assert "[bold]Kiez[/]" in added.output  # printed as typed, not as markup
    round_id = int(re.search(r"round (\d+)", added.output).group(1))  # type: ignore[union-attr]
    ids = []
    for title, cost in (("Bench", 300), ("Mural", 600), ("Tree", 200)):
        made = assetmap.invoke(
            cli, ["budget", "propose", str(round_id), "--title", title, "--cost", str(cost)]
        )
        assert made.exit_code == 0, made.output
        ids.append(int(re.search(r"proposal (\d+)", made.output).group(1)))  # type: ignore[union-attr]
    refused = assetmap.invoke(cli, ["budget", "review", str(round_id), str(ids[0]), "--not-feasible"])
    assert refused.exit_code == 1 and "reason is required" in refused.output
    codes = assetmap.invoke(cli, ["budget", "codes", str(round_id), "--count", "3"])
    assert codes.exit_code == 0, codes.output
    code_list = codes.output.split()
    assert len(code_list) == 3
    assert assetmap.invoke(cli, ["budget", "round", "phase", str(round_id), "voting"]).exit_code == 0
    with session_scope(berlin.settings) as db:
        for code, approvals in zip(code_list, ([ids[0], ids[2]], [ids[1]], [ids[0]]), strict=True):
            budget.cast_ballot(db, Principal(), round_id, approvals, code)
    closed = assetmap.invoke(cli, ["budget", "round", "phase", str(round_id), "results"])
    assert closed.exit_code == 0 and "results" in closed.output
    shown = assetmap.invoke(cli, ["budget", "round", "results", str(round_id)])
    assert shown.exit_code == 0, shown.output
    assert "pabutools" in shown.output and "not funded" in shown.output
    out = tmp_path / "round.pb"
    exported = assetmap.invoke(cli, ["budget", "round", "export", str(round_id), "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    instance, profile = parse_pabulib(str(out))
    greedy = {int(p.name) for p in greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)}
    mes = {int(p.name) for p in method_of_equal_shares(instance, profile, sat_class=Cost_Sat)}
    assert f"greedy funds {sorted(greedy)}" in shown.output
    assert f"equal shares funds {sorted(mes)}" in shown.output
    backwards = assetmap.invoke(cli, ["budget", "round", "phase", str(round_id), "voting"])
    assert backwards.exit_code == 1 and "only move forward" in backwards.output
