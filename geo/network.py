"""The relationship network (ANALYSIS.md (f)): assets are nodes, links are edges (networkx).

Degree, betweenness and components treat every link as a tie between two assets whatever its direction (a
referral from A to B connects them both ways for a community), and several links between the same two
assets make one tie. Betweenness is normalised and unweighted: link weight measures strength, not distance,
so it is not used as a path length. A broker is an asset with betweenness above zero and at or above the
`broker_quantile` quantile of all assets' betweenness. A link crosses a border when its two assets lie in
different neighbourhoods; an asset with no neighbourhood counts as different from every other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from geo.crs import AnalysisInputError

DEFAULT_BROKER_QUANTILE = 0.9


@dataclass(frozen=True)
class NetworkMetrics:
    """Per-asset, per-link and per-component network measures (no geometry; counts of assets and links).

    assets (index: asset id, input order): name, neighbourhood_id, degree (distinct partners), link_count,
      cross_border_links, betweenness, component, component_size, isolated, broker.
    links (input order): source_id, target_id, kind, weight, directed, crosses_border.
    components (index: component, 0 = largest): size, n_neighbourhoods, n_links, asset_ids.
    """

    assets: pd.DataFrame
    links: pd.DataFrame
    components: pd.DataFrame
    totals: dict[str, Any]


def _column(frame: pd.DataFrame, name: str, default: Any) -> np.ndarray:
    if name in frame.columns:
        return frame[name].to_numpy()
    return np.full(len(frame), default, dtype=object)


def _missing(values: np.ndarray) -> np.ndarray:
    return pd.isna(pd.Series(values, dtype=object)).to_numpy()


def network_metrics(
    assets: pd.DataFrame, links: pd.DataFrame, *, broker_quantile: float = DEFAULT_BROKER_QUANTILE
) -> NetworkMetrics:
    """Degree, betweenness, components, isolated assets, brokers and border-crossing links of a network."""
    if "id" not in assets.columns:
        raise AnalysisInputError("assets need an 'id' column")
    missing_columns = [c for c in ("source_id", "target_id") if c not in links.columns]
    if missing_columns:
        raise AnalysisInputError(f"links need the column(s) {', '.join(missing_columns)}")
    if not 0 <= broker_quantile <= 1:
        raise AnalysisInputError(f"broker_quantile must be from 0 to 1, got {broker_quantile!r}")
    ids = pd.Index(assets["id"].to_numpy())
    if ids.has_duplicates or ids.hasnans:
        raise AnalysisInputError("asset ids must be unique and present")

    source = ids.get_indexer(links["source_id"].to_numpy())
    target = ids.get_indexer(links["target_id"].to_numpy())
    unknown = np.flatnonzero((source < 0) | (target < 0))
    if unknown.size:
        rows = links.iloc[unknown[:5]]
        pairs = ", ".join(f"{s}->{t}" for s, t in zip(rows["source_id"], rows["target_id"], strict=True))
        raise AnalysisInputError(
            f"{unknown.size} links name assets that are not in the list ({pairs}): load them"
        )
    self_links = np.flatnonzero(source == target)
    if self_links.size:
        raise AnalysisInputError(
            f"{self_links.size} links join an asset to itself "
            f"(asset {ids[source[self_links[0]]]}): remove them"
        )

    neighbourhood = _column(assets, "neighbourhood_id", None)
    no_neighbourhood = _missing(neighbourhood)
    same = (
        (neighbourhood[source] == neighbourhood[target])
        & ~no_neighbourhood[source]
        & ~no_neighbourhood[target]
    )
    crosses = ~same

    # Nodes are asset positions, so ids of any type work and the output keeps input order.
    graph = nx.Graph()
    graph.add_nodes_from(range(len(ids)))
    graph.add_edges_from(zip(source.tolist(), target.tolist(), strict=True))
    n = len(ids)
    degree = np.array([graph.degree(node) for node in range(n)], dtype=np.int64)
    link_count = np.bincount(source, minlength=n) + np.bincount(target, minlength=n)
    cross_count = np.bincount(source[crosses], minlength=n) + np.bincount(target[crosses], minlength=n)
    # Unlinked assets lie on no shortest path, yet networkx would start a search from each of them (a city has
    # thousands): compute on the linked part, then normalise by all n assets as networkx's normalized=True does.
    linked_nodes = np.flatnonzero(degree > 0).tolist()
    raw = nx.betweenness_centrality(graph.subgraph(linked_nodes), normalized=False)
    scale = 2.0 / ((n - 1) * (n - 2)) if n > 2 else 1.0
    betweenness = np.zeros(n, dtype=np.float64)
    if raw:
        betweenness[list(raw)] = np.fromiter(raw.values(), dtype=np.float64, count=len(raw)) * scale
    threshold = float(np.quantile(betweenness, broker_quantile)) if n else 0.0
    broker = (betweenness > 0) & (betweenness >= threshold)

    groups = sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0]))
    component = np.empty(n, dtype=np.int64)
    for number, members in enumerate(groups):
        component[members] = number
    sizes = np.array([len(members) for members in groups], dtype=np.int64)

    asset_frame = pd.DataFrame(
        {
            "name": _column(assets, "name", None),
            "neighbourhood_id": neighbourhood,
            "degree": degree,
            "link_count": link_count,
            "cross_border_links": cross_count,
            "betweenness": betweenness,
            "component": component,
            "component_size": sizes[component] if n else np.empty(0, dtype=np.int64),
            "isolated": degree == 0,
            "broker": broker,
        },
        index=pd.Index(ids, name="id"),
    )
    link_frame = pd.DataFrame(
        {
            "source_id": links["source_id"].to_numpy(),
            "target_id": links["target_id"].to_numpy(),
            "kind": _column(links, "kind", None),
            "weight": pd.to_numeric(pd.Series(_column(links, "weight", 1.0)), errors="coerce").to_numpy(),
            "directed": _column(links, "directed", False).astype(bool),
            "crosses_border": crosses,
        }
    )
    link_component = component[source] if len(links) else np.empty(0, dtype=np.int64)
    components = pd.DataFrame(
        {
            "size": sizes,
            "n_neighbourhoods": [
                pd.Series(neighbourhood[members], dtype=object).dropna().nunique() for members in groups
            ],
            "n_links": np.bincount(link_component, minlength=len(groups)),
            "asset_ids": [ids[members].tolist() for members in groups],
        },
        index=pd.RangeIndex(len(groups), name="component"),
    )
    totals = {
        "n_assets": n,
        "n_links": len(links),
        "n_ties": graph.number_of_edges(),
        "n_components": len(groups),
        "largest_component_size": int(sizes[0]) if len(sizes) else 0,
        "n_isolated": int((degree == 0).sum()),
        "n_brokers": int(broker.sum()),
        "n_cross_border_links": int(crosses.sum()),
        "cross_border_share": float(crosses.mean()) if len(links) else None,
        "density": float(nx.density(graph)) if n > 1 else 0.0,
    }
    return NetworkMetrics(asset_frame, link_frame, components, totals)
