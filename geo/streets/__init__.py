"""Walking distances on a street network (ANALYSIS.md (h)): graph, snapping, distances, isochrones, OSM ways.

Everything here is pure (no database): lines in one projected CRS (metres) become a routable graph split at the
vertices the lines share, points are snapped to their nearest street, and distances run along the streets with
scipy's multi-source Dijkstra. `StraightLine` and `StreetNetwork` are the two distance sources an analysis takes.
"""

from geo.streets.distance import DistanceSource, StraightLine, StreetNetwork, network_nearest, network_pairs
from geo.streets.graph import StreetGraph, build_street_graph
from geo.streets.isochrone import WALKING_SPEED_M_PER_MIN, isochrones
from geo.streets.snap import Snapped, snap_points
from geo.streets.walkable import WALKABLE_HIGHWAYS, is_walkable

__all__ = [
    "WALKABLE_HIGHWAYS",
    "WALKING_SPEED_M_PER_MIN",
    "DistanceSource",
    "Snapped",
    "StraightLine",
    "StreetGraph",
    "StreetNetwork",
    "build_street_graph",
    "is_walkable",
    "isochrones",
    "network_nearest",
    "network_pairs",
    "snap_points",
]
