"""Parent areas: which areas a neighbourhood's figures take in, and its population where it has none of its own.

A district's figures include everything in the areas inside it, at any depth (app.db.hierarchy walks the current
parent links at read time). Population is the one figure a parent may have of its own (a statistics office
publishes it per district): an area's own figure is kept; an area without one gets the sum of its children's,
each of them counted the same way, and none when a child has no figure either (a sum with a hole would read as
the area's population).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.db.hierarchy import AreaNode, subtree_nodes
from app.errors import NotFound

OWN, CHILDREN = "own", "children"
LEVEL_ORDER = ("district", "neighbourhood", "area")


@dataclass(frozen=True)
class AreaTree:
    """A neighbourhood and the areas inside it, with its population as its figures use it."""

    root: AreaNode
    nodes: list[AreaNode]
    population: int | None
    population_source: str | None  # "own", "children" or None (unknown)
    population_by_group: dict[str, int]
    population_by_group_source: str | None

    @property
    def ids(self) -> list[int]:
        """The root's id and every area's below it: where the items it counts lie."""
        return [node.id for node in self.nodes]

    @property
    def inside(self) -> list[AreaNode]:
        """The areas inside the root, at any depth."""
        return [node for node in self.nodes if node.id != self.root.id]

    def includes_children(self) -> dict[str, Any]:
        """How many areas below the root its figures include, their levels and how deep they go."""
        inside = self.inside
        levels = sorted(
            {n.level for n in inside},
            key=lambda v: (LEVEL_ORDER.index(v) if v in LEVEL_ORDER else len(LEVEL_ORDER), v),
        )
        return {
            "areas": len(inside),
            "levels": levels,
            "depth": max((n.depth for n in inside), default=0),
        }


def _children(nodes: list[AreaNode]) -> dict[int, list[AreaNode]]:
    ids = {n.id for n in nodes}
    out: dict[int, list[AreaNode]] = {}
    for node in nodes:
        if node.depth > 0 and node.parent_id in ids:
            out.setdefault(node.parent_id, []).append(node)
    return out


def _population(node: AreaNode, children: dict[int, list[AreaNode]]) -> tuple[int | None, str | None]:
    if node.population is not None:
        return node.population, OWN
    parts = children.get(node.id, [])
    if not parts:
        return None, None
    figures = [_population(child, children)[0] for child in parts]
    if any(f is None for f in figures):
        return None, None
    return sum(f for f in figures if f is not None), CHILDREN


def _groups(node: AreaNode, children: dict[int, list[AreaNode]]) -> tuple[dict[str, int], str | None]:
    if node.population_by_group:
        return dict(node.population_by_group), OWN
    parts = [_groups(child, children)[0] for child in children.get(node.id, [])]
    if not parts:
        return {}, None
    # a group is summed only where every child counts it (a missing count is unknown, not zero)
    shared = set.intersection(*(set(p) for p in parts))
    if not shared:
        return {}, None
    return {g: sum(p[g] for p in parts) for g in sorted(shared)}, CHILDREN


def area_tree(db: Session, neighbourhood_id: int) -> AreaTree:
    """A neighbourhood, the areas inside it and its population (own, else its children's); NotFound if none."""
    nodes = subtree_nodes(db, neighbourhood_id)
    if not nodes:
        raise NotFound(f"no neighbourhood {neighbourhood_id}")
    root = nodes[0]
    children = _children(nodes)
    population, population_source = _population(root, children)
    groups, groups_source = _groups(root, children)
    return AreaTree(root, nodes, population, population_source, groups, groups_source)


_LEVEL_NOUNS = {"district": ("district", "districts"), "neighbourhood": ("neighbourhood", "neighbourhoods")}


def includes_sentence(tree: AreaTree) -> str | None:
    """'Figures include the 5 neighbourhoods inside Reinickendorf.' for a parent; None for an area with none."""
    inside = tree.inside
    if not inside:
        return None
    levels = tree.includes_children()["levels"]
    one, many = _LEVEL_NOUNS.get(levels[0], ("area", "areas")) if len(levels) == 1 else ("area", "areas")
    if len(inside) == 1:
        return f"Figures include the one {one} inside {tree.root.name}."
    return f"Figures include the {len(inside):,} {many} inside {tree.root.name}."
