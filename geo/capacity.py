"""Unknown capacity (ANALYSIS.md (c), "Unknown capacity"): which capacities a run uses, and whether the
capacity-dependent measures mean anything.

Rule, for the assets of one run with capacities S_j (NaN = unknown, 0 = closed):
- with a default capacity C set: every unknown S_j is C, and the measures are computable;
- without one: the measures are computable only when no capacity is unknown. When any is, E2SFCA still runs with
  unknown = 1 (so the code path is one), but its results (A_i, a_i, g_i, U_n, G_n and the capacity totals) are
  reported as not computable: one invented capacity next to real ones skews every ratio it shares a catchment
  with, so a partial answer would mislead as much as a wholly invented one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geo.access import capacity_in_use
from geo.coverage import FloatArray

RANK_UNMET = "unmet_need"
RANK_UNCOVERED = "uncovered_need"


@dataclass(frozen=True)
class CapacityRule:
    """The capacities a run uses and whether its capacity-dependent measures are computable."""

    capacity: FloatArray  # S_j used: unknown -> the default, else -> 1 (only for the masked computation)
    unknown: NDArray[np.bool_]  # capacity unknown in the input
    default_capacity: float | None
    computable: bool

    @property
    def n_unknown(self) -> int:
        """How many assets' capacity is unknown in the input."""
        return int(self.unknown.sum())

    @property
    def n_defaulted(self) -> int:
        """How many assets were given the default capacity."""
        return self.n_unknown if self.default_capacity is not None else 0

    @property
    def reason(self) -> str | None:
        """Why the unmet-need measures are not computable (None when they are)."""
        if self.computable:
            return None
        return (
            f"capacity unknown for {self.n_unknown} of {len(self.unknown)} assets and no default capacity "
            "is set for the service type"
        )

    @property
    def ranked_by(self) -> str:
        """The per-neighbourhood measure to rank by: unmet need, or uncovered need when that is not computable."""
        return RANK_UNMET if self.computable else RANK_UNCOVERED


def capacity_rule(capacity: Sequence[float] | FloatArray, default_capacity: float | None) -> CapacityRule:
    """Apply the unknown-capacity rule (module doc) to capacities (NaN = unknown); refuses negative ones."""
    supply, unknown = capacity_in_use(capacity)
    if default_capacity is not None:
        if not math.isfinite(default_capacity) or default_capacity <= 0:
            raise ValueError(f"default capacity must be a number > 0, got {default_capacity!r}")
        supply = np.where(unknown, float(default_capacity), supply)
        return CapacityRule(supply, unknown, float(default_capacity), True)
    return CapacityRule(supply, unknown, None, not bool(unknown.any()))
