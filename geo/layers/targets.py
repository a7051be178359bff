"""The four importable layers (LAYERS): their fields, limits and the source names each field answers to."""

from __future__ import annotations

from geo.io.errors import MappingError
from geo.layers.schema import FieldSpec, LayerSchema
from geo.vocab import (
    ASSET_CATEGORIES,
    NEED_SOURCES,
    OWNERSHIPS,
    POPULATION_BANDS,
    RESOURCE_KINDS,
    VENUE_KINDS,
)

_BAND_WORDS = {
    "under_6": ("below_6", "unter_6", "0_6"),
    "over_65": ("above_65", "ueber_65", "65_plus", "65plus"),
}


def _population_fields() -> tuple[FieldSpec, ...]:
    specs = []
    for band in POPULATION_BANDS:
        words = (band, *_BAND_WORDS.get(band, ()))
        synonyms = tuple(
            f"{prefix}{word}"
            for word in words
            for prefix in ("inhabitants_age_", "population_", "age_", "einwohner_", "ew_", "pop_age_")
        )
        specs.append(FieldSpec(f"pop_{band}", "int", minimum=0, synonyms=synonyms))
    specs.append(
        FieldSpec(
            "pop_female",
            "int",
            minimum=0,
            synonyms=("inhabitants_female", "female", "women", "frauen", "weiblich", "population_female"),
        )
    )
    specs.append(
        FieldSpec(
            "pop_foreigners",
            "int",
            minimum=0,
            synonyms=(
                "inhabitants_foreigners",
                "foreigners",
                "auslaender",
                "population_foreigners",
                "non_citizens",
            ),
        )
    )
    return tuple(specs)


# What a neighbourhood row stands for: a district holds neighbourhoods; an area is any other unit.
NEIGHBOURHOOD_LEVELS = ("district", "neighbourhood", "area")
_TEXT = 300
_LONG_TEXT = 10_000
_SOURCE_ID = FieldSpec(
    "source_id",
    "code",
    max_length=200,
    synonyms=("id", "osm_id", "objectid", "object_id", "uid", "uuid", "external_id", "ref", "key"),
)
_DESCRIPTION = FieldSpec(
    "description",
    "text",
    max_length=_LONG_TEXT,
    synonyms=(
        "beschreibung",
        "desc",
        "notes",
        "note",
        "details",
        "comment",
        "comments",
        "bemerkung",
        "hinweis",
    ),
)

