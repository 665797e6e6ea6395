"""Machine learners of the DML nuisance functions, in one registry, and short-stacking.

"linear" (OLS, and a ridge-penalised logistic regression) is there for reference and tests;
it is not among the study's default learners. Every learner is built by a factory from a seed (all randomness of the learner comes from it)
and a task: "regression" (E[Y|X], E[D|X] in the partially linear model; the outcome
regression of DID) or "classification" (the propensity score of DID). The hyper-parameters
are fixed here, stated once, and recorded in the manifest (`describe`). They are moderate on
purpose: the full specification (four learners, two fixed-effect treatments, ten
repetitions) must run in a few minutes on two cores. The sizes were chosen by measurement on
the study's panel (both fixed-effect treatments, the same folds): a forest of 30 trees rather
than 100, 35 boosting rounds at rate 0.3 rather than 100 at 0.1, and for the network an
initial learning rate of 5e-3 rather than 1e-3 and early stopping after 5 epochs without
improvement rather than 10 each cut the learner's time two- to fourfold, and no out-of-fold
RMSE of either nuisance became worse by more than 1.9% (README, Benchmark).

Short-stacking (Ahrens, Hansen, Schaffer and Wiemann 2025, "Model averaging and double
machine learning", J. Applied Econometrics): the cross-fitted predictions of the base
learners are combined with weights that minimise the squared error of the combination,
subject to w >= 0 and sum(w) = 1, fitted once on the full sample (no second layer of
cross-fitting). `stack_weights` solves that small quadratic programme exactly.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LassoCV, LinearRegression, LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

STACK = "stack"
TASKS = ("regression", "classification")
# The forest's rows per tree: half of the training rows (max_samples=0.5), at most this many.
# Below 40,000 training rows (county panels and smaller) the cap does not bind; above it a
# tree's cost stops growing with the panel (measured: the forest's cost per row at 4 x 10^5
# rows was 2.2 times that at 4 x 10^3 without it; README, Large panels and Dask). Stated in
# estimates.csv (`ssc`) wherever it binds.
FOREST_ROWS_PER_TREE = 20_000
# Inner cross-validation of the Lasso penalty: contiguous blocks of the (city, year)-sorted
# rows, so that a city's years stay together in the tuning folds too. Three folds, so that
# the DID outcome regression still fits within a small treated cohort (Guizhou: 6 cities).
INNER_FOLDS = 3


class NegLogLoss:
    """The negative log loss of a binary classifier's probabilities, as scikit-learn's
    "neg_log_loss" scorer computes it (probabilities clipped to [eps, 1 - eps], the log of
    the true class's probability averaged): the same numbers, without the scorer's input
    validation, which took two thirds of the time of the penalised logistic regression's
    cross-validated fit on the staggered DML's small cells (tests/test_log_loss_scorer.py
    checks equality with scikit-learn's scorer)."""

    def __call__(self, estimator: BaseEstimator, x: np.ndarray, y: np.ndarray) -> float:
        proba = estimator.predict_proba(x)
        eps = np.finfo(proba.dtype).eps
        column = np.searchsorted(estimator.classes_, y)
        picked = np.clip(proba, eps, 1 - eps)[np.arange(len(y)), column]
        return float(np.mean(np.log(picked)))

    def __repr__(self) -> str:
        return "neg_log_loss"


def _lasso(seed: int, task: str) -> BaseEstimator:
    if task == "regression":
        return make_pipeline(
            StandardScaler(),
            LassoCV(alphas=20, cv=KFold(INNER_FOLDS), max_iter=20000, tol=1e-6),
        )
    return make_pipeline(
        StandardScaler(),
        LogisticRegressionCV(
            Cs=10,
            l1_ratios=(1.0,),
            solver="liblinear",
            cv=StratifiedKFold(INNER_FOLDS),
            scoring=NegLogLoss(),
            max_iter=1000,
            tol=1e-6,
            random_state=seed,
            use_legacy_attributes=False,
        ),
    )


def _forest(seed: int, task: str) -> BaseEstimator:
    params: dict[str, Any] = dict(
        n_estimators=30,
        min_samples_leaf=5,
        max_features=0.33,
        max_samples=0.5,
        random_state=seed,
        n_jobs=1,
    )
    if task == "regression":
        return RandomForestRegressor(**params)
    return RandomForestClassifier(**params)


def _boosting(seed: int, task: str) -> BaseEstimator:
    params: dict[str, Any] = dict(
        max_iter=35,
        learning_rate=0.3,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    if task == "regression":
        return HistGradientBoostingRegressor(**params)
    return HistGradientBoostingClassifier(**params)


def _neural_net(seed: int, task: str) -> BaseEstimator:
    params: dict[str, Any] = dict(
        hidden_layer_sizes=(32, 16),
        alpha=1e-3,
        learning_rate_init=5e-3,
        max_iter=300,
        early_stopping=True,
        validation_fraction=0.15,
        n_iter_no_change=5,
        random_state=seed,
    )
    if task == "regression":
        # The outcome is standardised too (the index has a small scale).
        return TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), MLPRegressor(**params)),
            transformer=StandardScaler(),
        )
    return make_pipeline(StandardScaler(), MLPClassifier(**params))


