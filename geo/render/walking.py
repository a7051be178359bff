"""Walking layers of the gap map: where the straight line misleads, and walking-time catchments (isochrones)."""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from geo.render.prepare import feature_collection, format_count, round_coordinates, text_column
from geo.render.styles import LegendRow, swatch
from geo.render.text import add_layer_text

MISLED_COLOUR = "#d7301f"  # covered by the straight line, not on foot
ISOCHRONE_COLOURS = ("#006d2c", "#31a354", "#74c476", "#a1d99b", "#c7e9c0")


def add_straight_not_walking_layer(m: folium.Map, cells: gpd.GeoDataFrame | None) -> list[LegendRow]:
    """Add the demand units within the radius as the crow flies but not on foot (need: people)."""
    if cells is None or cells.empty:
        return []
    shapes = round_coordinates(cells.to_crs(4326))
    layer = folium.GeoJson(
        feature_collection(shapes, {}),
        name=f"Covered by the straight line but not on foot ({len(shapes):,} cells)",
        style_function=lambda _feature: {
            "fillColor": MISLED_COLOUR,
            "fillOpacity": 0.55,
            "color": MISLED_COLOUR,
            "weight": 0.5,
            "className": "assetmap-straight-not-walking",
        },
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        {
            "need": [format_count(value, "people") for value in shapes["need"]],
            "walk": [format_count(value, "m") for value in shapes["walk_m"]],
        },
        tooltip=["need", "walk"],
    )
    people = format_count(float(shapes["need"].sum()), "people")
    return [
        (
            swatch(MISLED_COLOUR),
            f"Covered by the straight line but not on foot: {people}",
            "assetmap-straight-not-walking",
        )
    ]


def add_isochrone_layer(
    m: folium.Map, isochrones: gpd.GeoDataFrame | None, speed_m_per_min: float
) -> list[LegendRow]:
    """Add walking-time catchments (polygons with minutes and the asset's name), largest first."""
    if isochrones is None or isochrones.empty:
        return []
    frame = isochrones[~isochrones.geometry.is_empty].sort_values("minutes", ascending=False)
    if frame.empty:
        return []
    shapes = round_coordinates(frame.to_crs(4326))
    minutes = [float(v) for v in shapes["minutes"]]
    ranks = {value: index for index, value in enumerate(sorted(set(minutes)))}

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = ISOCHRONE_COLOURS[min(ranks[minutes[feature["id"]]], len(ISOCHRONE_COLOURS) - 1)]
        return {
            "fillColor": colour,
            "fillOpacity": 0.25,
            "color": colour,
            "weight": 1.5,
            "className": "assetmap-isochrone",
        }

    names = text_column(shapes, "name", "(unnamed)")
    # Layer names are folium template source: they carry counts only, never a name someone typed.
    times = ", ".join(f"{value:g}" for value in sorted(set(minutes)))
    layer = folium.GeoJson(
        feature_collection(shapes, {}), name=f"Walking time, {times} min", style_function=style
    ).add_to(m)
    add_layer_text(
        m,
        layer,
        {"name": names, "minutes": [f"{value:g} min on foot" for value in minutes]},
        tooltip=["name", "minutes"],
    )
    rows: list[LegendRow] = []
    for value in sorted(set(minutes)):
        colour = ISOCHRONE_COLOURS[min(ranks[value], len(ISOCHRONE_COLOURS) - 1)]
        rows.append(
            (
                swatch(colour),
                f"{value:g} min on foot from {names[0]} "
                f"({format_count(value * speed_m_per_min, 'm')} at {speed_m_per_min:g} m/min)",
                "assetmap-isochrone",
            )
        )
    return rows
