"""Opening a site (geo.siting.opening): the inverse of closing one, on the hand case of the closure test."""

from __future__ import annotations

import pytest

from geo.crs import AnalysisInputError
from geo.gaps import GapParams, analyse_units
from geo.siting import close_assets
from geo.siting.opening import open_sites
from tests.geo.test_siting import _units


def test_opening_the_site_a_closure_removes_gains_exactly_what_the_closure_loses(points) -> None:
    # As in the closure test: asset 1 alone serves neighbourhood 1 (u1, u2); asset 2 serves neighbourhood 2 (u3).
    units = _units(points, [(0, 0, 1, 40), (0, 300, 1, 60), (5000, 0, 2, 25)])
    params = GapParams(radius_m=400.0, decay="none")
    with_both = analyse_units(
        units, points([(0, 150), (5000, 100)], id=[1, 2], capacity=[50.0, 25.0]), params, crs="EPSG:25833"
    )
    without = analyse_units(units, points([(5000, 100)], id=[2], capacity=[25.0]), params, crs="EPSG:25833")
    opening = open_sites(without, points([(0, 150)], id=["p"]), capacity=50.0)
    closure = close_assets(with_both, [1])
    nb = opening.neighbourhoods
    assert nb.loc[1, "need_newly_covered"] == 100.0 == closure.neighbourhoods.loc[1, "need_losing_coverage"]
    assert nb.loc[1, "population_newly_covered"] == 100.0
    assert nb.loc[2, "need_newly_covered"] == 0.0
    assert sorted(opening.units_newly_covered) == sorted(closure.units_losing_coverage) == ["u1", "u2"]
    # unmet need: 100 before (nothing near neighbourhood 1), 100 / 6 after (the closure test's "before")
    assert nb.loc[1, "unmet_need_before"] == pytest.approx(100.0)
    assert nb.loc[1, "unmet_need_after"] == pytest.approx(100.0 / 6.0)
    assert opening.totals["unmet_need_change"] == pytest.approx(-closure.totals["unmet_need_change"])
    assert opening.totals["n_units_newly_covered"] == 2 and opening.totals["n_opened"] == 1
    assert "opened:p" in opening.after.assets["id"].tolist()


def test_a_site_out_of_reach_of_everyone_gains_nothing(points) -> None:
    units = _units(points, [(0, 0, 1, 40)])
    result = analyse_units(
        units, points([(0, 10)], id=[1], capacity=[40.0]), GapParams(radius_m=400.0), crs="EPSG:25833"
    )
    opening = open_sites(result, points([(9000, 9000)], id=["far"]), capacity=10.0)
    assert opening.totals["need_newly_covered"] == 0.0 and opening.units_newly_covered == []


def test_bad_sites_are_refused(points) -> None:
    units = _units(points, [(0, 0, 1, 40)])
    result = analyse_units(units, points([(0, 10)], id=[1]), GapParams(radius_m=400.0), crs="EPSG:25833")
    with pytest.raises(AnalysisInputError, match="at least one site"):
        open_sites(result, points([], id=[]), capacity=1.0)
    with pytest.raises(AnalysisInputError, match="capacity"):
        open_sites(result, points([(0, 0)], id=["a"]), capacity=0.0)
