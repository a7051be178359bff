"""Interchange (swap) local search for the maximal covering problem on a merged 0/1 coverage matrix.

One pass prices every swap "close chosen site s, open candidate a" at once with sparse algebra: with k_i the
number of chosen sites covering merged unit i,
    gain(a)    = weight newly covered by a                 (units of a with k_i = 0)
    loss(s)    = weight covered by s alone                 (units of s with k_i = 1)
    back(s, a) = weight covered by s alone that a covers too
and the swap changes the objective by gain(a) - loss(s) + back(s, a). The best swap is made while it gains more
than a relative tolerance; every swap strictly improves the objective, so the search ends.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from geo.coverage import Deadline, FloatArray, check_deadline

# A swap must gain at least this share of the total weight to be made (guards against float ping-pong).
_REL_TOL = 1e-12


def covered_weight(by_row: sparse.csr_matrix, weight: FloatArray, chosen: Sequence[int]) -> float:
    """Weight of the merged units that at least one of `chosen` covers."""
    if len(chosen) == 0:
        return 0.0
    on = np.zeros(by_row.shape[1], dtype=np.float64)
    on[np.asarray(chosen, dtype=np.int64)] = 1.0
    return float(weight[by_row @ on > 0.5].sum())


def interchange(
    by_row: sparse.csr_matrix,
    weight: FloatArray,
    chosen: Sequence[int],
    *,
    max_swaps: int = 10_000,
    deadline: Deadline | None = None,
) -> tuple[list[int], float, int]:
    """Improve `chosen` by best-improvement swaps; return the sites, their covered weight and the swaps made.

    `by_row` is the merged unit x candidate matrix (CSR, 0/1, any numeric dtype); candidates in `chosen` are
    distinct. The answer is a swap-local optimum: no single exchange covers more.
    """
    n_rows, n_cols = by_row.shape
    current = [int(j) for j in chosen]
    if not current or len(current) >= n_cols:
        return current, covered_weight(by_row, weight, current), 0
    matrix = by_row.astype(np.float64)
    tolerance = _REL_TOL * max(float(weight.sum()), 1.0)
    swaps = 0
    while swaps < max_swaps:
        check_deadline(deadline)
        on = np.zeros(n_cols, dtype=np.float64)
        on[current] = 1.0
        position = np.zeros(n_cols, dtype=np.float64)
        position[current] = np.arange(1, len(current) + 1)
        count = matrix @ on
        # For a unit covered once, the sum of positions over its chosen sites names the one that covers it.
        owner = np.rint(matrix @ position).astype(np.int64) - 1
        gain = matrix.T @ np.where(count < 0.5, weight, 0.0)
        alone = np.flatnonzero((count > 0.5) & (count < 1.5))
        owned = sparse.csr_matrix(
            (weight[alone], (owner[alone], alone)), shape=(len(current), n_rows), dtype=np.float64
        )
        loss = np.asarray(owned.sum(axis=1)).ravel()
        back = (owned @ matrix).toarray()
        delta = gain[None, :] - loss[:, None] + back
        delta[:, current] = -np.inf
        flat = int(np.argmax(delta))
        out_pos, incoming = divmod(flat, n_cols)
        if not delta[out_pos, incoming] > tolerance:
            break
        current[out_pos] = int(incoming)
        swaps += 1
    return current, covered_weight(by_row, weight, current), swaps
