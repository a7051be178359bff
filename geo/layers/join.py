"""Table joins onto boundaries: the join key, codes that lost their leading zeros, and age columns summed into groups.

Pure: no database. The import service matches the codes to a city's neighbourhoods and stores the values.
Ages are in years; a band [low, high) holds the people aged at least `low` and under `high` (high None: open).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from geo.io.errors import MappingError, Problem
from geo.layers.coercion import coerce_values
from geo.layers.mapping import resolve_column, suggest_mapping
from geo.layers.targets import LAYERS
from geo.problems import RowProblems
from geo.vocab import POPULATION_BANDS

JOIN_LAYER = "neighbourhoods"
JOIN_KEY = "code"
MAX_AGE = 120
# Fields a join may write: all but the key; never the geometry.
JOINABLE_FIELDS = tuple(f for f in LAYERS[JOIN_LAYER].field_names if f != JOIN_KEY)
# Suggested from a table's column names: a column called "Bezirk" there names a district, not its code, and a
# lookup's coarser unit is a parent only when the user says so (--map parent_code=COLUMN).
_SUGGESTED_FIELDS = tuple(f for f in JOINABLE_FIELDS if f not in ("level", "parent_code"))
_COUNT_FIELDS = tuple(
    spec.name for spec in LAYERS[JOIN_LAYER].fields if spec.kind == "int" and spec.name != JOIN_KEY
)
_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "\u2013": "-"})
# An age column: an optional word prefix (age_, Alter_, a, pop_age_ ...), then one age, a band or an open end.
_PREFIX = r"(?P<prefix>(?:[a-z]+_?)*?)"
_OPEN_END = r"(?:\+|_?plus|_und_(?:mehr|aelter|ueber)|_and_(?:over|older)|_or_(?:over|older)|_years_and_over)"
_SINGLE = re.compile(rf"^{_PREFIX}(?P<low>\d{{1,3}})(?:_years?|_jahre?)?$")
_OPEN = re.compile(rf"^{_PREFIX}(?P<low>\d{{1,3}}){_OPEN_END}$")
_INCLUSIVE = re.compile(
    rf"^{_PREFIX}(?P<low>\d{{1,3}})(?:-|_to_|_bis_)(?P<high>\d{{1,3}})(?:_years?|_jahre?)?$"
)
_EXCLUSIVE = re.compile(rf"^{_PREFIX}(?P<low>\d{{1,3}})_(?:bis_unter|to_under|under)_(?P<high>\d{{1,3}})$")
# Words that make "under_6" or "over_65" a band name of its own, not age 6 or 65 with a prefix.
_NOT_A_PREFIX = re.compile(r"(^|_)(under|unter|below|over|ueber|above|bis|to|from|ab|von|plus)_?$")


@dataclass(frozen=True, slots=True)
class AgeBand:
    """People aged at least `low` and under `high` years (high None: no upper end)."""

    low: int
    high: int | None

    def describe(self) -> str:
        """The band in words, e.g. 'ages 0 to 5' or 'ages 65 and over'."""
        if self.high is None:
            return f"ages {self.low} and over"
        return f"age {self.low}" if self.high == self.low + 1 else f"ages {self.low} to {self.high - 1}"


def configured_groups() -> dict[str, AgeBand]:
    """The neighbourhood fields that count an age group, with their bands ('pop_6_15' -> ages 6 to 14)."""
    groups: dict[str, AgeBand] = {}
    for band in POPULATION_BANDS:
        if band.startswith("under_"):
            groups[f"pop_{band}"] = AgeBand(0, int(band.removeprefix("under_")))
        elif band.startswith("over_"):
            groups[f"pop_{band}"] = AgeBand(int(band.removeprefix("over_")), None)
        else:
            low, high = band.split("_")
            groups[f"pop_{band}"] = AgeBand(int(low), int(high))
    return groups


def _normal_name(name: str) -> str:
    text = name.strip().lower().translate(_TRANSLITERATION)
    text = re.sub(r"\s*-\s*", "-", text)
    return re.sub(r"[\s_.:/]+", "_", text).strip("_")


def parse_age_column(name: str) -> tuple[str, AgeBand] | None:
    """Return (prefix, band) when a column name counts people of one age or band ('age_3', '0-2', '95+')."""
    text = _normal_name(name)
    for pattern, kind in (
        (_OPEN, "open"),
        (_EXCLUSIVE, "exclusive"),
        (_INCLUSIVE, "inclusive"),
        (_SINGLE, "one"),
    ):
        found = pattern.match(text)
        if found is None:
            continue
        prefix = found["prefix"]
        if _NOT_A_PREFIX.search(prefix) or prefix.startswith("column"):
            return None
        low = int(found["low"])
        if kind == "open":
            band = AgeBand(low, None)
        elif kind == "one":
            band = AgeBand(low, low + 1)
        else:
            high = int(found["high"]) + (1 if kind == "inclusive" else 0)
            if high <= low:
                return None
            band = AgeBand(low, high)
        if low > MAX_AGE or (band.high is not None and band.high > MAX_AGE + 1):
            return None
        return prefix.strip("_"), band
    return None


def parse_join(text: str, columns: Sequence[str]) -> str:
    """Return the table's key column from `code=COLUMN` (the column matched case-insensitively)."""
    target, sep, column = text.partition("=")
    if not sep or not column.strip():
        raise MappingError(f"--join takes code=COLUMN, e.g. --join code=Schluessel (got {text[:60]!r})")
    if target.strip() != JOIN_KEY:
        raise MappingError(
            f"--join matches rows to neighbourhoods by their code: write code=COLUMN (got {target.strip()[:40]!r})"
        )
    return resolve_column(columns, column.strip(), option="--join")


