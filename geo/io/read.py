"""inspect_source and read_source: one dataset from untrusted files into a GeoDataFrame in EPSG:4326."""

from __future__ import annotations

import importlib.util
import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.errors import GEOSException

from geo.io.dbf import decide_dbf_encoding
from geo.io.delimited import DelimitedTable, read_delimited
from geo.io.detect import Dataset, SourceFormat, locate_dataset
from geo.io.errors import (
    LayerChoiceError,
    MalformedSourceError,
    Problem,
    SourceCRSError,
    SourceEncodingError,
    SourceTooLargeError,
    UnsupportedFormatError,
)
from geo.io.gdal_safety import configure_gdal_safely
from geo.io.limits import ImportLimits
from geo.io.source_crs import (
    WGS84,
    SourceCRS,
    check_coordinates,
    crs_from_gdal,
    crs_from_geojson_member,
    crs_from_prj,
    geojson_crs_member,
    make_source_crs,
    parse_user_crs,
)
from geo.io.spreadsheet import SheetTable, read_xlsx
from geo.io.stage import HEAD_BYTES, stage_inputs, work_folder
from geo.io.wkb import points_from_wkb

Bounds = tuple[float, float, float, float]
RESERVED_COLUMNS = ("row_number", "source_fid", "geometry")
_GDAL_DRIVERS = {"shapefile": "ESRI Shapefile", "dbf": "ESRI Shapefile", "gpkg": "GPKG", "geojson": "GeoJSON"}
# Python codec names that GDAL's recoder spells differently; codecs it cannot do at all are read through latin-1.
_GDAL_CODEC_NAMES = {"utf-8": "UTF-8", "mac_roman": "MACINTOSH", "mac_cyrillic": "MACCYRILLIC"}
_GDAL_NATIVE_CODEC = re.compile(r"^(cp\d+|iso8859-\d+)$")
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


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


@dataclass(slots=True)
class _GdalPlan:
    layer: str
    layers: list[str]
    info: dict[str, Any]
    gdal_encoding: str | None
    recode_from_latin1: str | None
    encoding: str
    encoding_source: str
    crs: SourceCRS | None


def _gdal_codec(codec: str) -> tuple[str, str | None]:
    """Return (name GDAL understands, codec to re-decode with after reading as latin-1, or None)."""
    if codec in _GDAL_CODEC_NAMES:
        return _GDAL_CODEC_NAMES[codec], None
    if _GDAL_NATIVE_CODEC.match(codec):
        return codec.upper(), None
    return "ISO-8859-1", codec


def _clean_gdal_message(exc: Exception, dataset: Dataset) -> str:
    # GDAL names our generated path; the user knows the file by their own name.
    text = str(exc).replace(str(dataset.path), dataset.label).replace(str(dataset.path.parent) + "/", "")
    return text.strip()[:240]


def _plan_gdal(
    dataset: Dataset, user_crs: SourceCRS | None, encoding: str | None, limits: ImportLimits
) -> _GdalPlan:
    configure_gdal_safely()
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    label = dataset.label
    try:
        listed = pyogrio.list_layers(dataset.path)
    except (DataSourceError, DataLayerError) as exc:
        raise MalformedSourceError(
            f"{label} could not be opened: {_clean_gdal_message(exc, dataset)}"
        ) from None
    layers = [str(name) for name in listed[:, 0]]
    if not layers:
        raise UnsupportedFormatError(f"{label} holds no layers")
    if dataset.format == "gpkg":
        layer = _choose_layer(layers, dataset.layer, label)
    else:
        layer = layers[0]
        layers = [dataset.name]

    if dataset.format in ("shapefile", "dbf"):
        assert dataset.dbf is not None
        codec, encoding_source = decide_dbf_encoding(
            dataset.dbf, cpg=dataset.cpg, user_encoding=encoding, label=dataset.dbf_label
        )
        gdal_encoding, recode = _gdal_codec(codec)
    else:
        codec, gdal_encoding, recode = "utf-8", None, None
        kind = "GeoPackage" if dataset.format == "gpkg" else "GeoJSON"
        encoding_source = f"{kind} is always UTF-8" + (" (--encoding ignored)" if encoding else "")

    try:
        info = pyogrio.read_info(dataset.path, layer=layer, encoding=gdal_encoding)
    except (DataSourceError, DataLayerError) as exc:
        raise MalformedSourceError(
            f"{label} could not be read: {_clean_gdal_message(exc, dataset)}"
        ) from None
    expected_driver = _GDAL_DRIVERS[dataset.format]
    if info.get("driver") != expected_driver:
        # Content was checked before; a different driver claiming the file means the check was fooled.
        raise UnsupportedFormatError(
            f"{label} looks like {expected_driver} but GDAL reads it as {info.get('driver')}: save it as one plain "
            f"{expected_driver} file (for GeoJSON: a single FeatureCollection)"
        )
    if info["features"] > limits.max_features:
        raise SourceTooLargeError(
            f"{label} has {info['features']:,} features, more than the limit of {limits.max_features:,}: "
            "split the data"
        )
    has_geometry = info.get("geometry_type") is not None
    crs = _decide_gdal_crs(dataset, info, user_crs) if has_geometry else user_crs
    return _GdalPlan(layer, layers, info, gdal_encoding, recode, codec, encoding_source, crs)


