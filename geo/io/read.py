"""inspect_source and read_source: one dataset from untrusted files into a GeoDataFrame in EPSG:4326."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from geo.io.delimited import DelimitedTable, read_delimited
from geo.io.detect import Dataset, SourceFormat, locate_dataset
from geo.io.errors import Problem
from geo.io.gdal_read import RESERVED_COLUMNS as RESERVED_COLUMNS
from geo.io.gdal_read import _GdalPlan, _plan_gdal, _read_gdal
from geo.io.geometries import Bounds as Bounds
from geo.io.geometries import _frame, _geometry_types
from geo.io.geometries import to_wgs84 as to_wgs84
from geo.io.limits import ImportLimits
from geo.io.source_crs import SourceCRS, parse_user_crs
from geo.io.spreadsheet import SheetTable, read_xlsx
from geo.io.stage import stage_inputs, work_folder


@dataclass(slots=True)
class SourceInfo:
    """What a source is, before or after reading: format, layer, CRS, encoding, geometry types, count, columns."""

    format: SourceFormat
    source_name: str
    layer: str | None
    layers: list[str]
    crs: str | None
    crs_epsg: int | None
    crs_source: str | None
    encoding: str | None
    encoding_source: str | None
    geometry_types: list[str]
    feature_count: int
    columns: list[str]
    geometry_columns: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the description as a JSON-serialisable dict."""
        return {name: getattr(self, name) for name in SourceInfo.__dataclass_fields__}


@dataclass(slots=True)
class ReadResult(SourceInfo):
    """A read source: its description, the frame in EPSG:4326 (row_number, source_fid) and per-row problems."""

    frame: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)
    problems: list[Problem] = field(default_factory=list)
    source_crs: SourceCRS | None = None


def _as_paths(paths: Sequence[Path | str] | Path | str) -> list[Path]:
    if isinstance(paths, (str, Path)):
        return [Path(paths)]
    return [Path(p) for p in paths]


@contextmanager
def _open_dataset(
    paths: Sequence[Path | str] | Path | str,
    original_names: Sequence[str] | None,
    layer: str | None,
    limits: ImportLimits,
    work_dir: Path | None,
) -> Iterator[Dataset]:
    path_list = _as_paths(paths)
    names = list(original_names) if original_names is not None else [p.name for p in path_list]
    if len(names) != len(path_list):
        raise ValueError(f"got {len(path_list)} paths but {len(names)} original names")
    with work_folder(work_dir) as folder:
        staged = stage_inputs(path_list, names, folder, limits)
        yield locate_dataset(staged, folder, layer)


def inspect_source(
    paths: Sequence[Path | str] | Path | str,
    *,
    original_names: Sequence[str] | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    limits: ImportLimits | None = None,
    work_dir: Path | None = None,
) -> SourceInfo:
    """Describe a source (format, layers, CRS, encoding, geometry types, count, columns) without reading it all."""
    limits = limits or ImportLimits()
    user_crs = parse_user_crs(crs) if crs is not None else None
    with _open_dataset(paths, original_names, layer, limits, work_dir) as dataset:
        if dataset.format == "xlsx":
            sheet = read_xlsx(dataset.path, dataset.label, sheet=dataset.layer, limits=limits)
            return _sheet_info(dataset, sheet)
        if dataset.format == "csv":
            table = read_delimited(
                dataset.path, dataset.label, encoding=encoding, user_crs=user_crs, limits=limits
            )
            return _csv_info(dataset, table, _geometry_types(table.geometries))
        plan = _plan_gdal(dataset, user_crs, encoding, limits)
        geometry_type = plan.info.get("geometry_type")
        columns = [str(name) for name in plan.info["fields"]]
        if plan.recode_from_latin1:
            columns = [name.encode("latin-1").decode(plan.recode_from_latin1) for name in columns]
        return _info(
            dataset, plan, [geometry_type] if geometry_type else [], int(plan.info["features"]), columns
        )


def _info(
    dataset: Dataset, plan: _GdalPlan, geometry_types: list[str], count: int, columns: list[str]
) -> SourceInfo:
    crs = plan.crs
    return SourceInfo(
        format=dataset.format,
        source_name=dataset.label,
        layer=plan.layer if dataset.format == "gpkg" else dataset.name,
        layers=plan.layers,
        crs=crs.given if crs else None,
        crs_epsg=crs.epsg if crs else None,
        crs_source=crs.source if crs else None,
        encoding=plan.encoding,
        encoding_source=plan.encoding_source,
        geometry_types=geometry_types,
        feature_count=count,
        columns=columns,
        ignored_files=dataset.ignored,
    )


