"""The one learner setting that depends on the number of rows: the forest's rows per tree,
half the training rows up to FOREST_ROWS_PER_TREE (analysis.estimators.learners.sized), and
its statement in estimates.csv."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold

from analysis.engines.doubleml_plr import ssc
from analysis.estimators import learners
from analysis.estimators.crossfit import Job, crossfit


def test_the_cap_binds_only_above_twice_its_rows() -> None:
    cap = learners.FOREST_ROWS_PER_TREE
    forest = learners.make_learner("random_forest", 1)
    assert learners.sized(clone(forest), 2 * cap).max_samples == 0.5
    assert learners.sized(clone(forest), 2 * cap + 2).max_samples == cap
    lasso = learners.make_learner("lasso", 1)
    assert repr(learners.sized(clone(lasso), 10**7).get_params()) == repr(lasso.get_params())


def test_cross_fitting_fits_the_capped_forest(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the cap at 150 rows, each fold's forest (800 training rows) equals a forest
    fitted by hand with max_samples=150, and differs from the uncapped one."""
    monkeypatch.setattr(learners, "FOREST_ROWS_PER_TREE", 150)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1000, 3))
    y = x[:, 0] - x[:, 1] ** 2 + rng.normal(size=1000)
    folds = [(train, test) for train, test in KFold(5).split(x)]
    forest = learners.make_learner("random_forest", 7)
    ((pred, _),) = crossfit([Job(forest, x, y, folds)])
    by_hand = np.empty(1000)
    uncapped = np.empty(1000)
    for train, test in folds:
        capped = clone(forest).set_params(max_samples=150).fit(x[train], y[train])
        by_hand[test] = capped.predict(x[test])
        uncapped[test] = clone(forest).fit(x[train], y[train]).predict(x[test])
    np.testing.assert_array_equal(pred, by_hand)
    assert not np.array_equal(pred, uncapped)


def test_estimates_state_the_cap_where_it_can_bind() -> None:
    cap = learners.FOREST_ROWS_PER_TREE
    assert learners.size_note(("random_forest",), 2 * cap) == ""
    note = learners.size_note(("stack",), 2 * cap + 1)
    assert note == f"random_forest rows per tree=min(0.5 x training rows, {cap})"
    assert learners.size_note(("lasso",), 10**7) == ""
    assert ssc(5, 10, "doubleml_median", note).endswith(f";{note}")
    assert (
        ssc(5, 10, "doubleml_median")
        == "none;normal;folds=5 by city_code;n_rep=10;agg=doubleml_median"
    )
