"""Table and figure: staggered DML, group-time ATTs with machine-learned nuisances
(doubleml's DoubleMLDIDMulti: the doubly robust DID score of Sant'Anna and Zhao 2020 per
group-time cell, cross-fitted), and their aggregations.

Cells: every cohort g and period t, base period t-1 before treatment and g-1 after
("standard", as `did`'s base_period = "varying"); control group [dml] did_control_group;
covariates: the controls at the base period. Each cell is a cross-section of cities (one
row per city), so the score's variance is clustered by city. Folds: cities dealt to folds
within each cohort (stratified), one assignment per repetition shared by all cells.

Model ids: `dml_did_simple` (term `ATT`: post-treatment cells weighted by cohort size, as
`did::aggte(type = "simple")`), `dml_did_dynamic` (terms `event_time::k`, doubleml's
event-study aggregation), `dml_did_gt` (terms `gt::<g>::<t>`: ATT of cohort g in year t).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import doubleml as dml
import numpy as np
import pandas as pd
from doubleml.utils import PSProcessorConfig
from threadpoolctl import threadpool_limits

from analysis.config import Config
from analysis.errors import InputError
from analysis.estimates import Estimate
from analysis.estimators.dml_core import (
    aggregate_median_adjusted,
    child_rng,
    child_seed,
    city_folds,
    grouped_splits,
)
from analysis.estimators.dml_runs import NORMAL_DF
from analysis.estimators.learners import describe, make_learner
from analysis.exhibits import Context, Output
from analysis.figures import event_study_figure
from analysis.inference import t_inference

EXHIBIT = "table_dml_did"
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


def _effects(framework: Any, names: list[str]) -> list[Effect]:
    return [
        Effect(name, np.asarray(framework.all_thetas[i]), np.asarray(framework.all_ses[i]),
               float(framework.thetas[i]), float(framework.ses[i]))
        for i, name in enumerate(names)
    ]  # fmt: skip


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
    return {"weight_masks": np.ma.masked_array(data, mask=mask), "agg_names": ["ATT"],
            "agg_weights": np.array([1.0]), "method": "Simple"}  # fmt: skip


def fit_did(panel: pd.DataFrame, cfg: Config, n_jobs: int | None = None) -> DIDResult:
    d = cfg.dml
    cols = ["city_code", "year", OUTCOME, "first_treat", *cfg.model.controls]
    data = panel[cols].dropna().sort_values(["city_code", "year"]).reset_index(drop=True)
    per_city = data.groupby("city_code")["first_treat"].first()
    counts = per_city[per_city > 0].value_counts().sort_index()
    cohorts = {int(g): int(n) for g, n in zip(counts.index, counts.to_numpy(), strict=True)}
    small = {g: n for g, n in cohorts.items() if n < d.n_folds}
    if small:
        g, n = next(iter(small.items()))
        raise InputError(
            f"[dml] n_folds = {d.n_folds}: cohort first treated in {g} has only {n} cities; the "
            "staggered DML needs at least n_folds cities per cohort (lower [dml] n_folds)"
        )
    dml_data = dml.DoubleMLPanelData(
        data, y_col=OUTCOME, d_cols="first_treat", t_col="year", id_col="city_code",
        x_cols=list(cfg.model.controls),
    )  # fmt: skip
    seed = child_seed(cfg.seed, "learner", d.did_learner)
    obj = dml.did.DoubleMLDIDMulti(
        dml_data,
        ml_g=make_learner(d.did_learner, seed, "regression"),
        ml_m=make_learner(d.did_learner, seed, "classification"),
        gt_combinations="standard", control_group=d.did_control_group, anticipation_periods=0,
        n_folds=d.n_folds, n_rep=d.did_n_rep, score="observational", panel=True,
        in_sample_normalization=True,
        ps_processor_config=PSProcessorConfig(clipping_threshold=PS_CLIPPING),
    )  # fmt: skip
    cities = per_city.index.to_numpy()
    folds = city_folds(cities, d.n_folds, d.did_n_rep,
                       child_rng(cfg.seed, "did-folds", str(d.n_folds)), per_city.to_numpy())  # fmt: skip
    for cell in obj.modellist:
        ids = cell.data_subset["city_code"].to_numpy()
        cell.set_sample_splitting(grouped_splits(ids, cities, folds).smpls)
    with threadpool_limits(1):
        obj.fit(n_jobs_models=d.n_jobs if n_jobs is None else n_jobs)
    shares = {g: n / len(per_city) for g, n in cohorts.items()}
    simple = obj.aggregate(_simple_weights(obj, shares)).aggregated_frameworks
    es = obj.aggregate("eventstudy")
    cell_names = [f"gt::{int(g)}::{int(t)}" for g, _, t in obj.gt_combinations]
    return DIDResult(
        simple=_effects(simple, ["ATT"])[0],
        dynamic=_effects(es.aggregated_frameworks, [f"event_time::{int(float(e))}" for e in es.aggregation_names]),
        cells=_effects(obj.framework, cell_names),
        n_obs=len(data), n_cities=len(per_city), cohorts=cohorts, n_cells=obj.n_gt_atts,
    )  # fmt: skip


def _row(e: Effect, model: str, res: DIDResult, cfg: Config, sample: str) -> Estimate:
    d, level = cfg.dml, cfg.inference.level
    inf = t_inference(e.estimate, e.std_error, NORMAL_DF, level)
    return Estimate(
        exhibit=EXHIBIT, model=model, estimator=f"dml_did:{d.did_learner}", engine="doubleml",
        outcome=OUTCOME, term=e.term, estimate=e.estimate, std_error=e.std_error,
        statistic=inf.statistic, p_value=inf.p_value, conf_low=inf.conf_low,
        conf_high=inf.conf_high, df=NORMAL_DF, n_obs=res.n_obs, n_clusters=res.n_cities,
        vcov="analytical:influence-function,cluster=city_code",
        ssc=f"none;normal;folds={d.n_folds} by city_code within cohort;n_rep={d.did_n_rep};"
        "agg=doubleml_median",
        formula=f"ATT(g,t) ~ DR-DID(y = {OUTCOME}, x = {' + '.join(cfg.model.controls)} at base "
        f"period); control = {d.did_control_group}; base period varying",
        fixef="", sample=sample,
    )  # fmt: skip


def run(ctx: Context) -> Output:
    cfg = ctx.cfg
    res = fit_did(ctx.panel, cfg)
    estimates = [_row(res.simple, "dml_did_simple", res, cfg, ctx.sample)]
    estimates += [_row(e, "dml_did_dynamic", res, cfg, ctx.sample) for e in res.dynamic]
    estimates += [_row(e, "dml_did_gt", res, cfg, ctx.sample) for e in res.cells]
    adjusted = aggregate_median_adjusted(res.simple.coefs, res.simple.ses)
    shown = [e for e in estimates if e.model != "dml_did_gt"]
    table = pd.DataFrame(
        [{"model": e.model, "term": e.term, "estimate": e.estimate, "std_error": e.std_error,
          "conf_low": e.conf_low, "conf_high": e.conf_high, "p_value": e.p_value} for e in shown]
    )  # fmt: skip
    dynamic = pd.DataFrame(
        [{"event_time": int(e.term.split("::")[1]), "estimate": e.estimate,
          "std_error": e.std_error, "p_value": e.p_value, "conf_low": e.conf_low,
          "conf_high": e.conf_high} for e in estimates if e.model == "dml_did_dynamic"]
    )  # fmt: skip
    d = cfg.dml
    note = (
        f"Staggered DML (doubleml DoubleMLDIDMulti, doubly robust score), learner "
        f"{d.did_learner} for the outcome regression and the propensity score (clipped at "
        f"{PS_CLIPPING}), covariates {', '.join(cfg.model.controls)} at the base period, "
        f"control group {d.did_control_group}, {res.n_cells} group-time cells "
        f"(cohorts: {', '.join(f'{g}: {n} cities' for g, n in res.cohorts.items())}). "
        f"{d.n_folds} folds by city within cohort, {d.did_n_rep} repetitions, median "
        f"aggregation (DoubleML); the Chernozhukov et al. rule gives SE "
        f"{adjusted.std_error:.4f} for the simple ATT. dml_did_simple weights post-treatment "
        "cells by cohort size (did's 'simple'); dml_did_dynamic is doubleml's event-study "
        "aggregation, unbinned, pre-periods against the previous year (varying base). "
        "Pointwise normal intervals, clustered by city. Compare with Callaway-Sant'Anna "
        "(cs_simple, cs_dynamic)."
    )
    figure_note = (
        f"doubleml DoubleMLDIDMulti, {d.did_learner} nuisances, control group "
        f"{d.did_control_group}; event-study aggregation of the group-time ATTs, pre-periods "
        f"against the previous year; pointwise {int(round(100 * cfg.inference.level))}% "
        "normal intervals clustered by city."
    )
    return Output(
        estimates=estimates,
        tables={EXHIBIT: table},
        figures={"figure_dml_did_dynamic": lambda path: event_study_figure(
            dynamic, -1, figure_note, path, title="Staggered DML: event-study aggregation",
            xlabel="Years relative to the pilot zone (not binned)")},
        notes={EXHIBIT: note},
        manifest={"learner": describe(d.did_learner, child_seed(cfg.seed, "learner", d.did_learner)),
                  "propensity_learner": describe(d.did_learner, child_seed(cfg.seed, "learner", d.did_learner), "classification"),
                  "fold_seed": "child_rng(seed, 'did-folds', n_folds), cities stratified by cohort",
                  "n_cells": res.n_cells},
    )  # fmt: skip
