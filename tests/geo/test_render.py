"""geo.render: maps are safe with hostile text, load only local assets, stay small, and say what they show."""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely
from folium import plugins
from jinja2.utils import htmlsafe_json_dumps
from PIL import Image
from shapely.geometry import LineString, Point, Polygon, box

from geo.crs import AnalysisInputError
from geo.escape import escape_text
from geo.render import (
    CATEGORY_STYLES,
    LEGEND_ID,
    NO_RESIDENTS_CLASS,
    classify,
    gap_classes,
    gap_map,
    gap_map_png,
    inline_script_hashes,
    local_asset_paths,
    local_asset_urls,
    local_assets,
    neighbourhood_map,
    network_map,
    quantile_breaks,
    render_html,
    simplify_for_display,
    use_local_assets,
)
from geo.render.elements import LINK_COLOURS
from geo.vocab import ASSET_CATEGORIES, LINK_KINDS
from tests.inert_text import (
    TEMPLATE_PAYLOADS,
    assert_map_shows_as_text,
    assert_not_in_templates,
    compiled_template_sources,
    map_text_block,
    strings_in,
)

BASE_URL = "/static/vendor"
TILES_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "app" / "static" / "vendor"

IMG = "<img src=x onerror=alert(1)>"
TEMPLATE = "${document.title='x'}"
TICK = "`tick`"
QUOTE = '"><script>'
CLOSE = "</script><script>alert(1)</script>"
PAYLOADS = (IMG, TEMPLATE, TICK, QUOTE, CLOSE)
JINJA = " ".join(TEMPLATE_PAYLOADS)
ALL_PAYLOADS = (*PAYLOADS, *TEMPLATE_PAYLOADS)


@pytest.fixture(autouse=True)
def local_links() -> Iterator[dict[str, str]]:
    """Every test renders with local assets and leaves folium's class attributes as it found them."""
    with local_assets(BASE_URL) as urls:
        yield urls


def json_form(text: str) -> str:
    """How folium's templates write `text` inside JavaScript (jinja's HTML-safe JSON, without the quotes)."""
    return str(htmlsafe_json_dumps(text))[1:-1]


def assert_inert(page: str, payload: str) -> None:
    """The payload travels only as data in the page's text block, never in a form a browser would run."""
    assert_map_shows_as_text(page, payload)
    assert re.search(r"<img\s+src=x", page, re.IGNORECASE) is None
    assert "alert(1)</script>" not in page


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"] or "")
        if tag == "link" and values.get("href"):
            self.styles.append(values["href"] or "")


def external_links(page: str) -> tuple[list[str], list[str]]:
    """Return the src of every <script> and the href of every <link> in `page`."""
    parser = _Links()
    parser.feed(page)
    return parser.scripts, parser.styles


def grid_neighbourhoods(side: int = 4, size_deg: float = 0.01) -> gpd.GeoDataFrame:
    """A side x side grid of square neighbourhoods in Berlin, EPSG:4326, with analysis columns."""
    shapes = [
        box(
            13.35 + col * size_deg,
            52.48 + row * size_deg,
            13.35 + (col + 1) * size_deg,
            52.48 + (row + 1) * size_deg,
        )
        for row in range(side)
        for col in range(side)
    ]
    count = len(shapes)
    gap = np.linspace(0.0, 1.0, count)
    gap[1] = np.nan  # no residents of the served group
    return gpd.GeoDataFrame(
        {
            "id": range(count),
            "code": [f"{index:04d}" for index in range(count)],
            "name": [f"Köpenick {index}" for index in range(count)],
            "population": [0 if index == 1 else 1000 + index for index in range(count)],
            "covered_share": 1.0 - np.nan_to_num(gap),
            "mean_distance_m": np.linspace(100, 2000, count),
            "unmet_need": np.nan_to_num(gap) * 1000,
            "gap_share": gap,
            "access_score": np.linspace(0.1, 2.0, count),
            "desert": [index == count - 1 for index in range(count)],
            "nearest_assets": "Stadtteilzentrum, Bibliothek",
        },
        geometry=shapes,
        crs="EPSG:4326",
    )