def _choose_layer(layers: list[str], wanted: str | None, label: str) -> str:
    if wanted is not None:
        matches = [name for name in layers if name == wanted] or [
            name for name in layers if name.lower() == wanted.lower()
        ]
        if len(matches) == 1:
            return matches[0]
        raise LayerChoiceError(
            f"{label} has no layer named {wanted[:80]!r}; its layers are: {', '.join(layers)}", choices=layers
        )
    if len(layers) > 1:
        raise LayerChoiceError(
            f"{label} has {len(layers)} layers ({', '.join(layers)}): choose one with --layer", choices=layers
        )
    return layers[0]


def _decide_gdal_crs(dataset: Dataset, info: dict[str, Any], user_crs: SourceCRS | None) -> SourceCRS:
    label = dataset.label
    if dataset.format == "geojson":
        with dataset.path.open("rb") as handle:
            head = handle.read(HEAD_BYTES).decode("utf-8-sig", errors="ignore")
        member = geojson_crs_member(head)
        # An unacceptable crs member is refused even with --crs: GDAL would still parse it while reading.
        member_crs = crs_from_geojson_member(member, label) if member is not None else None
        if user_crs is not None:
            return user_crs
        return member_crs or make_source_crs(WGS84, "OGC:CRS84", "RFC 7946 default (no crs member)")
    if user_crs is not None:
        return user_crs
    if dataset.format == "shapefile":
        if dataset.prj is None:
            raise SourceCRSError(
                f"{label} has no .prj: pass --crs EPSG:xxxx (e.g. EPSG:25833 for ETRS89 / UTM 33N)"
            )
        return crs_from_prj(dataset.prj, f"{dataset.name}.prj")
    found = crs_from_gdal(info.get("crs"), "GeoPackage layer")
    if found is None:
        raise SourceCRSError(f"{label}: the layer has no CRS: pass --crs EPSG:xxxx")
    return found


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


