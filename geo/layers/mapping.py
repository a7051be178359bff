"""Field mapping suggestions: which source column feeds which target field, from names and synonyms."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from geo.io.delimited import column_key
from geo.io.errors import MappingError, Problem
from geo.io.write import shapefile_field_names
from geo.layers.schema import PROVENANCE_COLUMNS
from geo.layers.targets import layer_schema

# Source names shortened by the DBF 10-byte limit are recognised from this length on.
_MIN_TRUNCATED = 8


@dataclass(slots=True)
class MappingSuggestion:
    """A suggested mapping with the columns that matched no field and the targets left ambiguous."""

    mapping: dict[str, str]
    unmapped_columns: list[str]
    ambiguous: dict[str, list[str]]
    problems: list[Problem]


def explain_mapping(columns: Iterable[str], layer: str) -> MappingSuggestion:
    """Suggest {target: source column} with reasons left over: unmapped columns, ambiguous truncated names."""
    schema = layer_schema(layer)
    columns = [str(c) for c in columns if str(c) not in PROVENANCE_COLUMNS and str(c) != "geometry"]
    keys = {c: column_key(c) for c in columns}
    short_names = {
        column_key(short): target for target, short in shapefile_field_names(schema.field_names).items()
    }
    mapping: dict[str, str] = {}
    used: set[str] = set()

    def assign(target: str, column: str) -> None:
        mapping[target] = column
        used.add(column)

    # Strongest evidence first: the target's own name, our shapefile export names, then synonyms.
    for spec in schema.fields:
        exact = [c for c in columns if keys[c] == spec.name and c not in used]
        if exact:
            assign(spec.name, exact[0])
    for column in columns:
        target = short_names.get(keys[column])
        if column not in used and target is not None and target not in mapping:
            assign(target, column)
    for spec in schema.fields:
        if spec.name in mapping:
            continue
        for synonym in spec.synonyms:
            found = [c for c in columns if keys[c] == synonym and c not in used]
            if found:
                assign(spec.name, found[0])
                break
    ambiguous: dict[str, list[str]] = {}
    for spec in schema.fields:
        if spec.name in mapping:
            continue
        names = (spec.name, *spec.synonyms)
        prefixes = [
            c
            for c in columns
            if c not in used and len(keys[c]) >= _MIN_TRUNCATED and any(n.startswith(keys[c]) for n in names)
        ]
        if len(prefixes) == 1:
            assign(spec.name, prefixes[0])
        elif len(prefixes) > 1:
            ambiguous[spec.name] = prefixes
    problems = [
        Problem(
            None,
            None,
            target,
            f"the columns {', '.join(repr(c) for c in sources)} all look like {target!r} once cut to 10 "
            "characters (a shapefile limit): map one of them explicitly",
            "warning",
        )
        for target, sources in ambiguous.items()
    ]
    unmapped = [c for c in columns if c not in used]
    return MappingSuggestion(mapping, unmapped, ambiguous, problems)


def suggest_mapping(columns: Iterable[str], layer: str) -> dict[str, str]:
    """Return {target field: source column} guessed from names, synonyms and 10-character DBF truncation."""
    return explain_mapping(columns, layer).mapping


def resolve_column(columns: Iterable[str], name: str, *, option: str = "--map") -> str:
    """Return the file's column that `name` means: its exact spelling, else the one column equal ignoring case.

    Raises MappingError naming the columns when `name` matches none, or several that differ only by case.
    """
    present = [str(c) for c in columns]
    if name in present:
        return name
    folded = [c for c in present if c.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0]
    if len(folded) > 1:
        raise MappingError(
            f"{option}: the file has several columns that differ from {name!r} only by case "
            f"({', '.join(repr(c) for c in folded)}): name one exactly as it is spelled"
        )
    shown = ", ".join(repr(c) for c in present[:40]) + (" ..." if len(present) > 40 else "")
    raise MappingError(f"{option}: the file has no column {name!r}; its columns are {shown}")
