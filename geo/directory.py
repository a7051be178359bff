"""The services directory's pure parts (docs/DIRECTORY.md): costs per month, eligibility, schedules and ranking.

Nothing here touches the database: app/services/directory/ reads offers and hands them in as `Offer` values.
Schedules are OpenStreetMap `opening_hours` expressions, parsed and evaluated by the `opening-hours-py` library
in the city's IANA time zone, so "open at 09:30 on the Monday after the clocks change" is read in local time.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import opening_hours
from opening_hours import OpeningHours

# the parser's own error (not in the library's type stubs), and what its docs say it raises
PARSE_ERRORS: tuple[type[Exception], ...] = (
    getattr(opening_hours, "ParserError", SyntaxError),
    SyntaxError,
    ValueError,
)
COST_KINDS = ("free", "fixed", "range")
COST_PERIODS = ("session", "month")
# how many sessions a month a per-session price is counted for when neither the offer nor the question says
DEFAULT_SESSIONS_PER_MONTH = 4.0
# offers closer than this to each other count as equally near: within a band the cheaper one ranks first
DISTANCE_BAND_M = 250.0
MAX_SESSIONS_PER_MONTH = 100.0

# The age range (first and last year of age, None: open) of each age population group of geo.vocab.
GROUP_AGES: dict[str, tuple[int | None, int | None]] = {
    "under_6": (None, 5),
    "6_15": (6, 14),
    "15_18": (15, 17),
    "18_27": (18, 26),
    "27_45": (27, 44),
    "45_55": (45, 54),
    "55_65": (55, 64),
    "over_65": (65, None),
    "6_18": (6, 17),
    "15_27": (15, 26),
    "under_18": (None, 17),
    "18_65": (18, 64),
}
# groups that are not ages: the person says they belong (female, foreigners)
GROUPS_DECLARED = ("female", "foreigners")


class DirectoryInputError(ValueError):
    """A value of an offer or a question that cannot be used; `field` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Cost:
    """What a service costs: free, a fixed price or a range, per session or per month, in a currency."""

    kind: str = "free"
    period: str | None = None
    low: float | None = None
    high: float | None = None
    currency: str | None = None
    sessions_per_month: float | None = None


def check_cost(cost: Cost) -> Cost:
    """The cost if it is consistent, else DirectoryInputError naming the field to fix."""
    if cost.kind not in COST_KINDS:
        raise DirectoryInputError(
            f"cost kind must be one of {', '.join(COST_KINDS)}, got {cost.kind!r}", "cost_kind"
        )
    if cost.kind == "free":
        if cost.low is not None or cost.high is not None or cost.period is not None:
            raise DirectoryInputError(
                "a free service has no price, period or range: leave them out", "cost_kind"
            )
        return cost
    if cost.period not in COST_PERIODS:
        raise DirectoryInputError(
            f"a priced service needs cost_period, one of {', '.join(COST_PERIODS)}", "cost_period"
        )
    if (
        cost.currency is None
        or len(cost.currency) != 3
        or not cost.currency.isalpha()
        or not cost.currency.isupper()
    ):
        raise DirectoryInputError("a priced service needs currency, an ISO 4217 code such as EUR", "currency")
    for name, value in (("cost_min", cost.low), ("cost_max", cost.high)):
        if value is not None and (not math.isfinite(value) or value < 0 or value > 99_999_999):
            raise DirectoryInputError(f"{name} must be a number from 0 to 99,999,999, got {value!r}", name)
    if cost.low is None:
        raise DirectoryInputError(
            "a priced service needs cost_min (the price, or the lower end of a range)", "cost_min"
        )
    if cost.kind == "fixed" and cost.high is not None:
        raise DirectoryInputError(
            "a fixed price has no cost_max: use cost_kind 'range' for a range", "cost_max"
        )
    if cost.kind == "range" and (cost.high is None or cost.high < cost.low):
        raise DirectoryInputError("a range needs cost_max at least cost_min", "cost_max")
    if cost.sessions_per_month is not None and not (0 < cost.sessions_per_month <= MAX_SESSIONS_PER_MONTH):
        raise DirectoryInputError(
            f"sessions_per_month must be > 0 and at most {MAX_SESSIONS_PER_MONTH:g}", "sessions_per_month"
        )
    return cost


@dataclass(frozen=True, slots=True)
class MonthlyCost:
    """A cost per month: its lower and upper end (equal for a fixed price) and how it was worked out."""

    low: float
    high: float
    currency: str | None
    basis: str


