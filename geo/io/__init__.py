"""File import and export for GIS staff: safe unpacking, content detection, reading to EPSG:4326, writing.

Nothing here touches the database; the app's import service stages `ReadResult.frame` and upserts it.
"""

from geo.io.errors import (
    ExportProblem,
    GeoFileError,
    ImportProblem,
    LayerChoiceError,
    MalformedSourceError,
    MappingError,
    MissingCompanionError,
    Problem,
    SourceCRSError,
    SourceEncodingError,
    SourceTooLargeError,
    UnsafeArchiveError,
    UnsupportedFormatError,
    error_rows,
)
from geo.io.gdal_safety import configure_gdal_safely
from geo.io.limits import ImportLimits
from geo.io.read import ReadResult, SourceInfo, inspect_source, read_source
from geo.io.source_crs import parse_user_crs
from geo.io.write import SHAPEFILE_FIELD_RULE, shapefile_field_names, write_layer

__all__ = [
    "SHAPEFILE_FIELD_RULE",
    "ExportProblem",
    "GeoFileError",
    "ImportLimits",
    "ImportProblem",
    "LayerChoiceError",
    "MalformedSourceError",
    "MappingError",
    "MissingCompanionError",
    "Problem",
    "ReadResult",
    "SourceCRSError",
    "SourceEncodingError",
    "SourceInfo",
    "SourceTooLargeError",
    "UnsafeArchiveError",
    "UnsupportedFormatError",
    "configure_gdal_safely",
    "error_rows",
    "inspect_source",
    "parse_user_crs",
    "read_source",
    "shapefile_field_names",
    "write_layer",
]
