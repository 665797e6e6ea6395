"""Cross-fitted predictions of the DML nuisance functions, computed by the project and handed
to doubleml as external predictions (the library then computes the score, the cluster
variance and the aggregation, exactly as after its own cross-fitting).

Why not doubleml's own loop: it parallelises only over the folds of one fit (folds of a few
hundred rows are too small to keep two cores busy) and refits a nuisance every time a model
asks for it. Here the unit of work is one `Job`, one learner on one nuisance for one
repetition of the sample split (all its folds), and

- jobs of several learners, repetitions, specifications or group-time cells run in one
  joblib pool, longest first (`n_jobs` processes, one BLAS/OpenMP thread each), or on the
  run's Dask cluster (`NuisanceCache.pool`), results in the same order either way;
- a job's predictions are stored under a content key (the learner's parameters, the
  features, the target, the rows a fold may train on and the folds): a nuisance that two
  models share (the treatment regression of the mechanism DML and of the main DML; the
  propensity score of every post-treatment cell of one cohort) is fitted once per run.

Every fold is fitted as scikit-learn's `cross_val_predict` (which doubleml calls) fits it:
a fresh clone of the learner fitted on the training rows and evaluated on the test rows, so
the predictions, and the estimates, are the same as doubleml's own and do not depend on the
number of processes or workers, or on which jobs ran before (tests/test_crossfit.py).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import joblib
import numpy as np
import sklearn
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from threadpoolctl import threadpool_limits

from analysis.estimators.learners import sized

METHODS = ("predict", "predict_proba")
# The run's cache in the exhibit context: ctx.shared(SHARED_KEY, NuisanceCache).
SHARED_KEY = "dml_nuisances"
# Relative cost of one job by learner class name (longest first keeps both cores busy at
# the end of a batch); unknown learners go last.
COST = {
    "MLPRegressor": 5,
    "MLPClassifier": 5,
    "TransformedTargetRegressor": 5,
    "RandomForestRegressor": 4,
    "RandomForestClassifier": 4,
    "HistGradientBoostingRegressor": 3,
    "HistGradientBoostingClassifier": 3,
}

Folds = Sequence[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Job:
    """One learner on one nuisance for one repetition: fit on each fold's training rows
    (restricted to `train_mask` if given), predict its test rows."""

    learner: BaseEstimator
    x: np.ndarray
    y: np.ndarray
    folds: Folds
    method: str = "predict"
    train_mask: np.ndarray | None = None
    x_key: str = ""  # content hash of x, when the caller has it (x is often shared)

    def key(self) -> str:
        folds = [np.asarray(test) for _, test in self.folds]
        trains = [np.asarray(train) for train, _ in self.folds]
        x_key = self.x_key or joblib.hash(self.x)
        return str(
            joblib.hash(
                (
                    type(self.learner).__name__,
                    repr(self.learner.get_params(deep=True)),
                    self.method,
                    x_key,
                    self.y,
                    self.train_mask,
                    trains,
                    folds,
                )
            )
        )

    def cost(self) -> float:
        est = self.learner
        name = type(est.steps[-1][1] if hasattr(est, "steps") else est).__name__
        return COST.get(name, COST.get(type(est).__name__, 1)) * self.x.shape[1] * len(self.x)


class Pool(Protocol):
    """Runs jobs elsewhere (a Dask cluster: analysis.cluster.DaskPool) and returns each job's
    `predict` result, in the order of the jobs."""

    def __call__(self, jobs: Sequence[Job]) -> list[tuple[np.ndarray, float]]: ...


@dataclass
class NuisanceCache:
    """Cross-fitted predictions by content key, for one run (held by the exhibit context),
    how many jobs were fitted or reused, and where they run: `pool` when the run has one
    (`run --workers K | --scheduler ADDRESS`), else a joblib pool of the caller's `n_jobs`
    local processes."""

    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    fitted: int = 0
    reused: int = 0
    pool: Pool | None = field(default=None, repr=False)


def predict(job: Job) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = np.full(len(job.y), np.nan)
    # The learners' parameters are the registry's (analysis.estimators.learners, fitted in the
    # tests): scikit-learn's check of them on every one of the thousands of small fits of a
    # run is skipped (a fifth of a Lasso fit's time on a cell of the staggered DML).
    with threadpool_limits(1), sklearn.config_context(skip_parameter_validation=True):
        for train, test in job.folds:
            if job.train_mask is not None:
                train = train[job.train_mask[train]]
            est = sized(clone(job.learner), len(train)).fit(job.x[train], job.y[train])
            if job.method == "predict_proba":
                out[test] = est.predict_proba(job.x[test])[:, 1]
            else:
                out[test] = est.predict(job.x[test])
    return out, time.perf_counter() - t0


def crossfit(
    jobs: Sequence[Job], n_jobs: int = 1, cache: NuisanceCache | None = None
) -> list[tuple[np.ndarray, float]]:
    """Predictions (rows of the job's data) and fitting seconds of every job; jobs whose key
    is cached (or repeated in `jobs`) are fitted once. Seconds are 0 for a reused job."""
    cache = NuisanceCache() if cache is None else cache
    for job in jobs:
        if job.method not in METHODS:
            raise ValueError(f"method {job.method!r}; allowed: {METHODS}")
    keys = [job.key() for job in jobs]
    todo: dict[str, Job] = {}
    for key, job in zip(keys, jobs, strict=True):
        if key not in cache.predictions and key not in todo:
            todo[key] = job
    order = sorted(todo, key=lambda k: -todo[k].cost())
    if cache.pool is not None and order:
        results = cache.pool([todo[k] for k in order])
    elif n_jobs > 1 and len(order) > 1:
        results = Parallel(n_jobs=n_jobs)(delayed(predict)(todo[k]) for k in order)
    else:
        results = [predict(todo[k]) for k in order]
    for key, (pred, seconds) in zip(order, results, strict=True):
        cache.predictions[key] = pred
        cache.seconds[key] = seconds
    cache.fitted += len(order)
    cache.reused += len(jobs) - len(order)
    fresh = set(order)
    out = []
    for key in keys:
        out.append((cache.predictions[key], cache.seconds[key] if key in fresh else 0.0))
        fresh.discard(key)
    return out
