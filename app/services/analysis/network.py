"""The relationship network of a city's published assets and links (ANALYSIS.md (f)), as the caller may see it.

Without planner rights, people (category individual) and sensitive assets are left out with their ties: a degree
that counted ties to people would give away small counts of people per asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Asset, City, Link
from app.db.queries import asset_is_private, asset_shown_geom
from app.policy import Principal
from app.services.analysis.compute import clean, view_of
from app.services.analysis.inputs import WGS84
from app.services.analysis.outputs import suppressed
from app.services.analysis.params import find_city
from app.settings import Settings
from geo.network import NetworkMetrics, network_metrics


@dataclass(frozen=True)
class NetworkView:
    """Network metrics of a city with the located assets (EPSG:4326, as shown to the caller) and the links."""

    city: City
    view: str
    assets: gpd.GeoDataFrame  # id, name, category, neighbourhood_id, geometry
    links: pd.DataFrame  # id, source_id, target_id, kind, weight, directed
    metrics: NetworkMetrics
    withheld: int


def network_view(db: Session, settings: Settings, principal: Principal, city_ref: str | int) -> NetworkView:
    """Degree, betweenness, components, isolated assets, brokers and border-crossing ties of published data."""
    city = find_city(db, city_ref)
    shown = asset_shown_geom(principal, settings)
    stmt = (
        select(
            Asset.id,
            Asset.name,
            Asset.category,
            Asset.neighbourhood_id,
            asset_is_private(),
            func.ST_X(shown),
            func.ST_Y(shown),
        )
        .where(Asset.city_id == city.id, Asset.status == "approved")
        .order_by(Asset.id)
    )
    rows = db.execute(stmt).all()
    exact = principal.sees_exact_locations
    kept = [r for r in rows if exact or not r[4]]
    assets = gpd.GeoDataFrame(
        {
            "id": [r[0] for r in kept],
            "name": [r[1] for r in kept],
            "category": [r[2] for r in kept],
            "neighbourhood_id": pd.Series([r[3] for r in kept], dtype=object),
        },
        geometry=gpd.points_from_xy([r[5] for r in kept], [r[6] for r in kept], crs=WGS84),
    )
    ids = set(assets["id"].tolist())
    link_rows = [
        r
        for r in db.execute(
            select(Link.id, Link.source_asset_id, Link.target_asset_id, Link.kind, Link.weight, Link.directed)
            .where(Link.city_id == city.id, Link.status == "approved")
            .order_by(Link.id)
        ).all()
        if r[1] in ids and r[2] in ids
    ]
    links = pd.DataFrame(
        link_rows, columns=["id", "source_id", "target_id", "kind", "weight", "directed"]
    ).astype({"weight": float})
    metrics = network_metrics(pd.DataFrame(assets.drop(columns="geometry")), links)
    return NetworkView(city, view_of(principal), assets, links, metrics, len(rows) - len(kept))


def network_document(view: NetworkView, principal: Principal, settings: Settings) -> dict[str, Any]:
    """The network as JSON: totals, per-asset measures with location, ties, and the linked components."""
    metrics = view.metrics
    per_asset = metrics.assets.reset_index()
    points = view.assets.geometry
    assets = [
        {
            **{key: clean(value) for key, value in row.items()},
            "category": category,
            "lon": round(float(point.x), 6),
            "lat": round(float(point.y), 6),
        }
        for row, category, point in zip(
            per_asset.to_dict(orient="records"), view.assets["category"], points, strict=True
        )
    ]
    ties = metrics.links.assign(id=view.links["id"].to_numpy())
    components = metrics.components[metrics.components["size"] > 1].reset_index()
    return {
        "city": {"id": view.city.id, "name": view.city.name},
        "view": view.view,
        "totals": {key: clean(value) for key, value in metrics.totals.items()},
        "assets": assets,
        "links": [
            {key: clean(value) for key, value in row.items()} for row in ties.to_dict(orient="records")
        ],
        "components": [
            {key: (value if key == "asset_ids" else clean(value)) for key, value in row.items()}
            for row in components.to_dict(orient="records")
        ],
        "withheld": suppressed(view.withheld, principal, settings),
    }
