"""The propensity learner's log-loss scorer (analysis.estimators.learners.NegLogLoss) gives
the numbers of scikit-learn's own "neg_log_loss" scorer, so the penalty it selects and the
staggered DML's estimates are those of the library's scorer, only faster."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer

from analysis.estimators.learners import NegLogLoss, make_learner


def _data(seed: int, n: int = 240) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] - 0.5 * x[:, 1] + rng.normal(size=n) > 1.2).astype(int)
    return x, y


def test_equals_scikit_learns_scorer_to_the_bit() -> None:
    reference = get_scorer("neg_log_loss")
    for seed in range(5):
        x, y = _data(seed)
        # A nearly unpenalised fit with a far-out row: probabilities at the clipping bound.
        x[0] = 40.0
        model = LogisticRegression(C=1e6, max_iter=5000).fit(x, y)
        assert NegLogLoss()(model, x, y) == reference(model, x, y)


def test_the_lasso_propensity_selects_the_same_penalty_and_predicts_the_same() -> None:
    x, y = _data(11)
    fast = make_learner("lasso", 7, "classification")
    slow = make_learner("lasso", 7, "classification")
    slow.set_params(logisticregressioncv__scoring="neg_log_loss")
    fast.fit(x, y)
    slow.fit(x, y)
    assert fast[-1].C_ == slow[-1].C_
    np.testing.assert_array_equal(fast[-1].scores_, slow[-1].scores_)
    np.testing.assert_array_equal(fast.predict_proba(x), slow.predict_proba(x))


def test_its_text_in_the_manifest_is_stable() -> None:
    assert repr(NegLogLoss()) == "neg_log_loss"
    assert "scoring=neg_log_loss" in repr(make_learner("lasso", 7, "classification"))
