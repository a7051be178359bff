"""Row filters: CQL2 text parsed by pygeofilter into a small allow-listed tree that knows nothing of pandas or SQL.

The tree is what every backend compiles (geo.filters.frame for a file's rows; an SQL compiler for the OGC API);
the text itself is never handed to GDAL or a database.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Literal as TypingLiteral

MAX_WHERE_CHARS = 4000
MAX_WHERE_DEPTH = 12
MAX_WHERE_NODES = 600
CompareOp = TypingLiteral["=", "<>", "<", "<=", ">", ">="]
Value = str | int | float | bool

ALLOWED = (
    "comparisons (= <> < <= > >=) of a column with 'text' or a number, in (...), like with % and _, "
    "is null / is not null, between ... and ..., and / or / not, parentheses"
)
_FLIPPED: dict[str, CompareOp] = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_POSITION = re.compile(r"line (\d+),? col(?:umn)? (\d+)", re.IGNORECASE)
_TOKENS = re.compile(r"'[^']*'|\"[^\"]*\"|[()]|[A-Za-z_][A-Za-z_0-9]*")


class WhereError(ValueError):
    """A --where expression cannot be read or uses something outside the allowed language."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the source, by the name the expression gives (resolved against the file's columns later)."""

    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    """A text, number or true/false value."""

    value: Value


Operand = Column | Literal


@dataclass(frozen=True, slots=True)
class Compare:
    """left op right; at least one side is a column."""

    op: CompareOp
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class In:
    """column in (values...)."""

    column: Column
    values: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class Like:
    """column like pattern: % any run of characters, _ one character, backslash escapes; case-sensitive."""

    column: Column
    pattern: str


@dataclass(frozen=True, slots=True)
class IsNull:
    """column is null (empty text counts as null)."""

    column: Column


@dataclass(frozen=True, slots=True)
class And:
    """All items hold."""

    items: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one item holds."""

    items: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold (a null comparison stays unknown, so it matches neither way)."""

    item: Expression


Expression = Compare | In | Like | IsNull | And | Or | Not


# ------------------------------------------------------------------------------------------- parsing


@functools.cache
def _parser() -> Any:
    from lark import Lark
    from pygeofilter.parsers.cql2_text import parser as cql2_text

    # pygeofilter's module-level parser is built with debug=True, which prints a parser state dump to stdout on
    # every syntax error and turns lark's logger to DEBUG: the same grammar and transformer, built quietly.
    logging.getLogger("lark").setLevel(logging.WARNING)
    here = Path(cql2_text.__file__)
    return Lark.open(
        "grammar.lark",
        rel_to=str(here),
        parser="lalr",
        debug=False,
        maybe_placeholders=False,
        transformer=cql2_text.CQLTransformer(),
        import_paths=[str(here.parent.parent)],
    )


def _syntax_message(exc: Exception, text: str) -> str:
    found = _POSITION.search(str(exc))
    line = getattr(exc, "line", None) or (int(found.group(1)) if found else None)
    column = getattr(exc, "column", None) or (int(found.group(2)) if found else None)
    where = ""
    if isinstance(column, int) and column > 0 and line in (1, None):
        near = text[column - 1 : column + 19]
        where = f" at character {column} ({near!r})" if near else " at the end"
    return (
        f"--where: cannot read the expression{where}: write conditions such as status = 'open' and "
        f"capacity >= 10; allowed are {ALLOWED}; column names with spaces, one letter or letters beyond a-z go "
        'in double quotes ("Straße"); not applies to one condition (write not (a or b) as not a and not b)'
    )


