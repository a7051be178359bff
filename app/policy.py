"""Who may do what: the principal making a request and the role rules every route, command and page uses."""

from __future__ import annotations

from dataclasses import dataclass, field

# Every role a user can have, most rights first (the user table's check constraint allows exactly these).
ROLES = ("admin", "gis", "planner", "organiser", "contributor")
# Roles that see exact locations of individuals and sensitive assets ("planner rights").
EXACT_LOCATION_ROLES = frozenset({"admin", "planner"})
# Roles that may see entries that are not yet published (pending, rejected) and change history.
STAFF_ROLES = frozenset({"admin", "gis", "planner", "organiser"})
# Roles that may change any feature in any neighbourhood.
EDIT_ANYWHERE_ROLES = frozenset({"admin", "gis"})
# Roles that may add and change cities, neighbourhoods and service areas.
MANAGE_GEOGRAPHY_ROLES = frozenset({"admin", "gis"})
# The council's side of a community-rights case: records its decisions (list, refuse, remove, accept, ...) and the
# notices it receives, in any neighbourhood (docs/CASES.md). Planners are the council's officers here.
CASE_DECISION_ROLES = frozenset({"admin", "planner"})


@dataclass(frozen=True)
class Principal:
    """The caller: a signed-in user with a role, or an anonymous visitor (role None)."""

    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    neighbourhood_ids: frozenset[int] = field(default_factory=frozenset)
    token_id: int | None = None

    @property
    def is_anonymous(self) -> bool:
        """True for a visitor without credentials."""
        return self.role is None

    @property
    def sees_exact_locations(self) -> bool:
        """Planner rights: exact locations of individuals and sensitive assets, unsuppressed counts."""
        return self.role in EXACT_LOCATION_ROLES

    @property
    def is_staff(self) -> bool:
        """May read unpublished entries and history."""
        return self.role in STAFF_ROLES

    def can_edit_in(self, neighbourhood_id: int | None) -> bool:
        """May change features located in this neighbourhood (None: outside every neighbourhood)."""
        if self.role in EDIT_ANYWHERE_ROLES:
            return True
        return (
            self.role == "organiser"
            and neighbourhood_id is not None
            and neighbourhood_id in self.neighbourhood_ids
        )

    def can_review_in(self, neighbourhood_id: int | None) -> bool:
        """May approve or reject entries in this neighbourhood: its organiser, or an admin."""
        if self.role == "admin":
            return True
        return (
            self.role == "organiser"
            and neighbourhood_id is not None
            and neighbourhood_id in self.neighbourhood_ids
        )

    def may_see_entry(self, status: str | None, created_by: int | None) -> bool:
        """Review visibility: published entries for all; pending and rejected ones for staff and their author."""
        if status in (None, "approved") or self.is_staff:
            return True
        return self.user_id is not None and created_by == self.user_id

    def counts_people_in(self, neighbourhood_id: int | None) -> bool:
        """May see every person and sensitive asset of this neighbourhood (and so their counts): planner rights,
        or edit rights there (editors open and change each entry anyway)."""
        return self.sees_exact_locations or self.can_edit_in(neighbourhood_id)

    def initial_status(self) -> str:
        """Contributors' entries wait for review; everyone else's are published at once."""
        return "pending" if self.role == "contributor" else "approved"


ANONYMOUS = Principal()
