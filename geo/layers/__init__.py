"""Target schemas of the four importable layers, field mapping from source columns, typed per-row coercion."""

from geo.layers.apply import apply_mapping, unmapped_required_reason
from geo.layers.coercion import service_slug
from geo.layers.mapping import (
    MappingSuggestion,
    MatchReason,
    Rejection,
    explain_mapping,
    merge_mapping,
    resolve_column,
    suggest_mapping,
)
from geo.layers.profile import ColumnProfile, profile_columns
from geo.layers.report import dry_run_report, mapping_report, preview_rows
from geo.layers.schema import PROVENANCE_COLUMNS, FieldKind, FieldSpec, LayerSchema
from geo.layers.targets import LAYERS, NEIGHBOURHOOD_LEVELS, layer_schema

__all__ = [
    "LAYERS",
    "NEIGHBOURHOOD_LEVELS",
    "PROVENANCE_COLUMNS",
    "ColumnProfile",
    "FieldKind",
    "FieldSpec",
    "LayerSchema",
    "MappingSuggestion",
    "MatchReason",
    "Rejection",
    "apply_mapping",
    "dry_run_report",
    "explain_mapping",
    "layer_schema",
    "mapping_report",
    "merge_mapping",
    "preview_rows",
    "profile_columns",
    "resolve_column",
    "service_slug",
    "suggest_mapping",
    "unmapped_required_reason",
]