LAYERS: dict[str, LayerSchema] = {
    "neighbourhoods": LayerSchema(
        name="neighbourhoods",
        geometry="polygon",
        geometry_optional=False,
        key="code",
        fields=(
            FieldSpec(
                "code",
                "code",
                required=True,
                max_length=64,
                synonyms=(
                    "id",
                    "lor",
                    "lor_code",
                    "schluessel",
                    "key",
                    "nummer",
                    "nr",
                    "plr_id",
                    "bzr_id",
                    "pgr_id",
                    "prr_id",
                    "area_id",
                    "area_code",
                    "neighbourhood_code",
                    "neighborhood_code",
                    "gebiet_id",
                    # German statistics offices: Amtlicher Gemeinde- / Regionalschluessel, Stadtteil numbers.
                    "ags",
                    "ars",
                    "gemeindeschluessel",
                    "gemeinde_schluessel",
                    "regionalschluessel",
                    "stadtteil_nr",
                    "stadtteilnummer",
                    "stadtteil_id",
                    # Dutch CBS wijk- en buurtkaart, finest unit first.
                    "buurtcode",
                    "bu_code",
                    "wijkcode",
                    "wk_code",
                    "gemeentecode",
                    "gm_code",
                ),
                area="code",
            ),
            FieldSpec(
                "name",
                "text",
                required=True,
                max_length=_TEXT,
                synonyms=(
                    "bezeichnung",
                    "title",
                    "titel",
                    "label",
                    "neighbourhood",
                    "neighborhood",
                    "plr_name",
                    "bzr_name",
                    "pgr_name",
                    "prr_name",
                    "gebiet",
                    "ortsteil",
                    "kiez",
                    "gemeinde_name",
                    "gemeindename",
                    "gemeinde",
                    "gen",
                    "stadtteil_name",
                    "stadtteilname",
                    "stadtteil",
                    "buurtnaam",
                    "bu_naam",
                    "wijknaam",
                    "wk_naam",
                    "gemeentenaam",
                    "gm_naam",
                    "area_name",
                    "areaname",
                    "neighbourhood_name",
                    "neighborhood_name",
                ),
                area="name",
            ),
            FieldSpec(
                "level",
                "choice",
                choices=NEIGHBOURHOOD_LEVELS,
                synonyms=("ebene", "area_level", "admin_level"),
                value_synonyms={"bezirk": "district", "ortsteil": "neighbourhood", "kiez": "neighbourhood"},
            ),
            FieldSpec(
                "parent_code",
                "code",
                max_length=64,
                synonyms=(
                    "parent",
                    "parent_id",
                    "bezirk",
                    "bezirk_id",
                    "bez",
                    "district",
                    "district_code",
                    "district_id",
                ),
            ),
            FieldSpec(
                "population",
                "int",
                minimum=0,
                synonyms=(
                    "einwohner",
                    "inhabitants",
                    "residents",
                    "ew",
                    "pop",
                    "einwohnerzahl",
                    "ew_gesamt",
                    "population_total",
                    "total_population",
                    "all_ages",
                    "all_persons",
                ),
            ),
            *_population_fields(),
        ),
    ),
    "assets": LayerSchema(
        name="assets",
        geometry="point",
        geometry_optional=False,
        key="source_id",
        fields=(
            _SOURCE_ID,
            FieldSpec(
                "name",
                "text",
                required=True,
                max_length=_TEXT,
                synonyms=(
                    "bezeichnung",
                    "title",
                    "titel",
                    "label",
                    "einrichtung",
                    "facility",
                    "organisation",
                    "organization",
                ),
            ),
            FieldSpec(
                "category",
                "choice",
                required=True,
                choices=ASSET_CATEGORIES,
                synonyms=("kategorie", "asset_category", "abcd_category", "categ"),
                value_synonyms={
                    "person": "individual",
                    "people": "individual",
                    "individuals": "individual",
                    "associations": "association",
                    "verein": "association",
                    "club": "association",
                    "institutions": "institution",
                    "einrichtung": "institution",
                    "space": "physical_space",
                    "place": "physical_space",
                    "physical": "physical_space",
                    "business": "economy",
                    "economic": "economy",
                    "local_economy": "economy",
                    "cultural": "culture",
                    "kultur": "culture",
                },
            ),
            _DESCRIPTION,
            FieldSpec(
                "service_types",
                "slug_list",
                synonyms=(
                    "services",
                    "service_type",
                    "service",
                    "angebote",
                    "angebot",
                    "leistungen",
                    "offers",
                ),
            ),
            FieldSpec(
                "capacity",
                "float",
                minimum=0,
                synonyms=("kapazitaet", "plaetze", "places", "seats", "spaces", "capacity_total"),
            ),
            FieldSpec("capacity_unit", "text", max_length=50, synonyms=("unit", "einheit")),
            FieldSpec(
                "ownership",
                "choice",
                choices=OWNERSHIPS,
                synonyms=("owner_type", "traegerschaft", "traeger", "eigentum", "traegerart"),
                value_synonyms={
                    "council": "public",
                    "municipal": "public",
                    "oeffentlich": "public",
                    "state": "public",
                    "ngo": "charity",
                    "nonprofit": "charity",
                    "non_profit": "charity",
                    "gemeinnuetzig": "charity",
                    "commercial": "private",
                    "privat": "private",
                    "business": "private",
                    "gemeinschaft": "community",
                },
            ),
            FieldSpec(
                "contact",
                "text",
                max_length=500,
                synonyms=("kontakt", "contact_info", "email", "e_mail", "phone", "telefon"),
            ),
            FieldSpec(
                "opening_hours", "text", max_length=500, synonyms=("oeffnungszeiten", "hours", "opening")
            ),
            FieldSpec("verified", "bool", synonyms=("geprueft", "checked", "confirmed")),
            FieldSpec("sensitive", "bool", synonyms=("private", "vertraulich", "confidential")),
            # What sort of place it is (geo.vocab.VENUE_KINDS): what makes it a venue for site suggestion.
            FieldSpec(
                "kind",
                "choice",
                choices=tuple(VENUE_KINDS),
                synonyms=("venue_kind", "place_kind", "kind_of_place", "ortsart", "art_des_ortes"),
                value_synonyms={
                    "community_center": "community_centre",
                    "neighbourhood_centre": "community_centre",
                    "stadtteilzentrum": "community_centre",
                    "nachbarschaftshaus": "community_centre",
                    "family_center": "family_centre",
                    "familienzentrum": "family_centre",
                    "youth_center": "youth_centre",
                    "youth_club": "youth_centre",
                    "senior_center": "senior_centre",
                    "cultural_center": "cultural_centre",
                    "arts_centre": "cultural_centre",
                    "bibliothek": "library",
                    "schule": "school",
                    "kita": "kindergarten",
                    "nursery": "kindergarten",
                    "church": "place_of_worship",
                    "mosque": "place_of_worship",
                    "synagogue": "place_of_worship",
                    "temple": "place_of_worship",
                    "kirche": "place_of_worship",
                    "saal": "hall",
                    "sports_hall": "sports_centre",
                    "gym": "fitness_studio",
                    "pitch": "sports_pitch",
                    "spielplatz": "playground",
                },
            ),
        ),
    ),
    "needs": LayerSchema(
        name="needs",
        geometry="point_or_polygon",
        geometry_optional=False,
        key="source_id",
        fields=(
            FieldSpec(
                "source_id", "code", max_length=200, synonyms=("id", "need_id", "survey_id", "ref", "key")
            ),
            FieldSpec(
                "service_type",
                "slug",
                required=True,
                synonyms=("service", "need", "need_type", "bedarf", "bedarfsart", "thema", "topic"),
            ),
            FieldSpec(
                "people_affected",
                "int",
                minimum=0,
                synonyms=("affected", "persons", "people", "betroffene", "number_of_people", "anzahl"),
            ),
            FieldSpec(
                "severity",
                "int",
                minimum=1,
                maximum=5,
                synonyms=("dringlichkeit", "priority", "prioritaet", "urgency", "schwere"),
            ),
            FieldSpec(
                "source",
                "choice",
                choices=NEED_SOURCES,
                synonyms=("quelle", "origin", "method", "methode"),
                value_synonyms={
                    "ethnographic": "ethnographic_observation",
                    "observation": "ethnographic_observation",
                    "statistics": "statistic",
                    "stats": "statistic",
                    "umfrage": "survey",
                    "befragung": "survey",
                    "organizer_report": "organiser_report",
                    "organiser": "organiser_report",
                    "organizer": "organiser_report",
                },
            ),
            _DESCRIPTION,
            FieldSpec(
                "observed_on",
                "date",
                synonyms=("date", "datum", "observed", "observation_date", "erhoben_am", "survey_date"),
            ),
        ),
    ),
    "resources": LayerSchema(
        name="resources",
        geometry="point",
        geometry_optional=True,
        key="source_id",
        fields=(
            _SOURCE_ID,
            FieldSpec(
                "kind",
                "choice",
                required=True,
                choices=RESOURCE_KINDS,
                synonyms=("type", "art", "resource_type", "resource_kind", "ressource", "resource"),
                value_synonyms={
                    "money": "funding",
                    "funds": "funding",
                    "geld": "funding",
                    "foerderung": "funding",
                    "volunteer": "volunteers",
                    "ehrenamt": "volunteers",
                    "room": "space",
                    "rooms": "space",
                    "raum": "space",
                    "raeume": "space",
                    "skill": "skills",
                    "equipment_loan": "equipment",
                },
            ),
            FieldSpec("quantity", "float", minimum=0, synonyms=("menge", "amount", "anzahl", "count")),
            FieldSpec("unit", "text", max_length=50, synonyms=("einheit", "units")),
            FieldSpec("available_from", "date", synonyms=("from", "start", "start_date", "von", "ab")),
            FieldSpec("available_until", "date", synonyms=("until", "end", "end_date", "bis")),
            _DESCRIPTION,
            FieldSpec(
                "asset_source_id", "code", max_length=200, synonyms=("asset_id", "asset", "einrichtung_id")
            ),
            FieldSpec(
                "neighbourhood_code",
                "code",
                max_length=64,
                synonyms=(
                    "neighborhood_code",
                    "lor",
                    "lor_code",
                    "area_code",
                    "neighbourhood",
                    "neighborhood",
                ),
                area="code",
            ),
        ),
    ),
}


def layer_schema(layer: str) -> LayerSchema:
    """Return the schema of a target layer, or raise MappingError naming the layers."""
    try:
        return LAYERS[layer]
    except KeyError:
        raise MappingError(f"unknown layer {str(layer)[:60]!r}: use one of {', '.join(LAYERS)}") from None
