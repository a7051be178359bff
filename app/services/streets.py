"""A city's street network: import it from a file with its provenance, and load it for walking distances.

One network per city; importing again replaces it. The graph is split at shared vertices and measured in the
city's CRS (or the UTM zone of the lines when the city has none) and stored as nodes and edges in EPSG:4326, so
a run reads it back into whatever CRS it measures in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from app.db.bulk import copy_frame
from app.db.models import City, StreetNetwork
from app.db.session import session_scope
from app.errors import InvalidInput
from app.services.catalogue import resolve_city
from app.settings import Settings
from geo.crs import AnalysisInputError, measuring_crs, require_projected
from geo.streets import StreetGraph
from geo.streets import StreetNetwork as NetworkDistances
from geo.streets.graph import split_at_shared_vertices
from geo.streets.read import read_street_lines

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class StreetNetworkInfo:
    """A city's street network as `assetmap streets import` and `streets show` report it."""

    city: str
    network_id: int
    source_name: str
    source_format: str
    sha256: str
    licence: str | None
    attribution: str | None
    crs: str
    counts: dict[str, Any]
    imported_at: dt.datetime


def _info(city: City, network: StreetNetwork) -> StreetNetworkInfo:
    return StreetNetworkInfo(
        city=city.name,
        network_id=network.id,
        source_name=network.source_name,
        source_format=network.source_format,
        sha256=network.sha256,
        licence=network.licence,
        attribution=network.attribution,
        crs=network.crs,
        counts=dict(network.counts),
        imported_at=network.imported_at,
    )


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _ewkb_4326(geoms: np.ndarray, crs: pyproj.CRS) -> list[str]:
    """Hex EWKB (SRID 4326) of geometries in `crs`, as COPY text."""
    lonlat = gpd.GeoSeries(geoms, crs=crs).to_crs("EPSG:4326").values
    return list(shapely.to_wkb(shapely.set_srid(lonlat, 4326), hex=True, include_srid=True))


def import_streets(
    settings: Settings,
    path: str | Path,
    city_ref: int | str,
    *,
    licence: str | None = None,
    attribution: str | None = None,
    layer: str | None = None,
    user_id: int | None = None,
) -> StreetNetworkInfo:
    """Read a street file, keep its walkable lines, build the graph and store it as the city's network."""
    with session_scope(settings) as db:
        city = resolve_city(db, city_ref)
        info = store_street_network(
            db, path, city, licence=licence, attribution=attribution, layer=layer, user_id=user_id
        )
        db.commit()
        return info


def store_street_network(
    db: Session,
    path: str | Path,
    city: City,
    *,
    licence: str | None = None,
    attribution: str | None = None,
    layer: str | None = None,
    user_id: int | None = None,
) -> StreetNetworkInfo:
    """import_streets in the caller's session and transaction (not committed here)."""
    path = Path(path)
    try:
        read = read_street_lines(path, layer=layer)
    except AnalysisInputError as exc:
        raise InvalidInput(str(exc), field="file") from None
    if len(read.lines) == 0:
        raise InvalidInput(f"{path.name} holds no walkable street lines", field="file")
    try:
        crs = require_projected(measuring_crs(read.lines, city.crs))
        lines = read.lines.to_crs(crs)
        node_xy, source, target, pieces, line_index = split_at_shared_vertices(lines.geometry)
        graph = StreetGraph.from_edges(node_xy, source, target, pieces)
    except AnalysisInputError as exc:
        raise InvalidInput(str(exc), field="file") from None
    n_parts, labels = graph.components()
    counts = {
        **read.counts,
        "nodes": graph.n_nodes,
        "edges": graph.n_edges,
        "length_km": round(float(graph.edge_length_m.sum()) / 1000, 3),
        "connected_parts": n_parts,
        "largest_part_nodes": int(np.bincount(labels).max()) if graph.n_nodes else 0,
    }
    db.execute(delete(StreetNetwork).where(StreetNetwork.city_id == city.id))
    network = StreetNetwork(
        city_id=city.id,
        source_name=path.name[:300],
        source_format=read.source_format[:40],
        sha256=file_sha256(path),
        licence=licence,
        attribution=attribution,
        crs=crs.to_string()[:40],
        counts=counts,
        user_id=user_id,
    )
    db.add(network)
    db.flush()
    nodes = pd.DataFrame({"node": np.arange(graph.n_nodes), "geom": _ewkb_4326(shapely.points(node_xy), crs)})
    copy_frame(db, "street_node", nodes, {"network_id": network.id})
    highway = lines["highway"].to_numpy(dtype=object)[line_index]
    edges = pd.DataFrame(
        {
            "edge": np.arange(graph.n_edges),
            "source": graph.edge_source,
            "target": graph.edge_target,
            "length_m": graph.edge_length_m,
            "highway": pd.Series(highway, dtype=object),
            "geom": _ewkb_4326(graph.edge_geometry, crs),
        }
    )
    copy_frame(db, "street_edge", edges, {"network_id": network.id})
    db.flush()
    db.refresh(network)
    return _info(city, network)