def _csv_info(dataset: Dataset, table: DelimitedTable, geometry_types: list[str]) -> SourceInfo:
    crs = table.crs
    return SourceInfo(
        format="csv",
        source_name=dataset.label,
        layer=dataset.name,
        layers=[dataset.name],
        crs=crs.given if crs else None,
        crs_epsg=crs.epsg if crs else None,
        crs_source=crs.source if crs else None,
        encoding=table.encoding,
        encoding_source=table.encoding_source,
        geometry_types=geometry_types,
        feature_count=len(table.frame),
        columns=[str(c) for c in table.frame.columns if c not in table.geometry_columns],
        geometry_columns=list(table.geometry_columns),
        ignored_files=dataset.ignored,
    )


def _sheet_info(dataset: Dataset, table: SheetTable) -> SourceInfo:
    return SourceInfo(
        format="xlsx",
        source_name=dataset.label,
        layer=table.sheet,
        layers=table.sheets,
        crs=None,
        crs_epsg=None,
        crs_source=None,
        encoding="utf-8",
        encoding_source="XLSX text is always Unicode",
        geometry_types=[],
        feature_count=len(table.frame),
        columns=[str(c) for c in table.frame.columns],
        ignored_files=dataset.ignored,
    )


def read_source(
    paths: Sequence[Path | str] | Path | str,
    *,
    original_names: Sequence[str] | None = None,
    crs: str | int | None = None,
    encoding: str | None = None,
    layer: str | None = None,
    limits: ImportLimits | None = None,
    expected_bounds: Bounds | None = None,
    work_dir: Path | None = None,
    sheet: str | None = None,
) -> ReadResult:
    """Read one dataset into a GeoDataFrame in EPSG:4326 (lon/lat) with row_number, source_fid and problems.

    paths are local files (a zip, one file, or a shapefile's parts); original_names are the names the user gave
    them (for messages and for matching shapefile parts) and never reach GDAL. expected_bounds (west, south,
    east, north in degrees) lets the reader refuse data that lands far away (wrong CRS, swapped axes). sheet names
    the sheet of an XLSX workbook (default: the first); a workbook or a lone DBF gives rows without geometry.
    """
    limits = limits or ImportLimits()
    user_crs = parse_user_crs(crs) if crs is not None else None
    with _open_dataset(paths, original_names, layer, limits, work_dir) as dataset:
        if dataset.format == "xlsx":
            sheet_table = read_xlsx(dataset.path, dataset.label, sheet=sheet, limits=limits)
            # The feature id a user finds in a workbook is the sheet's row number.
            frame, problems = _frame(
                sheet_table.frame,
                sheet_table.sheet_rows,
                np.full(len(sheet_table.frame), None, dtype=object),
                None,
                dataset.label,
                None,
            )
            problems = sheet_table.problems + problems
            source_crs = None
            info = _sheet_info(dataset, sheet_table)
        elif dataset.format == "csv":
            table = read_delimited(
                dataset.path, dataset.label, encoding=encoding, user_crs=user_crs, limits=limits
            )
            attributes = table.frame.drop(columns=list(table.geometry_columns))
            # For a CSV the feature id a user can find in the file is the line where the row starts.
            fids = table.line_numbers
            frame, problems = _frame(
                attributes, fids, table.geometries, table.crs, dataset.label, expected_bounds
            )
            problems = table.problems + problems
            source_crs = table.crs
            info = _csv_info(dataset, table, _geometry_types(frame.geometry.to_numpy()))
        else:
            plan = _plan_gdal(dataset, user_crs, encoding, limits)
            attributes, fids, geometries, geometry_problems = _read_gdal(dataset, plan)
            frame, problems = _frame(attributes, fids, geometries, plan.crs, dataset.label, expected_bounds)
            problems = geometry_problems + problems
            source_crs = plan.crs
            info = _info(
                dataset,
                plan,
                _geometry_types(frame.geometry.to_numpy()),
                len(frame),
                list(attributes.columns),
            )
    return ReadResult(**asdict(info), frame=frame, problems=problems, source_crs=source_crs)
