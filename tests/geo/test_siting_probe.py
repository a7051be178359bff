"""Probing (geo.siting.probe): the candidates it drops or forces never cut off an answer better than the
incumbent, checked by enumerating every choice; and it does drop candidates, so the MILP gets smaller."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from geo.siting.probe import probe_candidates
from geo.siting.search import covered_weight
from tests.geo.test_siting_exact import _clustered


def _covering(seed: int, n_cand: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    units, weight, candidates = _clustered(seed, 300, n_cand)
    d = np.hypot(units[:, None, 0] - candidates[None, :, 0], units[:, None, 1] - candidates[None, :, 1])
    return sparse.csr_matrix((d <= 1500.0).astype(np.int8)), weight


@pytest.mark.parametrize(("seed", "start"), [(1, [0, 1, 2]), (2, None), (3, None), (4, [5, 6, 7])])
def test_probing_never_cuts_off_a_better_answer(seed: int, start: list[int] | None) -> None:
    p, n_cand = 3, 24
    matrix, weight = _covering(seed, n_cand)
    every = {
        combo: covered_weight(matrix, weight, combo) for combo in itertools.combinations(range(n_cand), p)
    }
    best = max(every, key=every.__getitem__)
    # A weak incumbent (given sites) or a near-best one (the second best choice).
    ranked = sorted(every, key=every.__getitem__, reverse=True)
    incumbent = list(start) if start is not None else list(ranked[1])
    value = every[tuple(sorted(incumbent))]
    # The probed problem in its plain form: every unit a row, no own gains.
    probed = probe_candidates(
        matrix.astype(np.float64).tocsr(),
        np.zeros(n_cand),
        weight,
        p,
        value,
        np.asarray(incumbent, dtype=np.int64),
        10.0,
    )
    assert probed.n_probes > 0
    for combo, covered in every.items():
        if covered > value * (1 + 1e-9):
            assert not probed.ruled_out[list(combo)].any(), (combo, covered, value)
            assert set(np.flatnonzero(probed.forced)) <= set(combo)
    if every[best] > value * (1 + 1e-9):
        assert not probed.ruled_out[list(best)].any()
    assert not probed.ruled_out[incumbent].any()


def test_probing_drops_candidates_near_the_optimum() -> None:
    p, n_cand = 3, 24
    matrix, weight = _covering(2, n_cand)
    every = {
        combo: covered_weight(matrix, weight, combo) for combo in itertools.combinations(range(n_cand), p)
    }
    best = max(every, key=every.__getitem__)
    probed = probe_candidates(
        matrix.astype(np.float64).tocsr(), np.zeros(n_cand), weight, p, every[best], np.asarray(best), 10.0
    )
    # With the optimum as incumbent, most candidates cannot be in a better answer (there is none).
    assert probed.ruled_out.sum() >= n_cand // 2


def test_no_time_no_probing() -> None:
    matrix, weight = _covering(1, 10)
    probed = probe_candidates(
        matrix.astype(float).tocsr(), np.zeros(10), weight, 2, 0.0, np.asarray([0, 1]), 0.0
    )
    assert probed.n_probes == 0 and not probed.ruled_out.any() and not probed.forced.any()
