"""The shape of a target layer: its fields (FieldSpec) and its geometry and key (LayerSchema)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from geo.io.errors import MappingError
from geo.validate import GeometryKind

FieldKind = Literal["text", "code", "int", "float", "bool", "date", "choice", "slug", "slug_list"]
PROVENANCE_COLUMNS = ("row_number", "source_fid")


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
    # An area's code or name: statistics-office columns (LSOA11CD, LAD22NM, NUTS_ID) are suggested for it.
    area: Literal["code", "name"] | None = None


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
