"""RowProblems: the one collector of per-row problems used by field mapping, geometry checks and import checks."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from geo.io.errors import Problem, Severity


class RowProblems:
    """Problems of one check, each naming its row by number and id; remembers the rows refused by an error."""

    def __init__(self, row_numbers: np.ndarray, row_ids: np.ndarray) -> None:
        self.row_numbers = row_numbers
        self.row_ids = row_ids
        self.problems: list[Problem] = []
        self.refused = np.zeros(len(row_numbers), dtype=bool)

    @classmethod
    def for_frame(cls, frame: pd.DataFrame, key: str | None = None) -> RowProblems:
        """Rows named by row_number (else 1, 2, ...) and by their key (when given and set), else their source_fid."""
        n = len(frame)
        row_numbers = frame["row_number"].to_numpy() if "row_number" in frame else np.arange(1, n + 1)
        fids = (
            frame["source_fid"].astype(str)
            if "source_fid" in frame
            else pd.Series([None] * n, index=frame.index, dtype=object)
        )
        if key is not None and key in frame:
            keys = frame[key].astype(object)
            return cls(row_numbers, keys.where(keys.notna(), fids).to_numpy(dtype=object))
        return cls(row_numbers, fids.to_numpy(dtype=object))

    def add(
        self, mask: np.ndarray, field: str, reasons: str | Iterable[str], severity: Severity = "error"
    ) -> None:
        """Add a problem for each row where mask is true: one reason for all, or one reason per such row."""
        self.add_at(np.flatnonzero(mask), field, reasons, severity)

    def add_at(
        self, positions: np.ndarray, field: str, reasons: str | Iterable[str], severity: Severity = "error"
    ) -> None:
        """Add a problem for each row at these positions: one reason for all, or one reason per position."""
        texts = [reasons] * len(positions) if isinstance(reasons, str) else list(reasons)
        for position, text in zip(positions, texts, strict=True):
            row_id = self.row_ids[position]
            self.problems.append(
                Problem(
                    int(self.row_numbers[position]),
                    None if row_id is None else str(row_id),
                    field,
                    text,
                    severity,
                )
            )
        if severity == "error":
            self.refused[positions] = True

    def add_for_layer(self, field: str, reason: str, severity: Severity) -> None:
        """Add a problem of the whole layer (no row): a warning or note about a column or all geometries."""
        self.problems.append(Problem(None, None, field, reason, severity))