def parse_sum(text: str, columns: Sequence[str], *, option: str = "--map") -> list[str]:
    """Return the columns of `a+b+c` (each matched case-insensitively; a name such as '95+' may hold a '+')."""
    parts = text.split("+")
    out: list[str] = []
    start = 0
    while start < len(parts):
        # The longest run of parts that names a column wins, so a column called '95+' is one term.
        for end in range(len(parts), start, -1):
            candidate = "+".join(parts[start:end]).strip()
            if not candidate:
                continue
            try:
                out.append(resolve_column(columns, candidate, option=option))
            except MappingError:
                continue
            start = end
            break
        else:
            term = parts[start].strip() or "+"
            resolve_column(columns, term, option=option)  # raises, naming the columns
            raise MappingError(f"{option}: {text[:80]!r} is not a sum of columns such as a0+a1+a2")
    if len(set(out)) != len(out):
        raise MappingError(f"{option}: {text[:80]!r} names a column twice")
    return out


@dataclass(slots=True)
class FieldSource:
    """Where one field's values come from: one column, or the sum of several, and how that was decided."""

    columns: list[str]
    how: str  # "given", "suggested", "sum given", "age columns"

    def to_dict(self) -> dict[str, Any]:
        """The source as JSON-ready data."""
        return {"columns": self.columns, "how": self.how}


@dataclass(slots=True)
class JoinPlan:
    """Which field comes from which columns, what the age columns were read as, and notes for the report."""

    key_column: str
    sources: dict[str, FieldSource]
    age_columns: dict[str, str] = field(default_factory=dict)  # column -> band in words
    notes: list[str] = field(default_factory=list)
    unused_columns: list[str] = field(default_factory=list)


def _age_families(columns: Iterable[str]) -> dict[str, dict[str, AgeBand]]:
    families: dict[str, dict[str, AgeBand]] = {}
    for column in columns:
        parsed = parse_age_column(column)
        if parsed is not None:
            families.setdefault(parsed[0], {})[column] = parsed[1]
    return families


def _covers(bands: list[AgeBand], group: AgeBand) -> tuple[bool, str]:
    """Whether bands (all inside the group) cover it exactly once; else the first age missing, in words."""
    ordered = sorted(bands, key=lambda b: b.low)
    age = group.low
    for band in ordered:
        if band.low > age:
            return False, f"{AgeBand(age, band.low).describe()} are not in the table"
        if band.low < age:
            return False, f"{band.describe()} overlap another column"
        if band.high is None:
            return group.high is None, ""
        age = band.high
    if group.high is None:
        return False, f"ages from {age} are not in the table (no open-ended column such as '{age}+')"
    if age < group.high:
        return False, f"{AgeBand(age, group.high).describe()} are not in the table"
    return True, ""


def _single_years(bands: Mapping[str, AgeBand]) -> bool:
    """Whether a set of age columns counts single years of age (an open-ended last column allowed)."""
    return all(band.high is None or band.high - band.low == 1 for band in bands.values())


