"""The community-rights rules on real calendar dates: every deadline England's regime sets, and every event the
process refuses (app/services/cases/rules.py; no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.errors import InvalidInput, RefusedTransition
from app.http_errors import status_of
from app.services.cases.rules import (
    ENGLAND,
    Event,
    Period,
    default_regime,
    due_between,
    evaluate,
    regime_config,
    regime_from_config,
)

D = dt.date
TODAY = D(2031, 1, 1)


def acv(*events: tuple[str, dt.date], today: dt.date = TODAY, **kw: bool):  # type: ignore[no-untyped-def]
    return evaluate("acv", ENGLAND, [Event(k, d) for k, d in events], today)


def refused(kind: str, events: list[Event], today: dt.date = TODAY, regime=ENGLAND) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(RefusedTransition) as caught:
        evaluate(kind, regime, events, today)
    assert status_of(caught.value) == 409
    return caught.value.detail


# -- periods on the calendar


def test_a_period_of_weeks_within_and_beginning_with_the_day() -> None:
    # "within eight weeks of" 31 January 2027: 56 days after it, 28 March
    assert Period(8, "weeks", start_day_counts=False).last_day(D(2027, 1, 31)) == D(2027, 3, 28)
    # "six weeks beginning with" 15 January: that day is the first of 42, so the 42nd is 25 February
    assert Period(6, "weeks", start_day_counts=True).last_day(D(2027, 1, 15)) == D(2027, 2, 25)


def test_months_end_the_day_before_the_corresponding_date_or_on_the_last_day_of_a_short_month() -> None:
    six_months = Period(6, "months", start_day_counts=True)
    assert six_months.last_day(D(2027, 1, 15)) == D(2027, 7, 14)
    # 31 August has no corresponding day in February: the period ends on February's last day, 29th in 2028
    assert six_months.last_day(D(2027, 8, 31)) == D(2028, 2, 29)
    assert six_months.last_day(D(2028, 8, 31)) == D(2029, 2, 28)
    assert six_months.last_day(D(2027, 9, 1)) == D(2028, 2, 29)
    # five years from a leap day: no 29 February in 2033, so the 28th
    assert Period(5, "years", start_day_counts=True).last_day(D(2028, 2, 29)) == D(2033, 2, 28)
    assert Period(5, "years", start_day_counts=True).last_day(D(2027, 3, 15)) == D(2032, 3, 14)
    # "within one month after" 31 January: the last day of February (Dodds v Walker)
    assert Period(1, "months", start_day_counts=False).last_day(D(2027, 1, 31)) == D(2027, 2, 28)


# -- the Right to Bid


def test_a_nomination_on_the_last_day_of_a_month_is_decided_within_eight_weeks() -> None:
    state = acv(("nominated", D(2027, 1, 31)), today=D(2027, 2, 10))
    assert state.stage == "nominated"
    assert state.deadlines.decision_due == D(2027, 3, 28)
    assert state.running == ("decision_due",)
    assert not state.decision_late
    late = acv(("nominated", D(2027, 1, 31)), today=D(2027, 3, 29))
    assert late.decision_late


def test_a_listing_on_a_leap_day_runs_five_years_and_takes_a_review_request_for_eight_weeks() -> None:
    events = [("nominated", D(2028, 1, 10)), ("listed", D(2028, 2, 29))]
    state = acv(*events, today=D(2028, 3, 1))
    assert state.stage == "listed" and state.listed_on == D(2028, 2, 29)
    assert state.deadlines.listing_expiry == D(2033, 2, 28)
    assert state.deadlines.review_request_until == D(2028, 4, 24)
    assert state.running == ("review_request_until", "listing_expiry")
    assert acv(*events, today=D(2033, 2, 28)).stage == "listed"  # the last day still counts
    expired = acv(*events, today=D(2033, 3, 1))
    assert expired.stage == "expired" and expired.ended_on == D(2033, 2, 28) and expired.public


def test_notice_of_sale_starts_the_interim_moratorium_and_the_protected_period() -> None:
    listed = [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1))]
    state = acv(*listed, ("notice_of_sale", D(2027, 8, 31)), today=D(2027, 9, 1))
    assert state.moratorium == "interim"
    assert state.deadlines.interim_moratorium_end == D(2027, 10, 11)
    assert state.deadlines.protected_period_end == D(2029, 2, 28)
    assert state.deadlines.full_moratorium_end is None
    assert acv(*listed, ("notice_of_sale", D(2027, 8, 31)), today=D(2027, 10, 12)).moratorium == "protected"
    assert acv(*listed, ("notice_of_sale", D(2027, 8, 31)), today=D(2029, 3, 1)).moratorium is None


def test_a_bidder_request_in_the_interim_period_runs_the_full_moratorium_to_six_months() -> None:
    events = [
        ("nominated", D(2027, 1, 4)),
        ("listed", D(2027, 2, 1)),
        ("notice_of_sale", D(2027, 8, 31)),
        ("bidder_request", D(2027, 10, 11)),  # the interim period's last day
    ]
    state = acv(*events, today=D(2027, 12, 1))
    assert state.moratorium == "full"
    assert state.deadlines.full_moratorium_end == D(2028, 2, 29)  # leap year: 31 August + 6 months
    assert state.running == ("full_moratorium_end", "protected_period_end", "listing_expiry")
    assert acv(*events, today=D(2028, 3, 1)).moratorium == "protected"


def test_a_sale_ends_the_listing_early_and_one_to_a_community_group_may_close_a_moratorium() -> None:
    base = [
        Event("nominated", D(2027, 1, 4)),
        Event("listed", D(2027, 2, 1)),
        Event("notice_of_sale", D(2027, 3, 1)),
    ]
    sold = evaluate("acv", ENGLAND, [*base, Event("sale_completed", D(2027, 5, 3))], TODAY)
    assert sold.stage == "removed" and sold.ended_on == D(2027, 5, 3) and "sold" in (sold.end_reason or "")
    assert not sold.public
    to_group = Event("sale_completed", D(2027, 3, 20), to_community_interest_group=True)
    assert evaluate("acv", ENGLAND, [*base, to_group], TODAY).stage == "removed"


def test_a_review_removes_or_upholds_a_listing() -> None:
    events = [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("review_requested", D(2027, 3, 28))]
    assert acv(*events).review_pending
    assert acv(*events, ("review_upheld", D(2027, 5, 1))).stage == "listed"
    removed = acv(*events, ("removed", D(2027, 5, 1)))
    assert removed.stage == "removed" and "review" in (removed.end_reason or "")


def test_an_unsuccessful_nomination_stays_on_the_public_list_of_unsuccessful_nominations() -> None:
    state = acv(("nominated", D(2027, 1, 4)), ("unsuccessful", D(2027, 2, 1)))
    assert state.stage == "unsuccessful" and state.public and state.ended


def test_due_between_lists_only_the_deadlines_still_waited_on() -> None:
    events = [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("notice_of_sale", D(2027, 3, 1))]
    state = acv(*events, today=D(2027, 4, 1))  # the review's last day (28 March) has passed
    assert due_between(state, D(2027, 4, 1), D(2027, 4, 30)) == [("interim_moratorium_end", D(2027, 4, 11))]
    earlier = acv(*events, today=D(2027, 3, 1))
    assert due_between(earlier, D(2027, 3, 1), D(2027, 4, 30)) == [
        ("review_request_until", D(2027, 3, 28)),
        ("interim_moratorium_end", D(2027, 4, 11)),
    ]
    assert due_between(earlier, D(2027, 3, 1), D(2027, 3, 27)) == []


# -- refused transitions


def test_a_notice_of_sale_on_an_asset_that_is_not_listed_is_refused() -> None:
    waiting = refused("acv", [Event("nominated", D(2027, 1, 4)), Event("notice_of_sale", D(2027, 2, 1))])
    assert "not listed" in waiting and "waits for the council" in waiting
    unsuccessful = [Event("nominated", D(2027, 1, 4)), Event("unsuccessful", D(2027, 2, 1))]
    assert "not listed" in refused("acv", [*unsuccessful, Event("notice_of_sale", D(2027, 3, 1))])
    expired = [Event("nominated", D(2020, 1, 6)), Event("listed", D(2020, 2, 3))]
    message = refused("acv", [*expired, Event("notice_of_sale", D(2025, 2, 3))])
    assert "not listed" in message and "expired" in message and "2025-02-02" in message


def test_a_second_moratorium_inside_the_protected_period_is_refused() -> None:
    events = [
        Event("nominated", D(2027, 1, 4)),
        Event("listed", D(2027, 2, 1)),
        Event("notice_of_sale", D(2027, 3, 1)),
    ]
    message = refused("acv", [*events, Event("notice_of_sale", D(2028, 8, 31))])
    assert "protected period" in message and "2028-08-31" in message and "2028-09-01" in message
    # the day after the protected period a new notice starts a new moratorium
    state = evaluate("acv", ENGLAND, [*events, Event("notice_of_sale", D(2028, 9, 1))], D(2028, 9, 2))
    assert state.moratorium == "interim" and state.deadlines.protected_period_end == D(2030, 2, 28)


@pytest.mark.parametrize(
    ("events", "words"),
    [
        ([("listed", D(2027, 1, 4))], "starts with nominated"),
        ([("nominated", D(2027, 1, 4)), ("nominated", D(2027, 1, 5))], "opened"),
        (
            [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("unsuccessful", D(2027, 2, 2))],
            "decision",
        ),
        (
            [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("withdrawn", D(2027, 2, 2))],
            "withdrawn",
        ),
        ([("nominated", D(2027, 1, 4)), ("review_requested", D(2027, 2, 1))], "needs a listed asset"),
        (
            [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("review_requested", D(2027, 3, 29))],
            "too late",
        ),
        (
            [
                ("nominated", D(2027, 1, 4)),
                ("listed", D(2027, 2, 1)),
                ("review_requested", D(2027, 2, 2)),
                ("review_upheld", D(2027, 3, 1)),
                ("review_requested", D(2027, 3, 2)),
            ],
            "one review per listing",
        ),
        (
            [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("review_upheld", D(2027, 2, 2))],
            "no review",
        ),
        ([("nominated", D(2027, 1, 4)), ("removed", D(2027, 2, 1))], "needs a listed asset"),
        (
            [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("bidder_request", D(2027, 2, 2))],
            "has none",
        ),
        (
            [
                ("nominated", D(2027, 1, 4)),
                ("listed", D(2027, 2, 1)),
                ("notice_of_sale", D(2027, 3, 1)),
                ("bidder_request", D(2027, 4, 12)),
            ],
            "ended on 2027-04-11",
        ),
        (
            [
                ("nominated", D(2027, 1, 4)),
                ("listed", D(2027, 2, 1)),
                ("notice_of_sale", D(2027, 3, 1)),
                ("bidder_request", D(2027, 3, 2)),
                ("bidder_request", D(2027, 3, 3)),
            ],
            "asked on 2027-03-02 already",
        ),
        (
            [("nominated", D(2027, 1, 4)), ("listed", D(2027, 2, 1)), ("sale_completed", D(2027, 3, 1))],
            "notice",
        ),
        (
            [
                ("nominated", D(2027, 1, 4)),
                ("listed", D(2027, 2, 1)),
                ("notice_of_sale", D(2027, 3, 1)),
                ("sale_completed", D(2027, 3, 2)),
            ],
            "interim moratorium (until 2027-04-11)",
        ),
        (
            [
                ("nominated", D(2027, 1, 4)),
                ("listed", D(2027, 2, 1)),
                ("notice_of_sale", D(2027, 3, 1)),
                ("bidder_request", D(2027, 3, 2)),
                ("sale_completed", D(2027, 6, 1)),
            ],
            "full moratorium (until 2027-08-31)",
        ),
        (
            [
                ("nominated", D(2027, 1, 4)),
                ("listed", D(2027, 2, 1)),
                ("notice_of_sale", D(2027, 3, 1)),
                ("sale_completed", D(2028, 9, 1)),
            ],
            "needs a new notice",
        ),
        ([("nominated", D(2027, 1, 4)), ("unsuccessful", D(2027, 2, 1)), ("listed", D(2027, 3, 1))], "ended"),
        ([("nominated", D(2027, 1, 4)), ("listed", D(2027, 1, 3))], "date order"),
        ([("nominated", D(2031, 1, 2))], "after today"),
        ([("nominated", D(2027, 1, 4)), ("approved", D(2027, 2, 1))], "has no event"),
    ],
)
def test_events_the_right_to_bid_does_not_allow_are_refused_saying_why(
    events: list[tuple[str, dt.date]], words: str
) -> None:
    assert words in refused("acv", [Event(k, d) for k, d in events])


def test_a_sale_before_the_ended_listing_is_refused_after_the_sale() -> None:
    events = [
        Event("nominated", D(2027, 1, 4)),
        Event("listed", D(2027, 2, 1)),
        Event("notice_of_sale", D(2027, 3, 1)),
        Event("sale_completed", D(2027, 5, 1)),
        Event("notice_of_sale", D(2029, 1, 1)),
    ]
    assert "not listed" in refused("acv", events)


# -- Right to Challenge and community asset transfer


def test_right_to_challenge_follows_the_published_decision_period() -> None:
    regime = regime_from_config({"periods": {"challenge_decision": {"amount": 3, "unit": "months"}}})
    eoi = Event("expression_of_interest", D(2027, 11, 30))
    submitted = evaluate("challenge", regime, [eoi], D(2027, 12, 1))
    assert submitted.stage == "submitted" and submitted.public
    assert submitted.deadlines.decision_due == D(2028, 2, 29)  # 30 November + 3 months, none on the 30th
    assert evaluate("challenge", ENGLAND, [eoi], D(2027, 12, 1)).deadlines.decision_due is None
    accepted = [eoi, Event("modified", D(2028, 1, 10)), Event("procurement_started", D(2028, 2, 1))]
    assert evaluate("challenge", regime, accepted, TODAY).stage == "procurement"
    closed = evaluate("challenge", regime, [*accepted, Event("procurement_ended", D(2028, 6, 1))], TODAY)
    assert closed.stage == "closed" and not closed.public
    assert "accepted expression of interest" in refused(
        "challenge", [eoi, Event("procurement_started", D(2028, 1, 1))]
    )
    assert "ended" in refused(
        "challenge", [eoi, Event("rejected", D(2028, 1, 1)), Event("accepted", D(2028, 1, 2))]
    )
    assert "decision" in refused(
        "challenge", [eoi, Event("accepted", D(2028, 1, 1)), Event("rejected", D(2028, 1, 2))]
    )


def test_a_community_asset_transfer_completes_after_its_terms_and_makes_the_asset_community_owned() -> None:
    steps = [
        Event("requested", D(2027, 1, 4)),
        Event("approved", D(2027, 3, 1)),
        Event("terms_agreed", D(2027, 6, 1)),
    ]
    assert evaluate("transfer", ENGLAND, steps, TODAY).stage == "terms_agreed"
    done = evaluate("transfer", ENGLAND, [*steps, Event("completed", D(2027, 9, 1))], TODAY)
    assert done.stage == "completed" and done.ownership_to_community and not done.public
    assert "terms are agreed" in refused("transfer", [steps[0], Event("terms_agreed", D(2027, 2, 1))])
    assert "once its terms are agreed" in refused("transfer", [*steps[:2], Event("completed", D(2027, 4, 1))])


# -- the regime


def test_a_city_sets_its_own_regime_and_bad_values_are_refused() -> None:
    scotland_like = regime_from_config(
        {
            "name": "Scotland (Community Empowerment Act 2015)",
            "time_zone": "Europe/London",
            "periods": {"transfer_decision": {"amount": 6, "unit": "months", "start_day_counts": False}},
        }
    )
    state = evaluate("transfer", scotland_like, [Event("requested", D(2027, 8, 31))], D(2027, 9, 1))
    assert state.deadlines.decision_due == D(2028, 2, 29)
    assert regime_from_config(regime_config(scotland_like)) == scotland_like
    for bad, field in (
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "Europe"}, "time_zone"),  # a folder of the zone database, not a zone
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"periods": {"acv_listing": {"amount": 0, "unit": "years"}}}, "periods.acv_listing"),
        ({"periods": {"acv_listing": {"amount": 5, "unit": "fortnights"}}}, "periods.acv_listing"),
        ({"periods": {"acv_listing": None}}, "periods.acv_listing"),
        ({"periods": {"acv_sale": {"amount": 5, "unit": "years"}}}, "periods"),
    ):
        with pytest.raises(InvalidInput) as caught:
            regime_from_config(bad)
        assert caught.value.field == field
    assert default_regime("DE").time_zone == "Europe/Berlin" and default_regime("GB") == ENGLAND
    assert default_regime("Germany").time_zone == "Europe/Berlin"  # the sample stores the name
    assert default_regime(None).time_zone == "UTC"


def test_stored_events_the_rules_now_refuse_are_left_out_and_named() -> None:
    stored = [
        Event("nominated", D(2027, 1, 4)),
        Event("listed", D(2027, 2, 1)),
        Event("review_requested", D(2027, 3, 28)),
    ]
    shorter = regime_from_config({"periods": {"acv_review_request": {"amount": 4, "unit": "weeks"}}})
    state = evaluate("acv", shorter, stored, TODAY, strict=False)
    assert state.stage == "listed" and not state.review_pending
    assert len(state.problems) == 1 and state.problems[0].startswith(
        "review_requested on 2027-03-28 left out"
    )
    # an event recorded "today" in a time zone ahead of the one the city uses now is read, not refused
    ahead = evaluate("acv", ENGLAND, [Event("nominated", D(2027, 1, 5))], D(2027, 1, 4), strict=False)
    assert ahead.stage == "nominated" and ahead.problems == ()
