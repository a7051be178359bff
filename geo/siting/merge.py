"""Merging demand units that the same set of candidates reaches (rows of a sparse coverage matrix)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

_HASH_SEED = 20240611


def merge_identical_rows(matrix: sparse.csr_matrix) -> tuple[sparse.csr_matrix, NDArray[np.int64]]:
    """Group rows with the same set of columns; return the distinct rows and each input row's group."""
    if matrix.shape[0] == 0:
        return matrix, np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(_HASH_SEED)
    n_cols = matrix.shape[1]
    pattern = sparse.csr_matrix(
        (np.ones(matrix.nnz, dtype=np.uint64), matrix.indices, matrix.indptr), shape=matrix.shape
    )
    # Two random 64-bit sums (wrapping) identify a column set; a collision is checked below, not assumed away.
    keys = np.column_stack(
        [
            pattern @ rng.integers(0, 2**63, size=n_cols, dtype=np.uint64),
            pattern @ rng.integers(0, 2**63, size=n_cols, dtype=np.uint64),
            np.diff(matrix.indptr).astype(np.uint64),
        ]
    )
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.ravel().astype(np.int64)
    merged = matrix[first]
    check = matrix - merged[group]
    if check.count_nonzero():
        return matrix, np.arange(matrix.shape[0], dtype=np.int64)
    return merged, group
