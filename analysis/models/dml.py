"""Shared steps of the DML exhibits (main table, mechanisms, heterogeneity): seeded learners
and folds, and one partially linear fit per specification (its rows:
analysis.engines.doubleml_adapter).

Seeds: every learner gets `child_seed(seed, "learner", name)` and the folds of a fit come
from `child_rng(seed, "dml-folds", n_folds, *tags)`, so a result does not depend on which
other specifications run or in which order. BLAS and OpenMP run single-threaded inside a
fit (`threadpool_limits(1)`); parallelism, if any, is joblib's over (learner, nuisance,
repetition) jobs (`n_jobs`, analysis.estimators.crossfit), so the numbers do not depend on
the number of jobs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from threadpoolctl import threadpool_limits

from analysis.config import DMLConfig
from analysis.engines.doubleml_plr import (
    Design,
    PLRRun,
    Request,
    design,
    fit_many,
    fit_stack,
    row_cities,
)
from analysis.estimators.crossfit import NuisanceCache
from analysis.estimators.dml_folds import Splits, child_rng, child_seed, city_folds, grouped_splits
from analysis.estimators.learners import STACK, make_learner


def factories(names: tuple[str, ...], seed: int) -> dict[str, Callable[[str], BaseEstimator]]:
    """name -> factory(task) of a freshly seeded learner."""
    return {n: partial(make_learner, n, child_seed(seed, "learner", n)) for n in names}


def learner_seeds(names: tuple[str, ...], seed: int) -> dict[str, int]:
    return {n: child_seed(seed, "learner", n) for n in names}


def splits_for(
    panel: pd.DataFrame,
    outcome: str,
    controls: tuple[str, ...],
    fe: str,
    n_folds: int,
    n_rep: int,
    seed: int,
    tags: tuple[str, ...] = (),
) -> tuple[Design, Splits]:
    des = design(panel, outcome, controls, fe)
    groups = row_cities(des)
    cities = np.unique(groups)
    folds = city_folds(cities, n_folds, n_rep, child_rng(seed, "dml-folds", str(n_folds), *tags))
    return des, grouped_splits(groups, cities, folds)


@dataclass(frozen=True)
class Spec:
    """One partially linear specification: outcome, sample, fixed effects, folds, the
    learners reported, and the tags that name its folds' generator."""

    panel: pd.DataFrame
    outcome: str
    controls: tuple[str, ...]
    fe: str
    n_folds: int
    learners: tuple[str, ...]
    tags: tuple[str, ...] = ()


def run_plr(
    panel: pd.DataFrame,
    outcome: str,
    controls: tuple[str, ...],
    fe: str,
    n_folds: int,
    learners: tuple[str, ...],
    cfg: DMLConfig,
    seed: int,
    tags: tuple[str, ...] = (),
    n_jobs: int | None = None,
    cache: NuisanceCache | None = None,
) -> PLRRun:
    """The named learners on one specification and the same folds; "stack" brings in (and
    keeps) every configured base learner."""
    spec = Spec(panel, outcome, controls, fe, n_folds, learners, tags)
    return run_plrs([spec], cfg, seed, n_jobs, cache)[0]


def run_plrs(
    specs: list[Spec],
    cfg: DMLConfig,
    seed: int,
    n_jobs: int | None = None,
    cache: NuisanceCache | None = None,
) -> list[PLRRun]:
    """Several specifications whose nuisances are cross-fitted in one pool of `n_jobs`
    processes ([dml] n_jobs by default), each nuisance fitted once per run when `cache` is
    the run's (see analysis.estimators.crossfit). Results do not depend on `n_jobs`."""
    requests, stacks = [], []
    for s in specs:
        des, splits = splits_for(
            s.panel, s.outcome, s.controls, s.fe, s.n_folds, cfg.n_rep, seed, s.tags
        )
        stack = STACK in s.learners
        named = (*(cfg.base_learners if stack else ()), *(n for n in s.learners if n != STACK))
        makers = factories(tuple(dict.fromkeys(named)), seed)
        pairs = {name: (make("regression"), make("regression")) for name, make in makers.items()}
        requests.append(Request(des, pairs, splits))
        stacks.append(stack)
    with threadpool_limits(1):
        all_fits = fit_many(requests, cfg.n_jobs if n_jobs is None else n_jobs, cache)
        runs = []
        for s, req, stack, fits in zip(specs, requests, stacks, all_fits, strict=True):
            if stack:
                fits[STACK] = fit_stack(req.des, fits, req.splits)
            runs.append(PLRRun(s.outcome, s.controls, s.fe, s.n_folds, cfg.n_rep, fits))
    return runs


def timing(run: PLRRun, learner: str) -> dict[str, float]:
    fit = run.fits[learner]
    return {"seconds": round(fit.seconds, 3), "seconds_per_rep": round(fit.seconds_per_rep, 3)}


def mean_weights(run: PLRRun) -> dict[str, dict[str, float]]:
    """The stack's weights per nuisance, averaged over repetitions."""
    fit = run.fits.get(STACK)
    if fit is None:
        return {}
    names = [n for n in run.fits if n != STACK]
    return {
        key: {
            n: round(float(w), 4) for n, w in zip(names, fit.weights[key].mean(axis=0), strict=True)
        }
        for key in ("ml_l", "ml_m")
    }
