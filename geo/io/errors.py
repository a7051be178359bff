"""The exception tree of the file pipeline and the per-row problem record shared by io, validate and layers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


class GeoFileError(ValueError):
    """A file cannot be imported or exported as asked; the message says what was wrong and what to do."""


class ImportProblem(GeoFileError):
    """The whole source is refused (the app answers 4xx); per-row trouble is a `Problem`, not an exception."""


class UnsafeArchiveError(ImportProblem):
    """A zip member has an unsafe name or type, or the archive is too big, too many or too compressed."""


class UnsupportedFormatError(ImportProblem):
    """The content is not a zipped or loose shapefile, GeoPackage, GeoJSON or CSV."""


class MissingCompanionError(ImportProblem):
    """A shapefile comes without a file it needs (.shx, .dbf)."""


class SourceTooLargeError(ImportProblem):
    """The source exceeds a byte or feature budget."""


class MalformedSourceError(ImportProblem):
    """The content claims a format but is broken (truncated shapefile, unclosed CSV quote, bad JSON)."""


class SourceCRSError(ImportProblem):
    """No usable coordinate reference system, or one that contradicts the coordinates."""


class SourceEncodingError(ImportProblem):
    """Text cannot be decoded with a known encoding; the user must pass --encoding."""


class LayerChoiceError(ImportProblem):
    """A GeoPackage or upload has several layers and none (or an unknown one) was chosen; `choices` lists them."""

    def __init__(self, message: str, *, choices: list[str]) -> None:
        super().__init__(message)
        self.choices = choices


class MappingError(ImportProblem):
    """A field mapping names an unknown target or source, or leaves a required field unmapped."""


class ExportProblem(GeoFileError):
    """A frame cannot be written in the format asked for."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one row (row_number 1-based in source order) or, with row_number None, the layer."""

    row_number: int | None
    source_id: str | None
    field: str | None
    reason: str
    severity: Severity = "error"

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-serialisable dict."""
        return asdict(self)


def error_rows(problems: Iterable[Problem]) -> set[int]:
    """Return the row numbers that have at least one error (rows that cannot be stored as they are)."""
    return {p.row_number for p in problems if p.severity == "error" and p.row_number is not None}