def parse_where(text: str) -> Expression:
    """Parse a CQL2-text row filter into the allow-listed tree; WhereError says where and what is allowed."""
    if not isinstance(text, str) or not text.strip():
        raise WhereError(f"--where is empty: give a condition such as status = 'open' ({ALLOWED})")
    if len(text) > MAX_WHERE_CHARS:
        raise WhereError(f"--where is longer than {MAX_WHERE_CHARS:,} characters: shorten the expression")
    # The grammar does not skip line breaks; a filter typed over several lines means the same on one.
    flat = re.sub(r"[\r\n\t]+", " ", text).strip()
    _refuse_mixed_and_or(flat)
    try:
        parsed = _parser().parse(flat)
    except RecursionError:
        raise WhereError(f"--where nests too deeply (at most {MAX_WHERE_DEPTH} levels)") from None
    except Exception as exc:  # lark's errors, and the transformer's TypeError on e.g. a negated column
        raise WhereError(_syntax_message(exc, flat)) from None
    budget = _Budget()
    return budget.condition(parsed, 1)


def _refuse_mixed_and_or(text: str) -> None:
    """Refuse and mixed with or without parentheses.

    pygeofilter's grammar gives and and or the same precedence (a or b and c reads as (a or b) and c), where
    SQL and the CQL2 standard bind and tighter; asking for parentheses keeps both readings the same.
    """
    levels: list[dict[str, int]] = [{"and": 0, "or": 0, "between": 0}]
    for part in _TOKENS.findall(text):
        word = part.lower()
        if word == "(":
            levels.append({"and": 0, "or": 0, "between": 0})
        elif word == ")" and len(levels) > 1:
            levels.pop()
        elif word == "between":
            levels[-1]["between"] += 1
        elif word == "and" and levels[-1]["between"]:
            levels[-1]["between"] -= 1  # the and of between ... and ...
        elif word in ("and", "or"):
            levels[-1][word] += 1
            if levels[-1]["and"] and levels[-1]["or"]:
                raise WhereError(
                    "--where mixes and with or: add parentheses to say which comes first, e.g. "
                    "status = 'open' and (kind = 'library' or kind = 'centre')"
                )


class _Budget:
    """Converts pygeofilter's AST to ours, counting nodes and depth so a hostile expression stays small."""

    def __init__(self) -> None:
        self.nodes = 0

    def _count(self, depth: int, n: int = 1) -> None:
        self.nodes += n
        if self.nodes > MAX_WHERE_NODES:
            raise WhereError(f"--where has more than {MAX_WHERE_NODES} parts: split or shorten it")
        if depth > MAX_WHERE_DEPTH:
            raise WhereError(f"--where nests more than {MAX_WHERE_DEPTH} levels deep: simplify it")

    def condition(self, node: Any, depth: int) -> Expression:
        from pygeofilter import ast

        self._count(depth)
        if isinstance(node, (ast.And, ast.Or)):
            kind = type(node)
            # a and b and c arrives as a left-deep chain; flat items keep the depth of a long list at 1.
            items: list[Any] = []
            pending = [node]
            while pending:
                current = pending.pop()
                if type(current) is kind:
                    pending += [current.rhs, current.lhs]
                    self._count(depth, 0)
                else:
                    items.append(current)
            converted = tuple(self.condition(item, depth + 1) for item in items)
            return And(converted) if kind is ast.And else Or(converted)
        if isinstance(node, ast.Not):
            return Not(self.condition(node.sub_node, depth + 1))
        if isinstance(node, ast.Comparison):
            left, right = self.operand(node.lhs), self.operand(node.rhs)
            op: CompareOp = node.op.value if node.op.value != "!=" else "<>"
            if isinstance(left, Literal) and isinstance(right, Literal):
                raise WhereError(
                    f"--where compares two values: compare a column with a value; allowed are {ALLOWED}"
                )
            if isinstance(left, Literal):
                left, right, op = right, left, _FLIPPED[op]
            return Compare(op, left, right)
        if isinstance(node, ast.Between):
            column = self.column(node.lhs, "between")
            low, high = self.literal(node.low), self.literal(node.high)
            self._count(depth + 1, 2)
            between = And((Compare(">=", column, low), Compare("<=", column, high)))
            return Not(between) if node.not_ else between
        if isinstance(node, ast.Like):
            column = self.column(node.lhs, "like")
            if not isinstance(node.pattern, str):
                raise WhereError("--where: like takes a 'text' pattern, e.g. name like 'Bibliothek%'")
            like = Like(column, node.pattern)
            return Not(like) if node.not_ else like
        if isinstance(node, ast.In):
            column = self.column(node.lhs, "in")
            self._count(depth + 1, len(node.sub_nodes))
            found = In(column, tuple(self.literal(value) for value in node.sub_nodes))
            return Not(found) if node.not_ else found
        if isinstance(node, ast.IsNull):
            null = IsNull(self.column(node.lhs, "is null"))
            return Not(null) if node.not_ else null
        raise WhereError(f"--where cannot use {_describe(node)}: allowed are {ALLOWED}")

    def operand(self, node: Any) -> Operand:
        from pygeofilter import ast

        if isinstance(node, ast.Attribute):
            return Column(str(node.name))
        return self.literal(node)

    def column(self, node: Any, what: str) -> Column:
        from pygeofilter import ast

        if not isinstance(node, ast.Attribute):
            raise WhereError(
                f"--where: {what} applies to a column, e.g. status {what} ..., not to {_describe(node)}"
            )
        return Column(str(node.name))

    def literal(self, node: Any) -> Literal:
        if isinstance(node, bool) or (isinstance(node, (int, float)) and _finite(node)):
            return Literal(node)
        if isinstance(node, str):
            return Literal(node)
        raise WhereError(f"--where cannot use {_describe(node)}: allowed are {ALLOWED}")


