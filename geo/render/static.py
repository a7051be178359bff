"""A static PNG of the gap-share map for reports, drawn with matplotlib's Agg renderer (no display needed)."""

from __future__ import annotations

import os
import textwrap
from typing import BinaryIO

import geopandas as gpd

from geo.crs import AnalysisInputError, measuring_crs
from geo.render.classify import NO_RESIDENTS_COLOUR, NO_RESIDENTS_LABEL, gap_classes
from geo.render.prepare import drop_empty, require_frame


def _plain_text(text: str) -> str:
    # Matplotlib reads "$...$" as mathematical markup; a title typed by a person is plain text.
    return str(text).replace("\\", "\\\\").replace("$", r"\$")


def gap_map_png(
    neighbourhoods: gpd.GeoDataFrame,
    out: str | os.PathLike[str] | BinaryIO,
    title: str,
    width_px: int = 1600,
    height_px: int = 1200,
    dpi: int = 200,
    legend_title: str = "Share of need unmet, %",
) -> None:
    """Write a `width_px` x `height_px` PNG of gap_share (shares in [0, 1], null = no residents) to `out`.

    Neighbourhoods (any CRS) are drawn in their local UTM zone, with the same quantile classes as gap_map.
    A long title is wrapped onto several lines; `legend_title` names what the shares measure.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if width_px < 200 or height_px < 150 or dpi <= 0:
        raise ValueError(f"a {width_px} x {height_px} px image at {dpi} dpi is too small for a readable map")
    frame = drop_empty(require_frame(neighbourhoods, "neighbourhoods", ("gap_share",)))
    if frame.empty:
        raise AnalysisInputError(
            "'neighbourhoods' has no geometry to draw: import neighbourhood boundaries first"
        )
    projected = frame.to_crs(measuring_crs(frame))
    classes = gap_classes(projected["gap_share"])
    colours = [NO_RESIDENTS_COLOUR if k < 0 else classes.colours[k] for k in classes.class_of]

    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(figure)  # binds the Agg canvas, whatever pyplot's backend is
    axes = figure.add_axes((0.02, 0.05, 0.74, 0.85))  # the legend gets the right-hand quarter
    projected.plot(ax=axes, color=colours, edgecolor="#555555", linewidth=0.3)
    axes.set_axis_off()
    axes.set_aspect("equal")
    # About one 13-point character per 0.11 inch: wrap so the title never runs off the image.
    per_line = max(20, int(width_px / dpi / 0.11))
    figure.suptitle(_plain_text(textwrap.fill(str(title), per_line)), fontsize=13)

    handles = [
        Patch(facecolor=colour, edgecolor="#555555", label=text)
        for colour, text in zip(classes.colours, classes.labels, strict=True)
    ]
    handles.append(Patch(facecolor=NO_RESIDENTS_COLOUR, edgecolor="#555555", label=NO_RESIDENTS_LABEL))
    axes.legend(
        handles=handles,
        title=_plain_text(legend_title),
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title_fontsize=9,
        frameon=False,
    )
    note = "Classes: quantiles of neighbourhoods with residents. Grey: no residents of the served group."
    figure.text(0.01, 0.01, note, fontsize=7, color="#444444")
    figure.savefig(out, format="png", dpi=dpi)