def scatter_assets(count: int, bounds: tuple[float, float, float, float], seed: int = 7) -> gpd.GeoDataFrame:
    """`count` assets spread over `bounds` with every ABCD category."""
    rng = np.random.default_rng(seed)
    west, south, east, north = bounds
    return gpd.GeoDataFrame(
        {
            "id": range(count),
            "name": [f"Asset {index}" for index in range(count)],
            "category": [ASSET_CATEGORIES[index % len(ASSET_CATEGORIES)] for index in range(count)],
            "service_types": "food_support, youth",
            "capacity": rng.integers(1, 100, count),
        },
        geometry=gpd.points_from_xy(rng.uniform(west, east, count), rng.uniform(south, north, count)),
        crs="EPSG:4326",
    )


def hostile_city() -> dict[str, gpd.GeoDataFrame]:
    """A small city whose every free-text field holds an attack payload."""
    hoods = grid_neighbourhoods()
    hoods.loc[0, "name"] = IMG
    hoods.loc[2, "name"] = CLOSE
    hoods.loc[3, "nearest_assets"] = f"{TEMPLATE} {TICK}"
    hoods.loc[4, "code"] = QUOTE
    hoods.loc[5, "name"] = JINJA
    hoods.loc[6, "nearest_assets"] = JINJA
    assets = scatter_assets(12, tuple(hoods.total_bounds))
    assets.loc[0, "name"] = IMG
    assets.loc[1, "name"] = TEMPLATE
    assets.loc[2, "name"] = TICK
    assets.loc[3, "service_types"] = CLOSE
    assets.loc[4, "name"] = QUOTE
    assets.loc[8, "name"] = JINJA
    assets.loc[9, "service_types"] = JINJA
    points = list(assets.geometry)
    needs = gpd.GeoDataFrame(
        {
            "id": [1, 2, 3],
            "service_type": ["food_support", "youth", "older_people"],
            "people_affected": [12, 150, 3],
            "description": [IMG, f"{TEMPLATE} {TICK} {JINJA}", CLOSE],
        },
        geometry=[points[5], points[6], box(13.36, 52.49, 13.365, 52.495)],
        crs="EPSG:4326",
    )
    sites = gpd.GeoDataFrame(
        {"name": [f"{IMG} {JINJA}"], "gain": [321.4]}, geometry=[points[7]], crs="EPSG:4326"
    )
    links = gpd.GeoDataFrame(
        {"kind": ["partnership", "referral", None], "crosses_border": [True, False, False]},
        geometry=[
            LineString([points[0], points[1]]),
            LineString([points[2], points[3]]),
            LineString(points[4:6]),
        ],
        crs="EPSG:4326",
    )
    return {"neighbourhoods": hoods, "assets": assets, "needs": needs, "sites": sites, "links": links}


def legend_of(page: str) -> list[dict[str, Any]]:
    """The legend sections of a map page, as its script shows them."""
    return map_text_block(page)["legend"]  # type: ignore[no-any-return]


def hostile_gap_page(tiles_url: str | None = TILES_URL) -> str:
    city = hostile_city()
    m = gap_map(
        city["neighbourhoods"],
        city["assets"],
        city["needs"],
        city["assets"].iloc[:4],
        500,
        suggested_sites=city["sites"],
        links=city["links"],
        title=f"Gaps {TICK} {IMG} {JINJA}",
        service_name=f"Food {TEMPLATE} {JINJA}",
        data_date=f"2024-05-01 {CLOSE}",
        tiles_url=tiles_url,
    )
    return render_html(m)


@pytest.mark.parametrize("payload", ALL_PAYLOADS)
def test_gap_map_shows_hostile_text_only_as_text(payload: str) -> None:
    assert_inert(hostile_gap_page(), payload)