def _finite(value: float) -> bool:
    return value == value and value not in (float("inf"), float("-inf"))


def _describe(node: Any) -> str:
    """A short name of a construct the language refuses (a function, arithmetic, geometry, a date)."""
    from pygeofilter import ast, values

    if isinstance(node, ast.Function):
        return f"the function {str(node.name)[:40]}()"
    if isinstance(node, ast.Arithmetic):
        return "arithmetic (+ - * /)"
    if isinstance(node, (ast.SpatialComparisonPredicate, ast.BBox, ast.Relate, ast.SpatialDistancePredicate)):
        return "spatial operators (use --clip for places)"
    if isinstance(node, (ast.TemporalPredicate,)):
        return "temporal operators"
    if isinstance(node, (values.Geometry, values.Envelope)):
        return "a geometry"
    if isinstance(node, ast.Attribute):
        return f"the column {node.name!r} on its own (compare it: {node.name} = 'value')"
    if isinstance(node, (ast.Include, ast.Exists)):
        return "include / exclude / exists"
    kind = type(node).__name__
    if kind in ("date", "datetime", "timedelta", "Interval"):
        return "dates and times (compare text: opened >= '2020-01-01')"
    return kind


# ------------------------------------------------------------------------------------------- tree helpers


def columns_of(expression: Expression) -> list[str]:
    """The column names an expression uses, in first-use order."""
    names: list[str] = []
    pending: list[Expression] = [expression]
    while pending:
        node = pending.pop(0)
        if isinstance(node, (And, Or)):
            pending = list(node.items) + pending
        elif isinstance(node, Not):
            pending.insert(0, node.item)
        else:
            operands = (node.left, node.right) if isinstance(node, Compare) else (node.column,)
            names += [o.name for o in operands if isinstance(o, Column) and o.name not in names]
    return names


def _text_of(operand: Operand) -> str:
    if isinstance(operand, Column):
        return '"' + operand.name.replace('"', "") + '"'
    value = operand.value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def to_text(expression: Expression) -> str:
    """The expression as canonical CQL2 text, fully parenthesised (shows how a filter was understood)."""
    if isinstance(expression, (And, Or)):
        joiner = " AND " if isinstance(expression, And) else " OR "
        return "(" + joiner.join(to_text(item) for item in expression.items) + ")"
    if isinstance(expression, Not):
        return f"NOT ({to_text(expression.item)})"
    if isinstance(expression, Compare):
        return f"{_text_of(expression.left)} {expression.op} {_text_of(expression.right)}"
    if isinstance(expression, In):
        return f"{_text_of(expression.column)} IN ({', '.join(_text_of(v) for v in expression.values)})"
    if isinstance(expression, Like):
        return f"{_text_of(expression.column)} LIKE {_text_of(Literal(expression.pattern))}"
    return f"{_text_of(expression.column)} IS NULL"
