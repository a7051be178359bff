"""`assetmap directory`: offers from the terminal, the budget question, the time zone and the HSDS export.
The commands commit to the session database: what a test adds is removed afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from frictionless import Package
from sqlalchemy import delete, func, select, text
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import Change, ServiceOffer
from tests.conftest import Berlin


@pytest.fixture
def assetmap(berlin: Berlin) -> Iterator[CliRunner]:
    with berlin.engine.connect() as conn:
        last = conn.execute(select(func.coalesce(func.max(ServiceOffer.id), 0))).scalar_one()
    yield CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "ASSETMAP_TILES_URL": "",
            "COLUMNS": "200",
        }
    )
    with berlin.engine.begin() as conn:
        conn.execute(delete(ServiceOffer).where(ServiceOffer.id > last))
        conn.execute(delete(Change).where(Change.kind == "service_offers", Change.item_id > last))
        conn.execute(text("UPDATE city SET time_zone = 'Europe/Berlin' WHERE name = 'Berlin'"))


def _asset_near_alexanderplatz(berlin: Berlin) -> int:
    with berlin.engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT id FROM asset WHERE source = 'osm:community-centers' AND source_id = '5656522303'"
                )
            ).scalar_one()
        )


def test_add_set_list_and_budget(assetmap: CliRunner, berlin: Berlin) -> None:
    asset = _asset_near_alexanderplatz(berlin)
    added = assetmap.invoke(
        cli,
        ["directory", "add", "--asset", str(asset), "--service", "older-people", "--name", "Chess afternoon",
         "--cost", "fixed", "--per", "session", "--price", "2", "--currency", "EUR", "--sessions", "4",
         "--min-age", "60", "--language", "de", "--hours", "Fr 14:00-17:00"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Chess afternoon (8.00 EUR/month)" in added.output
    offer_id = added.output.split()[2].rstrip(":")
    changed = assetmap.invoke(cli, ["directory", "set", "--offer", offer_id, "--price", "3"])
    assert changed.exit_code == 0 and "version 2 (12.00 EUR/month)" in changed.output, changed.output
    listed = assetmap.invoke(cli, ["directory", "list", "--asset", str(asset)])
    assert listed.exit_code == 0 and "Chess afternoon" in listed.output and "Seniorencafé" in listed.output
    answer = assetmap.invoke(
        cli,
        ["directory", "budget", "--city", "Berlin", "--lat", "52.5219", "--lon", "13.4132", "--budget", "200",
         "--age", "70", "--json"],
    )  # fmt: skip
    assert answer.exit_code == 0, answer.output
    names = [row["name"] for row in json.loads(answer.output)["items"]]
    assert "Chess afternoon" in names and "Polish language course" not in names
    table = assetmap.invoke(
        cli,
        [
            "directory",
            "budget",
            "--city",
            "Berlin",
            "--lat",
            "52.5219",
            "--lon",
            "13.4132",
            "--budget",
            "200",
        ],
    )
    assert table.exit_code == 0 and "left out:" in table.output


def test_bad_options_say_which(assetmap: CliRunner, berlin: Berlin) -> None:
    asset = _asset_near_alexanderplatz(berlin)
    bad_hours = assetmap.invoke(
        cli,
        [
            "directory",
            "add",
            "--asset",
            str(asset),
            "--service",
            "older-people",
            "--name",
            "x",
            "--hours",
            "9-5",
        ],
    )
    assert bad_hours.exit_code == 1 and "--hours" in bad_hours.output
    bad_zone = assetmap.invoke(cli, ["directory", "zone", "--city", "Berlin", "--zone", "Mars/Olympus"])
    assert bad_zone.exit_code == 1 and "--zone" in bad_zone.output
    good_zone = assetmap.invoke(cli, ["directory", "zone", "--city", "Berlin", "--zone", "Europe/Berlin"])
    assert good_zone.exit_code == 0, good_zone.output


def test_export_hsds_writes_a_valid_data_package(assetmap: CliRunner, tmp_path: Path) -> None:
    result = assetmap.invoke(cli, ["directory", "export-hsds", str(tmp_path / "hsds"), "--city", "Berlin"])
    assert result.exit_code == 0, result.output
    report = Package(str(tmp_path / "hsds" / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
