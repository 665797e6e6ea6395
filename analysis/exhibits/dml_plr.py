"""Table and figure: double machine learning, partially linear model of resilience on
treat_post with the controls, cluster-robust by city.

The default specification (model `dml_plr`, term `treat_post`) is the [dml] learner and
fixed-effect handling of the configuration, [dml] n_folds folds grouped by city, [dml] n_rep
repetitions, aggregated by DoubleML's rule; study default: short-stacking of Lasso, random
forest, gradient boosting and a neural network, within-city transformation (DoubleMLPLPR)
with year dummies, 5 folds, 10 repetitions. Every other specification is
`dml_plr_<learner>_<fe>_<k>folds`: each learner under each fixed-effect handling at the
default fold count, and the [dml] aux_learner (study default: Lasso; cheaper than the stack)
with the default handling at the robustness fold counts.
Each specification has a second row `<model>_cddhnr_median`: the same fits aggregated by
Chernozhukov et al.'s (2018) median rule with the variance adjustment.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.config import Config, DMLConfig
from analysis.engines.doubleml_adapter import plr_rows
from analysis.engines.doubleml_plr import AGGREGATIONS, FE_LABELS
from analysis.estimates import Estimate
from analysis.estimators.crossfit import SHARED_KEY, NuisanceCache
from analysis.estimators.learners import FOREST_ROWS_PER_TREE, LABELS, STACK, describe
from analysis.exhibit import Context, Needs, Output, declare
from analysis.models.dml import (
    PLRRun,
    Spec,
    learner_seeds,
    mean_weights,
    run_plrs,
    timing,
)
from analysis.render.figures_dml import dml_comparison_figure

TABLE = "table11_dml_plr"
FIGURE = "figure6_dml_plr"
OUTCOME = "resilience"
RULES = ("doubleml_median", "cddhnr_median")


def model_id(learner: str, fe: str, n_folds: int, cfg: DMLConfig) -> str:
    if (learner, fe, n_folds) == (cfg.learner, cfg.fe, cfg.n_folds):
        return "dml_plr"
    return f"dml_plr_{learner}_{fe}_{n_folds}folds"


def specifications(cfg: DMLConfig) -> list[tuple[str, int, tuple[str, ...]]]:
    """(fixed effects, folds, learners reported) of every run, the default first."""
    fes = [cfg.fe, *(fe for fe in cfg.fe_handling if fe != cfg.fe)]
    specs = [(fe, cfg.n_folds, cfg.learners) for fe in fes]
    specs += [(cfg.fe, k, (cfg.aux_learner,)) for k in cfg.robustness_folds if k != cfg.n_folds]
    return specs


def _table_row(run: PLRRun, learner: str, row: Estimate) -> dict[str, object]:
    fit = run.fits[learner]
    aggs = {rule: AGGREGATIONS[rule](fit.coefs, fit.ses) for rule in RULES}
    weights = mean_weights(run).get("ml_l", {}) if learner == STACK else {}
    return {
        "model": row.model,
        "learner": LABELS[learner],
        "fixed_effects": run.fe,
        "folds": run.n_folds,
        "estimate": aggs["doubleml_median"].estimate,
        "se_doubleml": aggs["doubleml_median"].std_error,
        "conf_low": row.conf_low,
        "conf_high": row.conf_high,
        "se_cddhnr": aggs["cddhnr_median"].std_error,
        "min_rep": float(np.min(fit.coefs)),
        "max_rep": float(np.max(fit.coefs)),
        "rmse_outcome": fit.rmse_l,
        "rmse_treatment": fit.rmse_m,
        "stack_weights_outcome": ", ".join(f"{n} {w:.2f}" for n, w in weights.items()),
    }


def note(cfg: DMLConfig, level: float) -> str:
    fe_text = "; ".join(f"{fe}: {FE_LABELS[fe]}" for fe in cfg.fe_handling)
    return (
        f"DML partially linear model (doubleml), partialling-out score, outcome resilience, "
        f"treatment treat_post, controls as in the baseline. Fixed effects: {fe_text}. "
        f"Folds keep each city's years together; {cfg.n_rep} repetitions of the split. "
        f"Default specification (dml_plr): {cfg.learner}, {cfg.fe}, {cfg.n_folds} folds; "
        f"fold-count robustness with {cfg.aux_learner}. "
        "Estimate: median over repetitions; conf_low/conf_high by DoubleML's rule. se_doubleml: DoubleML 0.11's rule (SE backed out "
        "of the median of the upper bounds estimate + 1.96 SE); se_cddhnr: Chernozhukov et al. "
        "(2018) median rule, sqrt(median(SE^2 + (estimate_s - median)^2)). Standard errors "
        "cluster-robust by city (Chiang et al. 2022), no small-sample factor; "
        f"{int(level * 100)}% intervals and p-values use the normal distribution. rmse: "
        "out-of-fold root mean squared error of the outcome and treatment regressions (mean "
        "over repetitions); stack weights: mean short-stacking weights of the outcome regression."
    )


def run(ctx: Context) -> Output:
    """Every DML specification of [dml] (learners x fixed effects, fold counts)."""
    cfg, level = ctx.cfg.dml, ctx.cfg.inference.level
    estimates: list[Estimate] = []
    rows, timings, weights = [], {}, {}
    specs = [
        Spec(ctx.panel, OUTCOME, ctx.cfg.model.controls, fe, k, learners)
        for fe, k, learners in specifications(cfg)
    ]
    cache = ctx.shared(SHARED_KEY, NuisanceCache)
    for spec, result in zip(specs, run_plrs(specs, cfg, ctx.cfg.seed, cache=cache), strict=True):
        fe, k = spec.fe, spec.n_folds
        for learner in spec.learners:
            model = model_id(learner, fe, k, cfg)
            new = plr_rows(result, learner, TABLE, model, ctx.sample, level, RULES)
            estimates += new
            rows.append(_table_row(result, learner, new[0]))
            timings[model] = timing(result, learner)
        if STACK in result.fits:
            weights[model_id(STACK, fe, k, cfg)] = mean_weights(result)
    table = pd.DataFrame(rows)
    text = note(cfg, level)
    title = "Double machine learning: learners, fixed effects, folds"
    figure_note = (
        f"Median over {cfg.n_rep} repetitions with {int(round(100 * level))}% intervals "
        "(DoubleML's aggregation, cluster-robust by city). within: DoubleMLPLPR within-city "
        "transformation; dummies: city and year dummies among the covariates. Default "
        f"specification dml_plr: {cfg.learner}, {cfg.fe}, {cfg.n_folds} folds."
    )
    return Output(
        estimates=estimates,
        tables={TABLE: table},
        figures={FIGURE: lambda path: dml_comparison_figure(table, figure_note, path, title)},
        notes={TABLE: text},
        manifest=manifest(ctx.cfg, timings, weights),
    )


def manifest(
    cfg: Config, timings: Mapping[str, object], weights: Mapping[str, object]
) -> dict[str, object]:
    d = cfg.dml
    listed = (*d.base_learners, d.aux_learner, d.did_learner)
    names = tuple(n for n in dict.fromkeys(listed) if n != STACK)
    return {
        "learners": {n: describe(n, s) for n, s in learner_seeds(names, cfg.seed).items()},
        "learner_seeds": learner_seeds(names, cfg.seed),
        "learner_sizes": "random_forest: max_samples = min(0.5 x a fold's training rows, "
        f"{FOREST_ROWS_PER_TREE}); no other setting depends on the number of rows",
        "fold_seeds": "np.random.default_rng([seed, crc32('dml-folds'), crc32(str(n_folds)), "
        "crc32(tag) ...]) over cities (analysis.estimators.dml_folds.child_rng)",
        "aggregation": {
            "dml_plr (and every model id)": "DoubleML 0.11: median estimate; SE from the median "
            "of the upper bounds estimate + 1.96 SE",
            "<model>_cddhnr_median": "Chernozhukov et al. (2018): median estimate; variance "
            "median(SE^2 + (estimate_s - median)^2)",
        },
        "n_jobs": d.n_jobs,
        "threads_per_fit": 1,
        "seconds": timings,
        "stack_weights_mean": weights,
    }


EXHIBIT = declare(
    run,
    "Table 11 and Figure 6. Double machine learning: partially linear model",
    tables=(TABLE,),
    figures=(FIGURE,),
    models=("dml_plr", "dml_plr_<learner>_<fe>_<k>folds", "<model>_cddhnr_median"),
    needs=Needs(controls=True),
)
