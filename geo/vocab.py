"""The shared vocabulary: ABCD categories, enumerations and population groups used by geo/ and app/."""

from __future__ import annotations

from typing import Final

ASSET_CATEGORIES: Final = ("individual", "association", "institution", "physical_space", "economy", "culture")
OWNERSHIPS: Final = ("public", "community", "charity", "private")
NEED_SOURCES: Final = ("survey", "ethnographic_observation", "statistic", "organiser_report")
RESOURCE_KINDS: Final = ("funding", "volunteers", "space", "equipment", "skills")
LINK_KINDS: Final = ("partnership", "referral", "shared_space", "funding", "volunteers")
REVIEW_STATUSES: Final = ("pending", "approved", "rejected")
# The stages of a commitment of a resource to a need (docs/MATCHING.md).
COMMITMENT_STAGES: Final = ("proposed", "agreed", "active", "done", "cancelled")

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


# What sort of place an asset is (asset.kind), and whether it is a room indoors or an open space. Site suggestion's
# default candidates ("venues", ANALYSIS.md (d)) are the places whose kind suits the service type.
INDOOR, OPEN = "indoor", "open"
VENUE_KINDS: Final[dict[str, str]] = {
    "community_centre": INDOOR,  # neighbourhood centre, Stadtteilzentrum, Kiezladen
    "family_centre": INDOOR,  # Familienzentrum, children's centre
    "youth_centre": INDOOR,  # youth club, Jugendfreizeiteinrichtung
    "senior_centre": INDOOR,  # day centre, Seniorenfreizeitstätte
    "cultural_centre": INDOOR,  # arts centre, Kulturhaus, music venue
    "library": INDOOR,
    "school": INDOOR,
    "kindergarten": INDOOR,  # nursery, Kita
    "place_of_worship": INDOOR,  # church, mosque, synagogue, parish hall
    "hall": INDOOR,  # a room or hall for hire, Bürgersaal
    "clinic": INDOOR,  # health centre, doctors' surgery
    "office": INDOOR,  # advice office, Bürgeramt, Quartiersmanagement
    "makerspace": INDOOR,  # workshop, fab lab, hackerspace
    "clubhouse": INDOOR,  # a sports or other club's own house
    "sports_centre": INDOOR,  # sports hall, climbing hall
    "swimming_pool": INDOOR,
    "fitness_studio": INDOOR,  # gym, dojo, yoga studio
    "sports_pitch": OPEN,  # pitch, court, sports ground
    "playground": OPEN,
    "park": OPEN,
    "garden": OPEN,  # community or school garden
}

# Which kinds of place suit each seeded service type (slugs of migration 0002): rooms indoors for childcare,
# learning, advice and older people; open spaces and sports halls for sport and play. Migration 0008 seeds it;
# it is edited per service type and per city (`assetmap venues set`, PUT /api/service-types/{slug}/venue-kinds).
DEFAULT_SERVICE_VENUE_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "food-support": ("community_centre", "family_centre", "senior_centre", "place_of_worship", "hall"),
    "childcare": ("family_centre", "kindergarten", "community_centre", "place_of_worship", "hall"),
    "schools": ("school", "community_centre", "hall"),
    "youth": (
        "youth_centre",
        "community_centre",
        "cultural_centre",
        "makerspace",
        "sports_centre",
        "clubhouse",
    ),
    "older-people": (
        "senior_centre",
        "community_centre",
        "family_centre",
        "place_of_worship",
        "hall",
        "library",
        "cultural_centre",
    ),
    "health": ("clinic", "community_centre", "family_centre", "senior_centre", "hall"),
    "learning": (
        "library",
        "school",
        "community_centre",
        "family_centre",
        "youth_centre",
        "senior_centre",
        "cultural_centre",
        "makerspace",
    ),
    "digital-inclusion": (
        "library",
        "community_centre",
        "youth_centre",
        "senior_centre",
        "family_centre",
        "makerspace",
        "school",
    ),
    "employment": ("community_centre", "office", "library", "youth_centre", "makerspace"),
    "housing-advice": ("office", "community_centre", "family_centre", "senior_centre", "library"),
    "sport-and-play": (
        "playground",
        "sports_pitch",
        "park",
        "sports_centre",
        "swimming_pool",
        "fitness_studio",
        "school",
        "clubhouse",
    ),
    "community-space": (
        "community_centre",
        "family_centre",
        "youth_centre",
        "senior_centre",
        "cultural_centre",
        "place_of_worship",
        "hall",
        "library",
        "clubhouse",
    ),
    "culture": ("cultural_centre", "community_centre", "library", "hall", "place_of_worship", "park"),
}


def venue_kind_label(kind: str) -> str:
    """A venue kind as words: community_centre -> "community centre"."""
    return kind.replace("_", " ")


def check_venue_kinds(kinds: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The kinds without repeats, in the order given; a ValueError naming the known kinds for one that is not."""
    unknown = [k for k in kinds if k not in VENUE_KINDS]
    if unknown:
        known = ", ".join(VENUE_KINDS)
        raise ValueError(f"unknown venue kind {', '.join(map(repr, unknown))}: use one of {known}")
    return tuple(dict.fromkeys(kinds))
