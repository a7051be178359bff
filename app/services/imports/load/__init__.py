"""Bulk load of checked rows, set-based, in the caller's transaction.

Rows are matched to existing items by natural key. New assets are written by COPY straight into the live table
(ids taken from its sequence first, so their service types and history need no lookup); other layers' new rows and
every row naming an existing item go through a temporary staging table, then one INSERT ... SELECT and one UPDATE.
Changed items get a history row each (before and after), new ones one history row naming them all. Each row's
neighbourhood is found from its location before writing (geo.locate: one query over the city's areas, not a search
per row). Progress stages: locate, write, update, history (and relocate after new boundaries).
Identifiers in the SQL come only from the allow-lists in these modules; values are bound parameters or COPY data.
"""

from app.db.bulk import COPY_SLICE_ROWS as COPY_SLICE_ROWS  # still importable from here, where it was defined
from app.services.imports.load.areas import (
    AREA_SLICE_ROWS,
    POPULATION_PREFIX,
    load_neighbourhoods,
    load_neighbourhoods_streamed,
    relocate_items,
    update_neighbourhood_fields,
)
from app.services.imports.load.assets import load_assets, load_assets_streamed
from app.services.imports.load.needs import load_needs
from app.services.imports.load.resources import load_resources
from app.services.imports.load.staging import (
    IMPORT_STATEMENT_TIMEOUT,
    IMPORT_WORK_MEM,
    STAGE,
    UPDATED,
    LoadContext,
    LoadResult,
)

__all__ = [
    "AREA_SLICE_ROWS",
    "COPY_SLICE_ROWS",
    "IMPORT_STATEMENT_TIMEOUT",
    "IMPORT_WORK_MEM",
    "POPULATION_PREFIX",
    "STAGE",
    "UPDATED",
    "LoadContext",
    "LoadResult",
    "load_assets",
    "load_assets_streamed",
    "load_needs",
    "load_neighbourhoods",
    "load_neighbourhoods_streamed",
    "load_resources",
    "relocate_items",
    "update_neighbourhood_fields",
]
