"""`assetmap capacity set/list/clear` and what `assetmap analyse` says about unknown capacity."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, text, update
from typer.testing import CliRunner

from app.db.models import CityServiceCapacity, ServiceType
from tests.app.test_analysis_api import TOP_BEYOND_REACH_CODES, TOP_UNMET_CODES
from tests.app.test_analysis_cli import assetmap, invoke  # noqa: F401  (the fixture)
from tests.conftest import Berlin

ANALYSE = ("analyse", "--city", "Berlin", "--service", "childcare", "--radius-m", "500", "--top", "5")
RANKED_CODES = r"│\s+\d\s+│\s+(\d{4})\s+│"


@pytest.fixture
def no_defaults_after(berlin: Berlin) -> Iterator[None]:
    """The commands commit: every default capacity they set is cleared again."""
    yield
    with berlin.engine.begin() as conn:
        conn.execute(delete(CityServiceCapacity))
        conn.execute(update(ServiceType).values(default_capacity=None))


def one_line(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def test_analyse_warns_when_every_capacity_is_unknown(assetmap: CliRunner) -> None:  # noqa: F811
    text = invoke(assetmap, *ANALYSE)
    assert (
        "warning: capacity unknown for 1175 of 1175 assets: unmet need not computed (set a default with "
        "`assetmap capacity set --service childcare --capacity C`" in one_line(text)
    )
    assert "unmet need not computed" in text and "Largest unmet need" not in text
    assert re.findall(RANKED_CODES, text) == TOP_BEYOND_REACH_CODES


def test_a_default_set_from_the_terminal_is_used_and_said(
    assetmap: CliRunner,  # noqa: F811
    no_defaults_after: None,
) -> None:
    said = invoke(assetmap, "capacity", "set", "--service", "childcare", "--capacity", "60")
    assert "default capacity of childcare (every city): 60" in one_line(said)
    invoke(assetmap, "capacity", "set", "--service", "childcare", "--capacity", "45", "--city", "Berlin")
    listed = one_line(invoke(assetmap, "capacity", "list"))
    assert re.search(r"childcare │ \(every city\) │ 60", listed) and re.search(
        r"childcare │ Berlin │ 45", listed
    )
    assert re.search(r"health │ \(every city\) │ none", listed)
    text = invoke(assetmap, *ANALYSE)
    assert "warning: capacity unknown for 1175 of 1175 assets: used the default capacity 45" in one_line(text)
    assert "Largest unmet need" in text
    assert re.findall(RANKED_CODES, text) == TOP_UNMET_CODES
    invoke(assetmap, "capacity", "clear", "--service", "childcare", "--city", "Berlin")
    assert "used the default capacity 60" in one_line(invoke(assetmap, *ANALYSE))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--service", "childcare", "--capacity", "0"),
            "--capacity: a default capacity must be a number > 0",
        ),
        (("--service", "space-travel", "--capacity", "5"), "--service: unknown service type 'space-travel'"),
        (("--service", "childcare", "--capacity", "5", "--city", "Atlantis"), "--city: no city 'Atlantis'"),
    ],
)
def test_bad_defaults_are_one_readable_line(
    assetmap: CliRunner,  # noqa: F811
    no_defaults_after: None,
    args: tuple[str, ...],
    message: str,
) -> None:
    from app.cli import cli

    result = assetmap.invoke(cli, ["capacity", "set", *args])
    assert result.exit_code == 1 and message in one_line(result.output), result.output


def test_scenarios_say_unmet_need_is_not_computed(assetmap: CliRunner, berlin: Berlin) -> None:  # noqa: F811
    sites = one_line(
        invoke(assetmap, "suggest-sites", "--city", "Berlin", "--service", "childcare", "--p", "2")
    )
    assert "beyond reach covered" in sites and "unmet need not computed (capacity unknown)" in sites
    assert "the sites cover the most need beyond reach instead" in sites
    with berlin.engine.connect() as conn:
        kita = conn.execute(
            text(
                "SELECT min(a.asset_id) FROM asset_service_type a JOIN service_type s ON s.id = a.service_type_id "
                "WHERE s.slug = 'childcare'"
            )
        ).scalar_one()
    closure = one_line(
        invoke(assetmap, "what-if", "--city", "Berlin", "--service", "childcare", "--close", str(kita))
    )
    assert "people lose coverage, unmet need not computed (capacity unknown)" in closure
    assert "warning: capacity unknown for 1175 of 1175 assets" in closure