def stored_sha256(db: Session, city: City) -> str | None:
    """SHA-256 of the file the city's network came from, or None without one."""
    return db.scalar(select(StreetNetwork.sha256).where(StreetNetwork.city_id == city.id))


def network_info(settings: Settings, city_ref: int | str) -> StreetNetworkInfo | None:
    """The city's street network and its provenance, or None when it has none."""
    with session_scope(settings) as db:
        city = resolve_city(db, city_ref)
        network = db.scalar(select(StreetNetwork).where(StreetNetwork.city_id == city.id))
        return None if network is None else _info(city, network)


def load_street_network(db: Session, city: City, crs: Any) -> NetworkDistances | None:
    """The city's network as walking distances in `crs` (metres), or None when the city has none."""
    network = db.scalar(select(StreetNetwork).where(StreetNetwork.city_id == city.id))
    if network is None:
        return None
    target = require_projected(crs)
    node_rows = db.execute(
        text("SELECT ST_AsBinary(geom) FROM street_node WHERE network_id = :id ORDER BY node"),
        {"id": network.id},
    ).all()
    edge_rows = db.execute(
        text(
            "SELECT source, target, ST_AsBinary(geom) FROM street_edge WHERE network_id = :id ORDER BY edge"
        ),
        {"id": network.id},
    ).all()
    nodes = gpd.GeoSeries(shapely.from_wkb([bytes(r[0]) for r in node_rows]), crs="EPSG:4326").to_crs(target)
    lines = gpd.GeoSeries(shapely.from_wkb([bytes(r[2]) for r in edge_rows]), crs="EPSG:4326").to_crs(target)
    graph = StreetGraph.from_edges(
        shapely.get_coordinates(nodes.values),
        np.array([r[0] for r in edge_rows], dtype=np.int64),
        np.array([r[1] for r in edge_rows], dtype=np.int64),
        lines.values,
    )
    about = {
        "network_id": network.id,
        "network_source": network.source_name,
        "network_licence": network.licence,
        "network_imported_at": network.imported_at.isoformat(),
    }
    return NetworkDistances(graph, about=about)


def require_street_network(db: Session, city: City, crs: Any) -> NetworkDistances:
    """load_street_network, or a 422 naming the way to give the city a network."""
    found = load_street_network(db, city, crs)
    if found is None:
        _no_network(city)
    return found


def require_street_network_exists(db: Session, city: City) -> None:
    """A 422 naming the way to give the city a network when it has none (checked before anything is read)."""
    if stored_sha256(db, city) is None:
        _no_network(city)


def _no_network(city: City) -> NoReturn:
    raise InvalidInput(
        f"{city.name} has no street network, so walking distances cannot be measured: import one with "
        f"`assetmap streets import FILE --city {city.name!r}` or use distance=straight",
        field="distance",
    )
