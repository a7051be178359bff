"""Inputs copied or unpacked into a fresh private folder under generated names, so no user name reaches GDAL."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from geo.io.errors import ImportProblem, SourceTooLargeError
from geo.io.limits import ImportLimits
from geo.io.safe_zip import check_unpacked_reading, extract_zip, looks_like_zip
from geo.io.spreadsheet import is_xlsx

HEAD_BYTES = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A file inside the work folder: generated path, the user's name (messages, grouping) and first bytes."""

    path: Path
    original_name: str
    size: int
    head: bytes

    @property
    def label(self) -> str:
        """The user's file name made safe to print: no control characters, bounded length."""
        return display_name(self.original_name)

    @property
    def basename(self) -> str:
        """The last component of the user's name ('dir/Roads.SHP' -> 'Roads.SHP')."""
        return re.split(r"[/\\]", self.original_name)[-1]

    @property
    def suffix(self) -> str:
        """The lower-case extension of the user's name, with the dot ('.shp'), or ''."""
        base = self.basename
        dot = base.rfind(".")
        return base[dot:].lower() if dot > 0 else ""

    @property
    def stem_key(self) -> str:
        """The user's name without its extension, lower-case: files of one shapefile share it."""
        name = self.original_name
        cut = len(name) - len(self.suffix) if self.suffix else len(name)
        return name[:cut].lower()


def display_name(name: str) -> str:
    """Return a user-given file name fit for a message: control characters replaced, at most 120 characters."""
    shown = _CONTROL.sub("?", name)
    return shown if len(shown) <= 120 else shown[:117] + "..."


@contextmanager
def work_folder(parent: Path | None = None) -> Iterator[Path]:
    """Create a fresh private folder for one import and remove it with everything in it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="assetmap-import-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(HEAD_BYTES)


def stage_inputs(
    paths: Sequence[Path], original_names: Sequence[str], folder: Path, limits: ImportLimits
) -> list[StagedFile]:
    """Copy loose files and unpack zips into folder under generated names; return them with their user names."""
    total = 0
    for path in paths:
        if not path.is_file():
            raise ImportProblem(f"{display_name(str(path))} is not a readable file")
        total += path.stat().st_size
    if total > limits.max_total_bytes:
        raise SourceTooLargeError(
            f"the upload has {total:,} bytes, more than the limit of {limits.max_total_bytes:,}: "
            "split the data or ask an administrator to raise the import size limit"
        )
    staged: list[StagedFile] = []
    for index, (path, name) in enumerate(zip(paths, original_names, strict=True)):
        head = _read_head(path)
        if looks_like_zip(head) and is_xlsx(path):
            # A workbook is a zip that its reader unpacks: checked like any archive, then kept whole.
            check_unpacked_reading(path, label=display_name(name), limits=limits)
        elif looks_like_zip(head):
            members = extract_zip(path, folder, label=display_name(name), limits=limits, prefix=f"zip{index}")
            for member in members:
                staged.append(
                    StagedFile(member.path, member.original_name, member.size, _read_head(member.path))
                )
            continue
        target = folder / f"input-{index:03d}"
        shutil.copyfile(path, target)
        staged.append(StagedFile(target, name, target.stat().st_size, head))
    return staged
