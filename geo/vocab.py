"""The shared vocabulary: ABCD categories, enumerations and population groups used by geo/ and app/."""

from __future__ import annotations

from typing import Final

ASSET_CATEGORIES: Final = ("individual", "association", "institution", "physical_space", "economy", "culture")
OWNERSHIPS: Final = ("public", "community", "charity", "private")
NEED_SOURCES: Final = ("survey", "ethnographic_observation", "statistic", "organiser_report")
RESOURCE_KINDS: Final = ("funding", "volunteers", "space", "equipment", "skills")
LINK_KINDS: Final = ("partnership", "referral", "shared_space", "funding", "volunteers")
REVIEW_STATUSES: Final = ("pending", "approved", "rejected")

# Community-rights cases (app/services/cases/rules.py has the rules, docs/CASES.md the sources).
CASE_KINDS: Final = ("acv", "challenge", "transfer")
PERIOD_UNITS: Final = ("days", "weeks", "months", "years")
COMMUNITY_BODY_KINDS: Final = (
    "parish_council",
    "neighbourhood_forum",
    "charity",
    "community_interest_company",
    "community_group",  # unincorporated, at least 21 members on the local electoral roll (ACV)
    "voluntary_body",
    "employees",  # of the authority (Right to Challenge)
    "other",
)

# The events each kind of case knows, in the order the process usually meets them; the first one opens the case.
EVENT_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "acv": (
        "nominated",
        "listed",
        "unsuccessful",
        "withdrawn",
        "review_requested",
        "review_upheld",
        "removed",
        "notice_of_sale",
        "bidder_request",
        "sale_completed",
    ),
    "challenge": (
        "expression_of_interest",
        "accepted",
        "modified",
        "rejected",
        "procurement_started",
        "procurement_ended",
        "withdrawn",
    ),
    "transfer": ("requested", "approved", "refused", "terms_agreed", "completed", "withdrawn"),
}
ALL_EVENT_KINDS: Final = tuple(dict.fromkeys(kind for kinds in EVENT_KINDS.values() for kind in kinds))
CASE_DOCUMENT_KINDS: Final = (
    "nomination",
    "decision",
    "notice",
    "review",
    "correspondence",
    "evidence",
    "other",
)

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
