"""GDAL sources (shapefile, DBF, GeoPackage, GeoJSON) through pyogrio: the plan (layer, encoding, CRS,
limits) and the read of attributes and WKB (by Arrow when pyarrow is installed)."""

from __future__ import annotations

import importlib.util
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.io.dbf import decide_dbf_encoding
from geo.io.detect import Dataset
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
from geo.io.geometries import _geometries_from_wkb, _PointCoordinates
from geo.io.limits import ImportLimits
from geo.io.source_crs import (
    WGS84,
    SourceCRS,
    crs_from_gdal,
    crs_from_geojson_member,
    crs_from_prj,
    geojson_crs_member,
    make_source_crs,
)
from geo.io.stage import HEAD_BYTES

RESERVED_COLUMNS = ("row_number", "source_fid", "geometry")
_GDAL_DRIVERS = {"shapefile": "ESRI Shapefile", "dbf": "ESRI Shapefile", "gpkg": "GPKG", "geojson": "GeoJSON"}
# Python codec names that GDAL's recoder spells differently; codecs it cannot do at all are read through latin-1.
_GDAL_CODEC_NAMES = {"utf-8": "UTF-8", "mac_roman": "MACINTOSH", "mac_cyrillic": "MACCYRILLIC"}
_GDAL_NATIVE_CODEC = re.compile(r"^(cp\d+|iso8859-\d+)$")


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
    # The geometry stays an Arrow column: points are decoded straight from its buffers.
    wkb = table.column(table.num_columns - 1) if has_geometry else None
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
