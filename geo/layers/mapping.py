"""Field mapping suggestions: which source column feeds which target field, from names, synonyms and values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from geo.io.delimited import column_key
from geo.io.errors import MappingError, Problem
from geo.io.write import shapefile_field_names
from geo.layers.fit import fit_note, misfit
from geo.layers.patterns import area_column, choose_area_columns
from geo.layers.profile import ColumnProfile, profiles_by_name
from geo.layers.schema import PROVENANCE_COLUMNS, FieldSpec
from geo.layers.targets import layer_schema

# Source names shortened by the DBF 10-byte limit are recognised from this length on.
_MIN_TRUNCATED = 8


MatchKind = Literal["field_name", "shapefile_name", "statistics_office", "synonym", "truncated"]


@dataclass(frozen=True, slots=True)
class MatchReason:
    """Why a column was suggested for a field: how its name matched, and what the type check saw."""

    column: str
    match: MatchKind
    detail: str
    check: str

    def to_dict(self) -> dict[str, str]:
        """The reason as JSON-ready data."""
        return {"column": self.column, "match": self.match, "detail": self.detail, "type_check": self.check}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A column whose name matched a field but whose values do not fit it."""

    column: str
    target: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """The rejection as JSON-ready data."""
        return {"column": self.column, "target": self.target, "reason": self.reason}


@dataclass(slots=True)
class MappingSuggestion:
    """A suggested mapping with the columns that matched no field and the targets left ambiguous."""

    mapping: dict[str, str]
    unmapped_columns: list[str]
    ambiguous: dict[str, list[str]]
    problems: list[Problem]
    reasons: dict[str, MatchReason] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)


def explain_mapping(
    columns: Iterable[str], layer: str, *, profiles: Sequence[ColumnProfile] | None = None
) -> MappingSuggestion:
    """Suggest {target: source column}, each with its reason; columns whose values misfit a field are rejected.

    profiles (from profile_columns) let the suggestion check values: without them only names are compared.
    """
    schema = layer_schema(layer)
    columns = [str(c) for c in columns if str(c) not in PROVENANCE_COLUMNS and str(c) != "geometry"]
    keys = {c: column_key(c) for c in columns}
    by_name = profiles_by_name(profiles)
    short_names = {
        column_key(short): (target, short)
        for target, short in shapefile_field_names(schema.field_names).items()
    }
    mapping: dict[str, str] = {}
    reasons: dict[str, MatchReason] = {}
    rejected: dict[tuple[str, str], Rejection] = {}
    ambiguous: dict[str, list[str]] = {}
    why_ambiguous: dict[str, str] = {}
    used: set[str] = set()

    def fits(spec: FieldSpec, column: str) -> bool:
        why = misfit(spec, by_name.get(column))
        if why is not None:
            rejected.setdefault((column, spec.name), Rejection(column, spec.name, why))
        return why is None

    def assign(spec: FieldSpec, column: str, match: MatchKind, detail: str) -> None:
        mapping[spec.name] = column
        reasons[spec.name] = MatchReason(column, match, detail, fit_note(spec, by_name.get(column)))
        used.add(column)

    def free(key: str) -> list[str]:
        return [c for c in columns if keys[c] == key and c not in used]

    def case_twins(spec: FieldSpec, found: list[str]) -> bool:
        if len(found) < 2:
            return False
        ambiguous[spec.name] = found
        why_ambiguous[spec.name] = "differ only by case or punctuation"
        return True

    # Strongest evidence first: the target's own name, our shapefile export names, statistics-office patterns,
    # then synonyms (in their order) and last names cut to 10 characters by the DBF format.
    for spec in schema.fields:
        found = free(spec.name)
        if not case_twins(spec, found) and found and fits(spec, found[0]):
            assign(spec, found[0], "field_name", "the field's own name")
    for column in columns:
        target, short = short_names.get(keys[column], (None, ""))
        if column in used or target is None or target in mapping or target in ambiguous:
            continue
        spec = schema.field(target)
        if fits(spec, column):
            assign(spec, column, "shapefile_name", f"our shapefile export name {short!r}")
    _assign_areas(schema.fields, columns, keys, used, mapping, ambiguous, why_ambiguous, fits, assign)
    for spec in schema.fields:
        if spec.name in mapping or spec.name in ambiguous:
            continue
        for synonym in spec.synonyms:
            found = free(synonym)
            if case_twins(spec, found):
                break
            if found and fits(spec, found[0]):
                assign(spec, found[0], "synonym", f"synonym {synonym!r}")
                break
    _assign_truncated(schema.fields, columns, keys, used, mapping, ambiguous, why_ambiguous, fits, assign)
    problems = [
        Problem(
            None,
            None,
            target,
            f"the columns {', '.join(repr(c) for c in sources)} all look like {target!r} "
            f"({why_ambiguous.get(target, 'once cut to 10 characters, a shapefile limit')}): "
            "map one of them explicitly",
            "warning",
        )
        for target, sources in ambiguous.items()
    ]
    unmapped = [c for c in columns if c not in used]
    kept = [r for r in rejected.values() if mapping.get(r.target) != r.column]
    return MappingSuggestion(mapping, unmapped, ambiguous, problems, reasons, kept)


