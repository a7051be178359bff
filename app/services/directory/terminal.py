"""The command line's directory: each command in a session of its own, as the local administrator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.db.session import session_scope
from app.policy import Principal
from app.services.catalogue import resolve_city
from app.services.directory import offers, questions, tabular
from app.settings import Settings

CLI_PRINCIPAL = Principal(username="assetmap-cli", role="admin")


def add_offer(settings: Settings, asset_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """`assetmap directory add`."""
    with session_scope(settings) as db:
        return offers.create_offer(db, CLI_PRINCIPAL, asset_id, values)


def set_offer(settings: Settings, offer_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """`assetmap directory set`."""
    with session_scope(settings) as db:
        return offers.update_offer(db, CLI_PRINCIPAL, offer_id, values, None)


def list_offers(settings: Settings, asset_id: int) -> list[dict[str, Any]]:
    """`assetmap directory list`."""
    with session_scope(settings) as db:
        return offers.list_offers(db, CLI_PRINCIPAL, asset_id)


def budget(settings: Settings, **question: Any) -> dict[str, Any]:
    """`assetmap directory budget`."""
    with session_scope(settings) as db:
        return questions.budget(db, **question)


def set_zone(settings: Settings, city: str, zone: str) -> str:
    """`assetmap directory zone`: the IANA zone a city's schedules are read in."""
    with session_scope(settings) as db:
        row = resolve_city(db, city)
        offers.set_time_zone(db, row, zone)
        db.commit()
        return row.name


def export_hsds(settings: Settings, target: Path, city: str | None) -> list[Path]:
    """`assetmap directory export-hsds`: the HSDS tabular files into a folder."""
    with session_scope(settings) as db:
        return tabular.write_directory(db, resolve_city(db, city) if city else None, target)
