"""Staggered DML: group-time ATTs with machine-learned nuisances (doubleml's
DoubleMLDIDMulti: the doubly robust DID score of Sant'Anna and Zhao 2020 per group-time cell,
cross-fitted), and their aggregations over the repetitions of the sample split.

Cells: every cohort g and period t, base period t-1 before treatment and g-1 after
("standard", as `did`'s base_period = "varying"); control group [dml] did_control_group
(not-yet-treated without never-treated units: R did's rule, the last-treated cohort as the
comparison group on the periods before it is treated, analysis.estimators.last_cohort);
covariates: the controls at the base period. Each cell is a cross-section of cities (one
row per city), so the score's variance is clustered by city. Folds: cities dealt to folds
within each cohort (stratified), one assignment per repetition shared by all cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import doubleml as dml
import numpy as np
import pandas as pd
from doubleml.utils import PSProcessorConfig
from sklearn.utils import check_X_y
from threadpoolctl import threadpool_limits

from analysis.config import Config
from analysis.engines.doubleml_linear_time import linear_time
from analysis.engines.options import call
from analysis.errors import InputError
from analysis.estimators.crossfit import Job, NuisanceCache, crossfit
from analysis.estimators.dml_folds import child_rng, child_seed, city_folds, grouped_splits
from analysis.estimators.last_cohort import LastCohort, as_never_treated, last_cohort
from analysis.estimators.learners import INNER_FOLDS, make_learner

OUTCOME = "resilience"
PS_CLIPPING = 0.01  # propensity scores clipped to [0.01, 0.99] (doubleml's default, stated)


@dataclass(frozen=True)
class Effect:
    """One aggregated or group-time effect over the repetitions."""

    term: str
    coefs: np.ndarray
    ses: np.ndarray
    estimate: float  # DoubleML's aggregation over repetitions
    std_error: float


@dataclass(frozen=True)
class DIDResult:
    simple: Effect
    dynamic: list[Effect]
    cells: list[Effect]
    n_obs: int
    n_cities: int
    cohorts: dict[int, int]
    n_cells: int
    # cohort -> units, left out because it has fewer units than its cross-fitting needs
    left_out: dict[int, int] = field(default_factory=dict)
    comparison: LastCohort | None = None  # the rule without never-treated units


def _effects(framework: Any, names: list[str]) -> list[Effect]:
    return [
        Effect(
            name,
            np.asarray(framework.all_thetas[i]),
            np.asarray(framework.all_ses[i]),
            float(framework.thetas[i]),
            float(framework.ses[i]),
        )
        for i, name in enumerate(names)
    ]


def _simple_weights(obj: Any, shares: dict[int, float]) -> dict[str, Any]:
    """Weights of the simple aggregation: every post-treatment cell by its cohort's share."""
    gt_index = obj.gt_index
    data = np.zeros((*gt_index.shape, 1))
    g_values, t_values = list(obj.g_values), list(obj.t_values)
    for g, t_pre, t_eval in obj.gt_combinations:
        if t_eval >= g:
            data[g_values.index(g), t_values.index(t_pre), t_values.index(t_eval), 0] = shares[
                int(g)
            ]
    data /= data.sum()
    mask = np.broadcast_to(gt_index.mask[..., None], data.shape)
    return {
        "weight_masks": np.ma.masked_array(data, mask=mask),
        "agg_names": ["ATT"],
        "agg_weights": np.array([1.0]),
        "method": "Simple",
    }


def did_model(data: pd.DataFrame, cfg: Config) -> Any:
    """doubleml's DoubleMLDIDMulti of the [dml] staggered specification on `data` (sorted by
    city and year), every option passed explicitly; fit_did cross-fits it itself, the tests
    let doubleml do it."""
    d = cfg.dml
    dml_data = call(
        dml.DoubleMLPanelData,
        data,
        y_col=OUTCOME,
        d_cols="first_treat",
        t_col="year",
        id_col="city_code",
        x_cols=list(cfg.model.controls),
    )
    seed = child_seed(cfg.seed, "learner", d.did_learner)
    return call(
        dml.did.DoubleMLDIDMulti,
        dml_data,
        ml_g=make_learner(d.did_learner, seed, "regression"),
        ml_m=make_learner(d.did_learner, seed, "classification"),
        gt_combinations="standard",
        control_group=d.did_control_group,
        anticipation_periods=0,
        n_folds=d.n_folds,
        n_rep=d.did_n_rep,
        score="observational",
        panel=True,
        in_sample_normalization=True,
        ps_processor_config=call(PSProcessorConfig, clipping_threshold=PS_CLIPPING),
    )


def set_city_folds(obj: Any, per_city: pd.Series, cfg: Config) -> None:
    """Every group-time model of `obj` split by the same seeded folds of cities (each city's
    rows in one fold; `per_city`: the cohort of each city, stratifying the folds)."""
    d = cfg.dml
    cities = per_city.index.to_numpy()
    folds = city_folds(
        cities,
        d.n_folds,
        d.did_n_rep,
        child_rng(cfg.seed, "did-folds", str(d.n_folds)),
        per_city.to_numpy(),
    )
    with linear_time():
        for cell in obj.modellist:
            ids = cell.data_subset["city_code"].to_numpy()
            cell.set_sample_splitting(grouped_splits(ids, cities, folds).smpls)