def _age_sums(
    columns: Sequence[str], taken: set[str], skip_targets: set[str], notes: list[str]
) -> tuple[dict[str, FieldSource], dict[str, str]]:
    """Sum columns of single ages or other bands into the configured groups that nothing else feeds."""
    found = _age_families(c for c in columns if c not in taken)
    named = [prefix for prefix in found if prefix]
    if len(named) == 1 and "" in found and (len(found[""]) == 1 or _single_years(found[named[0]])):
        # 'Alter_0' ... 'Alter_94' and a last column '95+': one set of ages.
        found[named[0]].update(found.pop(""))
    families = {prefix: bands for prefix, bands in found.items() if len(bands) >= 2}
    if not families:
        return {}, {}
    single = [prefix for prefix, bands in families.items() if _single_years(bands)]
    if len(families) > 1 and len(single) == 1:
        # Single years beside broad bands ('0' ... '90+' and 'aged_0_to_15'): the single years are the finer set.
        others = [c for prefix, bands in families.items() if prefix != single[0] for c in bands]
        notes.append(
            f"the single-year age columns are summed; the broader bands {', '.join(repr(c) for c in others[:6])}"
            f"{' ...' if len(others) > 6 else ''} are not used"
        )
        families = {single[0]: families[single[0]]}
    if len(families) > 1:
        shown = "; ".join(
            f"{prefix or '(no prefix)'}: {', '.join(list(b)[:3])} ..." for prefix, b in families.items()
        )
        notes.append(
            f"several sets of age columns ({shown}); none was summed: map the groups with --map "
            "pop_under_6=a+b+..."
        )
        return {}, {}
    bands = next(iter(families.values()))
    sources: dict[str, FieldSource] = {}
    for target, group in configured_groups().items():
        if target in skip_targets:
            continue
        inside: list[str] = []
        for column, band in bands.items():
            band_end = math.inf if band.high is None else band.high
            group_end = math.inf if group.high is None else group.high
            if band_end <= group.low or band.low >= group_end:
                continue  # outside the group
            if band.low < group.low or band_end > group_end:
                boundary = group.low if band.low < group.low else group.high
                raise MappingError(
                    f"the column {column!r} counts {band.describe()}, which straddles the boundary at age "
                    f"{boundary} of {target} ({group.describe()}): it cannot be split honestly; map {target} "
                    f"with --map {target}=COLUMN+COLUMN..., or leave it out with --map {target}="
                )
            inside.append(column)
        if not inside:
            continue
        complete, why = _covers([bands[c] for c in inside], group)
        if complete:
            sources[target] = FieldSource(sorted(inside, key=lambda c: bands[c].low), "age columns")
        else:
            notes.append(f"{target} ({group.describe()}) is not summed from the age columns: {why}")
    return sources, {column: band.describe() for column, band in bands.items()}


def plan_join(columns: Sequence[str], join: str, given: Mapping[str, str] | None = None) -> JoinPlan:
    """Decide which columns feed which neighbourhood fields: the key, given columns and sums, suggestions, ages.

    `given` maps a field to a column, to a sum 'a+b+c', or to '' (leave the field alone).
    """
    key_column = parse_join(join, columns)
    given = dict(given or {})
    unknown = [t for t in given if t not in JOINABLE_FIELDS]
    if unknown:
        raise MappingError(
            f"a join can fill {', '.join(JOINABLE_FIELDS)}; not {', '.join(repr(u[:40]) for u in unknown)}"
        )
    sources: dict[str, FieldSource] = {}
    for target, text in given.items():
        if not text:
            continue
        try:
            sources[target] = FieldSource([resolve_column(columns, text)], "given")
            continue
        except MappingError:
            if "+" not in text:
                raise
        if target not in _COUNT_FIELDS:
            raise MappingError(f"--map {target}= takes one column: only counts can be sums of columns")
        sources[target] = FieldSource(parse_sum(text, columns), "sum given")
    taken = {key_column} | {c for s in sources.values() for c in s.columns}
    for target, column in suggest_mapping([c for c in columns if c not in taken], JOIN_LAYER).items():
        if target in _SUGGESTED_FIELDS and target not in given and column not in taken:
            sources[target] = FieldSource([column], "suggested")
            taken.add(column)
    notes: list[str] = []
    ages, age_columns = _age_sums(columns, taken, set(sources) | set(given), notes)
    sources.update(ages)
    taken |= {c for s in ages.values() for c in s.columns}
    if not sources:
        raise MappingError(
            "the table has no column for any neighbourhood field: map one with --map population=COLUMN "
            f"(fields: {', '.join(JOINABLE_FIELDS)})"
        )
    unused = [c for c in columns if c not in taken]
    return JoinPlan(key_column, sources, age_columns, notes, unused)


