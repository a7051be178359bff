"""How assetmap's maps draw things: category, link and layer colours, and the legend's symbols."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geo.render.text import Symbol


@dataclass(frozen=True)
class CategoryStyle:
    """How one ABCD asset category is drawn: an awesome-markers colour, the same colour in hex, an icon."""

    marker_colour: str
    hex_colour: str
    icon: str


# Hex values match the awesome-markers sprite colours so legend swatches look like the markers.
CATEGORY_STYLES: dict[str, CategoryStyle] = {
    "individual": CategoryStyle("purple", "#d252b9", "user"),
    "association": CategoryStyle("blue", "#38aadd", "people-group"),
    "institution": CategoryStyle("cadetblue", "#436978", "building-columns"),
    "physical_space": CategoryStyle("green", "#72b026", "house"),
    "economy": CategoryStyle("orange", "#f69730", "store"),
    "culture": CategoryStyle("darkred", "#a23336", "masks-theater"),
}
OTHER_CATEGORY_STYLE = CategoryStyle("gray", "#575757", "circle")

LINK_COLOURS: dict[str, str] = {
    "partnership": "#1b9e77",
    "referral": "#d95f02",
    "shared_space": "#7570b3",
    "funding": "#e7298a",
    "volunteers": "#66a61e",
}
OTHER_LINK_COLOUR = "#666666"

NEED_COLOUR = "#e6550d"
CATCHMENT_COLOUR = "#3182bd"
SUGGESTED_STYLE = CategoryStyle("black", "#303030", "star")


# A legend row is (symbol, plain-text label, extra CSS class or "").
LegendRow = tuple[Symbol, str, str]


def swatch(colour: str | None, icon: str | None = None, outline: str | None = None) -> Symbol:
    """Return a filled legend swatch, with a Font Awesome icon inside when `icon` is given."""
    return {"kind": "swatch", "colour": colour, "icon": icon, "outline": outline}


def dot(
    colour: str, diameter_px: float, outline: str = "#333", outline_px: int = 1, fill: bool = True
) -> Symbol:
    """Return a round legend symbol of `diameter_px`."""
    return {
        "kind": "dot",
        "colour": colour,
        "size": max(round(diameter_px), 4),
        "outline": outline,
        "outlinePx": outline_px,
        "fill": fill,
    }


def line(colour: str, dashed: bool = False, width_px: int = 3) -> Symbol:
    """Return a line legend symbol."""
    return {"kind": "line", "colour": colour, "dashed": dashed, "widthPx": width_px}


def category_style(category: Any) -> CategoryStyle:
    """Return the drawing style of an ABCD category (grey circle for anything else)."""
    return CATEGORY_STYLES.get(str(category), OTHER_CATEGORY_STYLE)
