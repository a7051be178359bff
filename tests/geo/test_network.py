"""The relationship network: degree, betweenness, components, isolated assets, brokers, border crossings."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.crs import AnalysisInputError
from geo.network import network_metrics


@pytest.fixture
def village():
    # a - b - c in a line (a, b in neighbourhood 1; c in 2), d - e a pair, f alone, g with no neighbourhood.
    assets = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f", "g"],
            "name": ["hall", "church", "cafe", "library", "school", "garden", "carer"],
            "neighbourhood_id": [1, 1, 2, 3, 3, 2, None],
        }
    )
    links = pd.DataFrame(
        {
            "source_id": ["a", "b", "b", "d", "e"],
            "target_id": ["b", "c", "c", "e", "g"],
            "kind": ["partnership", "referral", "funding", "shared_space", "volunteers"],
            "weight": [1.0, 2.0, 1.0, 1.0, 0.5],
            "directed": [False, True, True, False, True],
        }
    )
    return network_metrics(assets, links)


def test_degree_counts_distinct_partners_and_links(village) -> None:
    assets = village.assets
    # b links to a and (twice) to c: two partners, three links.
    assert assets.loc["b", "degree"] == 2
    assert assets.loc["b", "link_count"] == 3
    assert assets["degree"].to_dict() == {"a": 1, "b": 2, "c": 1, "d": 1, "e": 2, "f": 0, "g": 1}


def test_betweenness_is_normalised_by_hand(village) -> None:
    # 7 assets: normalisation 2 / ((n - 1)(n - 2)) = 1 / 15. b lies on the one shortest a-c path: 1/15.
    # e lies on the d-g path: 1/15. Everyone else: 0.
    b = village.assets["betweenness"]
    assert b["b"] == pytest.approx(1 / 15)
    assert b["e"] == pytest.approx(1 / 15)
    assert b.drop(["b", "e"]).eq(0).all()


def test_brokers_are_the_assets_with_top_betweenness(village) -> None:
    assert village.assets.index[village.assets["broker"]].tolist() == ["b", "e"]


def test_components_are_numbered_largest_first(village) -> None:
    components = village.components
    assert components["size"].tolist() == [3, 3, 1]
    assert components["asset_ids"].tolist() == [["a", "b", "c"], ["d", "e", "g"], ["f"]]
    assert village.assets["component"].to_dict() == {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1, "g": 1, "f": 2}
    # Component 1 touches neighbourhood 3 only (g has none).
    assert components["n_neighbourhoods"].tolist() == [2, 1, 1]
    assert components["n_links"].tolist() == [3, 2, 0]


def test_isolated_assets(village) -> None:
    assert village.assets.index[village.assets["isolated"]].tolist() == ["f"]
    assert village.totals["n_isolated"] == 1


def test_links_crossing_neighbourhood_borders(village) -> None:
    # a-b stay in 1; b-c cross 1 -> 2 (twice); d-e stay in 3; e-g: g has no neighbourhood, which counts
    # as crossing.
    assert village.links["crosses_border"].tolist() == [False, True, True, False, True]
    assert village.assets.loc["b", "cross_border_links"] == 2
    assert village.totals["n_cross_border_links"] == 3


def test_links_to_unknown_assets_are_refused() -> None:
    assets = pd.DataFrame({"id": [1, 2]})
    with pytest.raises(AnalysisInputError, match="1->9"):
        network_metrics(assets, pd.DataFrame({"source_id": [1], "target_id": [9]}))


def test_a_link_to_itself_is_refused() -> None:
    assets = pd.DataFrame({"id": [1, 2]})
    with pytest.raises(AnalysisInputError, match="itself"):
        network_metrics(assets, pd.DataFrame({"source_id": [2], "target_id": [2]}))


def test_no_links_leaves_everyone_isolated_and_no_broker() -> None:
    result = network_metrics(
        pd.DataFrame({"id": [1, 2, 3]}), pd.DataFrame({"source_id": [], "target_id": []})
    )
    assert result.assets["isolated"].all()
    assert not result.assets["broker"].any()
    assert result.totals["n_components"] == 3


def test_many_unlinked_assets_give_networkx_betweenness_quickly() -> None:
    """Many isolated assets (skipped by the search): the same normalised betweenness as networkx on the whole graph."""
    import networkx as nx
    import numpy as np
    import pandas as pd

    from geo.network import network_metrics

    n = 600
    assets = pd.DataFrame({"id": np.arange(n), "name": "x", "neighbourhood_id": np.arange(n) % 7})
    rng = np.random.default_rng(7)
    pairs = {tuple(sorted(p)) for p in rng.integers(0, 60, size=(90, 2)).tolist() if p[0] != p[1]}
    links = pd.DataFrame(
        {
            "source_id": [a for a, _ in pairs],
            "target_id": [b for _, b in pairs],
            "kind": "referral",
            "weight": 1.0,
            "directed": False,
        }
    )
    metrics = network_metrics(assets, links)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(pairs)
    expected = nx.betweenness_centrality(graph, normalized=True)
    got = metrics.assets["betweenness"].to_numpy()
    assert np.allclose(got, [expected[i] for i in range(n)], rtol=1e-12, atol=1e-15)
    assert (got[60:] == 0).all() and metrics.assets["isolated"].to_numpy()[60:].all()
