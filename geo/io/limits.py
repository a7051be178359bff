"""Budgets that bound what one import may unpack and read."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """Upper bounds for one import; the app builds one from its settings, tests shrink them."""

    max_members: int = 64
    max_total_bytes: int = 2 * GIB
    max_member_ratio: float = 200.0
    max_total_ratio: float = 200.0
    # Small members compress extremely well when they are padding (a DBF of blanks), so ratios are only
    # enforced above this size; a bomb needs size to hurt.
    ratio_floor_bytes: int = 1024 * 1024
    max_features: int = 5_000_000
