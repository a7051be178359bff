"""Quantile classes and colours for the gap-share choropleth, shared by the browser map and the static PNG."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_CLASS_COUNT = 5
NO_RESIDENTS_COLOUR = "#bdbdbd"
NO_RESIDENTS_LABEL = "no residents"

# ColorBrewer YlOrRd, one palette per class count: light = little unmet need, dark red = most.
_PALETTES: dict[int, tuple[str, ...]] = {
    1: ("#fd8d3c",),
    2: ("#fecc5c", "#e31a1c"),
    3: ("#ffeda0", "#feb24c", "#f03b20"),
    4: ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c"),
    5: ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"),
}
MAX_CLASS_COUNT = max(_PALETTES)


@dataclass(frozen=True)
class GapClasses:
    """Quantile classes of gap share: `breaks` has one edge more than `colours`; class -1 = no residents."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    class_of: np.ndarray


def quantile_breaks(
    values: Sequence[float] | np.ndarray | pd.Series, k: int = DEFAULT_CLASS_COUNT
) -> list[float]:
    """Return the class edges (min, inner quantiles, max) of the non-null `values`; fewer if values repeat."""
    if not 1 <= k <= MAX_CLASS_COUNT:
        raise ValueError(f"class count must be between 1 and {MAX_CLASS_COUNT}, got {k}")
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return []
    edges = np.quantile(numbers, np.linspace(0.0, 1.0, k + 1))
    # Ties (many neighbourhoods with exactly 0 % unmet) collapse quantiles; an empty class would only confuse.
    # Interpolating between equal values can still differ by rounding error, hence the closeness test.
    unique = [float(edges[0])]
    for edge in edges[1:]:
        if np.isclose(edge, unique[-1], rtol=1e-9, atol=1e-12):
            unique[-1] = max(unique[-1], float(edge)) if len(unique) > 1 else unique[-1]
        else:
            unique.append(float(edge))
    if len(unique) == 1:
        unique.append(unique[0])
    return unique


def classify(values: Sequence[float] | np.ndarray | pd.Series, breaks: Sequence[float]) -> np.ndarray:
    """Return the class index of each value: edges are lower-inclusive, the top class closed; -1 for null."""
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    result = np.full(numbers.shape, -1, dtype=int)
    if len(breaks) < 2:
        return result
    finite = np.isfinite(numbers)
    inner = np.asarray(breaks[1:-1], dtype=float)
    found = np.searchsorted(inner, numbers[finite], side="right")
    result[finite] = found
    return result


def _percent_labels(breaks: Sequence[float]) -> tuple[str, ...]:
    """Labels such as '12-30 %' with as many decimals as it takes to tell neighbouring edges apart."""
    percents = [100.0 * edge for edge in breaks]
    if len(breaks) == 2 and breaks[0] == breaks[1]:
        return (f"{percents[0]:.0f} %",)
    decimals = 0
    while decimals < 2:
        rounded = [round(value, decimals) for value in percents]
        if len(set(rounded)) == len(rounded):
            break
        decimals += 1
    text = [f"{value:.{decimals}f}" for value in percents]
    return tuple(f"{low}\u2013{high} %" for low, high in itertools.pairwise(text))


def gap_classes(
    gap_share: Sequence[float] | np.ndarray | pd.Series, k: int = DEFAULT_CLASS_COUNT
) -> GapClasses:
    """Return quantile classes, YlOrRd colours and % labels of gap shares in [0, 1] (null = no residents)."""
    breaks = quantile_breaks(gap_share, k)
    count = max(len(breaks) - 1, 0)
    colours = _PALETTES[count] if count else ()
    labels = _percent_labels(breaks) if count else ()
    return GapClasses(tuple(breaks), colours, labels, classify(gap_share, breaks))
