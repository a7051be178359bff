"""Collection ids shared by OGC API Features and Tiles: `{city slug}-{layer}`, e.g. `berlin-assets`."""

from __future__ import annotations

import re
import unicodedata

BASE_LAYERS = ("neighbourhoods", "assets", "needs", "links")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_RUN_LAYER = re.compile(r"run-([0-9]{1,10})-(neighbourhoods|cells)")


def slug(text: str) -> str:
    """ASCII-folded lower case with every run of other characters as one '-': 'Köln Süd' -> 'koln-sud'."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return _NOT_SLUG.sub("-", folded).strip("-")


def collection_id(city_name: str, layer: str) -> str:
    """The collection id of a city's layer (one of BASE_LAYERS, or run_layer(...))."""
    return f"{slug(city_name)}-{layer}"


def run_layer(run_id: int, part: str) -> str:
    """The layer name of an analysis run's results: part is 'neighbourhoods' or 'cells'."""
    return f"run-{run_id}-{part}"


def split_layer(layer: str) -> tuple[str, int | None]:
    """('assets', None) for a base layer, ('run-neighbourhoods', 7) / ('run-cells', 7) for a run's results."""
    if layer in BASE_LAYERS:
        return layer, None
    found = _RUN_LAYER.fullmatch(layer)
    if found is None:
        raise ValueError(layer)
    return f"run-{found.group(2)}", int(found.group(1))