def _linear(seed: int, task: str) -> BaseEstimator:
    if task == "regression":
        return LinearRegression()
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


# name -> factory(seed, task); "stack" is not a learner but a combination of the others.
LEARNERS: dict[str, Callable[[int, str], BaseEstimator]] = {
    "lasso": _lasso,
    "random_forest": _forest,
    "boosting": _boosting,
    "neural_net": _neural_net,
    "linear": _linear,
}
LEARNER_NAMES = (*LEARNERS, STACK)
LABELS = {
    "lasso": "Lasso (standardised, CV penalty)",
    "random_forest": "Random forest",
    "boosting": "Gradient boosting (histogram)",
    "neural_net": "Neural network (MLP)",
    "linear": "Linear (OLS / logistic)",
    STACK: "Short-stacking",
}


def sized(est: BaseEstimator, n_train: int) -> BaseEstimator:
    """The learner as it is fitted on `n_train` rows: the forest's rows per tree capped at
    FOREST_ROWS_PER_TREE (the only setting that depends on the number of rows)."""
    if isinstance(est, RandomForestRegressor | RandomForestClassifier):
        share = est.max_samples
        if isinstance(share, float) and share * n_train > FOREST_ROWS_PER_TREE:
            est.set_params(max_samples=FOREST_ROWS_PER_TREE)
    return est


def size_note(learners: tuple[str, ...], n_obs: int) -> str:
    """What `sized` changes for a fit whose folds train on up to `n_obs` rows ('' if
    nothing), for estimates.csv: the learners that include the forest (it or the stack)."""
    uses_forest = "random_forest" in learners or STACK in learners
    if not uses_forest or 0.5 * n_obs <= FOREST_ROWS_PER_TREE:
        return ""
    return f"random_forest rows per tree=min(0.5 x training rows, {FOREST_ROWS_PER_TREE})"


def make_learner(name: str, seed: int, task: str = "regression") -> BaseEstimator:
    """A fresh, seeded learner of the registry."""
    return LEARNERS[name](seed, task)


def describe(name: str, seed: int, task: str = "regression") -> str:
    """The learner's class and non-default hyper-parameters, for the manifest."""
    if name == STACK:
        return "non-negative weights summing to one on the base learners' cross-fitted predictions"
    return _describe(make_learner(name, seed, task))


def _describe(est: BaseEstimator) -> str:
    if isinstance(est, Pipeline):
        return " -> ".join(_describe(step) for _, step in est.steps)
    if isinstance(est, TransformedTargetRegressor):
        return f"{_describe(est.regressor)} (target standardised)"
    defaults = type(est)().get_params(deep=False)
    changed = {
        k: v
        for k, v in est.get_params(deep=False).items()
        if repr(v) != repr(defaults.get(k)) and not isinstance(v, BaseEstimator)
    }
    args = ", ".join(f"{k}={v!r}" for k, v in sorted(changed.items()))
    return f"{type(est).__name__}({args})"


def stack_weights(target: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Weights w >= 0, sum(w) = 1 minimising ||target - predictions @ w||^2.

    Exact: the solution is the equality-constrained least-squares solution on its support,
    so every support (2^p - 1 for p learners) is solved by its KKT system and the best
    feasible one kept. Ties go to the first support in a fixed order (deterministic).
    """
    y = np.asarray(target, dtype=float)
    P = np.asarray(predictions, dtype=float)
    n, p = P.shape
    best_sse, best_w = np.inf, np.full(p, np.nan)
    for size in range(1, p + 1):
        for support in itertools.combinations(range(p), size):
            S = P[:, support]
            kkt = np.zeros((size + 1, size + 1))
            kkt[:size, :size] = S.T @ S
            kkt[:size, size] = kkt[size, :size] = 1.0
            rhs = np.append(S.T @ y, 1.0)
            sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:size]
            if np.any(sol < -1e-12):
                continue
            w = np.zeros(p)
            w[list(support)] = np.clip(sol, 0.0, None)
            w /= w.sum()
            sse = float(np.sum((y - P @ w) ** 2))
            if not np.isfinite(best_sse) or sse < best_sse * (1 - 1e-12):
                best_sse, best_w = sse, w
    return best_w
