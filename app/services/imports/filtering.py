"""Which rows of a file an import keeps: the --where filter, the --clip area, and the check that what is left
lands in the city (a wrong CRS or swapped axes), with the counts of what was dropped and why."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db.models import City
from app.errors import InvalidInput
from geo.filters import (
    ClipArea,
    ClipError,
    Expression,
    WhereError,
    clip_area,
    evaluate_where,
    inside_clip,
    parse_clip,
    parse_where,
)
from geo.io import MappingError, ReadResult
from geo.io.expected_area import check_expected_area

# Points and areas of a register are expected near the city; new boundaries may reach further out.
_MARGIN_DEG = {"neighbourhoods": 0.5}
_DEFAULT_MARGIN_DEG = 0.1


@dataclass(frozen=True, slots=True)
class RowFilter:
    """An import's --where (as typed and as parsed) and --clip, checked before the file is read."""

    where_text: str | None = None
    where: Expression | None = None
    clip: ClipArea | None = None

    def options(self) -> dict[str, Any]:
        """What the import run records among its options."""
        return {
            "where": self.where_text,
            "clip": self.clip.describe() if self.clip else None,
            "clip_buffer_m": self.clip.buffer_m if self.clip else None,
        }


def parse_row_filter(
    layer: str, where: str | None, clip: str | None, clip_buffer_m: float | None
) -> RowFilter:
    """Parse --where and --clip (422 naming the option when either cannot be used for this layer)."""
    try:
        expression = parse_where(where) if where is not None and where.strip() else None
    except WhereError as exc:
        raise InvalidInput(str(exc), field="where") from None
    try:
        area = parse_clip(clip, clip_buffer_m)
    except ClipError as exc:
        raise InvalidInput(
            str(exc), field="clip_buffer_m" if str(exc).startswith("--clip-buffer-m") else "clip"
        ) from None
    if area is not None and layer == "resources":
        raise InvalidInput(
            "resources have no location of their own (they belong to an asset or a neighbourhood), so they cannot "
            "be clipped: leave out --clip (--where chooses rows by their columns)",
            field="clip",
        )
    return RowFilter(where.strip() if expression is not None and where else None, expression, area)


def _city_shape(db: Session, city_id: int) -> shapely.Geometry | None:
    wkb = db.execute(
        text(
            "SELECT ST_AsBinary(ST_UnaryUnion(ST_Collect(geom))) FROM neighbourhood WHERE city_id = :city_id"
        ),
        {"city_id": city_id},
    ).scalar_one()
    return None if wkb is None else shapely.from_wkb(bytes(wkb))


def city_bounds(db: Session, city_id: int) -> tuple[float, float, float, float] | None:
    """The extent of the city's neighbourhoods (degrees), so data that lands far away is refused."""
    row = db.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent(geom) AS e FROM neighbourhood WHERE city_id = :city_id) extent"
        ),
        {"city_id": city_id},
    ).one()
    return None if row[0] is None else (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def keep_rows(
    db: Session, city: City, layer: str, read: ReadResult, row_filter: RowFilter, *, check_area: bool = True
) -> tuple[ReadResult, dict[str, Any]]:
    """The read source with only the rows to import, checked against the city's area, and what was dropped.

    A join matches rows by code and ignores their geometry, so it asks for no area check.

    --where is applied first: a row it drops counts under 'where' even if it also lies outside the clip area.
    Rows keep their row numbers, so problems still name the file's rows.
    """
    frame = read.frame
    keep = np.ones(len(frame), dtype=bool)
    dropped = {"where": 0, "outside_clip": 0}
    if row_filter.where is not None:
        try:
            matched = evaluate_where(row_filter.where, frame, read.columns)
        except (WhereError, MappingError) as exc:
            raise InvalidInput(str(exc), field="where") from None
        dropped["where"] = int((~matched).sum())
        keep &= matched
    if row_filter.clip is not None:
        shape = _city_shape(db, city.id) if row_filter.clip.kind == "city" else None
        try:
            area = clip_area(row_filter.clip, shape, city.crs)
        except ClipError as exc:
            raise InvalidInput(str(exc), field="clip") from None
        inside = inside_clip(frame.geometry.to_numpy(), area)
        dropped["outside_clip"] = int((keep & ~inside).sum())
        keep &= inside
    summary = {
        **row_filter.options(),
        "rows_read": len(frame),
        "rows_kept": int(keep.sum()),
        "dropped": dropped,
    }
    if not keep.all():
        if not keep.any():
            raise InvalidInput(
                f"no row of {read.source_name} is left to import: {dropped['where']:,} dropped by --where, "
                f"{dropped['outside_clip']:,} outside the clip area; check the filter, the clip and the CRS",
                field="where" if row_filter.where is not None and not dropped["outside_clip"] else "clip",
            )
        kept_rows = set(frame["row_number"].to_numpy()[keep].tolist())
        problems = [p for p in read.problems if p.row_number is None or p.row_number in kept_rows]
        read = replace(read, frame=frame[keep].reset_index(drop=True), problems=problems)
    bounds = city_bounds(db, city.id) if check_area else None
    if bounds is not None and read.source_crs is not None:
        check_expected_area(
            read.frame.geometry.to_numpy(),
            read.source_crs,
            read.source_name,
            bounds,
            margin_deg=_MARGIN_DEG.get(layer, _DEFAULT_MARGIN_DEG),
        )
    return read, summary
