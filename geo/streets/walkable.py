"""Which OpenStreetMap ways a person may walk along (the `highway` tag, with `foot` and `access` overrides)."""

from __future__ import annotations

from collections.abc import Mapping

# Ways people walk along. Motorways and trunk roads (and their links) are left out, and so are ways that are
# not built yet or no longer exist; `foot=yes|designated|permissive` lets any other highway in.
WALKABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "pedestrian",
        "footway",
        "path",
        "steps",
        "track",
        "cycleway",
        "bridleway",
        "corridor",
        "road",
    }
)
_FOOT_YES = frozenset({"yes", "designated", "permissive"})
_NO = frozenset({"no", "private"})


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether an OSM way with these tags can be walked along (see WALKABLE_HIGHWAYS)."""
    highway = tags.get("highway")
    if highway is None or tags.get("area") == "yes":
        return False
    foot = tags.get("foot")
    if foot in _NO:
        return False
    if foot in _FOOT_YES:
        return True
    if tags.get("access") in _NO:
        return False
    return highway in WALKABLE_HIGHWAYS
