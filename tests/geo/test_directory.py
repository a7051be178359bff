"""The directory's pure rules: costs per month, eligibility, OSM opening hours in a city's zone (across a
daylight-saving change in Europe/Berlin), real-world opening_hours values, and the ranking order."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from geo import directory as rules
from geo.vocab import POPULATION_GROUPS

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
WEEKDAYS = "Mo-Fr 09:00-17:00; PH off"


def test_monthly_costs() -> None:
    assert rules.monthly_cost(rules.Cost()).high == 0.0
    fixed = rules.Cost("fixed", "month", 49.0, None, "EUR")
    assert (rules.monthly_cost(fixed).low, rules.monthly_cost(fixed).high) == (49.0, 49.0)
    per_session = rules.Cost("fixed", "session", 4.5, None, "EUR", sessions_per_month=20)
    assert rules.monthly_cost(per_session).low == 90.0
    # without the service's own count: the question's, else the default (4 a month)
    bare = rules.Cost("fixed", "session", 5.0, None, "EUR")
    assert rules.monthly_cost(bare, 10).low == 50.0 and "the question's" in rules.monthly_cost(bare, 10).basis
    assert rules.monthly_cost(bare).low == 5.0 * rules.DEFAULT_SESSIONS_PER_MONTH
    ranged = rules.Cost("range", "session", 0.0, 3.0, "EUR", sessions_per_month=8)
    assert (rules.monthly_cost(ranged).low, rules.monthly_cost(ranged).high) == (0.0, 24.0)


@pytest.mark.parametrize(
    ("cost", "field"),
    [
        (rules.Cost("free", "month", 3.0), "cost_kind"),
        (rules.Cost("fixed", None, 3.0, None, "EUR"), "cost_period"),
        (rules.Cost("fixed", "month", 3.0, None, "eur"), "currency"),
        (rules.Cost("fixed", "month", None, None, "EUR"), "cost_min"),
        (rules.Cost("fixed", "month", 3.0, 5.0, "EUR"), "cost_max"),
        (rules.Cost("range", "month", 5.0, 3.0, "EUR"), "cost_max"),
        (rules.Cost("range", "month", -1.0, 3.0, "EUR"), "cost_min"),
        (rules.Cost("fixed", "session", 3.0, None, "EUR", sessions_per_month=0), "sessions_per_month"),
        (rules.Cost("gratis"), "cost_kind"),
    ],
)
def test_inconsistent_costs_name_the_field(cost: rules.Cost, field: str) -> None:
    with pytest.raises(rules.DirectoryInputError) as caught:
        rules.check_cost(cost)
    assert caught.value.field == field


def test_eligibility() -> None:
    seventy = rules.Person(age=70)
    assert rules.eligibility_problems(rules.Eligibility(min_age=60), seventy) == []
    assert rules.eligibility_problems(rules.Eligibility(max_age=17), seventy) == ["up to age 17"]
    assert rules.eligibility_problems(rules.Eligibility(population_group="over_65"), seventy) == []
    assert rules.eligibility_problems(rules.Eligibility(population_group="15_27"), seventy) == [
        "for the group 15_27"
    ]
    assert rules.eligibility_problems(rules.Eligibility(population_group="female"), seventy) == [
        "for the group female"
    ]
    woman = rules.Person(age=70, groups=frozenset({"female"}))
    assert rules.eligibility_problems(rules.Eligibility(population_group="female"), woman) == []
    visitor = rules.Person(age=70, resident=False)
    assert rules.eligibility_problems(rules.Eligibility(residency_required=True), visitor) == [
        "residents only"
    ]
    assert rules.eligibility_problems(rules.Eligibility(referral_required=True), seventy) == [
        "referral required"
    ]
    referred = rules.Person(age=70, has_referral=True)
    assert rules.eligibility_problems(rules.Eligibility(referral_required=True), referred) == []
    # an unknown age fits any age rule; every age group of the vocabulary has its ages here
    assert rules.eligibility_problems(rules.Eligibility(min_age=60), rules.Person()) == []
    assert set(POPULATION_GROUPS) - {"all", *rules.GROUPS_DECLARED} <= set(rules.GROUP_AGES)
    with pytest.raises(rules.DirectoryInputError):
        rules.check_eligibility(rules.Eligibility(min_age=80, max_age=20), tuple(POPULATION_GROUPS))
    with pytest.raises(rules.DirectoryInputError):
        rules.check_eligibility(rules.Eligibility(population_group="martians"), tuple(POPULATION_GROUPS))


def test_open_at_across_the_spring_daylight_saving_change_in_berlin() -> None:
    # clocks went from 02:00 CET to 03:00 CEST on Sunday 29 March 2026
    friday_before = dt.datetime(2026, 3, 27, 8, 30, tzinfo=UTC)  # 09:30 CET
    monday_after = dt.datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # 09:30 CEST
    monday_early = dt.datetime(2026, 3, 30, 6, 30, tzinfo=UTC)  # 08:30 CEST: the same UTC time as 09:30 CET
    assert rules.open_at(WEEKDAYS, friday_before, BERLIN, "DE").state == "open"
    assert rules.open_at(WEEKDAYS, monday_after, BERLIN, "DE").state == "open"
    assert rules.open_at(WEEKDAYS, monday_early, BERLIN, "DE").state == "closed"
    state = rules.open_at(WEEKDAYS, monday_early, BERLIN, "DE")
    assert state.next_change == dt.datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN)
    assert state.next_change is not None and state.next_change.utcoffset() == dt.timedelta(hours=2)
    # closing time: 17:00 local is 16:00 UTC before the change and 15:00 UTC after
    assert rules.open_at(WEEKDAYS, dt.datetime(2026, 3, 27, 15, 30, tzinfo=UTC), BERLIN).state == "open"
    assert rules.open_at(WEEKDAYS, dt.datetime(2026, 3, 30, 15, 30, tzinfo=UTC), BERLIN).state == "closed"
    # a naive time is a wall-clock time in the city
    assert rules.open_at(WEEKDAYS, dt.datetime(2026, 3, 30, 9, 30), BERLIN).state == "open"


def test_open_at_across_the_autumn_change_and_on_a_public_holiday() -> None:
    # clocks went back from 03:00 CEST to 02:00 CET on Sunday 25 October 2026
    assert rules.open_at(WEEKDAYS, dt.datetime(2026, 10, 23, 15, 30, tzinfo=UTC), BERLIN).state == "closed"
    assert rules.open_at(WEEKDAYS, dt.datetime(2026, 10, 26, 15, 30, tzinfo=UTC), BERLIN).state == "open"
    night = "Mo-Su 01:00-03:00"  # 02:00-03:00 happens twice on the night of the change
    assert rules.open_at(night, dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), BERLIN).state == "open"
    christmas = dt.datetime(2026, 12, 25, 10, 0, tzinfo=BERLIN)  # a Friday, a German public holiday
    assert rules.open_at(WEEKDAYS, christmas, BERLIN, "DE").state == "closed"
    assert rules.open_at("Mo-Fr 09:00-17:00", christmas, BERLIN, "DE").state == "open"


@pytest.mark.parametrize(
    "expression",
    [
        "Mo-Fr 08:00-18:00; Sa 09:00-13:00",
        "Mo-Su 00:00-24:00",
        "24/7",
        "Tu-Su 10:00-18:00; Mo off",
        "Mo,We,Fr 09:00-12:00; Tu,Th 14:00-18:00",
        "Mo-Fr 08:00-12:00,13:00-17:00; Sa 08:00-12:00; PH off",
        "Apr-Oct Mo-Su 10:00-19:00; Nov-Mar Mo-Su 10:00-16:00",
        'Mo-Fr 09:00-17:00 "nach Vereinbarung"',
        "Mo-Sa 08:00-20:00; Su,PH off",
        "We[1] 18:00-20:00",
        "sunrise-sunset",
        "Mo-Fr 22:00-02:00",
    ],
)
def test_real_osm_values_parse(expression: str) -> None:
    rules.parse_schedule(expression, BERLIN, "DE")
    assert rules.open_at(expression, dt.datetime(2026, 6, 3, 11, tzinfo=BERLIN), BERLIN, "DE").state in {
        "open",
        "closed",
        "unknown",
    }


@pytest.mark.parametrize("expression", ["Mo-Fr 9-17 or so", "", "whenever", "Mo-Fr 25:00-26:00x"])
def test_bad_schedules_are_refused(expression: str) -> None:
    with pytest.raises(rules.DirectoryInputError) as caught:
        rules.parse_schedule(expression, BERLIN)
    assert caught.value.field == "opening_hours"


def test_time_zones_and_countries() -> None:
    assert rules.city_zone(None).key == "UTC" and rules.city_zone("Europe/Berlin").key == "Europe/Berlin"
    with pytest.raises(rules.DirectoryInputError):
        rules.city_zone("Mars/Olympus")
    assert rules.country_code("Germany") == "DE" and rules.country_code("gb") == "GB"
    assert rules.country_code("Atlantis") is None and rules.country_code(None) is None


def test_rank_by_distance_band_then_cost() -> None:
    rows = [
        (600.0, 0.0, "far free"),
        (100.0, 90.0, "near dear"),
        (200.0, 10.0, "near cheap"),
        (260.0, 0.0, "next"),
    ]
    ranked = sorted(rows, key=lambda r: rules.rank_key(*r))
    assert [r[2] for r in ranked] == ["near cheap", "near dear", "next", "far free"]
