"""The scoring rule of docs/MATCHING.md: four parts in [0, 1], weighted, and the distance bands people are shown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# Weights of the four parts; they sum to 1, so a score is in [0, 1].
WEIGHTS = {"distance": 0.40, "network": 0.25, "dates": 0.20, "quantity": 0.15}
# Upper edges (metres) and labels of the bands in which readers without planner rights see how far a person is.
BAND_EDGES_M = (1000.0, 2000.0, 5000.0, 10000.0)
BAND_LABELS = ("under 1 km", "1-2 km", "2-5 km", "5-10 km", "10 km or more")
# The distance a band stands for when a person's distance is scored: its middle (the last band: 15 km).
BAND_SCORED_M = (500.0, 1500.0, 3500.0, 7500.0, 15000.0)
# Links further than this many steps away do not count as closeness in the network.
MAX_HOPS = 3
DEFAULT_WINDOW_DAYS = 28


def distance_band(distance_m: float) -> int:
    """The index of the band (BAND_LABELS) a distance in metres falls in."""
    for index, edge in enumerate(BAND_EDGES_M):
        if distance_m < edge:
            return index
    return len(BAND_EDGES_M)


def distance_part(distance_m: float, reach_m: float) -> float:
    """reach / (reach + distance): 1 at the need, 1/2 at the service type's reach, never quite 0."""
    return reach_m / (reach_m + max(distance_m, 0.0))


def dates_part(
    starts_on: dt.date, ends_on: dt.date, available_from: dt.date | None, available_until: dt.date | None
) -> float:
    """The share of the need's days (both ends counted) on which the resource is available."""
    first = max(starts_on, available_from) if available_from else starts_on
    last = min(ends_on, available_until) if available_until else ends_on
    if last < first:
        return 0.0
    return ((last - first).days + 1) / ((ends_on - starts_on).days + 1)


def quantity_part(remaining: float | None, wanted: float) -> float:
    """How much of what is wanted is left (capped at 1); an unknown quantity counts half."""
    if remaining is None:
        return 0.5
    return min(1.0, remaining / wanted)


def network_part(hops: int | None) -> float:
    """1 for a direct link to an asset of the need's neighbourhood, 1/2 for two steps, 1/3 for three, else 0."""
    return 0.0 if hops is None or hops > MAX_HOPS else 1.0 / hops


@dataclass(frozen=True, slots=True)
class Score:
    """A candidate's parts and weighted total."""

    distance: float
    network: float
    dates: float
    quantity: float

    @property
    def total(self) -> float:
        """The weighted sum of the parts."""
        return sum(WEIGHTS[name] * getattr(self, name) for name in WEIGHTS)

    def parts(self) -> dict[str, dict[str, float]]:
        """Each part's value, weight and contribution to the total (rounded for display)."""
        return {
            name: {
                "value": round(getattr(self, name), 3),
                "weight": WEIGHTS[name],
                "points": round(WEIGHTS[name] * getattr(self, name), 3),
            }
            for name in WEIGHTS
        }