Fits = Callable[[FieldSpec, str], bool]
Assign = Callable[[FieldSpec, str, MatchKind, str], None]


def _assign_areas(
    fields: Sequence[FieldSpec],
    columns: list[str],
    keys: dict[str, str],
    used: set[str],
    mapping: dict[str, str],
    ambiguous: dict[str, list[str]],
    why_ambiguous: dict[str, str],
    fits: Fits,
    assign: Assign,
) -> None:
    """Statistics-office columns: the finest unit's code (LSOA11CD before LAD11CD) and the same unit's name."""
    areas = [a for c in columns if c not in used and (a := area_column(c, keys[c])) is not None]
    if not areas:
        return
    code, name, tied = choose_area_columns(areas)
    for spec in fields:
        if spec.area is None or spec.name in mapping or spec.name in ambiguous:
            continue
        if spec.area == "code" and tied:
            ambiguous[spec.name] = [a.column for a in tied]
            why_ambiguous[spec.name] = "codes of areas of the same size"
            continue
        chosen = code if spec.area == "code" else name
        if chosen is not None and chosen.column not in used and fits(spec, chosen.column):
            year = f" 20{chosen.year}" if len(chosen.year) == 2 else f" {chosen.year}" if chosen.year else ""
            assign(
                spec,
                chosen.column,
                "statistics_office",
                f"statistics-office pattern: the {chosen.unit.upper()}{year} {spec.area}",
            )


def _assign_truncated(
    fields: Sequence[FieldSpec],
    columns: list[str],
    keys: dict[str, str],
    used: set[str],
    mapping: dict[str, str],
    ambiguous: dict[str, list[str]],
    why_ambiguous: dict[str, str],
    fits: Fits,
    assign: Assign,
) -> None:
    """Names cut to 10 characters by the DBF format: a column that starts exactly one fitting field's name."""
    open_fields = [f for f in fields if f.name not in mapping and f.name not in ambiguous]
    per_column: dict[str, list[tuple[FieldSpec, str]]] = {}
    for column in columns:
        key = keys[column]
        if column in used or len(key) < _MIN_TRUNCATED:
            continue
        for spec in open_fields:
            longer = [n for n in (spec.name, *spec.synonyms) if n.startswith(key) and len(n) > len(key)]
            if longer and fits(spec, column):
                per_column.setdefault(column, []).append((spec, longer[0]))
    per_field: dict[str, list[str]] = {}
    for column, candidates in per_column.items():
        # 'populatio' is population rather than population_female: a field's own name first, then the shortest.
        ranked = sorted(candidates, key=lambda c: (not c[0].name.startswith(keys[column]), len(c[1])))
        if len(ranked) > 1 and (ranked[0][0].name.startswith(keys[column]), len(ranked[0][1])) != (
            ranked[1][0].name.startswith(keys[column]),
            len(ranked[1][1]),
        ):
            ranked = ranked[:1]
        per_column[column] = ranked
        for spec, _full in ranked:
            per_field.setdefault(spec.name, []).append(column)
    for spec in open_fields:
        found = per_field.get(spec.name, [])
        if len(found) > 1:
            ambiguous[spec.name] = found
            why_ambiguous.setdefault(spec.name, "once cut to 10 characters, a shapefile limit")
        elif len(found) == 1 and len(per_column[found[0]]) == 1:
            full = per_column[found[0]][0][1]
            assign(
                spec, found[0], "truncated", f"a name cut to 10 characters by the DBF format, from {full!r}"
            )
        elif len(found) == 1:
            ambiguous[spec.name] = found
            others = ", ".join(s.name for s, _full in per_column[found[0]] if s.name != spec.name)
            why_ambiguous[spec.name] = f"cut to 10 characters, it could as well be {others}"


def suggest_mapping(
    columns: Iterable[str], layer: str, *, profiles: Sequence[ColumnProfile] | None = None
) -> dict[str, str]:
    """Return {target field: source column} guessed from names, synonyms and 10-character DBF truncation."""
    return explain_mapping(columns, layer, profiles=profiles).mapping


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


def merge_mapping(
    columns: Iterable[str], suggested: Mapping[str, str], given: Mapping[str, str] | None
) -> dict[str, str]:
    """The suggested mapping with the user's entries on top; a target given an empty source is left unmapped.

    The user's column names match the file's ignoring case (resolve_column): `name=bezeichnung` finds BEZEICHNUNG.
    """
    if not given:
        return dict(suggested)
    present = [str(c) for c in columns]
    resolved = {
        t: resolve_column(present, s, option="mapping (--map)") if s else "" for t, s in given.items()
    }
    used = {source for source in resolved.values() if source}
    merged = {t: s for t, s in suggested.items() if t not in resolved and s not in used}
    merged.update({t: s for t, s in resolved.items() if s})
    return merged
