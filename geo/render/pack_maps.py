"""Static PNG maps of the evidence packs (docs/PACKS.md), drawn from the data with matplotlib's Agg renderer.

No web tiles and no text typed by people: the neighbourhoods are shaded by gap share (the classes of the gap
map), points are drawn by kind, suggested sites carry their rank, and every label is a constant of this module.
"""

from __future__ import annotations

import io

import geopandas as gpd
from shapely.geometry import Point

from geo.crs import measuring_crs
from geo.render.classify import NO_RESIDENTS_COLOUR, gap_classes
from geo.render.prepare import drop_empty, require_frame

FOCUS_COLOUR = "#2b50aa"
ASSET_COLOUR = "#333333"
NEED_COLOUR = "#7a0177"
SITE_COLOUR = "#006d2c"


def _figure(width_px: int, height_px: int, dpi: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)  # the Agg canvas, whatever pyplot's backend is
    axes = figure.add_axes((0.01, 0.01, 0.98, 0.98))
    axes.set_axis_off()
    axes.set_aspect("equal")
    return figure, axes


def _shade(axes, neighbourhoods: gpd.GeoDataFrame) -> None:
    if neighbourhoods.empty:
        return
    if "gap_share" in neighbourhoods.columns and neighbourhoods["gap_share"].notna().any():
        classes = gap_classes(neighbourhoods["gap_share"])
        colours = [NO_RESIDENTS_COLOUR if k < 0 else classes.colours[k] for k in classes.class_of]
    else:
        colours = ["#f0f0f0"] * len(neighbourhoods)
    neighbourhoods.plot(ax=axes, color=colours, edgecolor="#666666", linewidth=0.4)


def _png(figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=figure.dpi)
    return out.getvalue()


def _legend(axes, entries: list[tuple[str, str, str]]) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [0], [0], marker=marker, color="none", markerfacecolor=colour, markeredgecolor="white", label=text
        )
        for marker, colour, text in entries
    ]
    axes.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.85)


def surroundings_png(
    neighbourhoods: gpd.GeoDataFrame,
    assets: gpd.GeoDataFrame,
    needs: gpd.GeoDataFrame,
    focus: Point,
    radius_m: float,
    *,
    width_px: int = 1400,
    height_px: int = 1000,
    dpi: int = 200,
) -> bytes:
    """The asset at `focus` (EPSG:4326) with its catchment circle, the other assets, the needs and the
    neighbourhoods around it shaded by gap share, framed to twice the radius."""
    shapes = drop_empty(require_frame(neighbourhoods, "neighbourhoods"))
    crs = (
        measuring_crs(shapes)
        if not shapes.empty
        else measuring_crs(gpd.GeoDataFrame(geometry=[focus], crs=4326))
    )
    centre = gpd.GeoSeries([focus], crs=4326).to_crs(crs).iloc[0]
    reach = max(float(radius_m), 100.0)
    figure, axes = _figure(width_px, height_px, dpi)
    _shade(axes, shapes.to_crs(crs))
    others = drop_empty(require_frame(assets, "assets")).to_crs(crs)
    if not others.empty:
        others.plot(ax=axes, color=ASSET_COLOUR, markersize=6, zorder=3)
    mapped = drop_empty(require_frame(needs, "needs")).to_crs(crs)
    if not mapped.empty:
        mapped.representative_point().plot(ax=axes, color=NEED_COLOUR, marker="^", markersize=14, zorder=4)
    gpd.GeoSeries([centre.buffer(reach)], crs=crs).plot(
        ax=axes, facecolor="none", edgecolor=FOCUS_COLOUR, linewidth=1.4, linestyle="--", zorder=5
    )
    axes.scatter([centre.x], [centre.y], s=320, c=FOCUS_COLOUR, marker="*", edgecolors="white", zorder=6)
    margin = 2 * reach
    width_m = margin * width_px / height_px
    axes.set_xlim(centre.x - width_m, centre.x + width_m)
    axes.set_ylim(centre.y - margin, centre.y + margin)
    _legend(
        axes,
        [
            ("*", FOCUS_COLOUR, "this asset (dashed: its catchment)"),
            ("o", ASSET_COLOUR, "other assets"),
            ("^", NEED_COLOUR, "mapped needs"),
        ],
    )
    return _png(figure)


def challenge_png(
    neighbourhoods: gpd.GeoDataFrame,
    area_id: int,
    sites: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    width_px: int = 1400,
    height_px: int = 1000,
    dpi: int = 200,
) -> bytes:
    """The city's neighbourhoods shaded by gap share with the area (id `area_id`) outlined, the community assets
    that could deliver the service and the suggested sites numbered by rank (column `rank`)."""
    shapes = drop_empty(require_frame(neighbourhoods, "neighbourhoods", ("id",)))
    crs = measuring_crs(shapes)
    projected = shapes.to_crs(crs)
    figure, axes = _figure(width_px, height_px, dpi)
    _shade(axes, projected)
    area = projected[projected["id"] == area_id]
    if not area.empty:
        area.plot(ax=axes, facecolor="none", edgecolor=FOCUS_COLOUR, linewidth=2.0, zorder=4)
    able = drop_empty(require_frame(candidates, "candidates")).to_crs(crs)
    if not able.empty:
        able.plot(ax=axes, color=ASSET_COLOUR, markersize=8, zorder=5)
    chosen = drop_empty(require_frame(sites, "sites")).to_crs(crs)
    for point, rank in zip(chosen.geometry, chosen.get("rank", range(1, len(chosen) + 1)), strict=True):
        axes.scatter([point.x], [point.y], s=120, c=SITE_COLOUR, edgecolors="white", zorder=6)
        axes.annotate(
            str(int(rank)), (point.x, point.y), color="white", fontsize=6, ha="center", va="center", zorder=7
        )
    _legend(
        axes,
        [
            ("s", FOCUS_COLOUR, "the area"),
            ("o", ASSET_COLOUR, "community assets that could deliver it"),
            ("o", SITE_COLOUR, "suggested sites (by rank)"),
        ],
    )
    return _png(figure)
