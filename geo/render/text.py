"""Community text on folium maps travels as JSON data, never as template source (docs/SECURITY.md, text).

branca compiles the output of every folium element's macros as a second Jinja template, so a string placed in
an element (a popup, a tooltip, a GeoJSON property, a legend, a layer name) is compiled on the server and
`{{ ... }}` in an asset's name would run there. assetmap's maps therefore keep every text a person typed out of
folium's elements: the layers carry geometry, styles and a row number; the titles, legends, popups and tooltips
come from one JSON block written by `MapText`, whose template is a constant and whose data is a variable. The
page's own script (`map_text.js`, also constant) reads that block and builds the DOM with `textContent`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import folium
from branca.element import Element, Figure
from folium.template import Template

from geo.escape import is_missing

TEXT_ELEMENT_ID = "assetmap-map-text"
TITLE_ID = "assetmap-title"
LEGEND_ID = "assetmap-legend"
_ELEMENT_NAME = "assetmap_map_text"

# Characters that could end the <script> block or start an HTML comment, and the two line separators that
# older JavaScript parsers refuse, are written as \u escapes; JSON.parse reads them back unchanged.
_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)

# A symbol drawn in the legend: {"kind": "swatch" | "dot" | "line", ...}, built by geo.render.styles.
Symbol = dict[str, Any]
# One line of a title box: plain text, or (text, bold) segments.
TitleLine = str | Sequence[tuple[str, bool]]


def safe_json(data: Any) -> str:
    """Return `data` as JSON that is inert inside an HTML <script> block (no NaN, no '<', '>' or '&')."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).translate(
        _JSON_ESCAPES
    )


def plain(value: Any, default: str = "") -> str:
    """Return `value` as the plain text a map shows (`default` where it is missing or empty); never escaped."""
    if is_missing(value):
        return default
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="replace")
    else:
        text = str(value)
    return text if text else default


@dataclass
class LayerText:
    """The text of one layer: a row of `columns` per feature (by feature id), and what popups and tooltips show."""

    layer: str | None  # the JavaScript name of the folium layer; None for markers built in the browser
    columns: list[str]
    rows: list[list[str | None]]
    popup: list[tuple[str, str]] | None  # (heading, column) pairs
    tooltip: list[str] | None  # columns, one line each
    popup_max_width: int = 300

    def as_json(self) -> dict[str, Any]:
        """Return this layer's part of the page's JSON block."""
        return {
            "layer": self.layer,
            "columns": self.columns,
            "rows": self.rows,
            "popup": [list(pair) for pair in self.popup] if self.popup else None,
            "tooltip": self.tooltip,
            "maxWidth": self.popup_max_width,
        }


@dataclass
class MapTextData:
    """Everything a map shows as text: layers' rows, the title box and the legend."""

    layers: list[LayerText] = field(default_factory=list)
    title: dict[str, Any] | None = None
    legend: list[dict[str, Any]] = field(default_factory=list)


class MapText(Element):
    """The page's JSON block of community text and the constant script that shows it with textContent."""

    # A constant template: the data is a variable of it, so nothing in the data is ever compiled.
    _template = Template(
        '<script type="application/json" id="{{ this.element_id }}">{{ this.payload() }}</script>\n'
        "<script>{{ this.script }}</script>\n"
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MapText"
        self.element_id = TEXT_ELEMENT_ID
        self.data = MapTextData()
        self.script = files("geo.render").joinpath("map_text.js").read_text(encoding="utf-8").strip()

    def payload(self) -> str:
        """Return the JSON block (called when the page is rendered, after every layer has been added)."""
        return safe_json(
            {
                "layers": [layer.as_json() for layer in self.data.layers],
                "title": self.data.title,
                "legend": self.data.legend,
            }
        )


def map_text(m: folium.Map) -> MapText:
    """Return the MapText of `m`'s page, adding it the first time."""
    page = m.get_root()
    if not isinstance(page, Figure):
        raise TypeError(f"folium.Map should sit in a branca Figure, got {type(page).__name__}")
    existing = page.html._children.get(_ELEMENT_NAME)
    if isinstance(existing, MapText):
        return existing
    element = MapText()
    page.html.add_child(element, name=_ELEMENT_NAME)
    return element


def add_layer_text(
    m: folium.Map,
    layer: folium.Element | None,
    values: Mapping[str, Sequence[Any]],
    popup: Sequence[tuple[str, str]] | None = None,
    tooltip: Sequence[str] | None = None,
    popup_max_width: int = 300,
) -> int:
    """Give `layer`'s features (ids 0..n-1) the text in `values`; return the key markers built in JS pass."""
    columns = list(values)
    lengths = {len(column_values) for column_values in values.values()}
    if len(lengths) > 1:
        raise ValueError(f"every text column needs one value per feature, got lengths {sorted(lengths)}")
    count = lengths.pop() if lengths else 0
    rows = [
        [None if is_missing(values[column][row]) else plain(values[column][row]) for column in columns]
        for row in range(count)
    ]
    known = set(columns)
    wanted = [column for _heading, column in popup or ()] + list(tooltip or ())
    unknown = [column for column in wanted if column not in known]
    if unknown:
        raise ValueError(f"popup or tooltip names column(s) {unknown} that the text does not have: {columns}")
    text = map_text(m)
    text.data.layers.append(
        LayerText(
            layer=None if layer is None else layer.get_name(),
            columns=columns,
            rows=rows,
            popup=list(popup) if popup else None,
            tooltip=list(tooltip) if tooltip else None,
            popup_max_width=popup_max_width,
        )
    )
    return len(text.data.layers) - 1


def set_title(m: folium.Map, heading: str, lines: Sequence[TitleLine] = ()) -> None:
    """Set the title box's heading and lines (plain text, shown as text)."""
    shaped: list[list[list[Any]]] = []
    for line in lines:
        segments = [(line, False)] if isinstance(line, str) else line
        shaped.append([[plain(text), bool(bold)] for text, bold in segments])
    map_text(m).data.title = {"heading": plain(heading), "lines": shaped}


def set_legend(m: folium.Map, sections: Sequence[tuple[str, Sequence[tuple[Symbol, str, str]]]]) -> None:
    """Set the legend: (heading, rows) sections, each row (symbol, text, CSS class or '')."""
    map_text(m).data.legend = [
        {
            "heading": plain(heading),
            "rows": [{"symbol": symbol, "text": plain(text), "class": css} for symbol, text, css in rows],
        }
        for heading, rows in sections
        if rows
    ]
