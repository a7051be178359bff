"""What sort of place a facility is, told from words in its name when its source says only "community centre" or
"sports centre".

OpenStreetMap's `amenity=community_centre` and `leisure=sports_centre` hold very different places: a family centre,
a parish hall, a youth club or a music venue; a swimming pool, a basketball court or a dojo. Where an extract keeps
only the names, the venue kind (geo.vocab.VENUE_KINDS) is read from German and English words in the name, first
rule that matches wins; a name that says nothing keeps the broad kind.
"""

from __future__ import annotations

import re
from typing import Final

# broad kind -> (venue kind, pattern over the case-folded name), most telling first
KINDS_BY_NAME: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "community_centre": (
        (
            "youth_centre",
            r"jugend|\bjfe\b|mädchen|maedchen|schüler|schueler|kinderfreizeit|kids|cvjm|teen|youth",
        ),
        ("senior_centre", r"senior"),
        ("family_centre", r"famili|kifaz|alleinerziehend|eltern"),
        (
            "place_of_worship",
            r"kirche|church|pfarrei|parish|königreichssaal|moschee|mosque|synagog|gemeindehaus|gemeindesaal|"
            r"gemeindebüro|markusgemeinde|studierendengemeinde|guten hirten",
        ),
        ("garden", r"(?<!tier)garten|garden"),  # not the Tiergarten district
        ("hall", r"saal\b|saal |event center|veranstaltung|\bhall\b"),
        (
            "office",
            r"bürgeramt|buergeramt|quartiersmanagement|agentur|beratung|büro\b|mieter|mediation|"
            r"beteiligung|koordination|advice",
        ),
        (
            "clubhouse",
            r"verein\b|vereinsheim|sportclub|schützen|tauch|schwimm|ruder|spvgg|fanprojekt|pfadfinder",
        ),
        ("makerspace", r"chaos computer|\blab\b|making|hackerspace|digitalwerkstatt|xhain|werkraum|technik"),
        (
            "cultural_centre",
            r"kultur|cultur|musik|music|theater|theatre|bühne|kunst|arts\b|institut|collegium|beatbox|kreativ|atelier",
        ),
    ),
    "sports_centre": (
        ("youth_centre", r"jugend"),
        ("clinic", r"therap|physio|ergo|kryo"),
        ("swimming_pool", r"schwimm|stadtbad|freibad|hallenbad|swimming"),
        ("sports_pitch", r"sportplatz|basketball|tennis|padel|modellflug|bogen|pitch|court"),
        (
            "fitness_studio",
            r"fitness|fit\b|fit |gym|yoga|pilates|dojo|aikido|karate|kampf|kung|tai ?chi|taiji|krav|wing|budo|box|"
            r"taekwondo|mma|studio|wellness|spa\b|vital|ladies|frauen|sporty|hapkido|jutsu|bjj|shaolin|lowkick|"
            r"randori|gesundheit",
        ),
        ("clubhouse", r"e\. ?v\b|verein|club|ruder|reit|schützen|sv |sg |tsv|turngemeinde"),
    ),
}


def venue_kind_from_name(name: str, broad_kind: str) -> str:
    """The venue kind a facility's name tells, for a `broad_kind` of KINDS_BY_NAME; else `broad_kind` itself."""
    folded = name.casefold()
    for kind, pattern in KINDS_BY_NAME.get(broad_kind, ()):
        if re.search(pattern, folded):
            return kind
    return broad_kind