def test_no_community_text_is_ever_compiled_as_a_template() -> None:
    """Every map, with template syntax in every text field: not one compiled template source holds it."""
    city = hostile_city()
    assets, links = network_frames()
    assets.loc[5, "name"] = JINJA
    hood = city["neighbourhoods"].iloc[[5]].copy()
    resources = gpd.GeoDataFrame(
        {"kind": ["volunteers"], "name": [JINJA], "quantity": [5], "unit": [JINJA], "availability": [JINJA]},
        geometry=[Point(13.352, 52.482)],
        crs="EPSG:4326",
    )
    many = scatter_assets(2100, tuple(city["neighbourhoods"].total_bounds))  # markers built in the browser
    many.loc[7, "name"] = JINJA
    with compiled_template_sources() as sources:
        pages = [
            hostile_gap_page(),
            render_html(
                neighbourhood_map(hood, city["assets"], city["needs"], resources, links, title=JINJA)
            ),
            render_html(network_map(assets, links, title=f"Network {JINJA}")),
            render_html(gap_map(city["neighbourhoods"], many, None, None, 300, title=JINJA, tiles_url=None)),
        ]
    assert_not_in_templates(sources, [*ALL_PAYLOADS, JINJA])
    for page in pages:
        assert_map_shows_as_text(page, JINJA)


def test_gap_map_title_and_service_are_data_and_the_page_title_is_escaped() -> None:
    page = hostile_gap_page()
    title = map_text_block(page)["title"]
    assert title["heading"] == f"Gaps {TICK} {IMG} {JINJA}"
    assert title["lines"][0] == [["Service: ", False], [f"Food {TEMPLATE} {JINJA}", True]]
    assert f"<title>Gaps {escape_text(TICK)} {escape_text(IMG)}" in page
    assert f'<div id="{LEGEND_ID}" class="assetmap-box assetmap-legend"></div>' in page


def test_categories_outside_the_vocabulary_are_drawn_as_other() -> None:
    city = hostile_city()
    assets = city["assets"]
    assets.loc[0, "category"] = IMG
    page = render_html(gap_map(city["neighbourhoods"], assets, None, None, 400, tiles_url=None))
    assert json_form("Assets: Other (1)") in page
    assert any(IMG.capitalize() == text for text in strings_in(map_text_block(page)))
    assert_inert(page, IMG)


@pytest.mark.parametrize("payload", ALL_PAYLOADS)
def test_neighbourhood_map_shows_hostile_text_only_as_text(payload: str) -> None:
    city = hostile_city()
    hood = city["neighbourhoods"].iloc[[0]].copy()
    hood.loc[hood.index[0], "code"] = JINJA
    resources = gpd.GeoDataFrame(
        {"kind": ["volunteers"], "name": [f"{TEMPLATE} {TICK} {QUOTE}"], "quantity": [5], "unit": [CLOSE]},
        geometry=[Point(13.352, 52.482)],
        crs="EPSG:4326",
    )
    m = neighbourhood_map(
        hood, city["assets"], city["needs"], resources, city["links"], title=f"{IMG} {TICK} {JINJA}"
    )
    assert_inert(render_html(m), payload)


def network_frames() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    assets = scatter_assets(8, (13.35, 52.48, 13.39, 52.52))
    assets["name"] = [IMG, TEMPLATE, TICK, QUOTE, CLOSE, "Kiezladen", "Bibliothek", JINJA]
    assets["degree"] = [3, 2, 2, 1, 1, 1, 2, 0]
    assets["betweenness"] = [0.6, 0.1, 0.1, 0.0, 0.0, 0.0, 0.2, 0.0]
    assets["broker"] = [True, False, False, False, False, False, False, False]
    assets["isolated"] = [False] * 7 + [True]
    points = list(assets.geometry)
    pairs = [(0, 1), (0, 2), (0, 6), (1, 3), (2, 4), (6, 5)]
    links = gpd.GeoDataFrame(
        {
            "kind": ["partnership", "referral", "funding", "volunteers", "shared_space", "partnership"],
            "crosses_border": [True, False, False, True, False, False],
        },
        geometry=[LineString([points[a], points[b]]) for a, b in pairs],
        crs="EPSG:4326",
    )
    return assets, links


@pytest.mark.parametrize("payload", ALL_PAYLOADS)
def test_network_map_shows_hostile_text_only_as_text(payload: str) -> None:
    assets, links = network_frames()
    assert_inert(render_html(network_map(assets, links, title=f"Network {IMG} {TICK}")), payload)


