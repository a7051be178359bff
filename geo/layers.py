"""Target schemas of the four importable layers, field mapping from source columns, typed per-row coercion."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.io.delimited import column_key
from geo.io.errors import MappingError, Problem, error_rows
from geo.io.write import COORDINATE_DECIMALS, shapefile_field_names
from geo.validate import GeometryKind
from geo.vocab import ASSET_CATEGORIES, NEED_SOURCES, OWNERSHIPS, POPULATION_BANDS, RESOURCE_KINDS

FieldKind = Literal["text", "code", "int", "float", "bool", "date", "choice", "slug", "slug_list"]
PROVENANCE_COLUMNS = ("row_number", "source_fid")
# Source names shortened by the DBF 10-byte limit are recognised from this length on.
_MIN_TRUNCATED = 8
_SLUG_MAX = 64
_LIST_SPLIT = re.compile(r"\s*[;,|]\s*")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "ja", "j", "wahr", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "nein", "falsch"})
# Python-backed strings behave the same whether or not pyarrow is installed (pandas picks Arrow when it is).
_STRING = pd.StringDtype("python")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One target field: type, whether required, allowed values or range, and the source names it answers to."""

    name: str
    kind: FieldKind
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    synonyms: tuple[str, ...] = ()
    value_synonyms: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LayerSchema:
    """A target layer: its geometry, its key field (unique in one file) and its fields in storage order."""

    name: str
    geometry: GeometryKind | None
    geometry_optional: bool
    key: str
    fields: tuple[FieldSpec, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """The target field names in storage order."""
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> FieldSpec:
        """Return the field called name, or raise MappingError listing the fields."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise MappingError(
            f"{self.name} has no field {name[:60]!r}: its fields are {', '.join(self.field_names)}"
        )


_BAND_WORDS = {
    "under_6": ("below_6", "unter_6", "0_6"),
    "over_65": ("above_65", "ueber_65", "65_plus", "65plus"),
}


def _population_fields() -> tuple[FieldSpec, ...]:
    specs = []
    for band in POPULATION_BANDS:
        words = (band, *_BAND_WORDS.get(band, ()))
        synonyms = tuple(
            f"{prefix}{word}"
            for word in words
            for prefix in ("inhabitants_age_", "population_", "age_", "einwohner_", "ew_", "pop_age_")
        )
        specs.append(FieldSpec(f"pop_{band}", "int", minimum=0, synonyms=synonyms))
    specs.append(
        FieldSpec(
            "pop_female",
            "int",
            minimum=0,
            synonyms=("inhabitants_female", "female", "women", "frauen", "weiblich", "population_female"),
        )
    )
    specs.append(
        FieldSpec(
            "pop_foreigners",
            "int",
            minimum=0,
            synonyms=(
                "inhabitants_foreigners",
                "foreigners",
                "auslaender",
                "population_foreigners",
                "non_citizens",
            ),
        )
    )
    return tuple(specs)


# What a neighbourhood row stands for: a district holds neighbourhoods; an area is any other unit.
NEIGHBOURHOOD_LEVELS = ("district", "neighbourhood", "area")
_TEXT = 300
_LONG_TEXT = 10_000
_SOURCE_ID = FieldSpec(
    "source_id",
    "code",
    max_length=200,
    synonyms=("id", "osm_id", "objectid", "object_id", "uid", "uuid", "external_id", "ref", "key"),
)
_DESCRIPTION = FieldSpec(
    "description",
    "text",
    max_length=_LONG_TEXT,
    synonyms=(
        "beschreibung",
        "desc",
        "notes",
        "note",
        "details",
        "comment",
        "comments",
        "bemerkung",
        "hinweis",
    ),
)

LAYERS: dict[str, LayerSchema] = {
    "neighbourhoods": LayerSchema(
        name="neighbourhoods",
        geometry="polygon",
        geometry_optional=False,
        key="code",
        fields=(
            FieldSpec(
                "code",
                "code",
                required=True,
                max_length=64,
                synonyms=(
                    "id",
                    "lor",
                    "lor_code",
                    "schluessel",
                    "key",
                    "nummer",
                    "nr",
                    "plr_id",
                    "bzr_id",
                    "pgr_id",
                    "prr_id",
                    "area_id",
                    "area_code",
                    "neighbourhood_code",
                    "neighborhood_code",
                    "gebiet_id",
                ),
            ),
            FieldSpec(
                "name",
                "text",
                required=True,
                max_length=_TEXT,
                synonyms=(
                    "bezeichnung",
                    "title",
                    "titel",
                    "label",
                    "neighbourhood",
                    "neighborhood",
                    "plr_name",
                    "bzr_name",
                    "pgr_name",
                    "prr_name",
                    "gebiet",
                    "ortsteil",
                    "kiez",
                ),
            ),
            FieldSpec(
                "level",
                "choice",
                choices=NEIGHBOURHOOD_LEVELS,
                synonyms=("ebene", "area_level", "admin_level"),
                value_synonyms={"bezirk": "district", "ortsteil": "neighbourhood", "kiez": "neighbourhood"},
            ),
            FieldSpec(
                "parent_code",
                "code",
                max_length=64,
                synonyms=(
                    "parent",
                    "parent_id",
                    "bezirk",
                    "bezirk_id",
                    "bez",
                    "district",
                    "district_code",
                    "district_id",
                ),
            ),
            FieldSpec(
                "population",
                "int",
                minimum=0,
                synonyms=(
                    "einwohner",
                    "inhabitants",
                    "residents",
                    "ew",
                    "pop",
                    "einwohnerzahl",
                    "ew_gesamt",
                    "population_total",
                    "total_population",
                ),
            ),
            *_population_fields(),
        ),
    ),
    "assets": LayerSchema(
        name="assets",
        geometry="point",
        geometry_optional=False,
        key="source_id",
        fields=(
            _SOURCE_ID,
            FieldSpec(
                "name",
                "text",
                required=True,
                max_length=_TEXT,
                synonyms=(
                    "bezeichnung",
                    "title",
                    "titel",
                    "label",
                    "einrichtung",
                    "facility",
                    "organisation",
                    "organization",
                ),
            ),
            FieldSpec(
                "category",
                "choice",
                required=True,
                choices=ASSET_CATEGORIES,
                synonyms=("kategorie", "asset_category", "abcd_category", "categ"),
                value_synonyms={
                    "person": "individual",
                    "people": "individual",
                    "individuals": "individual",
                    "associations": "association",
                    "verein": "association",
                    "club": "association",
                    "institutions": "institution",
                    "einrichtung": "institution",
                    "space": "physical_space",
                    "place": "physical_space",
                    "physical": "physical_space",
                    "business": "economy",
                    "economic": "economy",
                    "local_economy": "economy",
                    "cultural": "culture",
                    "kultur": "culture",
                },
            ),
            _DESCRIPTION,
            FieldSpec(
                "service_types",
                "slug_list",
                synonyms=(
                    "services",
                    "service_type",
                    "service",
                    "angebote",
                    "angebot",
                    "leistungen",
                    "offers",
                ),
            ),
            FieldSpec(
                "capacity",
                "float",
                minimum=0,
                synonyms=("kapazitaet", "plaetze", "places", "seats", "spaces", "capacity_total"),
            ),
            FieldSpec("capacity_unit", "text", max_length=50, synonyms=("unit", "einheit")),
            FieldSpec(
                "ownership",
                "choice",
                choices=OWNERSHIPS,
                synonyms=("owner_type", "traegerschaft", "traeger", "eigentum", "traegerart"),
                value_synonyms={
                    "council": "public",
                    "municipal": "public",
                    "oeffentlich": "public",
                    "state": "public",
                    "ngo": "charity",
                    "nonprofit": "charity",
                    "non_profit": "charity",
                    "gemeinnuetzig": "charity",
                    "commercial": "private",
                    "privat": "private",
                    "business": "private",
                    "gemeinschaft": "community",
                },
            ),
            FieldSpec(
                "contact",
                "text",
                max_length=500,
                synonyms=("kontakt", "contact_info", "email", "e_mail", "phone", "telefon"),
            ),
            FieldSpec(
                "opening_hours", "text", max_length=500, synonyms=("oeffnungszeiten", "hours", "opening")
            ),
            FieldSpec("verified", "bool", synonyms=("geprueft", "checked", "confirmed")),
            FieldSpec("sensitive", "bool", synonyms=("private", "vertraulich", "confidential")),
        ),
    ),
    "needs": LayerSchema(
        name="needs",
        geometry="point_or_polygon",
        geometry_optional=False,
        key="source_id",
        fields=(
            FieldSpec(
                "source_id", "code", max_length=200, synonyms=("id", "need_id", "survey_id", "ref", "key")
            ),
            FieldSpec(
                "service_type",
                "slug",
                required=True,
                synonyms=("service", "need", "need_type", "bedarf", "bedarfsart", "thema", "topic"),
            ),
            FieldSpec(
                "people_affected",
                "int",
                minimum=0,
                synonyms=("affected", "persons", "people", "betroffene", "number_of_people", "anzahl"),
            ),
            FieldSpec(
                "severity",
                "int",
                minimum=1,
                maximum=5,
                synonyms=("dringlichkeit", "priority", "prioritaet", "urgency", "schwere"),
            ),
            FieldSpec(
                "source",
                "choice",
                choices=NEED_SOURCES,
                synonyms=("quelle", "origin", "method", "methode"),
                value_synonyms={
                    "ethnographic": "ethnographic_observation",
                    "observation": "ethnographic_observation",
                    "statistics": "statistic",
                    "stats": "statistic",
                    "umfrage": "survey",
                    "befragung": "survey",
                    "organizer_report": "organiser_report",
                    "organiser": "organiser_report",
                    "organizer": "organiser_report",
                },
            ),
            _DESCRIPTION,
            FieldSpec(
                "observed_on",
                "date",
                synonyms=("date", "datum", "observed", "observation_date", "erhoben_am", "survey_date"),
            ),
        ),
    ),
    "resources": LayerSchema(
        name="resources",
        geometry="point",
        geometry_optional=True,
        key="source_id",
        fields=(
            _SOURCE_ID,
            FieldSpec(
                "kind",
                "choice",
                required=True,
                choices=RESOURCE_KINDS,
                synonyms=("type", "art", "resource_type", "resource_kind", "ressource", "resource"),
                value_synonyms={
                    "money": "funding",
                    "funds": "funding",
                    "geld": "funding",
                    "foerderung": "funding",
                    "volunteer": "volunteers",
                    "ehrenamt": "volunteers",
                    "room": "space",
                    "rooms": "space",
                    "raum": "space",
                    "raeume": "space",
                    "skill": "skills",
                    "equipment_loan": "equipment",
                },
            ),
            FieldSpec("quantity", "float", minimum=0, synonyms=("menge", "amount", "anzahl", "count")),
            FieldSpec("unit", "text", max_length=50, synonyms=("einheit", "units")),
            FieldSpec("available_from", "date", synonyms=("from", "start", "start_date", "von", "ab")),
            FieldSpec("available_until", "date", synonyms=("until", "end", "end_date", "bis")),
            _DESCRIPTION,
            FieldSpec(
                "asset_source_id", "code", max_length=200, synonyms=("asset_id", "asset", "einrichtung_id")
            ),
            FieldSpec(
                "neighbourhood_code",
                "code",
                max_length=64,
                synonyms=(
                    "neighborhood_code",
                    "lor",
                    "lor_code",
                    "area_code",
                    "neighbourhood",
                    "neighborhood",
                ),
            ),
        ),
    ),
}


def layer_schema(layer: str) -> LayerSchema:
    """Return the schema of a target layer, or raise MappingError naming the layers."""
    try:
        return LAYERS[layer]
    except KeyError:
        raise MappingError(f"unknown layer {str(layer)[:60]!r}: use one of {', '.join(LAYERS)}") from None


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


# ---------------------------------------------------------------------------------------------- coercion


class _Rows:
    """Per-row problem collection for one apply_mapping call."""

    def __init__(self, row_numbers: np.ndarray, source_ids: np.ndarray) -> None:
        self.row_numbers = row_numbers
        self.source_ids = source_ids
        self.problems: list[Problem] = []

    def add(
        self, mask: np.ndarray, target: str, reasons: Sequence[str] | str, severity: str = "error"
    ) -> None:
        indices = np.flatnonzero(mask)
        texts = [reasons] * len(indices) if isinstance(reasons, str) else list(reasons)
        for index, text in zip(indices, texts, strict=True):
            source_id = self.source_ids[index]
            self.problems.append(
                Problem(
                    int(self.row_numbers[index]),
                    None if source_id is None else str(source_id),
                    target,
                    text,
                    severity,  # type: ignore[arg-type]
                )
            )


def _is_list(values: pd.Series) -> np.ndarray:
    if values.dtype != object:
        return np.zeros(len(values), dtype=bool)
    return values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).to_numpy(dtype=bool)


def _numeric_as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(_STRING).str.lower()
    numbers = values.astype(float)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers))
    text = values.astype(_STRING)
    # 930.0 read from a DBF numeric field is the code 930, not "930.0".
    as_int = pd.Series(np.where(whole, numbers, 0).astype(np.int64), index=values.index).astype(_STRING)
    return text.where(~pd.Series(whole, index=values.index), as_int).mask(~np.isfinite(numbers))


def _text(values: pd.Series) -> pd.Series:
    """Return values as stripped text (StringDtype); empty text is missing."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        text = _numeric_as_text(values)
    elif pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d").astype(_STRING)
    else:
        text = values.astype(_STRING)
    # Stripped in one list comprehension: pandas' .str.strip() costs about ten times as much per value.
    raw = text.to_numpy(dtype=object, na_value=None)
    stripped = pd.array([v.strip() if v is not None else None for v in raw], dtype=_STRING)
    text = pd.Series(stripped, index=values.index)
    return text.mask(text == "")


def _empty_lists(n: int, index: pd.Index) -> pd.Series:
    """A Series of n distinct empty lists (built without pandas trying to read them as a 2D shape)."""
    out = np.empty(n, dtype=object)
    for position in range(n):
        out[position] = []
    return pd.Series(out, index=index, dtype=object)


def _number(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Return (float Series with NaN for missing, mask of values present but not a finite number)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype(float)
        return numbers, ~np.isfinite(numbers.to_numpy()) & values.notna().to_numpy()
    text = _text(values)
    comma_decimal = text.str.fullmatch(r"[-+]?\d*,\d+").fillna(False).astype(bool)
    text = text.where(~comma_decimal, text.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text, errors="coerce").astype(float)
    unusable = text.notna().to_numpy() & ~np.isfinite(numbers.to_numpy())
    return numbers.where(np.isfinite(numbers)), unusable


def _range_reason(spec: FieldSpec) -> str:
    if spec.minimum is not None and spec.maximum is not None:
        return f"must be between {spec.minimum:g} and {spec.maximum:g}"
    if spec.minimum is not None:
        return f"must be {spec.minimum:g} or more"
    return f"must be {spec.maximum:g} or less"


def _shown(values: pd.Series, index: int | np.integer) -> str:
    """The source value of one row as a user would recognise it, for a message (numbers without '.0')."""
    value = values.iloc[index]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_range(numbers: pd.Series, spec: FieldSpec, rows: _Rows, values: pd.Series) -> np.ndarray:
    array = numbers.to_numpy()
    bad = np.zeros(len(array), dtype=bool)
    with np.errstate(invalid="ignore"):
        if spec.minimum is not None:
            bad |= array < spec.minimum
        if spec.maximum is not None:
            bad |= array > spec.maximum
    rows.add(bad, spec.name, [f"{_shown(values, i)} {_range_reason(spec)}" for i in np.flatnonzero(bad)])
    return bad


def _slug(text: str) -> str:
    """A choice key as the vocabulary spells it: lower case with underscores ('Physical space' -> physical_space)."""
    return column_key(text)[:_SLUG_MAX].strip("_")


def service_slug(text: str) -> str:
    """A service-type slug as the database spells it: kebab-case ('Food support' -> food-support), or ''."""
    return column_key(text).replace("_", "-")[:_SLUG_MAX].strip("-")


def _per_distinct(values: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """Apply func once per distinct non-missing value: category-like columns repeat a handful of values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([*(func(u) for u in uniques), None], dtype=object)  # code -1 (missing) takes the None
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def _coerce(values: pd.Series, spec: FieldSpec, rows: _Rows) -> pd.Series:
    """Coerce one source column to a target field's type; failures become missing values and row errors."""
    lists = _is_list(values)
    if spec.kind != "slug_list" and lists.any():
        rows.add(lists, spec.name, "holds a list where a single value is expected")
        values = values.mask(pd.Series(lists, index=values.index))
    if spec.kind in ("text", "code"):
        return _coerce_text(values, spec, rows)
    if spec.kind in ("int", "float"):
        return _coerce_number(values, spec, rows)
    if spec.kind == "bool":
        return _coerce_bool(values, spec, rows)
    if spec.kind == "date":
        return _coerce_date(values, spec, rows)
    if spec.kind == "choice":
        return _coerce_choice(values, spec, rows)
    if spec.kind == "slug":
        text = _text(values)
        slugs = _per_distinct(text, lambda v: service_slug(v) or "")
        emptied = (slugs == "").to_numpy(dtype=bool)
        rows.add(
            emptied,
            spec.name,
            [f"{text.iloc[i]!r} has no letters or digits" for i in np.flatnonzero(emptied)],
        )
        return slugs.where(~emptied, None)
    return _coerce_slug_list(values, lists)


def _coerce_text(values: pd.Series, spec: FieldSpec, rows: _Rows) -> pd.Series:
    text = _text(values)
    if spec.max_length is not None:
        too_long = (text.str.len() > spec.max_length).fillna(False).to_numpy(dtype=bool)
        rows.add(too_long, spec.name, f"is longer than {spec.max_length} characters")
        text = text.mask(pd.Series(too_long, index=text.index))
    return text.astype(object).where(text.notna(), None)


def _coerce_number(values: pd.Series, spec: FieldSpec, rows: _Rows) -> pd.Series:
    numbers, unusable = _number(values)
    rows.add(
        unusable, spec.name, [f"{_shown(values, i)!r} is not a number" for i in np.flatnonzero(unusable)]
    )
    out_of_range = _check_range(numbers, spec, rows, values)
    numbers = numbers.mask(pd.Series(out_of_range | unusable, index=numbers.index))
    if spec.kind == "float":
        return numbers.astype(float)
    fractional = (numbers.notna() & (numbers != numbers.round())).to_numpy()
    rows.add(
        fractional,
        spec.name,
        [f"{_shown(values, i)} is not a whole number" for i in np.flatnonzero(fractional)],
    )
    return numbers.mask(pd.Series(fractional, index=numbers.index)).round().astype("Int64")


def _yes_no(text: str) -> bool | str:
    word = text.lower()
    word = word[0] if word in ("1.0", "0.0") else word
    return True if word in _TRUE else False if word in _FALSE else word


def _coerce_bool(values: pd.Series, spec: FieldSpec, rows: _Rows) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    answers = _per_distinct(_text(values), _yes_no)
    unknown = answers.map(lambda a: isinstance(a, str)).to_numpy(dtype=bool)
    rows.add(
        unknown,
        spec.name,
        [f"{answers.iloc[i]!r} is not yes/no (use true or false)" for i in np.flatnonzero(unknown)],
    )
    return answers.where(~unknown, None).astype("boolean")


_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d")


def _coerce_date(values: pd.Series, spec: FieldSpec, rows: _Rows) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = _text(values)
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        # 2024-05-31, 2024-05-31T10:00:00 (the time is dropped), 31.05.2024, 2024/05/31
        text_day = text.str.slice(0, 10).where(
            text.str.fullmatch(r"\d{4}-\d\d-\d\d([T ].*)?").fillna(False), text
        )
        for date_format in _DATE_FORMATS:
            todo = parsed.isna() & text_day.notna()
            if not todo.any():
                break
            parsed[todo] = pd.to_datetime(text_day[todo], format=date_format, errors="coerce")
        unparsed = (parsed.isna() & text.notna()).to_numpy()
        rows.add(
            unparsed,
            spec.name,
            [f"{text.iloc[i]!r} is not a date (use e.g. 2024-05-31)" for i in np.flatnonzero(unparsed)],
        )
    dates = parsed.dt.date
    return dates.astype(object).where(parsed.notna(), None)


def _coerce_choice(values: pd.Series, spec: FieldSpec, rows: _Rows) -> pd.Series:
    text = _text(values)

    def choose(value: str) -> str:
        key = _slug(value)
        return spec.value_synonyms.get(key, key)

    keys = _per_distinct(text, choose)
    unknown = (keys.notna() & ~keys.isin(list(spec.choices))).to_numpy(dtype=bool)
    rows.add(
        unknown,
        spec.name,
        [
            f"{text.iloc[i]!r} is not a {spec.name}: use one of {', '.join(spec.choices)}"
            for i in np.flatnonzero(unknown)
        ],
    )
    return keys.where(~unknown, None)


def _slug_list(value: object) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        parts = [str(v) for v in value if v is not None]
    elif value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        parts = []
    else:
        parts = _LIST_SPLIT.split(str(value))
    return list(dict.fromkeys(slug for slug in (service_slug(p) for p in parts) if slug))


def _coerce_slug_list(values: pd.Series, lists: np.ndarray) -> pd.Series:
    out = pd.Series([[] for _ in range(len(values))], index=values.index, dtype=object)
    if lists.any():
        out[lists] = values[lists].map(_slug_list)
    text = values[~lists]
    # Each row gets its own list object, so a caller changing one row cannot change another.
    out[~lists] = _per_distinct(text, _slug_list).map(lambda v: list(v) if v is not None else [])
    return out


def _default_series(spec: FieldSpec, value: object, n: int, index: pd.Index, layer: str) -> pd.Series:
    probe = _Rows(np.array([0]), np.array([None], dtype=object))
    coerced = _coerce(pd.Series([value], dtype=object), spec, probe)
    if probe.problems:
        raise MappingError(f"the default for {layer}.{spec.name} is not usable: {probe.problems[0].reason}")
    single = coerced.iloc[0]
    series = pd.Series([single] * n, index=index, dtype=coerced.dtype if n else object)
    return series


def apply_mapping(
    frame: pd.DataFrame,
    layer: str,
    mapping: Mapping[str, str],
    *,
    defaults: Mapping[str, object] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Return the rows as they would be stored (typed, validated; geometry untouched) and every row problem.

    mapping is {target field: source column}; defaults fill targets that are unmapped or empty in a row.
    Rows keep their place; a value that cannot be used becomes missing and its row gets an error.
    """
    schema = layer_schema(layer)
    defaults = dict(defaults or {})
    for target in [*mapping, *defaults]:
        schema.field(target)
    missing_columns = [source for source in mapping.values() if source not in frame.columns]
    if missing_columns:
        available = ", ".join(str(c) for c in frame.columns if c not in (*PROVENANCE_COLUMNS, "geometry"))
        raise MappingError(
            f"the mapping names {', '.join(repr(c) for c in missing_columns)}, not a column of the file: "
            f"its columns are {available}"
        )
    unmapped_required = [
        f.name for f in schema.fields if f.required and f.name not in mapping and f.name not in defaults
    ]
    if unmapped_required:
        raise MappingError(
            f"required {'field' if len(unmapped_required) == 1 else 'fields'} "
            f"{', '.join(unmapped_required)} of {layer} {'is' if len(unmapped_required) == 1 else 'are'} not "
            "mapped: map a column to each (or give a default)"
        )
    n = len(frame)
    index = frame.index
    row_numbers = frame["row_number"].to_numpy() if "row_number" in frame else np.arange(1, n + 1)
    fids = frame["source_fid"].to_numpy() if "source_fid" in frame else np.array([None] * n, dtype=object)
    # Problems name a row by the layer's key (code, source_id) when it has one, else by the source feature id.
    fallback_ids = pd.Series(fids, index=index, dtype=object)
    if schema.key in mapping:
        keys = _text(frame[mapping[schema.key]])
        source_ids = keys.astype(object).where(keys.notna(), fallback_ids).to_numpy(dtype=object)
    else:
        source_ids = fallback_ids.to_numpy(dtype=object)
    rows = _Rows(row_numbers, source_ids)

    columns: dict[str, pd.Series] = {
        "row_number": pd.Series(row_numbers, index=index),
        "source_fid": pd.Series(fids, index=index),
    }
    for spec in schema.fields:
        if spec.name in mapping:
            source = frame[mapping[spec.name]]
            if (
                spec.kind == "code"
                and pd.api.types.is_numeric_dtype(source)
                and not pd.api.types.is_bool_dtype(source)
            ):
                rows.problems.append(
                    Problem(
                        None,
                        None,
                        spec.name,
                        f"column {mapping[spec.name]!r} holds numbers: codes with leading zeros (e.g. '0930') may "
                        "have lost them in the file; store codes as text",
                        "warning",
                    )
                )
            values = _coerce(source, spec, rows)
        else:
            values = (
                _empty_lists(n, index)
                if spec.kind == "slug_list"
                else pd.Series(np.full(n, None, dtype=object), index=index, dtype=object)
            )
        if spec.name in defaults:
            fill = _default_series(spec, defaults[spec.name], n, index, layer)
            empty = values.map(
                lambda v: v is None or v is pd.NA or v == [] or (isinstance(v, float) and math.isnan(v))
            )
            values = values.astype(object).where(~empty, fill.astype(object))
            values = _retype(values, spec)
        elif spec.name not in mapping:
            values = _retype(values, spec)
        columns[spec.name] = values
        if spec.required:
            already = error_rows(p for p in rows.problems if p.field == spec.name)
            absent = values.isna().to_numpy(dtype=bool) & ~np.isin(row_numbers, list(already))
            rows.add(absent, spec.name, f"{spec.name} is required but empty")
    _check_unique_key(columns[schema.key], schema.key, rows)
    out = pd.DataFrame(columns, index=index)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.copy(), crs=frame.crs)
    return out, rows.problems


def _retype(values: pd.Series, spec: FieldSpec) -> pd.Series:
    if spec.kind == "int":
        return pd.to_numeric(values, errors="coerce").astype("Int64")
    if spec.kind == "float":
        return pd.to_numeric(values, errors="coerce").astype(float)
    if spec.kind == "bool":
        return values.astype("boolean")
    return values.astype(object).where(values.notna(), None)


def _check_unique_key(keys: pd.Series, name: str, rows: _Rows) -> None:
    present = keys.notna()
    duplicated = (keys.duplicated(keep=False) & present).to_numpy(dtype=bool)
    if not duplicated.any():
        return
    positions: dict[Any, list[int]] = {}
    for index in np.flatnonzero(duplicated):
        positions.setdefault(keys.iloc[index], []).append(int(rows.row_numbers[index]))
    reasons = [
        f"{name} {keys.iloc[i]!r} appears {len(positions[keys.iloc[i]])} times (rows "
        f"{', '.join(map(str, positions[keys.iloc[i]][:10]))}): each {name} must be unique"
        for i in np.flatnonzero(duplicated)
    ]
    rows.add(duplicated, name, reasons)


# ---------------------------------------------------------------------------------------------- report


def _json_value(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v) for v in value]
    if isinstance(value, shapely.Geometry):
        rounded = shapely.set_precision(value, 10.0**-COORDINATE_DECIMALS)
        return shapely.geometry.mapping(rounded)
    return value


def preview_rows(rows: pd.DataFrame, n: int) -> list[dict[str, object]]:
    """Return the first n rows as JSON-serialisable dicts (geometry as GeoJSON, 6 decimals)."""
    head = rows.head(n)
    return [{str(k): _json_value(v) for k, v in record.items()} for record in head.to_dict(orient="records")]


def dry_run_report(
    read_result: Any,
    mapping: Mapping[str, str],
    rows: pd.DataFrame,
    problems: Sequence[Problem],
    n_preview: int = 5,
    *,
    layer: str | None = None,
) -> dict[str, object]:
    """Return a JSON-serialisable report of what an import would store, without storing anything."""
    info = read_result.to_dict() if hasattr(read_result, "to_dict") else dict(read_result)
    counts = {
        severity: sum(1 for p in problems if p.severity == severity)
        for severity in ("error", "warning", "info")
    }
    bad_rows = error_rows(problems)
    report: dict[str, object] = {
        **{key: _json_value(value) for key, value in info.items()},
        "target_layer": layer,
        "mapping": dict(mapping),
        "rows": len(rows),
        "rows_with_errors": len(bad_rows),
        "rows_ready": len(rows) - len(bad_rows),
        "problem_counts": counts,
        # Only rows that would be stored are previewed; the others are explained in "problems".
        "preview": preview_rows(
            rows[~rows["row_number"].isin(list(bad_rows))] if "row_number" in rows else rows, n_preview
        ),
        "problems": [p.to_dict() for p in problems],
    }
    if layer is not None:
        suggestion = explain_mapping(info.get("columns", []), layer)
        report["suggested_mapping"] = suggestion.mapping
        report["unmapped_columns"] = [c for c in info.get("columns", []) if c not in set(mapping.values())]
        report["ambiguous_columns"] = suggestion.ambiguous
    return report
