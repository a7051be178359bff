"""Shared fixtures for the pure geo tests: small frames with an explicit CRS."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import pytest

# ETRS89 / UTM 33N, Berlin's own CRS: coordinates in metres, so hand-computed distances are easy to read.
METRIC_CRS = "EPSG:25833"
# A point in Berlin-Mitte in EPSG:25833; test layouts are offsets in metres from here.
ORIGIN_X_M = 390_000.0
ORIGIN_Y_M = 5_820_000.0

PointsFactory = Callable[..., gpd.GeoDataFrame]


@pytest.fixture
def metric_crs() -> str:
    """The projected CRS (metres) the hand-computed layouts use."""
    return METRIC_CRS


@pytest.fixture
def points() -> PointsFactory:
    """Build a point GeoDataFrame in EPSG:25833 from offsets in metres from a Berlin origin, plus columns."""

    def build(offsets_m: Sequence[tuple[float, float]], **columns: Any) -> gpd.GeoDataFrame:
        xs = [ORIGIN_X_M + dx for dx, _ in offsets_m]
        ys = [ORIGIN_Y_M + dy for _, dy in offsets_m]
        return gpd.GeoDataFrame(dict(columns), geometry=gpd.points_from_xy(xs, ys), crs=METRIC_CRS)

    return build