def monthly_cost(cost: Cost, sessions_per_month: float | None = None) -> MonthlyCost:
    """The cost per month. A per-session price counts the offer's own sessions a month, else `sessions_per_month`,
    else DEFAULT_SESSIONS_PER_MONTH; the basis says which."""
    if cost.kind == "free":
        return MonthlyCost(0.0, 0.0, cost.currency, "free")
    low = float(cost.low or 0.0)
    high = float(cost.high if cost.high is not None else low)
    if cost.period == "month":
        return MonthlyCost(low, high, cost.currency, "per month")
    if cost.sessions_per_month is not None:
        sessions, whose = cost.sessions_per_month, "the service's"
    elif sessions_per_month is not None:
        sessions, whose = sessions_per_month, "the question's"
    else:
        sessions, whose = DEFAULT_SESSIONS_PER_MONTH, "the default"
    basis = f"per session x {sessions:g} sessions a month ({whose})"
    return MonthlyCost(round(low * sessions, 2), round(high * sessions, 2), cost.currency, basis)


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who may use a service: an age range (years, both ends included), a population group, and whether residency
    in the city or a referral is required."""

    min_age: int | None = None
    max_age: int | None = None
    population_group: str | None = None
    residency_required: bool = False
    referral_required: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    """Who is asking: an age, the declared groups (female, foreigners), residency and referral."""

    age: int | None = None
    groups: frozenset[str] = field(default_factory=frozenset)
    resident: bool = True
    has_referral: bool = False


def check_eligibility(rule: Eligibility, known_groups: tuple[str, ...]) -> Eligibility:
    """The rule if consistent, else DirectoryInputError."""
    for name, value in (("min_age", rule.min_age), ("max_age", rule.max_age)):
        if value is not None and not 0 <= value <= 130:
            raise DirectoryInputError(f"{name} must be a whole number of years from 0 to 130", name)
    if rule.min_age is not None and rule.max_age is not None and rule.min_age > rule.max_age:
        raise DirectoryInputError("min_age must not be above max_age", "max_age")
    if rule.population_group is not None and rule.population_group not in known_groups:
        raise DirectoryInputError(
            f"unknown population group {rule.population_group!r}: use one of {', '.join(sorted(known_groups))}",
            "population_group",
        )
    return rule


def eligibility_problems(rule: Eligibility, person: Person) -> list[str]:
    """Why this person may not use the service (empty: they may). An unknown age fits any age rule."""
    problems = []
    age = person.age
    if age is not None:
        if rule.min_age is not None and age < rule.min_age:
            problems.append(f"from age {rule.min_age}")
        if rule.max_age is not None and age > rule.max_age:
            problems.append(f"up to age {rule.max_age}")
    group = rule.population_group
    if group is not None and group != "all":
        if group in GROUP_AGES:
            first, last = GROUP_AGES[group]
            if age is not None and ((first is not None and age < first) or (last is not None and age > last)):
                problems.append(f"for the group {group}")
        elif group not in person.groups:
            problems.append(f"for the group {group}")
    if rule.residency_required and not person.resident:
        problems.append("residents only")
    if rule.referral_required and not person.has_referral:
        problems.append("referral required")
    return problems


def city_zone(name: str | None) -> ZoneInfo:
    """The IANA zone a city's schedules are read in (None: UTC)."""
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DirectoryInputError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin", "time_zone"
        ) from None


def check_time_zone(name: str) -> str:
    """An IANA time zone name, else DirectoryInputError."""
    city_zone(name)
    return name


def parse_schedule(expression: str, zone: ZoneInfo | None = None, country: str | None = None) -> OpeningHours:
    """An OpenStreetMap opening_hours expression parsed in `zone` (public holidays of `country`, an ISO code)."""
    text = expression.strip()
    if not text or len(text) > 1000:
        raise DirectoryInputError(
            "opening_hours must be 1 to 1,000 characters of OSM opening_hours syntax", "opening_hours"
        )
    try:
        return OpeningHours(text, timezone=zone, country=country, auto_country=False, auto_timezone=False)
    except PARSE_ERRORS as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "not understood"
        raise DirectoryInputError(
            f"opening_hours is not OpenStreetMap opening_hours syntax (e.g. 'Mo-Fr 09:00-17:00; PH off'): {first}",
            "opening_hours",
        ) from None


@dataclass(frozen=True, slots=True)
class OpenState:
    """Whether a service is open at a moment, read in the city's zone, and when that next changes."""

    state: str  # open, closed, unknown
    at: dt.datetime
    next_change: dt.datetime | None


def open_at(expression: str, when: dt.datetime, zone: ZoneInfo, country: str | None = None) -> OpenState:
    """The state of a schedule at `when` (an aware moment, or a naive wall-clock time in `zone`)."""
    schedule = parse_schedule(expression, zone, country)
    local = when.replace(tzinfo=zone) if when.tzinfo is None else when.astimezone(zone)
    state = schedule.state(local)[0]
    name = str(getattr(state, "name", state)).lower().removeprefix("state.")
    change = schedule.next_change(local)
    return OpenState(name, local, change.astimezone(zone) if change is not None else None)


# Country names as the cities table holds them, to ISO codes for public holidays (PH) in schedules.
COUNTRY_CODES = {
    "germany": "DE",
    "deutschland": "DE",
    "united kingdom": "GB",
    "england": "GB",
    "uk": "GB",
    "france": "FR",
    "austria": "AT",
    "netherlands": "NL",
    "switzerland": "CH",
}


def country_code(country: str | None) -> str | None:
    """An ISO country code for public holidays from a city's country (an ISO code already, or a known name)."""
    if not country:
        return None
    text = country.strip()
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return COUNTRY_CODES.get(text.lower())


def rank_key(distance_m: float, monthly_low: float, name: str) -> tuple[float, float, float, str]:
    """The order of the budget answer: by distance band of DISTANCE_BAND_M, then cost per month, then distance."""
    return (math.floor(distance_m / DISTANCE_BAND_M), monthly_low, distance_m, name)
