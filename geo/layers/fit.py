"""Whether a column's values fit a target field's type: the check every suggested column must pass."""

from __future__ import annotations

from geo.io.delimited import column_key
from geo.layers.profile import TYPE_SHARE, ColumnProfile
from geo.layers.schema import FieldSpec

_NUMERIC_TYPES = ("integer", "number")


def _percent(share: float) -> str:
    return f"{share:.0%}"


def misfit(spec: FieldSpec, profile: ColumnProfile | None) -> str | None:
    """Why the column cannot feed the field (its values are of another kind), or None when it fits."""
    if profile is None or profile.type == "empty":
        return None
    kind, column, holds = spec.kind, repr(profile.name), profile.type
    if kind == "slug_list" and holds in (*_NUMERIC_TYPES, "boolean", "date"):
        return f"{column} holds {holds} values, but {spec.name} is a list of service-type names"
    if kind == "slug" and holds in (*_NUMERIC_TYPES, "boolean", "date"):
        return f"{column} holds {holds} values, but {spec.name} is a service-type name"
    if kind in ("int", "float") and profile.numeric_share < TYPE_SHARE:
        return f"{column} holds {holds} values (only {_percent(profile.numeric_share)} numbers); {spec.name} is a number"
    if kind == "date" and profile.date_share < TYPE_SHARE and holds != "date":
        return f"{column} holds {holds} values, not dates; {spec.name} is a date"
    if kind == "bool" and profile.boolean_share < TYPE_SHARE:
        return f"{column} holds {holds} values, not yes/no; {spec.name} is true or false"
    if kind == "code":
        if holds in ("boolean", "date"):
            return f"{column} holds {holds} values, not codes"
        if spec.max_length is not None and profile.max_length > spec.max_length:
            return f"{column} holds values longer than {spec.max_length} characters: free text, not a code"
        if profile.free_text_share > 0.5:
            return f"{column} holds free text (phrases of several words), not codes"
    if kind == "choice":
        if holds in _NUMERIC_TYPES:
            return f"{column} holds {holds} values, but {spec.name} is one of {', '.join(spec.choices)}"
        known = set(spec.choices) | set(spec.value_synonyms)
        if profile.distinct and not any(column_key(v) in known for v in profile.distinct):
            shown = ", ".join(repr(v) for v in profile.samples[:3])
            return (
                f"none of the values of {column} ({shown}, ...) is a {spec.name}: {', '.join(spec.choices)}"
            )
    # A name needs letters: a column of numbers or dates is an id or a measure.
    if kind == "text" and spec.name == "name" and holds in (*_NUMERIC_TYPES, "date", "boolean"):
        return f"{column} holds {holds} values, not names"
    # Opening hours are times of day ('Mo-Fr 09:00-17:00'); a column of bare numbers counts hours per week.
    if kind == "text" and spec.name == "opening_hours" and holds in (*_NUMERIC_TYPES, "boolean"):
        return (
            f"{column} holds {holds} values (a count, not times of day), but {spec.name} says when it is open"
        )
    return None


def fit_note(spec: FieldSpec, profile: ColumnProfile | None) -> str:
    """What the type check saw when the column fits, for the report."""
    if profile is None:
        return "values not checked"
    if profile.type == "empty":
        return "the column is empty"
    return f"{profile.type} values fit {spec.kind.replace('_', ' ')}"
