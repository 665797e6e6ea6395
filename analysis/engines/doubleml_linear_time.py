"""Two steps of doubleml 0.11.4 whose cost grows faster than the sample, done in linear time
with the same arithmetic, for the duration of a `linear_time()` block.

- The cluster-robust variance (`doubleml.utils._estimation._var_est`, one cluster variable)
  finds each cluster's rows by comparing the whole cluster column with the cluster's value:
  O(clusters x rows), 55 s of a 105 s Lasso DML on 10^6 rows and 71,000 cities. `var_est`
  groups the rows once (a stable sort) and then does, cluster by cluster and in the same
  order, the same sum of the outer product of the cluster's scores, so sigma^2 is the same
  to the last bit (tests/test_doubleml_linear_time.py compares it with doubleml's own).
- The check of user-given sample splits (`doubleml.utils._checks._check_smpl_split_tpl`)
  builds Python sets of every index: 14 s on 10^6 rows. `check_split` makes the same checks
  (integer type, no overlap, no repeats, indices in [0, n_obs)) on the sorted arrays and
  raises doubleml's messages.

Nothing else of doubleml is touched. The replacement is made only for the version it was
checked against (`VERIFIED`); with any other version doubleml runs its own code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import doubleml
import doubleml.double_ml
import doubleml.utils._checks
import doubleml.utils._estimation
import numpy as np

VERIFIED = "0.11.4"
_library_var_est = doubleml.utils._estimation._var_est


def var_est(
    psi: np.ndarray,
    psi_deriv: np.ndarray,
    smpls: Any,
    is_cluster_data: bool,
    cluster_vars: np.ndarray | None = None,
    smpls_cluster: Any = None,
    n_folds_per_cluster: int | None = None,
) -> tuple[Any, Any]:
    """doubleml's `_var_est` with each cluster's rows found once; the library's own function
    for data without clusters or with two cluster variables (not slow there, or not used)."""
    args = (psi, psi_deriv, smpls, is_cluster_data, cluster_vars, smpls_cluster)
    if (
        not is_cluster_data
        or cluster_vars is None
        or n_folds_per_cluster is None
        or cluster_vars.shape[1] != 1
        or psi.ndim != 1
    ):
        return _library_var_est(*args, n_folds_per_cluster)
    clusters, codes = np.unique(cluster_vars[:, 0], return_inverse=True)
    order = np.argsort(codes, kind="stable")  # each cluster's rows in increasing row order
    bounds = np.searchsorted(codes[order], np.arange(len(clusters) + 1))
    gamma_hat: Any = 0
    j_hat: Any = 0
    for i_fold in range(len(smpls)):
        in_fold = np.asarray(smpls_cluster[i_fold][1][0])
        positions = np.searchsorted(clusters, in_fold).clip(0, len(clusters) - 1)
        if not np.array_equal(clusters[positions], in_fold):
            return _library_var_est(*args, n_folds_per_cluster)
        const = 1 / len(in_fold)
        for j in positions:
            scores = psi[order[bounds[j] : bounds[j + 1]]]
            gamma_hat += const * np.sum(np.outer(scores, scores))
        j_hat += np.sum(psi_deriv[smpls[i_fold][1]]) / len(in_fold)
    var_scaling_factor = len(clusters)
    big_j = np.divide(j_hat, n_folds_per_cluster)
    gamma_hat = np.divide(gamma_hat, n_folds_per_cluster)
    scaling = np.divide(1.0, np.multiply(var_scaling_factor, np.square(big_j)))
    return np.multiply(scaling, gamma_hat), var_scaling_factor


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether sorted arrays a and b share a value."""
    at = np.searchsorted(a, b).clip(0, max(len(a) - 1, 0))
    return bool(len(a) and np.any(a[at] == b))


def check_split(
    tpl: tuple[Any, Any], n_obs: int, check_intersect: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """doubleml's `_check_smpl_split_tpl` on sorted arrays instead of Python sets."""
    train, test = np.sort(np.array(tpl[0])), np.sort(np.array(tpl[1]))
    for name, index in (("Train", train), ("Test", test)):
        if not issubclass(index.dtype.type, np.integer):
            raise TypeError(f"Invalid sample split. {name} indices must be of type integer.")
    if check_intersect and _overlap(train, test):
        raise ValueError(
            "Invalid sample split. Intersection of train and test indices is not empty."
        )
    for name, index in (("Train", train), ("Test", test)):
        if np.any(index[1:] == index[:-1]):
            raise ValueError(f"Invalid sample split. {name} indices contain non-unique entries.")
    for name, index in (("Train", train), ("Test", test)):
        if index.size and (index[0] < 0 or index[-1] >= n_obs):
            raise ValueError(f"Invalid sample split. {name} indices must be in [0, n_obs).")
    return train, test


@contextmanager
def _replaced(module: ModuleType, name: str, value: object) -> Iterator[None]:
    """module.name is value within the block, and what it was after (also on an error)."""
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


@contextmanager
def linear_time() -> Iterator[bool]:
    """Within the block, doubleml (of the verified version) uses `var_est` and
    `check_split`; yields whether it does."""
    if doubleml.__version__ != VERIFIED:
        yield False
        return
    with (
        _replaced(doubleml.double_ml, "_var_est", var_est),
        _replaced(doubleml.utils._checks, "_check_smpl_split_tpl", check_split),
    ):
        yield True
