"""OGC filters: CQL2 text or JSON parsed into geo.filters.expression's allow-listed tree plus spatial predicates,
checked against a collection's queryables and compiled to SQLAlchemy expressions with bound parameters only.

The filter text never reaches SQL: identifiers come from the queryables table, values are bound parameters,
and functions other than the listed spatial predicates are refused while the tree is built.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from app.errors import AssetmapError
from geo.filters import expression as ex

# CQL2 basic spatial functions (points, envelopes, polygons) and the PostGIS function each compiles to.
SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_disjoint": "ST_Disjoint",
    "s_within": "ST_Within",
    "s_contains": "ST_Contains",
    "s_touches": "ST_Touches",
    "s_crosses": "ST_Crosses",
    "s_overlaps": "ST_Overlaps",
    "s_equals": "ST_Equals",
}
_PYGEOFILTER_OPS = {
    "GeometryIntersects": "s_intersects",
    "GeometryDisjoint": "s_disjoint",
    "GeometryWithin": "s_within",
    "GeometryContains": "s_contains",
    "GeometryTouches": "s_touches",
    "GeometryCrosses": "s_crosses",
    "GeometryOverlaps": "s_overlaps",
    "GeometryEquals": "s_equals",
}
LANGS = ("cql2-text", "cql2-json")
GEOMETRY = "geometry"


class BadQuery(AssetmapError):
    """A query parameter of an OGC request is wrong: 400, as OGC API Features asks (not the JSON API's 422)."""


@dataclass(frozen=True, slots=True)
class Spatial:
    """op(geometry, a literal geometry given as GeoJSON in the filter's CRS)."""

    op: str
    geometry: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Queryable:
    """A property a filter may name: its SQL expression and JSON Schema type."""

    column: Any
    type: str  # string, integer, number, boolean, date-time


Tree = Any  # ex.Expression, Spatial, or And/Or/Not of them


def _problem(message: str) -> BadQuery:
    return BadQuery(message.replace("--where", "filter"), field="filter")


def _bbox_polygon(box: list[Any]) -> dict[str, Any]:
    if len(box) != 4 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in box):
        raise _problem("filter: a bbox is four numbers: minx, miny, maxx, maxy")
    x1, y1, x2, y2 = (float(v) for v in box)
    ring = [[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]
    return {"type": "Polygon", "coordinates": [ring]}


def _fix_json_bbox(node: Any) -> Any:
    """Replace CQL2 JSON {"bbox": [...]} by a polygon (pygeofilter mixes up the order of its corners)."""
    if isinstance(node, dict):
        if set(node) == {"bbox"} and isinstance(node["bbox"], list):
            return _bbox_polygon(node["bbox"])
        return {k: _fix_json_bbox(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_fix_json_bbox(v) for v in node]
    return node


class _Converter(ex._Budget):
    """The import --where converter, extended with the basic spatial functions and timestamps."""

    def condition(self, node: Any, depth: int) -> Any:
        from pygeofilter import ast

        name = type(node).__name__
        if name in _PYGEOFILTER_OPS:
            self._count(depth)
            lhs, rhs = node.lhs, node.rhs
            if not isinstance(lhs, ast.Attribute):
                lhs, rhs = rhs, lhs
            if not isinstance(lhs, ast.Attribute) or str(lhs.name) != GEOMETRY:
                raise _problem(
                    f"filter: {_PYGEOFILTER_OPS[name].upper()} compares the property geometry "
                    "with a literal geometry"
                )
            return Spatial(_PYGEOFILTER_OPS[name], self.geometry(rhs))
        if isinstance(node, ast.Function):
            raise _problem(
                f"filter: unknown function {str(node.name)[:40]}(): allowed are "
                f"{', '.join(f.upper() for f in SPATIAL)} on the property geometry"
            )
        return super().condition(node, depth)

    def geometry(self, node: Any) -> dict[str, Any]:
        from pygeofilter import ast, values

        if isinstance(node, values.Geometry):
            return json.loads(json.dumps(node.geometry))
        if isinstance(node, values.Envelope):
            return _bbox_polygon([node.x1, node.y1, node.x2, node.y2])
        if isinstance(node, ast.Function) and str(node.name).lower() == "bbox":
            return _bbox_polygon(list(node.arguments))
        raise _problem("filter: a spatial function needs a literal geometry (POINT, POLYGON, BBOX ...)")

    def literal(self, node: Any) -> ex.Literal:
        if isinstance(node, (dt.datetime, dt.date)):
            return ex.Literal(node.isoformat())
        return super().literal(node)


def parse_filter(text: str, lang: str | None) -> Tree:
    """Parse a `filter` parameter in `filter-lang` (default cql2-text) into the checked tree."""
    lang = lang or "cql2-text"
    if lang not in LANGS:
        raise BadQuery(f"filter-lang must be one of {', '.join(LANGS)}", field="filter-lang")
    if len(text) > ex.MAX_WHERE_CHARS:
        raise _problem(f"filter is longer than {ex.MAX_WHERE_CHARS:,} characters: shorten it")
    converter = _Converter()
    try:
        if lang == "cql2-json":
            from pygeofilter.parsers.cql2_json import parse as parse_json

            try:
                document = json.loads(text)
            except ValueError:
                raise _problem("filter is not valid JSON (filter-lang=cql2-json)") from None
            try:
                parsed = parse_json(_fix_json_bbox(document))
            except BadQuery:
                raise
            except Exception:
                raise _problem("filter: not a CQL2 JSON expression (an object with op and args)") from None
        else:
            flat = " ".join(text.split())
            if not flat:
                raise _problem("filter is empty")
            ex._refuse_mixed_and_or(flat)
            try:
                parsed = ex._parser().parse(flat)
            except RecursionError:
                raise _problem("filter nests too deeply") from None
            except Exception as exc:
                raise _problem(
                    ex._syntax_message(exc, flat).split("; allowed")[0]
                    + "; allowed are comparisons, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT and "
                    + ", ".join(f.upper() for f in SPATIAL)
                ) from None
        return converter.condition(parsed, 1)
    except ex.WhereError as exc:
        raise _problem(str(exc)) from None


def _typed(value: ex.Value, queryable: Queryable, name: str) -> Any:
    kind = queryable.type
    ok = (
        (kind == "string" and isinstance(value, str))
        or (kind == "integer" and isinstance(value, int) and not isinstance(value, bool))
        or (kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (kind == "boolean" and isinstance(value, bool))
    )
    if kind == "date-time" and isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _problem(f"filter: {name} is a date-time: give TIMESTAMP('2024-01-31T00:00:00Z')") from None
    if not ok:
        raise _problem(f"filter: {name} is of type {kind}; {value!r} is not")
    return value


def compile_filter(
    tree: Tree, queryables: dict[str, Queryable], geometry: Any, srid: int
) -> ColumnElement[bool]:
    """The tree as a WHERE condition: names looked up in `queryables`, values bound, geometry in `srid`."""

    def column(node: ex.Column) -> Queryable:
        found = queryables.get(node.name)
        if found is None:
            raise _problem(f"filter: unknown property {node.name!r}: use one of {', '.join(queryables)}")
        return found

    def build(node: Tree) -> ColumnElement[bool]:
        if isinstance(node, ex.And):
            return and_(*(build(i) for i in node.items))
        if isinstance(node, ex.Or):
            return or_(*(build(i) for i in node.items))
        if isinstance(node, ex.Not):
            return not_(build(node.item))
        if isinstance(node, Spatial):
            shape = func.ST_SetSRID(func.ST_GeomFromGeoJSON(bindparam(None, json.dumps(node.geometry))), srid)
            if srid != 4326:
                shape = func.ST_Transform(shape, 4326)
            return getattr(func, SPATIAL[node.op])(geometry, shape)
        if isinstance(node, ex.Compare):
            if not isinstance(node.right, ex.Literal) or not isinstance(node.left, ex.Column):
                raise _problem("filter: compare a property with a value")
            q = column(node.left)
            value = _typed(node.right.value, q, node.left.name)
            col = q.column
            return {
                "=": col == value,
                "<>": col != value,
                "<": col < value,
                "<=": col <= value,
                ">": col > value,
                ">=": col >= value,
            }[node.op]
        if isinstance(node, ex.In):
            q = column(node.column)
            return q.column.in_([_typed(v.value, q, node.column.name) for v in node.values])
        if isinstance(node, ex.Like):
            q = column(node.column)
            if q.type != "string":
                raise _problem(f"filter: LIKE applies to text; {node.column.name} is of type {q.type}")
            return q.column.like(node.pattern)
        if isinstance(node, ex.IsNull):
            return column(node.column).column.is_(None)
        raise _problem("filter: unsupported expression")

    return build(tree)
