"""The gap map's walking layers: units the straight line misleads about, isochrones, and their text kept inert."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from geo.render import gap_map, render_html
from tests.geo.test_render import (
    ALL_PAYLOADS,
    IMG,
    JINJA,
    TILES_URL,
    assert_inert,
    hostile_city,
    legend_of,
    local_links,  # noqa: F401 - the autouse fixture of the render tests
)


def walking_page() -> str:
    city = hostile_city()
    misled = gpd.GeoDataFrame(
        {"need": [12.5, 40.0], "walk_m": [820.0, float("nan")]},
        geometry=[box(13.40, 52.50, 13.401, 52.501), box(13.41, 52.50, 13.411, 52.501)],
        crs="EPSG:4326",
    )
    isochrones = gpd.GeoDataFrame(
        {"minutes": [5.0, 10.0, 15.0], "name": f"Kita {IMG} {JINJA}"},
        geometry=[
            box(13.40, 52.50, 13.41, 52.51),
            box(13.39, 52.49, 13.42, 52.52),
            box(13.38, 52.48, 13.43, 52.53),
        ],
        crs="EPSG:4326",
    )
    m = gap_map(
        city["neighbourhoods"],
        city["assets"],
        city["needs"],
        city["assets"].iloc[:4],
        500,
        tiles_url=TILES_URL,
        distance="network",
        straight_not_walking=misled,
        isochrones=isochrones,
        distance_notes=[f"52 people farther on foot {JINJA}"],
    )
    return render_html(m)


def test_walking_layers_and_legend() -> None:
    page = walking_page()
    legend = {section["heading"]: [row["text"] for row in section["rows"]] for section in legend_of(page)}
    texts = " ".join(legend["Walking"])
    assert "Covered by the straight line but not on foot: 52 people" in texts
    for minutes, metres in ((5, "400 m"), (10, "800 m"), (15, "1,200 m")):
        assert f"{minutes} min on foot from Kita" in texts and f"({metres} at 80 m/min)" in texts
    assert "Distances: on foot along the streets (80 m a minute)" in page


@pytest.mark.parametrize("payload", ALL_PAYLOADS)
def test_walking_layers_show_hostile_text_only_as_text(payload: str) -> None:
    assert_inert(walking_page(), payload)