def test_network_map_marks_brokers_isolated_assets_and_sizes_by_degree() -> None:
    assets, links = network_frames()
    page = render_html(network_map(assets, links, tiles_url=None))
    assert f'id="{LEGEND_ID}"' in page
    legend = {section["heading"]: [row["text"] for row in section["rows"]] for section in legend_of(page)}
    assert legend["Node size: number of links"] == ["1 link", "2 links", "3 links"]
    assert legend["Roles in the network"] == ["Broker (high betweenness)", "Isolated (no links)"]
    assert '"className": "assetmap-node assetmap-broker"' in page
    assert '"className": "assetmap-node assetmap-isolated"' in page
    # The hub (3 links) is drawn larger than a leaf (1 link).
    radii = sorted({float(value) for value in re.findall(r'"radius": ([0-9.]+)', page)})
    assert len(radii) >= 3
    lines = ["".join(text for text, _bold in line) for line in map_text_block(page)["title"]["lines"]]
    assert lines == ["8 assets · 6 links", "1 brokers · 1 isolated"]


def test_maps_load_scripts_and_styles_only_from_the_local_base() -> None:
    city = hostile_city()
    # 300 assets are clustered, so the MarkerCluster links are in the page too.
    many = scatter_assets(300, tuple(city["neighbourhoods"].total_bounds))
    assets, links = network_frames()
    pages = [
        hostile_gap_page(),
        render_html(gap_map(city["neighbourhoods"], many, None, None, 300, tiles_url=TILES_URL)),
        render_html(neighbourhood_map(city["neighbourhoods"].iloc[[5]], many, city["needs"], None, None)),
        render_html(network_map(assets, links)),
    ]
    for page in pages:
        scripts, styles = external_links(page)
        assert scripts and styles
        for url in scripts + styles:
            assert url.startswith(BASE_URL + "/"), url
        assert f"{BASE_URL}/leaflet.fullscreen/Control.FullScreen.js" in scripts
    gap_scripts, _ = external_links(pages[1])
    assert f"{BASE_URL}/leaflet.markercluster/leaflet.markercluster.js" in gap_scripts


def test_the_only_remote_addresses_are_the_tiles_and_their_attribution() -> None:
    page = hostile_gap_page()
    addresses = set(re.findall(r"https?://[^\s\"'<>\\)]+", page))
    assert addresses == {TILES_URL, "https://www.openstreetmap.org/copyright"}


def test_no_basemap_gives_a_usable_page_without_tiles() -> None:
    page = hostile_gap_page(tiles_url=None)
    assert "L.tileLayer" not in page
    assert re.findall(r"https?://", page) == []
    assert "L.map(" in page and f'id="{LEGEND_ID}"' in page
    assert '"maxZoom": 19' in page  # marker clusters need it when no tile layer gives one


def test_bad_tiles_url_is_refused_with_advice() -> None:
    city = hostile_city()
    with pytest.raises(ValueError, match="tile template"):
        gap_map(city["neighbourhoods"], None, None, None, 300, tiles_url="javascript:alert(1)")


def test_use_local_assets_is_idempotent_and_the_context_restores_folium() -> None:
    use_local_assets(BASE_URL)
    first = (
        list(folium.Map.default_js),
        list(folium.Map.default_css),
        list(plugins.MarkerCluster.default_js),
    )
    use_local_assets(BASE_URL + "/")
    assert (folium.Map.default_js, folium.Map.default_css, plugins.MarkerCluster.default_js) == (
        first[0],
        first[1],
        first[2],
    )
    assert all(
        url.startswith(BASE_URL + "/") for _name, url in folium.Map.default_js + folium.Map.default_css
    )
    # A nested context applies its own base and gives the outer one back on exit.
    with local_assets("/elsewhere"):
        assert folium.Map.default_js[0][1] == "/elsewhere/leaflet/leaflet.js"
    assert folium.Map.default_js[0][1] == f"{BASE_URL}/leaflet/leaflet.js"


def test_local_asset_context_restores_the_cdn_links_afterwards() -> None:
    # The autouse fixture's context is active; a nested one must restore it, not folium's originals.
    with local_assets("/other"):
        pass
    assert folium.Map.default_css[0] == ("leaflet_css", f"{BASE_URL}/leaflet/leaflet.css")
    assert (
        plugins.FastMarkerCluster.default_css[0][1] == f"{BASE_URL}/leaflet.markercluster/MarkerCluster.css"
    )


