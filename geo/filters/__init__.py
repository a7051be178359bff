"""Which rows of a source to keep: a row filter (CQL2 text into an allow-listed tree) and a clip area."""

from geo.filters.clip import ClipArea, ClipError, clip_area, inside_clip, parse_bbox, parse_clip
from geo.filters.expression import (
    ALLOWED,
    And,
    Column,
    Compare,
    Expression,
    In,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    WhereError,
    columns_of,
    parse_where,
    to_text,
)
from geo.filters.frame import evaluate_where

__all__ = [
    "ALLOWED",
    "And",
    "ClipArea",
    "ClipError",
    "Column",
    "Compare",
    "Expression",
    "In",
    "IsNull",
    "Like",
    "Literal",
    "Not",
    "Or",
    "WhereError",
    "clip_area",
    "columns_of",
    "evaluate_where",
    "inside_clip",
    "parse_bbox",
    "parse_clip",
    "parse_where",
    "to_text",
]
