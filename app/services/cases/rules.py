"""The community-rights processes as rules: a city's regime of periods, and a case's dated events folded into its
stage and deadlines. Pure: no database and no clock (the caller passes `today`, in the city's time zone).

England's values (docs/CASES.md has the sources): Localism Act 2011 Part 5 Chapter 3 (ss.87-108) and the Assets of
Community Value (England) Regulations 2012 (SI 2012/2421) for the Right to Bid; ss.81-86 and SI 2012/1313 for the
Right to Challenge. Community asset transfer in England is policy, not statute: its decision period is the
city's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from dateutil.relativedelta import relativedelta

from app.errors import InvalidInput, RefusedTransition
from geo.vocab import CASE_KINDS, EVENT_KINDS, PERIOD_UNITS

OPENING_EVENT: Final = {"acv": "nominated", "challenge": "expression_of_interest", "transfer": "requested"}
# The council's decisions: only the council role records them (app/services/cases/access.py).
DECISION_EVENTS: Final = frozenset(
    {
        "listed",
        "unsuccessful",
        "review_upheld",
        "removed",
        "accepted",
        "modified",
        "rejected",
        "approved",
        "refused",
    }
)

STAGES: Final[dict[str, tuple[str, ...]]] = {
    "acv": ("nominated", "listed", "unsuccessful", "withdrawn", "removed", "expired"),
    "challenge": ("submitted", "accepted", "procurement", "closed", "rejected", "withdrawn"),
    "transfer": ("requested", "approved", "terms_agreed", "completed", "refused", "withdrawn"),
}
ALL_STAGES: Final = tuple(dict.fromkeys(stage for stages in STAGES.values() for stage in stages))
ENDED_STAGES: Final = frozenset(
    {"unsuccessful", "withdrawn", "removed", "expired", "closed", "rejected", "completed", "refused"}
)
# What the public register shows: the ACV list and the list of unsuccessful nominations (s.87, s.93), expired
# entries, and challenges and transfers still open.
PUBLIC_STAGES: Final[dict[str, frozenset[str]]] = {
    "acv": frozenset({"listed", "unsuccessful", "expired"}),
    "challenge": frozenset({"submitted", "accepted", "procurement"}),
    "transfer": frozenset({"requested", "approved", "terms_agreed"}),
}
MORATORIA: Final = ("interim", "full", "protected")

DEADLINES: Final[dict[str, str]] = {
    "decision_due": "decision due",
    "review_request_until": "last day for the owner to ask for a review",
    "interim_moratorium_end": "interim moratorium ends",
    "full_moratorium_end": "full moratorium ends",
    "protected_period_end": "protected period ends",
    "listing_expiry": "listing expires",
}


@dataclass(frozen=True)
class Period:
    """A period the law sets: `amount` `unit`s, counted from a day that belongs to it ("beginning with the day",
    `start_day_counts`) or from the day after ("within N weeks of")."""

    amount: int
    unit: str
    start_day_counts: bool

    def last_day(self, start: dt.date) -> dt.date:
        """The last day of the period that starts on `start`, by the calendar (dateutil's relativedelta).

        Months and years use the corresponding date of the final month; where that month has no such day (six
        months from 31 August, five years from 29 February) the period ends on the month's last day. A period
        beginning with the start day ends the day before the corresponding date.
        """
        corresponding = start + relativedelta(**{self.unit: self.amount})
        if not self.start_day_counts:
            return corresponding
        if self.unit in ("months", "years") and corresponding.day != start.day:
            return corresponding  # no corresponding day: relativedelta stopped at the month's last day
        return corresponding - dt.timedelta(days=1)

    def describe(self) -> str:
        """Like '8 weeks' or '6 months beginning with the day'."""
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}" + (" beginning with the day" if self.start_day_counts else "")

    def as_config(self) -> dict[str, Any]:
        """The JSON a regime stores."""
        return {"amount": self.amount, "unit": self.unit, "start_day_counts": self.start_day_counts}


@dataclass(frozen=True)
class Regime:
    """The periods a city's law sets for cases, and the time zone its days are counted in."""

    name: str
    time_zone: str
    acv_decision: Period
    acv_listing: Period
    acv_review_request: Period
    acv_interim_moratorium: Period
    acv_full_moratorium: Period
    acv_protected_period: Period
    # no statutory period: the authority publishes its own (SI 2012/1313), a city sets it; None: not computed
    challenge_decision: Period | None = None
    transfer_decision: Period | None = None


PERIOD_NAMES: Final = (
    "acv_decision",
    "acv_listing",
    "acv_review_request",
    "acv_interim_moratorium",
    "acv_full_moratorium",
    "acv_protected_period",
    "challenge_decision",
    "transfer_decision",
)
OPTIONAL_PERIODS: Final = frozenset({"challenge_decision", "transfer_decision"})

ENGLAND: Final = Regime(
    name="England (Localism Act 2011)",
    time_zone="Europe/London",
    # SI 2012/2421 reg 7: decide "within eight weeks of receiving the nomination"
    acv_decision=Period(8, "weeks", start_day_counts=False),
    # s.87(3): removed "at the end of the period of five years beginning with the date of that entry"
    acv_listing=Period(5, "years", start_day_counts=True),
    # s.92 and SI 2012/2421 Sch 2: a review asked for within eight weeks beginning with the day of the notice
    acv_review_request=Period(8, "weeks", start_day_counts=True),
    # s.95(6): six weeks, six months and eighteen months "beginning with" the day the notice is received
    acv_interim_moratorium=Period(6, "weeks", start_day_counts=True),
    acv_full_moratorium=Period(6, "months", start_day_counts=True),
    acv_protected_period=Period(18, "months", start_day_counts=True),
)

# The time zone of a city without a regime of its own, by its country (a code or a name, in any case); others
# count days in UTC until they set one.
_ZONES: Final = {
    "Europe/London": ("GB", "UK", "United Kingdom", "Great Britain", "England", "Wales", "Scotland"),
    "Europe/Dublin": ("IE", "Ireland"),
    "Europe/Berlin": ("DE", "Germany", "Deutschland"),
    "Europe/Amsterdam": ("NL", "Netherlands", "Nederland"),
    "Europe/Brussels": ("BE", "Belgium"),
    "Europe/Paris": ("FR", "France"),
    "Europe/Vienna": ("AT", "Austria", "Österreich"),
    "Europe/Zurich": ("CH", "Switzerland"),
    "Europe/Copenhagen": ("DK", "Denmark"),
    "Europe/Warsaw": ("PL", "Poland"),
    "Europe/Rome": ("IT", "Italy"),
    "Europe/Madrid": ("ES", "Spain"),
}
COUNTRY_TIME_ZONES: Final = {name.casefold(): zone for zone, names in _ZONES.items() for name in names}


def default_regime(country: str | None) -> Regime:
    """England's periods, in the city's country's time zone (UTC where the country is unknown here)."""
    zone = COUNTRY_TIME_ZONES.get((country or "").strip().casefold(), "UTC")
    return replace(ENGLAND, time_zone=zone) if zone != ENGLAND.time_zone else ENGLAND


def regime_config(regime: Regime) -> dict[str, Any]:
    """A regime as the JSON the regime table and the API hold."""
    periods = {name: getattr(regime, name) for name in PERIOD_NAMES}
    return {
        "name": regime.name,
        "time_zone": regime.time_zone,
        "periods": {name: None if p is None else p.as_config() for name, p in periods.items()},
    }


def _period(name: str, value: Any) -> Period | None:
    where = f"periods.{name}"
    if value is None:
        if name in OPTIONAL_PERIODS:
            return None
        raise InvalidInput(f"{name} is required: the law sets it", field=where)
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must be an object like {{'amount': 8, 'unit': 'weeks'}}", field=where)
    amount, unit = value.get("amount"), value.get("unit")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= 1200:
        raise InvalidInput(
            f"{name}: amount must be a whole number from 1 to 1200, got {amount!r}", field=where
        )
    if unit not in PERIOD_UNITS:
        raise InvalidInput(
            f"{name}: unit must be one of {', '.join(PERIOD_UNITS)}, got {unit!r}", field=where
        )
    counts = value.get("start_day_counts", True)
    if not isinstance(counts, bool):
        raise InvalidInput(f"{name}: start_day_counts must be true or false", field=where)
    return Period(amount, unit, counts)


def regime_from_config(config: Mapping[str, Any], *, base: Regime = ENGLAND) -> Regime:
    """A regime from stored or sent JSON; periods it leaves out keep `base`'s. Bad values are a 422 naming them."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    zone = config.get("time_zone", base.time_zone)
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"unknown time zone {zone!r}: use an IANA name such as Europe/London", field="time_zone"
        ) from None
    periods = config.get("periods") or {}
    unknown = sorted(set(periods) - set(PERIOD_NAMES))
    if unknown:
        raise InvalidInput(
            f"unknown periods {', '.join(unknown)}: the regime has {', '.join(PERIOD_NAMES)}", field="periods"
        )
    values: dict[str, Any] = {
        name: _period(name, periods[name]) if name in periods else getattr(base, name)
        for name in PERIOD_NAMES
    }
    name = config.get("name", base.name)
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name the regime", field="name")
    return Regime(name=name.strip(), time_zone=str(zone), **values)


@dataclass(frozen=True)
class Event:
    """One dated event of a case. `to_community_interest_group`: a sale to such a group, which s.95 allows during
    a moratorium."""

    kind: str
    on: dt.date
    to_community_interest_group: bool = False


@dataclass(frozen=True)
class Deadlines:
    """The dates a case's events set (None: not set, or not known under the regime)."""

    decision_due: dt.date | None = None
    review_request_until: dt.date | None = None
    interim_moratorium_end: dt.date | None = None
    full_moratorium_end: dt.date | None = None
    protected_period_end: dt.date | None = None
    listing_expiry: dt.date | None = None

    def items(self) -> list[tuple[str, dt.date]]:
        """The deadlines that are set, by name, in date order."""
        pairs = [(name, getattr(self, name)) for name in DEADLINES]
        return sorted(((n, d) for n, d in pairs if d is not None), key=lambda pair: (pair[1], pair[0]))


@dataclass(frozen=True)
class CaseState:
    """Where a case stands on a day: its stage, any moratorium, its deadlines and which of them still run."""

    kind: str
    stage: str
    moratorium: str | None
    deadlines: Deadlines
    opened_on: dt.date | None
    listed_on: dt.date | None
    ended_on: dt.date | None
    end_reason: str | None
    review_pending: bool
    decision_late: bool
    ownership_to_community: bool
    running: tuple[str, ...] = field(default=())  # deadlines still ahead that the process waits on
    # stored events the rules now refuse (the city's regime changed since): left out, each with the reason
    problems: tuple[str, ...] = field(default=())

    @property
    def ended(self) -> bool:
        """True once the case can take no more events."""
        return self.stage in ENDED_STAGES

    @property
    def public(self) -> bool:
        """Whether the public register shows the case."""
        return self.stage in PUBLIC_STAGES[self.kind]


def _d(day: dt.date) -> str:
    return day.isoformat()


class _Fold:
    """The events of one case applied in order, each checked against the state the earlier ones left."""

    def __init__(self, kind: str, regime: Regime) -> None:
        if kind not in CASE_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(CASE_KINDS)}, got {kind!r}", field="kind")
        self.kind, self.regime = kind, regime
        self.stage: str | None = None
        self.last_on: dt.date | None = None
        self.opened_on: dt.date | None = None
        self.decision_due: dt.date | None = None
        self.decided_on: dt.date | None = None
        self.listed_on: dt.date | None = None
        self.listing_expiry: dt.date | None = None
        self.review_until: dt.date | None = None
        self.review_requested_on: dt.date | None = None
        self.review_pending = False
        self.notice_on: dt.date | None = None
        self.interim_end: dt.date | None = None
        self.full_end: dt.date | None = None
        self.protected_end: dt.date | None = None
        self.bidder_on: dt.date | None = None
        self.ended_on: dt.date | None = None
        self.end_reason: str | None = None
        self.ownership_to_community = False

    # -- time: what the calendar alone changes

    def advance(self, day: dt.date) -> None:
        """Let time run to `day`: a listing whose five years are over has expired."""
        if self.stage == "listed" and self.listing_expiry is not None and day > self.listing_expiry:
            self.stage = "expired"
            self.ended_on, self.end_reason = self.listing_expiry, "the listing period ended"

    def moratorium_on(self, day: dt.date) -> str | None:
        """The moratorium (or protected period) that applies to a listed asset on `day`."""
        if self.stage != "listed" or self.notice_on is None or self.protected_end is None:
            return None
        if not self.notice_on <= day <= self.protected_end:
            return None
        if self.interim_end is not None and day <= self.interim_end:
            return "interim"
        if self.full_end is not None and day <= self.full_end:
            return "full"
        return "protected"

    # -- events

    def apply(self, event: Event, today: dt.date, *, new: bool = True) -> None:
        """Apply one event, or raise RefusedTransition saying why the process does not allow it. A stored event
        (not `new`) may lie after today where the city's time zone changed since it was recorded."""
        if event.kind not in EVENT_KINDS[self.kind]:
            raise RefusedTransition(
                f"a {self.kind} case has no event {event.kind!r}: it knows {', '.join(EVENT_KINDS[self.kind])}",
                field="kind",
            )
        if new and event.on > today:
            raise RefusedTransition(
                f"{event.kind} on {_d(event.on)} is after today ({_d(today)}): record an event once it happened",
                field="on",
            )
        if self.last_on is not None and event.on < self.last_on:
            raise RefusedTransition(
                f"events are recorded in date order: {event.kind} on {_d(event.on)} is before the case's last "
                f"event ({_d(self.last_on)})",
                field="on",
            )
        opening = OPENING_EVENT[self.kind]
        if self.stage is None:
            if event.kind != opening:
                raise RefusedTransition(
                    f"a {self.kind} case starts with {opening}, not {event.kind}", field="kind"
                )
        elif event.kind == opening:
            raise RefusedTransition(
                f"this case was opened ({opening}) on {_d(self.opened_on or event.on)} already: "
                "open a new case for a new one",
                field="kind",
            )
        self.advance(event.on)
        if self.stage in ENDED_STAGES:
            raise RefusedTransition(self._ended_message(event), field="kind")
        getattr(self, f"_{self.kind}")(event)
        self.last_on = event.on

    def _ended_message(self, event: Event) -> str:
        ended = f" on {_d(self.ended_on)}" if self.ended_on else ""
        why = f" ({self.end_reason})" if self.end_reason else ""
        message = f"this case ended{ended}: it is {self.stage}{why}, so {event.kind} cannot follow"
        if self.kind == "acv" and event.kind == "notice_of_sale":
            message = f"a notice of intended sale on an asset that is not listed: {message}"
        if self.kind == "acv":
            message += "; to list the asset again, nominate it as a new case"
        return message

    def _end(self, stage: str, on: dt.date, reason: str) -> None:
        self.stage, self.ended_on, self.end_reason = stage, on, reason

    def _decide(self, event: Event, waiting: str, stage: str) -> None:
        if self.stage != waiting:
            raise RefusedTransition(
                f"{event.kind} is a decision on a case that waits for one; this case is {self.stage} "
                f"(decided on {_d(self.decided_on) if self.decided_on else 'an earlier day'})",
                field="kind",
            )
        self.stage, self.decided_on = stage, event.on

    def _acv(self, event: Event) -> None:
        regime, kind, on = self.regime, event.kind, event.on
        if kind == "nominated":
            self.stage, self.opened_on = "nominated", on
            self.decision_due = regime.acv_decision.last_day(on)
        elif kind in ("listed", "unsuccessful"):
            self._decide(event, "nominated", kind)
            if kind == "listed":
                self.listed_on = on
                self.listing_expiry = regime.acv_listing.last_day(on)
                self.review_until = regime.acv_review_request.last_day(on)
            else:
                self._end(
                    "unsuccessful",
                    on,
                    "the council did not list it; kept on the list of unsuccessful nominations",
                )
        elif kind == "withdrawn":
            if self.stage != "nominated":
                raise RefusedTransition(
                    "only a nomination that waits for the council's decision can be withdrawn; a listed asset "
                    "leaves the list by removal after a review or appeal, or when it is sold",
                    field="kind",
                )
            self._end("withdrawn", on, "the nomination was withdrawn")
        elif kind == "review_requested":
            self._need_listed(event)
            if self.review_requested_on is not None:
                raise RefusedTransition(
                    f"the owner asked for a review on {_d(self.review_requested_on)} already: one review per listing",
                    field="kind",
                )
            assert self.review_until is not None
            if on > self.review_until:
                raise RefusedTransition(
                    f"the owner may ask for a review within {regime.acv_review_request.describe()} of the "
                    f"listing (until {_d(self.review_until)}); {_d(on)} is too late",
                    field="on",
                )
            self.review_requested_on, self.review_pending = on, True
        elif kind == "review_upheld":
            self._need_listed(event)
            if not self.review_pending:
                raise RefusedTransition("no review of this listing is waiting for a decision", field="kind")
            self.review_pending = False
        elif kind == "removed":
            self._need_listed(event)
            reason = (
                "removed from the list after a review" if self.review_pending else "removed from the list"
            )
            self.review_pending = False
            self._end("removed", on, reason)
        elif kind == "notice_of_sale":
            self._notice_of_sale(event)
        elif kind == "bidder_request":
            self._bidder_request(event)
        elif kind == "sale_completed":
            self._sale_completed(event)

    def _need_listed(self, event: Event) -> None:
        if self.stage != "listed":
            raise RefusedTransition(
                f"{event.kind} needs a listed asset; this one is {self.stage} (waiting for the council's decision)"
                if self.stage == "nominated"
                else f"{event.kind} needs a listed asset; this one is {self.stage}",
                field="kind",
            )

    def _notice_of_sale(self, event: Event) -> None:
        on, regime = event.on, self.regime
        if self.stage != "listed":
            raise RefusedTransition(
                f"a notice of intended sale on an asset that is not listed: this one is {self.stage}"
                + (" (the nomination waits for the council's decision)" if self.stage == "nominated" else ""),
                field="kind",
            )
        if self.protected_end is not None and self.notice_on is not None and on <= self.protected_end:
            raise RefusedTransition(
                f"a second moratorium inside the protected period: the notice of {_d(self.notice_on)} protects "
                f"the owner until {_d(self.protected_end)}, so no new moratorium can start before "
                f"{_d(self.protected_end + dt.timedelta(days=1))}",
                field="on",
            )
        self.notice_on, self.bidder_on, self.full_end = on, None, None
        self.interim_end = regime.acv_interim_moratorium.last_day(on)
        self.protected_end = regime.acv_protected_period.last_day(on)

    def _bidder_request(self, event: Event) -> None:
        on = event.on
        self._need_listed(event)
        if self.notice_on is None or self.interim_end is None or self.protected_end is None:
            raise RefusedTransition(
                "a community interest group asks to be treated as a bidder after a notice of intended sale; "
                "this asset has none",
                field="kind",
            )
        if self.bidder_on is not None:
            raise RefusedTransition(
                f"a community interest group asked on {_d(self.bidder_on)} already: the full moratorium runs until "
                f"{_d(self.full_end) if self.full_end else '?'}",
                field="kind",
            )
        if on > self.interim_end:
            raise RefusedTransition(
                f"the interim moratorium of the notice of {_d(self.notice_on)} ended on {_d(self.interim_end)}: a "
                f"community interest group had to ask by then ({_d(on)} is too late)",
                field="on",
            )
        self.bidder_on = on
        self.full_end = self.regime.acv_full_moratorium.last_day(self.notice_on)

    def _sale_completed(self, event: Event) -> None:
        on = event.on
        self._need_listed(event)
        if self.notice_on is None or self.protected_end is None:
            raise RefusedTransition(
                "the owner of a listed asset must give notice of the intended sale first (s.95): record the "
                "notice_of_sale",
                field="kind",
            )
        if on > self.protected_end:
            raise RefusedTransition(
                f"the protected period of the notice of {_d(self.notice_on)} ended on {_d(self.protected_end)}: "
                "a sale now needs a new notice of intended sale",
                field="on",
            )
        moratorium = self.moratorium_on(on)
        if moratorium in ("interim", "full") and not event.to_community_interest_group:
            until = self.interim_end if moratorium == "interim" else self.full_end
            raise RefusedTransition(
                f"the owner may not sell during the {moratorium} moratorium (until {_d(until) if until else '?'}) "
                "except to a community interest group (set to_community_interest_group)",
                field="on",
            )
        self._end("removed", on, "sold: the listing ends with the sale")

    def _challenge(self, event: Event) -> None:
        kind, on = event.kind, event.on
        if kind == "expression_of_interest":
            self.stage, self.opened_on = "submitted", on
            period = self.regime.challenge_decision
            self.decision_due = None if period is None else period.last_day(on)
        elif kind in ("accepted", "modified", "rejected"):
            self._decide(event, "submitted", "rejected" if kind == "rejected" else "accepted")
            if kind == "rejected":
                self._end("rejected", on, "the authority rejected the expression of interest")
        elif kind == "procurement_started":
            if self.stage != "accepted":
                raise RefusedTransition(
                    f"only an accepted expression of interest leads to a procurement exercise; this one is {self.stage}",
                    field="kind",
                )
            self.stage = "procurement"
        elif kind == "procurement_ended":
            if self.stage != "procurement":
                raise RefusedTransition(
                    f"no procurement exercise is running; this case is {self.stage}", field="kind"
                )
            self._end("closed", on, "the procurement exercise ended")
        elif kind == "withdrawn":
            self._end("withdrawn", on, "the expression of interest was withdrawn")

    def _transfer(self, event: Event) -> None:
        kind, on = event.kind, event.on
        if kind == "requested":
            self.stage, self.opened_on = "requested", on
            period = self.regime.transfer_decision
            self.decision_due = None if period is None else period.last_day(on)
        elif kind in ("approved", "refused"):
            self._decide(event, "requested", kind)
            if kind == "refused":
                self._end("refused", on, "the request was refused")
        elif kind == "terms_agreed":
            if self.stage != "approved":
                raise RefusedTransition(
                    f"terms are agreed for an approved transfer; this one is {self.stage}", field="kind"
                )
            self.stage = "terms_agreed"
        elif kind == "completed":
            if self.stage != "terms_agreed":
                raise RefusedTransition(
                    f"a transfer completes once its terms are agreed; this one is {self.stage}", field="kind"
                )
            self._end("completed", on, "the transfer completed: the asset is community-owned")
            self.ownership_to_community = True
        elif kind == "withdrawn":
            self._end("withdrawn", on, "the request was withdrawn")

    # -- the result

    def state(self, today: dt.date) -> CaseState:
        """Where the case stands on `today`."""
        if self.stage is None:
            raise RefusedTransition(
                f"a {self.kind} case starts with {OPENING_EVENT[self.kind]}", field="events"
            )
        self.advance(max(today, self.last_on or today))
        deadlines = Deadlines(
            decision_due=self.decision_due,
            review_request_until=self.review_until,
            interim_moratorium_end=self.interim_end,
            full_moratorium_end=self.full_end,
            protected_period_end=self.protected_end,
            listing_expiry=self.listing_expiry,
        )
        moratorium = self.moratorium_on(today)
        running: list[str] = []
        if self.stage in ("nominated", "submitted", "requested") and self.decision_due is not None:
            running.append("decision_due")
        if self.stage == "listed":
            if (
                self.review_until is not None
                and self.review_requested_on is None
                and today <= self.review_until
            ):
                running.append("review_request_until")
            if moratorium == "interim":
                running.append("interim_moratorium_end")
            if moratorium in ("interim", "full") and self.full_end is not None:
                running.append("full_moratorium_end")
            if moratorium is not None:
                running.append("protected_period_end")
            running.append("listing_expiry")
        decided = self.decided_on
        late = self.decision_due is not None and (
            (decided is not None and decided > self.decision_due)
            or (
                decided is None
                and self.stage in ("nominated", "submitted", "requested")
                and today > self.decision_due
            )
        )
        return CaseState(
            kind=self.kind,
            stage=self.stage,
            moratorium=moratorium,
            deadlines=deadlines,
            opened_on=self.opened_on,
            listed_on=self.listed_on,
            ended_on=self.ended_on,
            end_reason=self.end_reason,
            review_pending=self.review_pending,
            decision_late=late,
            ownership_to_community=self.ownership_to_community,
            running=tuple(running),
        )