@pytest.mark.parametrize("bad", ['/static"><script>', "javascript:alert(1)", "", "/static vendor"])
def test_unsafe_asset_base_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="asset base URL"):
        use_local_assets(bad)


def test_every_category_and_link_kind_has_its_own_look() -> None:
    assert set(CATEGORY_STYLES) == set(ASSET_CATEGORIES)
    assert len({style.hex_colour for style in CATEGORY_STYLES.values()}) == len(ASSET_CATEGORIES)
    assert len({style.icon for style in CATEGORY_STYLES.values()}) == len(ASSET_CATEGORIES)
    assert set(LINK_COLOURS) == set(LINK_KINDS)
    assert len(set(LINK_COLOURS.values())) == len(LINK_KINDS)


def test_quantile_breaks_for_a_known_input() -> None:
    values = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, None, float("nan")]
    breaks = quantile_breaks(values, 5)
    assert breaks == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    classes = classify([0.0, 0.19, 0.2, 0.55, 0.8, 1.0, None, float("nan")], breaks)
    assert classes.tolist() == [0, 0, 1, 2, 4, 4, -1, -1]


def test_tied_values_merge_classes_instead_of_making_empty_ones() -> None:
    classes = gap_classes([0.0, 0.0, 0.0, 0.0, 0.5, 1.0])
    assert classes.breaks == pytest.approx((0.0, 0.5, 1.0))
    assert classes.labels == ("0\u201350 %", "50\u2013100 %")
    assert len(classes.colours) == 2
    assert classes.class_of.tolist() == [0, 0, 0, 0, 1, 1]


def test_all_null_gap_shares_give_no_classes() -> None:
    classes = gap_classes([None, float("nan")])
    assert classes.breaks == () and classes.colours == ()
    assert classes.class_of.tolist() == [-1, -1]


def test_gap_map_legend_has_units_classes_and_no_residents() -> None:
    hoods = grid_neighbourhoods(side=4)
    hoods["gap_share"] = [0.0, np.nan, *np.linspace(0.1, 1.0, 14)]
    hoods["desert"] = False
    page = render_html(gap_map(hoods, None, None, None, 500, service_name="Food support", tiles_url=None))
    section = legend_of(page)[0]
    assert section["heading"] == "Share of need unmet, %"
    expected = gap_classes(hoods["gap_share"])
    assert len(expected.labels) == 5
    shown = [(row["text"], row["symbol"]["colour"], row["class"]) for row in section["rows"]]
    assert shown[:5] == [
        (text, colour, f"assetmap-gap-class-{index}")
        for index, (text, colour) in enumerate(zip(expected.labels, expected.colours, strict=True))
    ]
    assert shown[5][0] == "no residents" and shown[5][2] == NO_RESIDENTS_CLASS
    # The neighbourhood without residents is drawn grey with the class browser tests count.
    assert f'"className": "assetmap-neighbourhood {NO_RESIDENTS_CLASS}"' in page
    assert page.count('"className": "assetmap-neighbourhood') == 6  # five classes and "no residents"
    title = map_text_block(page)["title"]
    assert title["lines"][:2] == [
        [["Service: ", False], ["Food support", True]],
        [["Catchment radius: 500 m", False]],
    ]


def test_neighbourhood_popups_give_the_numbers_with_units() -> None:
    hoods = grid_neighbourhoods(side=2)
    hoods.loc[0, ["population", "covered_share", "unmet_need", "mean_distance_m", "gap_share"]] = [
        12345,
        0.834,
        2040.4,
        1234.5,
        0.166,
    ]
    page = render_html(gap_map(hoods, None, None, None, 500, tiles_url=None))
    for text in (
        "12,345",
        "83 %",
        "2,040 people",
        "1,234 m",
        "17 %",
        "no residents",
        "Stadtteilzentrum, Bibliothek",
    ):
        assert json_form(text) in page, text
    for alias in (
        "Population of served group",
        "Covered share",
        "Unmet need",
        "Mean distance to nearest asset",
    ):
        assert alias in page
    # The last neighbourhood is a service desert: said in its popup and drawn with the desert outline.
    assert json_form("yes") in page and "Service desert (thick outline)" in page