def smallest_cohort(n_folds: int, learner: str) -> int:
    """The fewest units a cohort needs: one in every fold, and, for a learner tuned by inner
    cross-validation (lasso's stratified INNER_FOLDS-fold CV of the propensity score), at
    least INNER_FOLDS treated units in every training part."""
    if learner == "linear":
        return n_folds
    n = n_folds
    while n - -(-n // n_folds) < INNER_FOLDS:
        n += 1
    return n


def fit_did(
    panel: pd.DataFrame,
    cfg: Config,
    n_jobs: int | None = None,
    cache: NuisanceCache | None = None,
) -> DIDResult:
    """Group-time ATTs of the [dml] staggered specification and their aggregations."""
    d = cfg.dml
    cols = ["city_code", "year", OUTCOME, "first_treat", *cfg.model.controls]
    data = panel[cols].dropna().sort_values(["city_code", "year"]).reset_index(drop=True)
    rule = last_cohort(data) if d.did_control_group == "not_yet_treated" else None
    data = as_never_treated(data, rule).reset_index(drop=True)
    per_city = data.groupby("city_code")["first_treat"].first()
    counts = per_city[per_city > 0].value_counts().sort_index()
    cohorts = {int(g): int(n) for g, n in zip(counts.index, counts.to_numpy(), strict=True)}
    # A cohort with fewer units than folds cannot be cross-fitted (a fold without treated
    # units): it is left out, and the table note says so.
    needed = smallest_cohort(d.n_folds, d.did_learner)
    small = {g: n for g, n in cohorts.items() if n < needed}
    if len(small) == len(cohorts):
        raise InputError(
            f"[dml] n_folds = {d.n_folds}, did_learner = '{d.did_learner}': every cohort has "
            f"fewer than the {needed} units its cross-fitting needs "
            f"({', '.join(f'{g}: {n}' for g, n in small.items())}); lower [dml] n_folds or use "
            "did_learner = 'linear' (no inner cross-validation)"
        )
    if small:
        data = data[~data["first_treat"].isin(list(small))].reset_index(drop=True)
        per_city = per_city[~per_city.isin(list(small))]
        cohorts = {g: n for g, n in cohorts.items() if g not in small}
    obj = did_model(data, cfg)
    set_city_folds(obj, per_city, cfg)
    seed = child_seed(cfg.seed, "learner", d.did_learner)
    preds = cell_predictions(obj, seed, d.did_learner, n_jobs or d.n_jobs, cache)
    with threadpool_limits(1), linear_time():
        obj.fit(n_jobs_models=1, external_predictions=preds)
    shares = {g: n / len(per_city) for g, n in cohorts.items()}
    simple = obj.aggregate(_simple_weights(obj, shares)).aggregated_frameworks
    es = obj.aggregate("eventstudy")
    cell_names = [f"gt::{int(g)}::{int(t)}" for g, _, t in obj.gt_combinations]
    return DIDResult(
        simple=_effects(simple, ["ATT"])[0],
        dynamic=_effects(
            es.aggregated_frameworks, [f"event_time::{int(float(e))}" for e in es.aggregation_names]
        ),
        cells=_effects(obj.framework, cell_names),
        n_obs=len(data),
        n_cities=len(per_city),
        cohorts=cohorts,
        n_cells=obj.n_gt_atts,
        left_out=small,
        comparison=rule,
    )


def cell_predictions(
    obj: Any, seed: int, learner: str, n_jobs: int, cache: NuisanceCache | None
) -> dict[str, dict[str, np.ndarray]]:
    """Cross-fitted nuisances of every group-time cell, fitted by the project
    (analysis.estimators.crossfit) on the folds already set in each cell, as doubleml's
    external predictions (ids x repetitions).

    The outcome regression ml_g0 is trained on the cell's control cities, as doubleml does;
    the propensity score ml_m on all its cities. Post-treatment cells of one cohort share
    their cities, base period (g - 1) and folds, so their propensity score is one fit,
    reused. ml_g1 (the outcome regression on treated cities) does not enter the
    observational score (doubleml's DoubleMLDIDBinary sets that part of psi_b to zero), so
    it is not fitted: its predictions are left missing."""
    reg = make_learner(learner, seed, "regression")
    clf = make_learner(learner, seed, "classification")
    jobs, shapes = [], []
    for cell in obj.modellist:
        sub = cell.data_subset
        x, y = check_X_y(sub[list(cell._dml_data.x_cols)].to_numpy(), sub["y_diff"].to_numpy())
        treated = sub["G_indicator"].to_numpy()
        for r in range(cell.n_rep):
            folds = cell.smpls[r]
            jobs.append(Job(reg, x, y, folds, train_mask=treated == 0))
            jobs.append(Job(clf, x, treated, folds, method="predict_proba"))
        shapes.append((cell.id_positions, cell.n_rep))
    results = iter(crossfit(jobs, n_jobs, cache))
    n_ids = obj._dml_data.n_ids
    out = {}
    for label, (positions, n_rep) in zip(obj.gt_labels, shapes, strict=True):
        g0, m = np.full((n_ids, n_rep), np.nan), np.full((n_ids, n_rep), np.nan)
        for r in range(n_rep):
            g0[positions, r] = next(results)[0]
            m[positions, r] = next(results)[0]
        out[label] = {"ml_g0": g0, "ml_g1": np.full((n_ids, n_rep), np.nan), "ml_m": m}
    return out
