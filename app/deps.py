"""FastAPI dependencies: database session, settings, the caller, and one dependency per access rule."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.errors import Forbidden, NotAuthenticated
from app.policy import ANONYMOUS, MANAGE_GEOGRAPHY_ROLES, Principal
from app.services import auth as auth_service
from app.settings import Settings

log = logging.getLogger("assetmap")


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; services commit, anything uncommitted is rolled back at the end.

    The close runs after the answer has started. If the connection was lost by then (a database restart between
    the last query and the close), the rollback of nothing fails: the answer stands (writes committed before it was
    built), so the broken connection is dropped from the pool instead of failing a sent answer.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        try:
            session.close()
        except SQLAlchemyError as exc:
            log.warning("a database connection was lost before its session closed: %s", type(exc).__name__)
            with suppress(SQLAlchemyError):
                session.invalidate()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_db)]


SESSION_COOKIE = "assetmap_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
SIGN_IN_FIRST = "sign in first: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'"


def app_origin(request: Request, settings: Settings) -> str:
    """This app's own origin: that of ASSETMAP_PUBLIC_URL, else scheme and (already trusted) Host of the request."""
    return settings.public_origin() or f"{request.url.scheme}://{request.headers.get('host', '')}".lower()


def same_origin(request: Request, settings: Settings) -> bool | None:
    """What the browser says about where a request comes from: True from this app's own pages, False from
    elsewhere, None when it says nothing (not a browser: curl, scripts)."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.strip().lower() == app_origin(request, settings)
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        # 'none' is the user typing an address or opening a bookmark: fine for reading, never for a change.
        return site == "same-origin" or (site == "none" and request.method in SAFE_METHODS)
    return None


def require_browser_origin(request: Request, settings: SettingsDep) -> None:
    """Browser sign-in only from this app's own pages: another site may not sign a visitor in (login CSRF)."""
    if same_origin(request, settings) is False:
        raise Forbidden("sign in on this app's own start page: requests from another origin are refused")


def credentials(request: Request, settings: Settings) -> str | None:
    """The token a request carries: the Authorization header, X-API-Key, or the browser's session cookie. The
    cookie counts only for requests from this app's own pages (a change must prove it with Origin or
    Sec-Fetch-Site), so another site cannot act or read with a visitor's cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
        return value.strip()
    key = request.headers.get("x-api-key")
    if key:
        return key
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    verdict = same_origin(request, settings)
    if verdict is False:
        raise Forbidden(
            "this request comes from another origin: the session cookie works only on this app's own pages "
            "(API clients send 'Authorization: Bearer <token>')"
        )
    if verdict is None and request.method not in SAFE_METHODS:
        raise Forbidden(
            "a change with the session cookie must come from this app's own pages, which send an Origin header; "
            "API clients send 'Authorization: Bearer <token>' instead"
        )
    return cookie


def get_principal(request: Request, db: SessionDep, settings: SettingsDep) -> Principal:
    """The caller; bad, expired or revoked credentials are a 401, no credentials make an anonymous visitor."""
    token = credentials(request, settings)
    if token is None:
        return ANONYMOUS
    return auth_service.principal_for_token(db, settings, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _rule(name: str, roles: frozenset[str] | None, *, anonymous: bool = False) -> Callable[..., Principal]:
    """Build a dependency that lets through `roles` (None: any signed-in user) and, if asked, anonymous readers."""

    def dependency(principal: PrincipalDep, settings: SettingsDep) -> Principal:
        if principal.is_anonymous:
            if anonymous and settings.anonymous_read:
                return principal
            raise NotAuthenticated(SIGN_IN_FIRST)
        if roles is not None and principal.role not in roles:
            raise Forbidden(
                f"your role ({principal.role}) may not do this: it needs {' or '.join(sorted(roles))}"
            )
        return principal

    dependency.__name__ = f"rule_{name}"
    dependency.__doc__ = f"Access rule '{name}'."
    dependency.access_rule = name  # type: ignore[attr-defined]
    return dependency


# One dependency per rule; the authorisation matrix test reads them off the route table.
read_public = _rule("read_public", None, anonymous=True)
signed_in = _rule("signed_in", None)
contribute = _rule("contribute", frozenset({"admin", "gis", "organiser", "contributor"}))
edit_features = _rule("edit_features", frozenset({"admin", "gis", "organiser"}))
review = _rule("review", frozenset({"admin", "organiser"}))
read_history = _rule("read_history", frozenset({"admin", "gis", "planner", "organiser"}))
manage_geography = _rule("manage_geography", MANAGE_GEOGRAPHY_ROLES)
import_data = _rule("import_data", frozenset({"admin", "gis"}))
run_analysis = _rule("run_analysis", frozenset({"admin", "planner", "organiser"}))
set_default_capacity = _rule("set_default_capacity", frozenset({"admin", "planner"}))
set_venue_kinds = _rule("set_venue_kinds", frozenset({"admin", "planner"}))
# organisers (in their neighbourhoods), GIS staff and the council's side (planners) work on community-rights cases
work_cases = _rule("work_cases", frozenset({"admin", "gis", "planner", "organiser"}))
administer = _rule("administer", frozenset({"admin"}))

ReadPublic = Annotated[Principal, Depends(read_public)]
SignedIn = Annotated[Principal, Depends(signed_in)]
Contribute = Annotated[Principal, Depends(contribute)]
EditFeatures = Annotated[Principal, Depends(edit_features)]
Review = Annotated[Principal, Depends(review)]
ReadHistory = Annotated[Principal, Depends(read_history)]
ManageGeography = Annotated[Principal, Depends(manage_geography)]
ImportData = Annotated[Principal, Depends(import_data)]
RunAnalysis = Annotated[Principal, Depends(run_analysis)]
SetDefaultCapacity = Annotated[Principal, Depends(set_default_capacity)]
SetVenueKinds = Annotated[Principal, Depends(set_venue_kinds)]
WorkCases = Annotated[Principal, Depends(work_cases)]
Administer = Annotated[Principal, Depends(administer)]
