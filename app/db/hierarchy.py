"""Areas inside areas: a neighbourhood and everything below it, read with a recursive CTE over parent_id.

Nothing is cached: every read walks the current parent links, so moving a boundary or a parent shows at once.
A parent link that loops back (A in B, B in A: an import can write that) stops the walk instead of running forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Select, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import CTE

from app.db.models import Neighbourhood


def subtree_cte(roots: ColumnElement[bool], name: str = "subtree") -> CTE:
    """Each neighbourhood matching `roots` (depth 0) and every area below it at any depth: root_id, id,
    parent_id, depth."""
    start_path: array[Any] = array([Neighbourhood.id])
    base = select(
        Neighbourhood.id.label("root_id"),
        Neighbourhood.id.label("id"),
        Neighbourhood.parent_id.label("parent_id"),
        literal(0).label("depth"),
        start_path.cast(ARRAY(Integer)).label("path"),
    ).where(roots)
    tree = base.cte(name, recursive=True)
    child = Neighbourhood.__table__.alias(f"{name}_child")
    step = select(
        tree.c.root_id,
        child.c.id,
        child.c.parent_id,
        (tree.c.depth + 1).label("depth"),
        tree.c.path.op("||")(child.c.id).label("path"),
    ).where(
        child.c.parent_id == tree.c.id,
        # the path so far: an area already on it closes a loop of parent links
        ~child.c.id.op("=")(tree.c.path.any_()),
    )
    return tree.union_all(step)


def subtree_ids(root_id: int) -> Select[Any]:
    """SELECT the ids of a neighbourhood and every area inside it (for `column.in_(...)`)."""
    tree = subtree_cte(Neighbourhood.id == root_id)
    return select(tree.c.id)


@dataclass(frozen=True)
class AreaNode:
    """One area of a subtree: its own figures and where it hangs."""

    id: int
    parent_id: int | None
    depth: int
    code: str
    name: str
    level: str
    population: int | None
    population_by_group: dict[str, int]


def subtree_nodes(db: Session, root_id: int) -> list[AreaNode]:
    """A neighbourhood and every area inside it, nearest first (depth, then code); empty if it does not exist."""
    tree = subtree_cte(Neighbourhood.id == root_id)
    rows = db.execute(
        select(
            Neighbourhood.id,
            tree.c.parent_id,
            tree.c.depth,
            Neighbourhood.code,
            Neighbourhood.name,
            Neighbourhood.level,
            Neighbourhood.population,
            Neighbourhood.population_by_group,
        )
        .join(tree, tree.c.id == Neighbourhood.id)
        .order_by(tree.c.depth, Neighbourhood.code, Neighbourhood.id)
    ).all()
    seen: set[int] = set()
    nodes = []
    for row in rows:
        # a loop through the root can reach an area by two paths; the nearest one is kept
        if row.id in seen:
            continue
        seen.add(row.id)
        nodes.append(
            AreaNode(
                row.id,
                row.parent_id,
                row.depth,
                row.code,
                row.name,
                row.level,
                row.population,
                dict(row.population_by_group or {}),
            )
        )
    return nodes
