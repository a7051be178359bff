"""What an import is asked to do: the request and its checks, and what its run records before the file is read."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from app.db.models import City
from app.errors import InvalidInput
from app.services.imports import join
from geo.io.stage import display_name
from geo.layers import LAYERS

ProgressHook = Callable[[str], None]


# Progress stages in order (a load skips those it has no use for): read and check the file, type and encode the rows,
# find their neighbourhoods, write the new ones, update the changed ones, record the history, re-locate items after
# new boundaries, commit.
STAGES = ("read", "validate", "stage", "locate", "write", "update", "history", "relocate", "commit")


SOURCE_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$")


_LABEL_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ImportRequest:
    """What to import and how: target city and layer, reading options, field mapping and what to do with errors."""

    city: str | int
    layer: str
    crs: str | None = None
    encoding: str | None = None
    gpkg_layer: str | None = None
    mapping: Mapping[str, str] | None = None
    defaults: Mapping[str, Any] | None = None
    source: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    where: str | None = None
    clip: str | None = None
    clip_buffer_m: float | None = None
    join: str | None = None  # "code=COLUMN": update existing neighbourhoods from a table instead
    sheet: str | None = None  # the sheet of an XLSX workbook (default: the first)


@dataclass
class _Pending:
    """What an import run will record, known before the file is read (so a failure can be recorded too)."""

    city_id: int
    layer: str
    filename: str
    sha256: str
    options: dict[str, Any]
    user_id: int | None
    files: list[dict[str, Any]]
    report: dict[str, Any] = field(default_factory=dict)


def _check_layer(layer: str) -> str:
    if layer not in LAYERS:
        raise InvalidInput(
            f"unknown layer {str(layer)[:40]!r}: use one of {', '.join(LAYERS)}", field="layer"
        )
    return layer


def _fields_by_case(request: ImportRequest) -> ImportRequest:
    """Target fields named in another case (`--map NAME=...`) spelled as the layer spells them."""
    fields = {name.casefold(): name for name in LAYERS[request.layer].field_names}

    def spelled(given: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if not isinstance(given, Mapping):
            return given
        return {fields.get(str(k).casefold(), k) if isinstance(k, str) else k: v for k, v in given.items()}

    return replace(request, mapping=spelled(request.mapping), defaults=spelled(request.defaults))


def _check_request(request: ImportRequest) -> None:
    if request.join is not None:
        join.check_join_layer(request.layer)
        if request.defaults:
            raise InvalidInput(
                "a join updates fields from the table's columns and takes no defaults: leave out --default",
                field="defaults",
            )
        if request.clip is not None:
            raise InvalidInput(
                "a join matches the table's rows by code and ignores their geometry: leave out --clip (use --where "
                "to keep only some rows, e.g. --where \"sex = 'Persons'\")",
                field="clip",
            )
    fields = set(LAYERS[request.layer].field_names)
    for name, given in (("mapping", request.mapping), ("defaults", request.defaults)):
        if given is None:
            continue
        if not isinstance(given, Mapping):
            raise InvalidInput(f"{name} must be an object of target field -> value", field=name)
        unknown = [str(k)[:60] for k in given if k not in fields]
        if unknown:
            raise InvalidInput(
                f"{request.layer} has no field {', '.join(repr(u) for u in unknown)}: its fields are "
                f"{', '.join(LAYERS[request.layer].field_names)}",
                field=name,
            )
    if request.mapping is not None and not all(isinstance(v, str) for v in request.mapping.values()):
        raise InvalidInput("mapping values must be column names (text)", field="mapping")
    if request.defaults is not None and not all(
        v is None or isinstance(v, (str, int, float, bool)) for v in request.defaults.values()
    ):
        raise InvalidInput("defaults must be plain values (text, numbers, true/false)", field="defaults")
    if request.source is not None and not SOURCE_LABEL.match(request.source):
        raise InvalidInput(
            "source must be a label of letters, digits and . _ - : (at most 100 characters), e.g. register-2024",
            field="source",
        )


def default_source_label(names: Sequence[str]) -> str:
    """The import's source label when none is given: the first file's name without extension, made safe."""
    base = re.split(r"[/\\]", names[0])[-1] if names else ""
    stem = base.rsplit(".", 1)[0] if "." in base[1:] else base
    label = _LABEL_CHARS.sub("-", stem).strip("-._")[:100]
    return label if label and SOURCE_LABEL.match(label) else "import"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _pending(
    city: City, layer: str, request: ImportRequest, paths: list[Path], names: list[str], user_id: int | None
) -> _Pending:
    files: list[dict[str, Any]] = []
    digests: list[str] = []
    for path, name in zip(paths, names, strict=True):
        if not path.is_file():
            raise InvalidInput(f"{display_name(name)} is not a readable file", field="file")
        digests.append(_sha256(path))
        files.append({"name": display_name(name), "bytes": path.stat().st_size, "sha256": digests[-1]})
    # One file: its own digest. A loose shapefile's parts: a digest of the sorted part digests.
    sha256 = (
        digests[0] if len(digests) == 1 else hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()
    )
    options = {
        "crs": request.crs,
        "encoding": request.encoding,
        "gpkg_layer": request.gpkg_layer,
        "mapping": dict(request.mapping) if request.mapping else None,
        "defaults": dict(request.defaults) if request.defaults else None,
        "source": request.source or default_source_label(names),
        "dry_run": request.dry_run,
        "skip_invalid": request.skip_invalid,
        "join": request.join,
        "sheet": request.sheet,
    }
    filename = ", ".join(display_name(name) for name in names)
    return _Pending(
        city.id,
        layer,
        filename if len(filename) <= 300 else filename[:297] + "...",
        sha256,
        options,
        user_id,
        files,
    )
