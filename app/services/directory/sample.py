"""The Berlin demo's service offers (data/berlin/berlin-directory-services.json): invented, illustrative services
on real sample assets, so the budget question has an answer near Alexanderplatz. Loading twice leaves the same
rows, with the same ids (so the same HSDS identifiers): the sample's offers are marked by their cost note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db.models import Asset, City, ServiceOffer, ServiceType

SAMPLE_FILE = "berlin-directory-services.json"
ILLUSTRATIVE = "Illustrative sample price for the demo, not the provider's."
FIELDS = (
    "name", "description", "cost_kind", "cost_period", "cost_min", "cost_max", "currency", "sessions_per_month",
    "min_age", "max_age", "population_group", "residency_required", "referral_required", "eligibility_note",
    "languages", "accessibility", "opening_hours", "booking", "booking_url",
)  # fmt: skip


def load_directory_sample(db: Session, city: City, data_dir: Path) -> int:
    """Replace the city's sample offers with those of the file; returns how many were stored."""
    path = data_dir / SAMPLE_FILE
    if not path.exists():
        return 0
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    city.time_zone = city.time_zone or data.get("time_zone")
    existing = {
        (o.asset_id, o.name): o
        for o in db.scalars(
            select(ServiceOffer).where(
                ServiceOffer.city_id == city.id, ServiceOffer.cost_note == ILLUSTRATIVE
            )
        )
    }
    kept: set[int] = set()
    types = dict(db.execute(select(ServiceType.slug, ServiceType.id)).all())
    stored = 0
    for item in data["offers"]:
        source, source_id = item["asset"]
        asset_id = db.scalar(
            select(Asset.id).where(
                Asset.city_id == city.id, Asset.source == source, Asset.source_id == source_id
            )
        )
        if asset_id is None or item["service_type"] not in types:
            continue
        offer = existing.get((asset_id, item["name"]))
        if offer is None:
            offer = ServiceOffer(city_id=city.id, asset_id=asset_id, cost_note=ILLUSTRATIVE, version=1)
            db.add(offer)
        offer.service_type_id = types[item["service_type"]]
        for name in FIELDS:
            default: Any = [] if name == "languages" else False if name.endswith("_required") else None
            if name == "cost_kind":
                default = "free"
            setattr(offer, name, item.get(name, default))
        db.flush()
        kept.add(offer.id)
        stored += 1
    stale = [o.id for o in existing.values() if o.id not in kept]
    if stale:
        db.execute(delete(ServiceOffer).where(ServiceOffer.id.in_(stale)))
    return stored
