"""Imports for GIS staff: read a file, check every row, report, and load it whole in one transaction."""

from app.services.imports.pipeline import (
    STAGES,
    ImportRequest,
    ProgressHook,
    RowsInvalid,
    default_source_label,
    import_uploads,
    run_import,
)
from app.services.imports.records import (
    describe_import,
    get_import,
    import_record,
    list_imports,
    user_id_by_name,
)

__all__ = [
    "STAGES",
    "ImportRequest",
    "ProgressHook",
    "RowsInvalid",
    "default_source_label",
    "describe_import",
    "get_import",
    "import_record",
    "import_uploads",
    "list_imports",
    "run_import",
    "user_id_by_name",
]
