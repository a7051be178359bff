"""Deadlines in geo: work stops between stages and iterations once its time is up or its caller has left."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from geo.coverage import AnalysisStopped, Deadline
from geo.gaps import GapParams, analyse_units, reanalyse
from geo.siting import close_assets, suggest_sites, suggest_sites_for_gaps


def _spent(limit_s: float = 0.5) -> Deadline:
    """A deadline whose time is already up."""
    return Deadline(limit_s=limit_s, at=time.monotonic() - 1.0)


def test_a_deadline_reports_its_limit_and_a_cancel() -> None:
    Deadline.after(60).check()  # time left: nothing happens
    with pytest.raises(AnalysisStopped, match=r"took longer than 0\.5 s") as stopped:
        _spent().check()
    assert stopped.value.limit_s == 0.5 and not stopped.value.cancelled
    cancel = threading.Event()
    deadline = Deadline.after(60, cancel=cancel)
    cancel.set()
    with pytest.raises(AnalysisStopped, match="no longer waits") as gone:
        deadline.check()
    assert gone.value.cancelled


def test_gaps_and_scenarios_stop_when_their_time_is_up(points) -> None:
    units = points(
        [(0, 0), (4000, 0)],
        unit_id=["u1", "u2"],
        neighbourhood_id=[1, 2],
        population=[40.0, 60.0],
        need=[40.0, 60.0],
    )
    assets = points([(0, 50)], id=[1], name=["hall"], capacity=[40.0])
    params = GapParams(radius_m=500.0, decay="none")
    with pytest.raises(AnalysisStopped):
        analyse_units(units, assets, params, crs="EPSG:25833", deadline=_spent())
    before = analyse_units(units, assets, params, crs="EPSG:25833")
    with pytest.raises(AnalysisStopped):
        reanalyse(before, assets, deadline=_spent())
    with pytest.raises(AnalysisStopped):
        close_assets(before, [1], deadline=_spent())
    candidates = points([(4000, 100)], id=["c"], name=["x"])
    with pytest.raises(AnalysisStopped):
        suggest_sites_for_gaps(before, candidates, 1, deadline=_spent())
    xy = np.array([[0.0, 0.0], [180.0, 0.0], [-100.0, 0.0], [280.0, 0.0]])
    with pytest.raises(AnalysisStopped):
        suggest_sites(xy, np.ones(4), np.array([[-50.0, 0.0], [230.0, 0.0]]), 100.0, 1, deadline=_spent())
