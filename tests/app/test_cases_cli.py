"""`assetmap case add`, `case event` and `case list`: thin commands over the same services as the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import Asset, Change, CommunityCase
from tests.conftest import Berlin


@pytest.fixture
def assetmap(berlin: Berlin) -> Iterator[CliRunner]:
    """Commands against the session database; the cases they commit are removed afterwards."""
    with berlin.engine.connect() as conn:
        last = conn.execute(select(func.coalesce(func.max(CommunityCase.id), 0))).scalar_one()
    yield CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "COLUMNS": "200",
        }
    )
    with berlin.engine.begin() as conn:
        conn.execute(delete(Change).where(Change.kind == "cases", Change.item_id > last))
        conn.execute(delete(CommunityCase).where(CommunityCase.id > last))


def test_a_case_opened_and_decided_from_the_terminal(assetmap: CliRunner, berlin: Berlin) -> None:
    with berlin.engine.connect() as conn:
        asset_id = conn.execute(
            select(Asset.id)
            .where(Asset.city_id == berlin.city_id, Asset.category == "physical_space")
            .limit(1)
        ).scalar_one()
    added = assetmap.invoke(
        cli,
        [
            "case",
            "add",
            "--city",
            "Berlin",
            "--kind",
            "acv",
            "--asset",
            str(asset_id),
            "--body",
            "[bold]Friends[/]",
            "--body-kind",
            "community_group",
            "--contact",
            "secret@example.org",
            "--on",
            "2026-01-31",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "nominated; decision_due 2026-03-28" in added.output
    case_id = added.output.split()[1]
    listed = assetmap.invoke(cli, ["case", "event", case_id, "listed", "--on", "2026-03-02"])
    assert listed.exit_code == 0, listed.output
    assert "listed;" in listed.output and "listing_expiry 2031-03-01" in listed.output
    refused = assetmap.invoke(cli, ["case", "event", case_id, "listed", "--on", "2026-03-03"])
    assert refused.exit_code == 1 and "decision" in refused.output
    register = assetmap.invoke(cli, ["case", "list", "--city", "Berlin", "--public"])
    assert register.exit_code == 0, register.output
    assert "[bold]Friends[/]" in register.output  # printed as typed, never read as markup
    assert "secret@example.org" not in register.output
    bad = assetmap.invoke(cli, ["case", "event", case_id, "removed", "--on", "2 March"])
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output


def test_a_case_on_a_new_place_from_the_terminal(assetmap: CliRunner, berlin: Berlin) -> None:
    added = assetmap.invoke(
        cli,
        [
            "case",
            "add",
            "--city",
            "Berlin",
            "--kind",
            "transfer",
            "--new-place",
            "Boathouse",
            "--lon",
            "13.4132",
            "--lat",
            "52.5219",
            "--body",
            "Rowing club",
            "--body-kind",
            "voluntary_body",
            "--on",
            "2026-02-02",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "(transfer, Boathouse): requested" in added.output
    with berlin.engine.begin() as conn:
        case_id = int(added.output.split()[1])
        asset_id = conn.execute(
            select(CommunityCase.asset_id).where(CommunityCase.id == case_id)
        ).scalar_one()
        assert (
            conn.execute(select(Asset.category).where(Asset.id == asset_id)).scalar_one() == "physical_space"
        )
        conn.execute(delete(Change).where(Change.kind == "cases", Change.item_id == case_id))
        conn.execute(delete(CommunityCase).where(CommunityCase.id == case_id))
        conn.execute(delete(Asset).where(Asset.id == asset_id))
        conn.execute(delete(Change).where(Change.kind == "assets", Change.item_id == asset_id))
    neither = assetmap.invoke(
        cli, ["case", "add", "--city", "Berlin", "--kind", "acv", "--body", "x", "--body-kind", "other"]
    )
    assert neither.exit_code == 1 and "--new-place" in neither.output
