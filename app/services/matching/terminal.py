"""The command line's matching: each command in a session of its own, as the local administrator (the machine's
operator holds the database anyway), as a named user (`as_user`: that user's role and neighbourhoods, so a
non-planner sees people as the API shows them), or as a visitor (`public`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.db.models import User, UserNeighbourhood
from app.db.session import session_scope
from app.errors import NotFound
from app.policy import ANONYMOUS, Principal
from app.services.matching.candidates import MatchQuery, match_need
from app.services.matching.commitments import create_commitment, get_commitment, update_commitment
from app.services.matching.dashboard import dashboard
from app.settings import Settings

CLI_PRINCIPAL = Principal(username="assetmap-cli", role="admin")


def _principal(db: Any, as_user: str | None, public: bool) -> Principal:
    if public:
        return ANONYMOUS
    if as_user is None:
        return CLI_PRINCIPAL
    user = db.scalar(select(User).where(User.username == as_user, User.active))
    if user is None:
        raise NotFound(f"no active user {as_user!r}: list users with `assetmap user list`")
    areas = frozenset(
        db.scalars(select(UserNeighbourhood.neighbourhood_id).where(UserNeighbourhood.user_id == user.id))
    )
    return Principal(user.id, user.username, user.role, areas)


def match_from_terminal(
    settings: Settings, need_id: int, query: MatchQuery, *, as_user: str | None = None, public: bool = False
) -> dict[str, Any]:
    """`assetmap match NEED_ID`."""
    with session_scope(settings) as db:
        return match_need(db, settings, _principal(db, as_user, public), need_id, query)


def add_from_terminal(
    settings: Settings, data: dict[str, Any], *, as_user: str | None = None
) -> dict[str, Any]:
    """`assetmap commitment add`."""
    with session_scope(settings) as db:
        principal = _principal(db, as_user, False)
        commitment_id = create_commitment(db, settings, principal, data)
        return get_commitment(db, settings, principal, commitment_id)


def update_from_terminal(
    settings: Settings, commitment_id: int, data: dict[str, Any], *, as_user: str | None = None
) -> dict[str, Any]:
    """`assetmap commitment stage` and `commitment outcome`."""
    with session_scope(settings) as db:
        principal = _principal(db, as_user, False)
        update_commitment(db, settings, principal, commitment_id, data)
        return get_commitment(db, settings, principal, commitment_id)


def dashboard_from_terminal(
    settings: Settings, city: str, neighbourhood_id: int | None, period: str | None
) -> dict[str, Any]:
    """`assetmap dashboard`."""
    with session_scope(settings) as db:
        return dashboard(db, city, neighbourhood_id, period)
