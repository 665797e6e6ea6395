"""The linear-time replacements of two doubleml steps give doubleml's own results: the
cluster-robust variance equal to the last bit, the sample-split check the same arrays and
the same errors; and a whole DML fit is identical with and without them."""

from __future__ import annotations

import doubleml
import numpy as np
import pandas as pd
import pytest
from doubleml.utils._checks import _check_smpl_split_tpl
from doubleml.utils._estimation import _var_est
from sklearn.linear_model import LinearRegression

from analysis.engines import doubleml_linear_time as fast


def clustered_folds(rng: np.random.Generator, n_clusters: int, n_folds: int):
    """Rows of clusters of unequal sizes in shuffled order, and folds of whole clusters in
    doubleml's layout (smpls: train/test rows; smpls_cluster: train/test cluster values)."""
    sizes = rng.integers(1, 9, size=n_clusters)
    values = rng.choice(10_000, size=n_clusters, replace=False)
    cluster = rng.permutation(np.repeat(values, sizes))
    fold_of = dict(zip(values, rng.permutation(np.arange(n_clusters) % n_folds), strict=True))
    row_fold = np.array([fold_of[c] for c in cluster])
    smpls, smpls_cluster = [], []
    for k in range(n_folds):
        smpls.append((np.flatnonzero(row_fold != k), np.flatnonzero(row_fold == k)))
        in_fold = np.sort([c for c in values if fold_of[c] == k])
        out_fold = np.sort([c for c in values if fold_of[c] != k])
        smpls_cluster.append(([out_fold], [in_fold]))
    return cluster[:, None].astype(float), smpls, smpls_cluster


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_variance_equals_doubleml_to_the_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cluster_vars, smpls, smpls_cluster = clustered_folds(rng, 57, 4)
    psi = rng.standard_t(3, size=len(cluster_vars))
    psi_deriv = -rng.uniform(0.5, 1.5, size=len(cluster_vars))
    args = (psi, psi_deriv, smpls, True, cluster_vars, smpls_cluster, 4)
    ours, theirs = fast.var_est(*args), _var_est(*args)
    assert ours[1] == theirs[1] == 57
    assert float(ours[0]) == float(theirs[0])


def test_variance_without_clusters_is_the_library_function() -> None:
    rng = np.random.default_rng(3)
    psi, psi_deriv = rng.normal(size=40), -np.ones(40)
    assert fast.var_est(psi, psi_deriv, None, False) == _var_est(psi, psi_deriv, None, False)


@pytest.mark.parametrize(
    "split",
    [
        ([0, 1, 2], [3, 4]),  # valid
        ([3, 1, 2], [0, 4]),  # valid, unsorted
        ([0, 1, 2], [2, 4]),  # overlap
        ([0, 1, 4], [4, 3]),  # overlap at the end
        ([4, 3], [0, 1, 2]),  # no overlap, test below train
        ([0, 1, 1], [3, 4]),  # repeated train index
        ([0, 1, 2], [4, 4]),  # repeated test index
        ([0, 1, 5], [3, 4]),  # train index out of range
        ([0, 1, 2], [-1, 4]),  # test index out of range
        ([0.0, 1.0], [3, 4]),  # not integers
        ([], [3, 4]),  # empty (a float array)
    ],
)
def test_split_check_matches_doubleml(split: tuple[list, list]) -> None:
    def outcome(check):
        try:
            train, test = check(split, 5, check_intersect=True)
        except (TypeError, ValueError) as err:
            return type(err), str(err)
        return train.tolist(), test.tolist()

    assert outcome(fast.check_split) == outcome(_check_smpl_split_tpl)


def test_a_clustered_fit_is_identical_with_and_without() -> None:
    assert doubleml.__version__ == fast.VERIFIED  # pinned: the replacement is in use
    rng = np.random.default_rng(11)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])
    frame["city"] = rng.integers(0, 40, size=n)
    frame["d"] = frame["x1"] + rng.normal(size=n)
    frame["y"] = 0.5 * frame["d"] + frame["x2"] + rng.normal(size=n)

    data = doubleml.DoubleMLData(
        frame, y_col="y", d_cols="d", x_cols=["x1", "x2", "x3"], cluster_cols="city"
    )
    drawn = doubleml.DoubleMLPLR(data, LinearRegression(), LinearRegression(), n_folds=3, n_rep=2)

    def fit(replaced: bool) -> tuple[np.ndarray, np.ndarray]:
        obj = doubleml.DoubleMLPLR(
            data,
            LinearRegression(),
            LinearRegression(),
            n_folds=3,
            n_rep=2,
            draw_sample_splitting=False,
        )
        if replaced:
            with fast.linear_time() as active:
                assert active
                obj.set_sample_splitting(drawn.smpls, drawn.smpls_cluster)
                obj.fit()
        else:
            obj.set_sample_splitting(drawn.smpls, drawn.smpls_cluster)
            obj.fit()
        return obj.all_coef, obj.all_se

    with_, without = fit(True), fit(False)
    np.testing.assert_array_equal(with_[0], without[0])
    np.testing.assert_array_equal(with_[1], without[1])


def test_the_library_functions_are_back_after_the_block_also_on_an_error() -> None:
    with pytest.raises(RuntimeError), fast.linear_time():
        assert doubleml.double_ml._var_est is fast.var_est
        raise RuntimeError
    assert doubleml.double_ml._var_est is _var_est
    assert doubleml.utils._checks._check_smpl_split_tpl is _check_smpl_split_tpl