@dataclass(slots=True)
class JoinCodes:
    """The table's codes as text, which of them were padded with zeros, and to what width."""

    codes: pd.Series
    padded: list[tuple[int, str, str]]  # (row number, as in the file, as matched)
    width: int | None


def _uniform_digit_width(city_codes: Iterable[str]) -> int | None:
    widths = {len(code) for code in city_codes if code.isdigit()}
    codes = list(city_codes)
    return widths.pop() if len(widths) == 1 and all(c.isdigit() for c in codes) else None


def _whole_number(value: Any) -> int | None:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return None


def join_codes(values: pd.Series, row_numbers: np.ndarray, city_codes: Sequence[str]) -> JoinCodes:
    """Return the key values as text; whole numbers (a code a spreadsheet stored as a number) are zero-padded when
    every code of the city has the same number of digits and the number has fewer."""
    width = _uniform_digit_width(city_codes)
    out: list[str | None] = []
    padded: list[tuple[int, str, str]] = []
    for row, value in zip(row_numbers.tolist(), values.tolist(), strict=True):
        if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
            out.append(None)
            continue
        number = _whole_number(value)
        if number is None:
            out.append(str(value).strip() or None)
            continue
        text = str(number)
        if width is not None and number >= 0 and len(text) < width:
            padded.append((int(row), text, text.zfill(width)))
            text = text.zfill(width)
        out.append(text)
    return JoinCodes(pd.Series(out, index=values.index, dtype=object), padded, width)


def join_values(
    frame: pd.DataFrame, plan: JoinPlan, key_codes: pd.Series
) -> tuple[pd.DataFrame, list[Problem]]:
    """Return one row per table row (row_number, code, and each planned field, typed) with every row problem.

    A sum is missing where one of its columns is empty; a value that is not a count is an error naming its row
    and column.
    """
    schema = LAYERS[JOIN_LAYER]
    row_numbers = frame["row_number"].to_numpy()
    row_ids = key_codes.to_numpy(dtype=object)
    problems: list[Problem] = []
    refused = np.zeros(len(frame), dtype=bool)
    out = pd.DataFrame({"row_number": row_numbers, JOIN_KEY: row_ids}, index=frame.index)
    for target, source in plan.sources.items():
        spec = schema.field(target)
        parts = []
        for column in source.columns:
            rows = RowProblems(row_numbers, row_ids)
            parts.append(coerce_values(frame[column], spec, rows))
            named = target if source.columns == [column] and column == target else f"{target} ({column})"
            problems += [replace(p, field=named) for p in rows.problems]
            refused |= rows.refused
        if len(parts) == 1:
            out[target] = parts[0]
            continue
        table = pd.concat(parts, axis=1)
        total = table.sum(axis=1, min_count=len(parts)).astype("Int64")
        missing = table.isna().any(axis=1).to_numpy() & ~refused
        for position in np.flatnonzero(missing):
            problems.append(
                Problem(
                    int(row_numbers[position]),
                    None if row_ids[position] is None else str(row_ids[position]),
                    target,
                    f"{target} is left empty: one of {', '.join(source.columns)} is empty",
                    "warning",
                )
            )
        out[target] = total.mask(pd.Series(table.isna().any(axis=1).to_numpy(), index=total.index))
    for position in np.flatnonzero(key_codes.isna().to_numpy()):
        problems.append(
            Problem(
                int(row_numbers[position]),
                None,
                JOIN_KEY,
                f"the key column {plan.key_column!r} is empty: the row is not joined",
                "warning",
            )
        )
    return out, problems


def duplicate_codes(codes: pd.Series, row_numbers: np.ndarray) -> dict[str, list[int]]:
    """Codes that more than one row of the table gives, with those rows' numbers."""
    repeated = codes.duplicated(keep=False) & codes.notna()
    found: dict[str, list[int]] = {}
    for position in np.flatnonzero(repeated.to_numpy()):
        found.setdefault(str(codes.iloc[position]), []).append(int(row_numbers[position]))
    return found
