"""Shared steps of the DML exhibits (main table, mechanisms, heterogeneity): seeded learners
and folds, one partially linear fit per specification, and its tidy rows.

Seeds: every learner gets `child_seed(seed, "learner", name)` and the folds of a fit come
from `child_rng(seed, "dml-folds", n_folds, *tags)`, so a result does not depend on which
other specifications run or in which order. BLAS and OpenMP run single-threaded inside a
fit (`threadpool_limits(1)`); parallelism, if any, is joblib's over the folds (`n_jobs`),
so the numbers do not depend on the number of jobs.
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
from analysis.estimates import Estimate
from analysis.estimators.dml_core import (
    AGGREGATIONS,
    FIXEF,
    VCOV,
    Design,
    Fit,
    Splits,
    child_rng,
    child_seed,
    city_folds,
    design,
    fit_learners,
    formula,
    grouped_splits,
    row_cities,
    ssc,
)
from analysis.estimators.learners import STACK, make_learner
from analysis.inference import t_inference

NORMAL_DF = float("inf")


def factories(names: tuple[str, ...], seed: int) -> dict[str, Callable[[str], BaseEstimator]]:
    """name -> factory(task) of a freshly seeded learner."""
    return {n: partial(make_learner, n, child_seed(seed, "learner", n)) for n in names}


def learner_seeds(names: tuple[str, ...], seed: int) -> dict[str, int]:
    return {n: child_seed(seed, "learner", n) for n in names}


@dataclass(frozen=True)
class PLRRun:
    """Fits of one specification (fixed effects, folds) for several learners."""

    outcome: str
    controls: tuple[str, ...]
    fe: str
    n_folds: int
    n_rep: int
    fits: dict[str, Fit]


def splits_for(
    panel: pd.DataFrame, outcome: str, controls: tuple[str, ...], fe: str, n_folds: int,
    n_rep: int, seed: int, tags: tuple[str, ...] = (),
) -> tuple[Design, Splits]:  # fmt: skip
    des = design(panel, outcome, controls, fe)
    groups = row_cities(des)
    cities = np.unique(groups)
    folds = city_folds(cities, n_folds, n_rep, child_rng(seed, "dml-folds", str(n_folds), *tags))
    return des, grouped_splits(groups, cities, folds)


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
) -> PLRRun:
    """The named learners on one specification and the same folds; "stack" brings in (and
    keeps) every configured base learner."""
    des, splits = splits_for(panel, outcome, controls, fe, n_folds, cfg.n_rep, seed, tags)
    stack = STACK in learners
    named = (*(cfg.base_learners if stack else ()), *(n for n in learners if n != STACK))
    base = tuple(dict.fromkeys(named))
    with threadpool_limits(1):
        fits = fit_learners(
            des, factories(base, seed), splits, stack=stack,
            n_jobs=cfg.n_jobs if n_jobs is None else n_jobs,
        )  # fmt: skip
    return PLRRun(outcome, controls, fe, n_folds, cfg.n_rep, fits)


def plr_rows(
    run: PLRRun,
    learner: str,
    exhibit: str,
    model: str,
    sample: str,
    level: float,
    rules: tuple[str, ...] = ("doubleml_median",),
    subset: str = "",
) -> list[Estimate]:
    """Tidy rows of one learner's fit: one per aggregation rule (the first under `model`,
    the others under `model_<rule>`)."""
    fit = run.fits[learner]
    rows = []
    for i, rule in enumerate(rules):
        agg = AGGREGATIONS[rule](fit.coefs, fit.ses)
        inf = t_inference(agg.estimate, agg.std_error, NORMAL_DF, level)
        rows.append(
            Estimate(
                exhibit=exhibit,
                model=model if i == 0 else f"{model}_{rule}",
                estimator=f"dml_plr:{learner}",
                engine="doubleml",
                outcome=run.outcome,
                term="treat_post",
                estimate=agg.estimate,
                std_error=agg.std_error,
                statistic=inf.statistic,
                p_value=inf.p_value,
                conf_low=inf.conf_low,
                conf_high=inf.conf_high,
                df=NORMAL_DF,
                n_obs=fit.n_obs,
                n_clusters=fit.n_clusters,
                vcov=VCOV,
                ssc=ssc(run.n_folds, run.n_rep, rule),
                formula=formula(run.outcome, run.controls, run.fe),
                fixef=FIXEF[run.fe],
                sample=sample,
                subset=subset,
            )  # fmt: skip
        )
    return rows


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
