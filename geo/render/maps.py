"""The three browser maps of assetmap: coverage gaps, one neighbourhood, and the relationship network."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np

from geo.crs import AnalysisInputError
from geo.escape import is_missing
from geo.render.classify import NO_RESIDENTS_COLOUR, NO_RESIDENTS_LABEL, GapClasses, gap_classes
from geo.render.elements import (
    CATEGORY_STYLES,
    DEFAULT_TILES_ATTRIBUTION,
    DEFAULT_TILES_URL,
    NEIGHBOURHOOD_CLASS,
    NO_RESIDENTS_CLASS,
    OTHER_CATEGORY_STYLE,
    LegendRow,
    add_asset_layers,
    add_catchment_layer,
    add_legend,
    add_links_layer,
    add_needs_layer,
    add_suggested_layer,
    add_title,
    base_map,
    category_style,
    dot,
    finish,
    optional_frame,
    swatch,
)
from geo.render.prepare import (
    DISPLAY_TOLERANCE_M,
    MISSING_TEXT,
    as_points,
    drop_empty,
    feature_collection,
    format_count,
    format_decimal,
    format_flag,
    format_share,
    label,
    require_frame,
    round_coordinates,
    simplify_for_display,
    text_column,
)
from geo.render.text import TitleLine, add_layer_text, plain

GAP_MAP_COLUMNS = ("name", "population", "covered_share", "mean_distance_m", "unmet_need", "gap_share")
GAP_LEGEND_HEADING = "Share of need unmet, %"
REACH_LEGEND_HEADING = "Share of need beyond reach, % (unmet need not computed)"
NOT_COMPUTABLE_TEXT = "not computable (capacity unknown)"
CAPACITY_NOTE_CLASS = "assetmap-capacity-note"
DESERT_OUTLINE = "#08306b"
RESOURCE_COLOUR = "#6a51a3"


def _radius(radius_m: Any) -> float:
    try:
        radius = float(radius_m)
    except (TypeError, ValueError):
        radius = math.nan
    if not math.isfinite(radius) or radius <= 0:
        raise AnalysisInputError(f"radius_m must be a positive number of metres, got {radius_m!r}")
    return radius


def _date_text(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return plain(value)


def _gap_style(classes: GapClasses, deserts: list[bool]) -> Any:
    def style(feature: dict[str, Any]) -> dict[str, Any]:
        row = feature["id"]
        category = int(classes.class_of[row])
        desert = deserts[row]
        if category < 0:
            fill, css = NO_RESIDENTS_COLOUR, f"{NEIGHBOURHOOD_CLASS} {NO_RESIDENTS_CLASS}"
        else:
            fill, css = classes.colours[category], f"{NEIGHBOURHOOD_CLASS} assetmap-gap-class-{category}"
        return {
            "fillColor": fill,
            "fillOpacity": 0.72 if category >= 0 else 0.5,
            "color": DESERT_OUTLINE if desert else "#555555",
            "weight": 2.5 if desert else 0.6,
            "className": f"{css} assetmap-desert" if desert else css,
        }

    return style


def _gap_legend_rows(classes: GapClasses) -> list[LegendRow]:
    rows: list[LegendRow] = [
        (swatch(colour), text, f"assetmap-gap-class-{index}")
        for index, (colour, text) in enumerate(zip(classes.colours, classes.labels, strict=True))
    ]
    rows.append((swatch(NO_RESIDENTS_COLOUR), NO_RESIDENTS_LABEL, NO_RESIDENTS_CLASS))
    return rows


def gap_map(
    neighbourhoods: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame | None,
    needs: gpd.GeoDataFrame | None,
    catchment_assets: gpd.GeoDataFrame | None,
    radius_m: float,
    suggested_sites: gpd.GeoDataFrame | None = None,
    links: gpd.GeoDataFrame | None = None,
    title: str = "Coverage gaps",
    service_name: str = "",
    data_date: str | dt.date | None = None,
    tiles_url: str | None = DEFAULT_TILES_URL,
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION,
    simplify_tolerance_m: float = DISPLAY_TOLERANCE_M,
    capacity_notes: Sequence[str] = (),
    unmet_computable: bool = True,
) -> folium.Map:
    """Return the coverage-gap map: gap-share choropleth, assets, needs, catchments, suggested sites, links.

    `capacity_notes` (plain text, e.g. "capacity unknown for 12 of 40 assets") go in the title and legend boxes.
    With `unmet_computable` False the choropleth shows the share of need beyond reach (1 - covered_share) and
    popups say unmet need, gap share and access score are not computable.

    All frames are GeoDataFrames with a CRS (drawn in EPSG:4326); distances are metres. neighbourhoods:
    name, population, covered_share and gap_share (shares in [0, 1], gap_share null = no residents),
    mean_distance_m, unmet_need (people); optional code, access_score, desert, nearest_assets.
    assets: name, category; optional service_types, capacity. needs: service_type, people_affected; optional
    description. catchment_assets: the service's assets (optional name). suggested_sites: gain (people);
    optional name. links: LineStrings; optional kind, crosses_border.
    """
    radius = _radius(radius_m)
    hoods = drop_empty(require_frame(neighbourhoods, "neighbourhoods", GAP_MAP_COLUMNS))
    if hoods.empty:
        raise AnalysisInputError(
            "'neighbourhoods' has no geometry to draw: import neighbourhood boundaries first"
        )
    asset_frame = optional_frame(assets, "assets", ("name", "category"))
    need_frame = optional_frame(needs, "needs", ("service_type", "people_affected"))
    catchment_frame = optional_frame(catchment_assets, "catchment_assets", ())
    site_frame = optional_frame(suggested_sites, "suggested_sites", ("gain",))
    link_frame = optional_frame(links, "links", ())

    shapes = simplify_for_display(hoods, simplify_tolerance_m)
    shaded = shapes["gap_share"] if unmet_computable else 1.0 - shapes["covered_share"]
    classes = gap_classes(shaded)
    deserts = (
        [False if is_missing(value) else bool(value) for value in shapes["desert"]]
        if "desert" in shapes.columns
        else [False] * len(shapes)
    )

    m = base_map([shapes], title, tiles_url, tiles_attribution)
    service_text = plain(service_name)
    lines: list[TitleLine] = []
    if service_text:
        lines.append([("Service: ", False), (service_text, True)])
    lines.append(f"Catchment radius: {format_count(radius, 'm')}")
    date_text = _date_text(data_date)
    if date_text:
        lines.append(f"Data of {date_text}")
    notes = [plain(note) for note in capacity_notes if plain(note)]
    lines.extend([(note, True)] for note in notes)
    add_title(m, title, lines)

    names = text_column(shapes, "name", "(unnamed)")
    if "code" in shapes.columns:
        codes = text_column(shapes, "code", "")
        names = [f"{name} ({code})" if code else name for name, code in zip(names, codes, strict=True)]
    blank = [NOT_COMPUTABLE_TEXT] * len(shapes)
    properties: dict[str, list[Any]] = {
        "name": names,
        "gap": [format_share(value, NO_RESIDENTS_LABEL) for value in shapes["gap_share"]]
        if unmet_computable
        else blank,
        "population": [format_count(value) for value in shapes["population"]],
        "covered": [format_share(value) for value in shapes["covered_share"]],
        "unmet": [format_count(value, "people") for value in shapes["unmet_need"]]
        if unmet_computable
        else blank,
        "distance": [format_count(value, "m") for value in shapes["mean_distance_m"]],
    }
    aliases = {
        "name": "Neighbourhood",
        "gap": "Share of need unmet",
        "population": "Population of served group",
        "covered": "Covered share",
        "unmet": "Unmet need",
        "distance": "Mean distance to nearest asset",
    }
    if "access_score" in shapes.columns:
        properties["access"] = (
            [format_decimal(value) for value in shapes["access_score"]] if unmet_computable else blank
        )
        aliases["access"] = "Access score (1 = city average)"
    if "desert" in shapes.columns:
        properties["desert"] = [format_flag(value) for value in shapes["desert"]]
        aliases["desert"] = "Service desert"
    if "nearest_assets" in shapes.columns:
        properties["nearest"] = text_column(shapes, "nearest_assets")
        aliases["nearest"] = "Nearest assets"

    layer = folium.GeoJson(
        feature_collection(shapes, {}),
        name=f"{'Share of need unmet' if unmet_computable else 'Share of need beyond reach'} "
        f"({len(shapes):,} neighbourhood{'' if len(shapes) == 1 else 's'})",
        style_function=_gap_style(classes, deserts),
        highlight_function=lambda _feature: {"weight": 3, "color": "#000000"},
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        properties,
        popup=[(heading, column) for column, heading in aliases.items()],
        tooltip=["name", "gap"] if unmet_computable else ["name", "covered"],
        popup_max_width=360,
    )

    heading = GAP_LEGEND_HEADING if unmet_computable else REACH_LEGEND_HEADING
    sections: list[tuple[str, list[LegendRow]]] = [(heading, _gap_legend_rows(classes))]
    if any(deserts):
        desert_symbol = swatch(None, outline=DESERT_OUTLINE)
        sections[0][1].append((desert_symbol, "Service desert (thick outline)", "assetmap-desert"))
    other_rows = add_catchment_layer(m, catchment_frame, radius, service_text)
    other_rows += add_links_layer(m, link_frame)
    other_rows += add_needs_layer(m, need_frame)
    other_rows += add_suggested_layer(m, site_frame)
    sections.append(("Assets by ABCD category", add_asset_layers(m, asset_frame)))
    sections.append(("Other layers", other_rows))
    if notes:
        sections.insert(
            1, ("Capacity", [(swatch(None, icon="info"), note, CAPACITY_NOTE_CLASS) for note in notes])
        )
    add_legend(m, sections)
    return finish(m)


def _add_resources_layer(m: folium.Map, resources: gpd.GeoDataFrame | None) -> list[LegendRow]:
    if resources is None or resources.empty:
        return []
    points = round_coordinates(as_points(resources))
    quantities = [format_decimal(value, 0) for value in points.get("quantity", [None] * len(points))]
    units = text_column(points, "unit", "")
    text = {
        "kind": [MISSING_TEXT if is_missing(value) else label(value) for value in points["kind"]],
        "name": text_column(points, "name"),
        "quantity": [
            quantity if quantity == MISSING_TEXT else f"{quantity} {unit}".strip()
            for quantity, unit in zip(quantities, units, strict=True)
        ],
        "availability": text_column(points, "availability"),
    }
    layer = folium.GeoJson(
        feature_collection(points, {}),
        name=f"Resources ({len(points):,})",
        marker=folium.CircleMarker(
            radius=6, color="#3f007d", weight=1, fill=True, fill_color=RESOURCE_COLOUR, fill_opacity=0.8
        ),
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        text,
        popup=[
            ("Resource", "kind"),
            ("What", "name"),
            ("Quantity", "quantity"),
            ("Availability", "availability"),
        ],
        tooltip=["kind", "name"],
    )
    return [(dot(RESOURCE_COLOUR, 12), "Resource (funding, volunteers, space, ...)", "")]


def neighbourhood_map(
    neighbourhood: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame | None,
    needs: gpd.GeoDataFrame | None,
    resources_points: gpd.GeoDataFrame | None = None,
    links: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    tiles_url: str | None = DEFAULT_TILES_URL,
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION,
) -> folium.Map:
    """Return the map of one neighbourhood: its outline, assets by category, needs, resources and links.

    neighbourhood: one row with name (optional code, population). assets: name, category (optional
    service_types, capacity). needs: service_type, people_affected (optional description). resources_points:
    kind (optional name, quantity, unit, availability). links: LineStrings (optional kind, crosses_border).
    """
    outline = drop_empty(require_frame(neighbourhood, "neighbourhood", ("name",)))
    if len(outline) != 1:
        raise AnalysisInputError(f"'neighbourhood' should hold exactly one drawable row, got {len(outline)}")
    asset_frame = optional_frame(assets, "assets", ("name", "category"))
    need_frame = optional_frame(needs, "needs", ("service_type", "people_affected"))
    resource_frame = optional_frame(resources_points, "resources_points", ("kind",))
    link_frame = optional_frame(links, "links", ())

    shape = simplify_for_display(outline)
    row = shape.iloc[0]
    name = plain(row["name"], "Neighbourhood")
    m = base_map(
        [shape, asset_frame, need_frame, resource_frame], title or name, tiles_url, tiles_attribution
    )
    lines: list[TitleLine] = []
    if "population" in shape.columns and not is_missing(row["population"]):
        lines.append(f"Residents: {format_count(row['population'])}")
    counts = [
        f"{format_count(0 if frame is None else len(frame))} {noun}"
        for frame, noun in ((asset_frame, "assets"), (need_frame, "needs"), (resource_frame, "resources"))
    ]
    lines.append(" · ".join(counts))
    add_title(m, title or name, lines)

    properties = {"name": text_column(shape, "name", "(unnamed)")}
    if "population" in shape.columns:
        properties["population"] = [format_count(value) for value in shape["population"]]
    boundary = folium.GeoJson(
        feature_collection(shape, {}),
        name="Neighbourhood boundary",
        style_function=lambda _feature: {
            "color": "#252525",
            "weight": 3,
            "fillColor": "#fdd49e",
            "fillOpacity": 0.12,
            "className": NEIGHBOURHOOD_CLASS,
        },
    ).add_to(m)
    add_layer_text(m, boundary, properties, tooltip=list(properties))

    other_rows = add_links_layer(m, link_frame)
    other_rows += add_needs_layer(m, need_frame)
    other_rows += _add_resources_layer(m, resource_frame)
    sections = [
        ("Assets by ABCD category", add_asset_layers(m, asset_frame)),
        ("Needs, resources and relationships", other_rows),
    ]
    add_legend(m, sections)
    return finish(m)


def _node_radius_px(degree: Any) -> float:
    try:
        number = float(degree)
    except (TypeError, ValueError):
        number = 0.0
    number = number if math.isfinite(number) and number > 0 else 0.0
    # Area, not radius, grows with the number of links, so a hub does not swamp the map.
    return round(min(22.0, 4.0 + 2.2 * math.sqrt(number)), 1)


def network_map(
    assets: gpd.GeoDataFrame,
    links: gpd.GeoDataFrame | None,
    title: str = "Relationship network",
    tiles_url: str | None = DEFAULT_TILES_URL,
    tiles_attribution: str = DEFAULT_TILES_ATTRIBUTION,
) -> folium.Map:
    """Return the relationship-network map: node size = degree, brokers outlined, isolated assets hollow.

    assets: name, degree, betweenness, broker (bool), isolated (bool); optional category. links: LineStrings
    with optional kind and crosses_border (bool).
    """
    nodes = drop_empty(
        require_frame(assets, "assets", ("name", "degree", "betweenness", "broker", "isolated"))
    )
    if nodes.empty:
        raise AnalysisInputError("'assets' has no located asset to draw")
    link_frame = optional_frame(links, "links", ())
    points = round_coordinates(as_points(nodes))

    degrees = [0.0 if is_missing(value) else float(value) for value in points["degree"]]
    brokers = [False if is_missing(value) else bool(value) for value in points["broker"]]
    isolated = [False if is_missing(value) else bool(value) for value in points["isolated"]]
    categories = points["category"].tolist() if "category" in points.columns else [None] * len(points)
    radii = [_node_radius_px(value) for value in degrees]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        row = feature["id"]
        look = {
            "radius": radii[row],
            "color": "#333333",
            "weight": 1,
            "dashArray": None,
            "fill": True,
            "fillColor": category_style(categories[row]).hex_colour,
            "fillOpacity": 0.85,
            "className": "assetmap-node",
        }
        if isolated[row]:
            look.update(color="#737373", weight=2, dashArray="3 2", fillColor="#ffffff", fillOpacity=0.9)
            look["className"] = "assetmap-node assetmap-isolated"
        elif brokers[row]:
            look.update(color="#000000", weight=4, fillOpacity=0.9, className="assetmap-node assetmap-broker")
        return look

    m = base_map([points, link_frame], title, tiles_url, tiles_attribution)
    link_count = 0 if link_frame is None else len(link_frame)
    add_title(
        m,
        title,
        [
            f"{format_count(len(points))} assets · {format_count(link_count)} links",
            f"{format_count(sum(brokers))} brokers · {format_count(sum(isolated))} isolated",
        ],
    )
    link_rows = add_links_layer(m, link_frame)
    properties = {
        "name": text_column(points, "name", "(unnamed)"),
        "category": [MISSING_TEXT if is_missing(value) else label(value) for value in categories],
        "degree": [format_count(value) for value in degrees],
        "betweenness": [format_decimal(value, 3) for value in points["betweenness"]],
        "broker": [format_flag(value) for value in brokers],
        "isolated": [format_flag(value) for value in isolated],
    }
    layer = folium.GeoJson(
        feature_collection(points, {}),
        name=f"Assets ({len(points):,})",
        marker=folium.CircleMarker(),
        style_function=style,
    ).add_to(m)
    headings = ["Asset", "Category", "Links (degree)", "Betweenness", "Broker", "Isolated"]
    add_layer_text(m, layer, properties, popup=list(zip(headings, properties, strict=True)), tooltip=["name"])

    positive = [value for value in degrees if value > 0]
    samples = sorted({round(value) for value in np.quantile(positive, [0.0, 0.5, 1.0])}) if positive else []
    size_rows: list[LegendRow] = [
        (
            dot("#bdbdbd", 2 * _node_radius_px(value)),
            f"{format_count(value)} link{'s' if value != 1 else ''}",
            "",
        )
        for value in samples
    ]
    role_rows: list[LegendRow] = [
        (dot("#bdbdbd", 14, outline="#000000", outline_px=3), "Broker (high betweenness)", "assetmap-broker"),
        (dot("#ffffff", 12, outline="#737373", outline_px=2), "Isolated (no links)", "assetmap-isolated"),
    ]
    present = {str(value) for value in categories if not is_missing(value)}
    category_rows: list[LegendRow] = [
        (swatch(style_.hex_colour), label(category), "")
        for category, style_ in CATEGORY_STYLES.items()
        if category in present
    ]
    if present - set(CATEGORY_STYLES):
        category_rows.append((swatch(OTHER_CATEGORY_STYLE.hex_colour), "Other", ""))
    add_legend(
        m,
        [
            ("Node size: number of links", size_rows),
            ("Roles in the network", role_rows),
            ("Asset category (fill)", category_rows),
            ("Relationships", link_rows),
        ],
    )
    return finish(m)
