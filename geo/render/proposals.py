"""Citizen-budget proposals on the gap map (docs/BUDGETS.md): where each would open, what it would reach.

Titles and descriptions are text people typed: they travel in the map's JSON text block like every other
community text (geo.render.text), never as folium template source.
"""

from __future__ import annotations

import folium
import geopandas as gpd

from geo.render.prepare import as_points, feature_collection, round_coordinates, text_column
from geo.render.styles import CategoryStyle, LegendRow, swatch
from geo.render.text import add_layer_text

PROPOSAL_STYLE = CategoryStyle("lightred", "#ff8e7f", "hand-holding-heart")
FUNDED_STYLE = CategoryStyle("darkgreen", "#728224", "hand-holding-heart")
PROPOSAL_COLUMNS = ("title",)


def add_proposals_layer(
    m: folium.Map, proposals: gpd.GeoDataFrame | None, show: bool = True
) -> list[LegendRow]:
    """Add budget proposals (title; optional cost, reach, unmet = unmet need covered, status, result, funded: a
    bool per row, which draws the marker green) as markers with escaped popups."""
    if proposals is None or proposals.empty:
        return []
    points = round_coordinates(as_points(proposals))
    funded = [bool(v) for v in points["funded"]] if "funded" in points.columns else [False] * len(points)
    text = {
        "title": text_column(points, "title", "(untitled proposal)"),
        "cost": text_column(points, "cost"),
        "reach": text_column(points, "reach"),
        "unmet": text_column(points, "unmet"),
        "status": text_column(points, "status"),
        "result": text_column(points, "result"),
    }
    rows: list[LegendRow] = []
    for is_funded, style, label in (
        (False, PROPOSAL_STYLE, "Budget proposal"),
        (True, FUNDED_STYLE, "Funded proposal"),
    ):
        chosen = [i for i, f in enumerate(funded) if f is is_funded]
        if not chosen:
            continue
        subset = points.iloc[chosen].reset_index(drop=True)
        layer = folium.GeoJson(
            feature_collection(subset, {}),
            name=f"{label}s ({len(subset):,})",
            marker=folium.Marker(icon=folium.Icon(color=style.marker_colour, icon=style.icon, prefix="fa")),
            show=show,
        ).add_to(m)
        add_layer_text(
            m,
            layer,
            {key: [values[i] for i in chosen] for key, values in text.items()},
            popup=[
                (label, "title"),
                ("Cost", "cost"),
                ("People newly within reach", "reach"),
                ("Unmet need it would cover", "unmet"),
                ("Review", "status"),
                ("Result", "result"),
            ],
            tooltip=["title"],
        )
        rows.append((swatch(style.hex_colour, style.icon), label, ""))
    return rows
