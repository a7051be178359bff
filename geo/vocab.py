"""The shared vocabulary: ABCD categories, enumerations and population groups used by geo/ and app/."""

from __future__ import annotations

from typing import Final

ASSET_CATEGORIES: Final = ("individual", "association", "institution", "physical_space", "economy", "culture")
OWNERSHIPS: Final = ("public", "community", "charity", "private")
NEED_SOURCES: Final = ("survey", "ethnographic_observation", "statistic", "organiser_report")
RESOURCE_KINDS: Final = ("funding", "volunteers", "space", "equipment", "skills")
LINK_KINDS: Final = ("partnership", "referral", "shared_space", "funding", "volunteers")
REVIEW_STATUSES: Final = ("pending", "approved", "rejected")

# Age bands of the Berlin population tables (Amt für Statistik Berlin-Brandenburg), plus the two other counts given.
POPULATION_BANDS: Final = (
    "under_6",
    "6_15",
    "15_18",
    "18_27",
    "27_45",
    "45_55",
    "55_65",
    "over_65",
)
POPULATION_EXTRA: Final = ("female", "foreigners")

# A service type names the group it serves; a group is the sum of one or more stored counts. "all" is the total.
POPULATION_GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "all": ("total",),
    **{band: (band,) for band in POPULATION_BANDS},
    "6_18": ("6_15", "15_18"),
    "15_27": ("15_18", "18_27"),
    "under_18": ("under_6", "6_15", "15_18"),
    "18_65": ("18_27", "27_45", "45_55", "55_65"),
    "female": ("female",),
    "foreigners": ("foreigners",),
}


def group_population_columns(group: str) -> tuple[str, ...]:
    """Return the stored population counts whose sum is `group` ('total' means all residents)."""
    try:
        return POPULATION_GROUPS[group]
    except KeyError:
        known = ", ".join(sorted(POPULATION_GROUPS))
        raise ValueError(f"unknown population group {group!r}: use one of {known}") from None
