"""Area code and name columns as statistics offices spell them (ONS `LSOA11CD`/`LSOA11NM`, Eurostat `NUTS_ID`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

AreaRole = Literal["code", "name"]

# ONS and its kin: letters, a two-digit year, then CD (code) or NM (name): LSOA11CD, LAD22NM, WD23CD.
_YEARED = re.compile(r"^(?P<prefix>[a-z]{2,6})(?P<year>\d{2})(?P<role>cd|nm)$")
# Known area units without a year, or with a separator: lsoa_code, msoa_name, nuts_id, lau_name, oa21_cd.
_NAMED = re.compile(
    r"^(?P<prefix>oa|lsoa|msoa|dz|iz|wd|ward|lad|ltla|utla|cty|rgn|ctry|lau|nuts[0-3]?)_?(?P<year>\d{2,4})?_?"
    r"(?P<role>cd|code|id|nm|name)$"
)
# Finest first: the code of a file is its finest unit, the coarser ones are what it belongs to.
_RANK = {
    "oa": 0,
    "lsoa": 1,
    "dz": 1,
    "msoa": 2,
    "iz": 2,
    "wd": 3,
    "ward": 3,
    "lau": 3,
    "lad": 4,
    "ltla": 4,
    "utla": 5,
    "cty": 5,
    "nuts3": 6,
    "nuts": 6,
    "rgn": 7,
    "nuts2": 7,
    "nuts1": 8,
    "ctry": 9,
    "nuts0": 9,
}
_UNKNOWN_RANK = 5


@dataclass(frozen=True, slots=True)
class AreaColumn:
    """A column that names an area unit's code or name, e.g. LSOA11CD: unit 'lsoa', year '11', role 'code'."""

    column: str
    unit: str
    year: str
    role: AreaRole

    @property
    def rank(self) -> int:
        """How fine the unit is (0 = output areas); unknown units sit in the middle."""
        return _RANK.get(self.unit, _UNKNOWN_RANK)


def area_column(column: str, key: str) -> AreaColumn | None:
    """The area column `column` (compared by its key, e.g. 'lsoa11cd') stands for, or None."""
    found = _YEARED.match(key) or _NAMED.match(key)
    if found is None:
        return None
    role: AreaRole = "code" if found["role"] in ("cd", "code", "id") else "name"
    return AreaColumn(column, found["prefix"], found["year"] or "", role)


def choose_area_columns(
    areas: Sequence[AreaColumn],
) -> tuple[AreaColumn | None, AreaColumn | None, list[AreaColumn]]:
    """(code, name, tied codes): the finest unit's code and the name of the same unit and year.

    When two codes of the finest rank remain (LSOA11CD and LSOA21CD) none is chosen: they come back as tied.
    """
    codes = [a for a in areas if a.role == "code"]
    names = [a for a in areas if a.role == "name"]
    code: AreaColumn | None = None
    tied: list[AreaColumn] = []
    if codes:
        finest = min(a.rank for a in codes)
        best = [a for a in codes if a.rank == finest]
        if len(best) == 1:
            code = best[0]
        else:
            tied = best
    name: AreaColumn | None = None
    if code is not None:
        same = [a for a in names if (a.unit, a.year) == (code.unit, code.year)]
        name = same[0] if len(same) == 1 else None
    elif names and not tied:
        finest = min(a.rank for a in names)
        best = [a for a in names if a.rank == finest]
        name = best[0] if len(best) == 1 else None
    return code, name, tied
