"""The command line's cases: each command in a session of its own, as the local administrator (the machine's
operator holds the database anyway), or as the public register with `public`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.db.session import session_scope
from app.policy import ANONYMOUS, Principal
from app.services.cases.read import CaseFilters, get_case, list_cases
from app.services.cases.write import add_event, open_case
from app.settings import Settings

CLI_PRINCIPAL = Principal(username="assetmap-cli", role="admin")


def list_from_terminal(
    settings: Settings, filters: CaseFilters, *, public: bool = False
) -> list[dict[str, Any]]:
    """`assetmap case list`."""
    with session_scope(settings) as db:
        return list_cases(db, settings, ANONYMOUS if public else CLI_PRINCIPAL, filters)


def add_from_terminal(settings: Settings, data: dict[str, Any]) -> dict[str, Any]:
    """`assetmap case add`: open a case and answer it as the API does."""
    with session_scope(settings) as db:
        case_id = open_case(db, settings, CLI_PRINCIPAL, data)
        return get_case(db, settings, CLI_PRINCIPAL, case_id)


def event_from_terminal(
    settings: Settings,
    case_id: int,
    kind: str,
    on: dt.date,
    *,
    to_group: bool = False,
    note: str | None = None,
) -> dict[str, Any]:
    """`assetmap case event`: record one event and answer the case as it stands."""
    with session_scope(settings) as db:
        data = {"kind": kind, "on": on, "to_community_interest_group": to_group, "note": note}
        add_event(db, settings, CLI_PRINCIPAL, case_id, data)
        return get_case(db, settings, CLI_PRINCIPAL, case_id)


def pack_from_terminal(
    settings: Settings,
    case_id: int,
    *,
    html: bool = False,
    service: str | None = None,
    neighbourhood: str | None = None,
    run_id: int | None = None,
) -> tuple[bytes, list[int]]:
    """`assetmap case pack`: a case's evidence pack as PDF (or HTML) bytes, and the ids of the runs it used."""
    from app.services.cases import packs

    with session_scope(settings) as db:
        pack = packs.case_pack(
            db, settings, CLI_PRINCIPAL, case_id, service=service, neighbourhood=neighbourhood, run_id=run_id
        )
    body = packs.render_html(pack).encode("utf-8") if html else packs.render_pdf(pack)
    return body, pack.run_ids