def evaluate(
    kind: str, regime: Regime, events: Iterable[Event], today: dt.date, *, strict: bool = True
) -> CaseState:
    """The stage and deadlines of a case on `today` from its events (in the order recorded); an event the process
    does not allow raises RefusedTransition saying why. Not `strict` (reading what is stored), such an event is
    left out and named in `problems`."""
    fold = _Fold(kind, regime)
    problems: list[str] = []
    for event in events:
        if strict:
            fold.apply(event, today)
            continue
        try:
            fold.apply(event, today, new=False)
        except RefusedTransition as exc:
            problems.append(f"{event.kind} on {_d(event.on)} left out: {exc.detail}")
    return replace(fold.state(today), problems=tuple(problems))


def check_next(kind: str, regime: Regime, events: Iterable[Event], new: Event, today: dt.date) -> CaseState:
    """The state after adding `new` to a case's events, or RefusedTransition if the process does not allow it."""
    return evaluate(kind, regime, [*events, new], today)


def due_between(state: CaseState, start: dt.date, end: dt.date) -> list[tuple[str, dt.date]]:
    """The deadlines a case still waits on that fall from `start` to `end` (both included), in date order."""
    return [
        (name, day) for name, day in state.deadlines.items() if name in state.running and start <= day <= end
    ]