def test_without_null_gap_shares_no_shape_is_marked_no_residents() -> None:
    hoods = grid_neighbourhoods(side=2)
    hoods["gap_share"] = [0.1, 0.2, 0.3, 0.4]
    page = render_html(gap_map(hoods, None, None, None, 500, tiles_url=None))
    assert f'"className": "assetmap-neighbourhood {NO_RESIDENTS_CLASS}"' not in page
    # The legend still explains grey.
    assert NO_RESIDENTS_CLASS in [row["class"] for row in legend_of(page)[0]["rows"]]


@pytest.mark.parametrize(
    ("count", "clustered", "fast"),
    [(50, False, False), (250, True, False), (2500, True, True)],
)
def test_assets_cluster_when_there_are_many(count: int, clustered: bool, fast: bool) -> None:
    hoods = grid_neighbourhoods(side=2)
    assets = scatter_assets(count, tuple(hoods.total_bounds))
    page = render_html(gap_map(hoods, assets, None, None, 500, tiles_url=None))
    assert ("L.markerClusterGroup" in page) is clustered
    assert ("var fast_marker_cluster_" in page) is fast
    for category in ("Individual", "Physical space", "Culture"):
        assert f"Assets: {category} (" in page


def h3_city(cell_count: int) -> gpd.GeoDataFrame:
    """`cell_count` H3 resolution-9 hexagons around Berlin-Mitte, as neighbourhoods with analysis columns."""
    centre = h3.latlng_to_cell(52.52, 13.405, 9)
    rings = 0
    while 1 + 3 * rings * (rings + 1) < cell_count:
        rings += 1
    cells = sorted(h3.grid_disk(centre, rings))[:cell_count]
    shapes = [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]) for cell in cells]
    rng = np.random.default_rng(5)
    gap = rng.random(cell_count)
    gap[::37] = np.nan
    return gpd.GeoDataFrame(
        {
            "id": range(cell_count),
            "code": cells,
            "name": [f"Kiez {index}" for index in range(cell_count)],
            "population": rng.integers(0, 4000, cell_count),
            "covered_share": rng.random(cell_count),
            "mean_distance_m": rng.random(cell_count) * 3000,
            "unmet_need": rng.random(cell_count) * 800,
            "gap_share": gap,
            "access_score": rng.random(cell_count) * 2,
            "desert": rng.random(cell_count) > 0.9,
            "nearest_assets": "Nachbarschaftshaus, Jugendclub, Bibliothek",
        },
        geometry=shapes,
        crs="EPSG:4326",
    )


def test_a_city_of_5000_neighbourhoods_and_3000_assets_fits_in_5_mb() -> None:
    hoods = h3_city(5000)
    assets = scatter_assets(3000, tuple(hoods.total_bounds))
    m = gap_map(hoods, assets, None, assets.iloc[:300], 500, service_name="Youth", tiles_url=TILES_URL)
    page = render_html(m)
    assert len(page.encode("utf-8")) < 5_000_000
    # Everything is still there: a feature per neighbourhood and catchment, an array row per clustered asset.
    assert page.count('"type": "Feature"}') == 5000 + 300
    assert page.count('"Asset ') == 3000 + 300


def test_display_simplification_keeps_shared_edges_and_rounds() -> None:
    # Two neighbours sharing a wiggly border with a vertex every ~0.7 m.
    xs = np.linspace(13.40, 13.41, 1000)
    wiggle = 52.50 + 0.000002 * np.sin(np.arange(1000))
    border = list(zip(xs, wiggle, strict=True))
    north = Polygon([*border, (13.41, 52.51), (13.40, 52.51)])
    south = Polygon([*border, (13.41, 52.49), (13.40, 52.49)])
    frame = gpd.GeoDataFrame({"name": ["north", "south"]}, geometry=[north, south], crs="EPSG:4326")

    simple = simplify_for_display(frame, tolerance_m=5.0, decimals=5)

    assert shapely.get_num_coordinates(simple.geometry.to_numpy()).sum() < 50
    assert bool(shapely.coverage_is_valid(simple.geometry.to_numpy()))  # no gaps or overlaps between them
    coordinates = shapely.get_coordinates(simple.geometry.to_numpy())
    assert np.allclose(coordinates, np.round(coordinates, 5), rtol=0, atol=1e-12)
    assert simple.crs.to_epsg() == 4326