def _geometry_types(geometries: np.ndarray) -> list[str]:
    present = ~shapely.is_missing(geometries)
    if not present.any():
        return []
    keys = shapely.get_type_id(geometries[present]) * 2 + shapely.has_z(geometries[present])
    return [_TYPE_NAMES.get(int(key) // 2, "Unknown") + (" Z" if key % 2 else "") for key in np.unique(keys)]


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


def _read_gdal(
    dataset: Dataset, plan: _GdalPlan
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | _PointCoordinates, list[Problem]]:
    from pyogrio.errors import DataLayerError, DataSourceError, FieldError, GeometryError

    try:
        with warnings.catch_warnings():
            # Unclosed rings are closed and reported per row below; GDAL's own warning would only repeat it.
            warnings.filterwarnings("ignore", message="Non closed ring", category=RuntimeWarning)
            meta, fids, wkb, field_data = _read_raw(
                dataset.path, plan.layer, plan.gdal_encoding, recode=plan.recode_from_latin1 is not None
            )
    except UnicodeDecodeError:
        raise SourceEncodingError(
            f"{dataset.label}: the text is not valid {plan.encoding} ({plan.encoding_source}): pass the right "
            "--encoding"
        ) from None
    except (DataSourceError, DataLayerError, FieldError, GeometryError) as exc:
        raise MalformedSourceError(
            f"{dataset.label} could not be read: {_clean_gdal_message(exc, dataset)}"
        ) from None
    names = [str(name) for name in meta["fields"]]
    dtypes = [str(d) for d in meta.get("dtypes", [""] * len(names))]
    columns: dict[str, Any] = {}
    problems: list[Problem] = []
    for name, dtype, values in zip(names, dtypes, field_data, strict=True):
        if plan.recode_from_latin1:
            name = name.encode("latin-1").decode(plan.recode_from_latin1)
            if values.dtype == object:
                values = _recode(values, plan.recode_from_latin1)
        if not isinstance(values, np.ndarray):
            pass  # a str array straight from Arrow: plain text, nothing to recode or unpack
        elif dtype.startswith("list") or (values.dtype == object and _holds_arrays(values)):
            # List-valued properties (e.g. a GeoJSON bounding_box array) stay lists; no layer field maps them.
            values = np.array(
                [v.tolist() if isinstance(v, np.ndarray) else v for v in values] + [None], dtype=object
            )[:-1]
        if name in RESERVED_COLUMNS:
            renamed = f"{name}_src"
            problems.append(
                Problem(None, None, name, f"the source column {name!r} is read as {renamed!r}", "info")
            )
            name = renamed
        columns[name] = values
    attributes = pd.DataFrame(columns, index=pd.RangeIndex(len(fids)))
    geometries, geometry_problems = _geometries_from_wkb(wkb, len(fids), fids)
    return attributes, np.asarray(fids, dtype=np.int64), geometries, problems + geometry_problems


# Whether pandas makes a str column of Python strings (pandas 3); then Arrow text is handed over as that column.
_INFERS_STR = pd.Series(np.array(["a"], dtype=object)).dtype != object
# What pandas infers for a column that cannot hold arrays; only other columns are looked at value by value.
_PLAIN_KINDS = frozenset({"string", "empty", "integer", "floating", "boolean", "bytes", "date", "datetime"})


def _holds_arrays(values: np.ndarray) -> bool:
    if pd.api.types.infer_dtype(values, skipna=True) in _PLAIN_KINDS:
        return False
    return any(isinstance(v, np.ndarray) for v in values)


def _read_raw(
    path: Path, layer: str, encoding: str | None, *, recode: bool = False
) -> tuple[dict[str, Any], np.ndarray, Any, list[Any]]:
    import pyogrio.raw

    if importlib.util.find_spec("pyarrow") is None:
        meta, fids, wkb, field_data = pyogrio.raw.read(path, layer=layer, encoding=encoding, return_fids=True)
        return meta, fids, wkb, list(field_data)
    # The Arrow path reads about twice as fast; its columns are converted back to the numpy shapes above.
    meta, table = pyogrio.raw.read_arrow(path, layer=layer, encoding=encoding, return_fids=True)
    # Columns by position, since a field may share its name with the FID column (GeoJSON's "id"): the FID first,
    # then the fields in order, then the geometry when the layer has one.
    n_fields = len(meta["fields"])
    has_geometry = table.num_columns == n_fields + 2
    if table.num_columns not in (n_fields + 1, n_fields + 2):
        raise ValueError(f"unexpected Arrow columns {table.column_names} for fields {list(meta['fields'])}")
    fids = table.column(0).to_numpy()
    wkb = table.column(table.num_columns - 1).to_numpy(zero_copy_only=False) if has_geometry else None
    field_data = [_arrow_to_numpy(table.column(1 + index), recode) for index in range(n_fields)]
    return meta, fids, wkb, field_data


def _arrow_to_numpy(column: Any, recode: bool = False) -> Any:
    """Return an Arrow column in the shape pyogrio's numpy reader gives (object text, float ints with nulls).

    Text becomes the str array pandas infers from it (unless it is to be recoded or is all missing).
    """
    import pyarrow as pa

    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # The trailing None keeps numpy from turning equal-length lists into a 2D array.
        return np.array([*column.to_pylist(), None], dtype=object)[:-1]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        if _INFERS_STR and not recode and column.null_count < len(column):
            # The Arrow text as the str column pandas would infer from Python strings, without making them.
            return column.to_pandas().array
        # Python str objects, None for nulls (as to_pylist gives, in a third less time).
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
    if pa.types.is_boolean(kind) and column.null_count:
        return np.array(column.to_pylist(), dtype=object)
    if pa.types.is_integer(kind) and column.null_count:
        return column.to_numpy(zero_copy_only=False).astype(float)
    return column.to_numpy(zero_copy_only=False)


def _recode(values: np.ndarray, codec: str) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        out[index] = value.encode("latin-1").decode(codec) if isinstance(value, str) else value
    return out


@dataclass(frozen=True, slots=True)
class _PointCoordinates:
    """2D points kept as coordinate arrays until reprojected, so shapely objects are built only once."""

    x: np.ndarray
    y: np.ndarray
    missing: np.ndarray

    def build(self, crs: pyproj.CRS | None) -> np.ndarray:
        """Return shapely points in EPSG:4326 (transformed from crs unless it is None or WGS 84)."""
        x, y = self.x, self.y
        usable = ~self.missing & np.isfinite(x) & np.isfinite(y)
        if crs is not None and not crs.equals(WGS84, ignore_axis_order=True):
            transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
            x, y = x.copy(), y.copy()
            x[usable], y[usable] = transformer.transform(x[usable], y[usable])
        out = np.full(len(x), None, dtype=object)
        out[usable] = shapely.points(x[usable], y[usable])
        out[~self.missing & ~usable] = shapely.Point()  # WKB writes an empty point as NaN, NaN
        return out


def _geometries_from_wkb(
    wkb: Any, n: int, fids: np.ndarray
) -> tuple[np.ndarray | _PointCoordinates, list[Problem]]:
    if wkb is None:
        return np.full(n, None, dtype=object), []
    raw = np.asarray(wkb, dtype=object)
    points = points_from_wkb(raw)
    if points is not None:
        return _PointCoordinates(*points), []
    geometries = shapely.from_wkb(raw, on_invalid="ignore")
    broken = np.flatnonzero(pd.notna(raw) & shapely.is_missing(geometries))
    problems: list[Problem] = []
    # Only the few geometries GEOS refused to build are looked at one by one, to say why and to close rings.
    for index in broken:
        try:
            shapely.from_wkb(raw[index])
            reason = "cannot be built"
        except GEOSException as exc:
            reason = str(exc)[:160]
        fixed = shapely.from_wkb(raw[index], on_invalid="fix")
        if fixed is not None and "closed linestring" in reason:
            geometries[index] = fixed
            problems.append(
                Problem(
                    int(index) + 1,
                    str(fids[index]),
                    "geometry",
                    "a ring was not closed: closed it",
                    "warning",
                )
            )
        else:
            problems.append(
                Problem(int(index) + 1, str(fids[index]), "geometry", f"geometry cannot be built: {reason}")
            )
    return geometries, problems


def to_wgs84(geometries: np.ndarray, crs: pyproj.CRS) -> np.ndarray:
    """Return geometries transformed from crs to EPSG:4326 lon/lat, keeping Z values and missing entries."""
    transformer = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    kinds = shapely.get_type_id(geometries)
    if np.all(kinds <= 0) and not shapely.has_z(geometries).any():
        # Points only (-1 is missing): transforming x and y directly is several times faster.
        out = np.full(len(geometries), None, dtype=object)
        empty = (kinds == 0) & shapely.is_empty(geometries)
        present = (kinds == 0) & ~empty
        lon, lat = transformer.transform(
            shapely.get_x(geometries[present]), shapely.get_y(geometries[present])
        )
        out[present] = shapely.points(lon, lat)
        out[empty] = geometries[empty]
        return out

    def lon_lat(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0], out[:, 1] = transformer.transform(coords[:, 0], coords[:, 1])
        return out

    return shapely.transform(geometries, lon_lat, include_z=None)


def _frame(
    attributes: pd.DataFrame,
    fids: np.ndarray,
    geometries: np.ndarray | _PointCoordinates,
    crs: SourceCRS | None,
    label: str,
    expected_bounds: Bounds | None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    n = len(attributes)
    if isinstance(geometries, _PointCoordinates):
        geometries = geometries.build(crs.crs if crs else None)
    elif crs is not None and not crs.crs.equals(WGS84, ignore_axis_order=True):
        geometries = to_wgs84(geometries, crs.crs)
    head = pd.DataFrame({"row_number": np.arange(1, n + 1, dtype=np.int64), "source_fid": fids})
    frame = gpd.GeoDataFrame(
        pd.concat([head, attributes.reset_index(drop=True)], axis=1),
        geometry=gpd.GeoSeries(geometries, crs=WGS84),
    )
    if crs is None:
        return frame, []
    return frame, _checked(frame, crs, label, expected_bounds)


def _checked(
    frame: gpd.GeoDataFrame, crs: SourceCRS, label: str, expected_bounds: Bounds | None
) -> list[Problem]:
    return check_coordinates(
        frame.geometry.to_numpy(),
        crs,
        label,
        frame["row_number"].to_numpy(),
        frame["source_fid"].to_numpy(),  # made text only for the rows a problem names
        expected_bounds,
    )