def test_frames_in_a_projected_crs_are_drawn_in_lon_lat() -> None:
    hoods = grid_neighbourhoods(side=2).to_crs("EPSG:25833")
    page = render_html(gap_map(hoods, None, None, None, 500, tiles_url=None))
    assert re.search(r"\[13\.3[0-9]*, 52\.4[0-9]*\]", page)


def test_missing_columns_and_crs_are_reported() -> None:
    hoods = grid_neighbourhoods(side=2)
    with pytest.raises(AnalysisInputError, match="gap_share"):
        gap_map(hoods.drop(columns=["gap_share"]), None, None, None, 500)
    with pytest.raises(AnalysisInputError, match="no CRS"):
        gap_map(hoods.set_crs(None, allow_override=True), None, None, None, 500)
    with pytest.raises(AnalysisInputError, match="radius_m"):
        gap_map(hoods, None, None, None, float("nan"))
    with pytest.raises(AnalysisInputError, match="exactly one"):
        neighbourhood_map(hoods, None, None)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_gap_map_png_has_the_requested_size_and_the_class_colours(tmp_path: Path) -> None:
    hoods = grid_neighbourhoods(side=4)
    buffer = io.BytesIO()
    gap_map_png(hoods, buffer, "Food support: costs $5 and $10", width_px=900, height_px=600, dpi=100)
    data = buffer.getvalue()
    assert png_size(data) == (900, 600)
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).reshape(-1, 3)
    colours = {"#{:02x}{:02x}{:02x}".format(*row) for row in np.unique(pixels, axis=0)}
    assert "#bd0026" in colours  # the darkest class (most unmet need)
    assert "#bdbdbd" in colours  # no residents

    target = tmp_path / "gaps.png"
    gap_map_png(hoods, target, "Lücken")
    assert target.stat().st_size > 10_000
    assert png_size(target.read_bytes()) == (1600, 1200)


def test_inline_script_hashes_cover_inline_scripts_only() -> None:
    page = '<script src="/static/vendor/a.js"></script><p>x</p><script>var a = 1;</script>'
    assert inline_script_hashes(page) == ["'sha256-+dZ6udsWxNVoGfScAq7t5IIF5UJb4F6RhjbN6oe1p4w='"]
    rendered = hostile_gap_page()
    assert len(inline_script_hashes(rendered)) == len(re.findall(r"<script>", rendered))


def test_vendored_files_exist_for_every_local_url(local_links: dict[str, str]) -> None:
    if not VENDOR.is_dir():
        pytest.skip(
            "app/static/vendor is absent: run scripts/vendor_assets.sh to vendor the browser libraries"
        )
    assert set(local_links) == set(local_asset_urls(BASE_URL))
    for name, url in local_links.items():
        path = VENDOR / url.removeprefix(BASE_URL + "/")
        assert path.is_file() and path.stat().st_size > 0, f"{name}: {url} is not in {VENDOR}"
    # Fonts and images that the vendored CSS refers to were copied too.
    for relative in local_asset_paths():
        if not relative.endswith(".css"):
            continue
        css = VENDOR / relative
        for reference in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if reference.startswith(("data:", "#")):
                continue
            target = (css.parent / reference.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), f"{relative} refers to {reference}, which was not vendored"


def test_gap_map_png_draws_template_and_math_syntax_in_its_title_as_text(tmp_path: Path) -> None:
    """Matplotlib reads '$...$' as mathematics; a title typed by a person is drawn, not parsed, whatever it holds."""
    target = tmp_path / "gaps.png"
    gap_map_png(grid_neighbourhoods(side=3), target, f"{JINJA} \\frac{{1}}{{2}} $\\alpha$ \\")
    assert png_size(target.read_bytes()) == (1600, 1200)
