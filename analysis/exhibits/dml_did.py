"""Table 12 and Figure 7: staggered DML, group-time ATTs with machine-learned nuisances
(analysis.engines.doubleml_did) and their aggregations.

Model ids: `dml_did_simple` (term `ATT`: post-treatment cells weighted by cohort size, as
`did::aggte(type = "simple")`), `dml_did_dynamic` (terms `event_time::k`, doubleml's
event-study aggregation), `dml_did_gt` (terms `gt::<g>::<t>`: ATT of cohort g in year t).
"""

from __future__ import annotations

import pandas as pd

from analysis.config import Config
from analysis.engines.doubleml_adapter import did_info
from analysis.engines.doubleml_did import PS_CLIPPING, fit_did
from analysis.engines.doubleml_plr import aggregate_median_adjusted
from analysis.estimators.crossfit import SHARED_KEY, NuisanceCache
from analysis.estimators.dml_folds import child_seed
from analysis.estimators.learners import describe
from analysis.exhibit import Context, Needs, Output, declare
from analysis.render.figures import event_study_figure

TABLE = "table12_dml_did"
FIGURE = "figure7_dml_did_dynamic"


def run(ctx: Context) -> Output:
    """Group-time ATTs, their simple and event-study aggregations, Table 12 and Figure 7."""
    cfg = ctx.cfg
    res = fit_did(ctx.panel, cfg, cache=ctx.shared(SHARED_KEY, NuisanceCache))
    estimates = []
    for model, aggregation, effects in (
        ("dml_did_simple", "simple", [res.simple]),
        ("dml_did_dynamic", "dynamic", res.dynamic),
        ("dml_did_gt", "attgt", res.cells),
    ):
        described = did_info(res, cfg, model, aggregation, TABLE, ctx.sample)
        estimates += [described.row(e.term, e.estimate, e.std_error) for e in effects]
    adjusted = aggregate_median_adjusted(res.simple.coefs, res.simple.ses)
    shown = [e for e in estimates if e.model != "dml_did_gt"]
    table = pd.DataFrame(
        [
            {
                "model": e.model,
                "term": e.term,
                "estimate": e.estimate,
                "std_error": e.std_error,
                "conf_low": e.conf_low,
                "conf_high": e.conf_high,
                "p_value": e.p_value,
            }
            for e in shown
        ]
    )
    dynamic = pd.DataFrame(
        [
            {
                "event_time": int(e.term.split("::")[1]),
                "estimate": e.estimate,
                "std_error": e.std_error,
                "p_value": e.p_value,
                "conf_low": e.conf_low,
                "conf_high": e.conf_high,
            }
            for e in estimates
            if e.model == "dml_did_dynamic"
        ]
    )
    d = cfg.dml
    note = (
        f"Staggered DML (doubleml DoubleMLDIDMulti, doubly robust score), learner "
        f"{d.did_learner} for the outcome regression and the propensity score (clipped at "
        f"{PS_CLIPPING}), covariates {', '.join(ctx.label(c) for c in cfg.model.controls)} at the base period, "
        f"control group {d.did_control_group}, {res.n_cells} group-time cells "
        f"(cohorts: {', '.join(f'{g}: {n} cities' for g, n in res.cohorts.items())}). "
        f"{d.n_folds} folds by city within cohort, {d.did_n_rep} repetitions, median "
        f"aggregation (DoubleML); the Chernozhukov et al. rule gives SE "
        f"{adjusted.std_error:.4f} for the simple ATT. dml_did_simple weights post-treatment "
        "cells by cohort size (did's 'simple'); dml_did_dynamic is doubleml's event-study "
        "aggregation, unbinned, pre-periods against the previous year (varying base). "
        "Pointwise normal intervals, clustered by city. Compare with Callaway-Sant'Anna "
        "(cs_simple, cs_dynamic)."
        + ("" if res.comparison is None else " " + res.comparison.sentence())
    )
    if res.left_out:
        note += (
            " Left out (fewer units than the cross-fitting needs: one in each of the "
            f"{d.n_folds} folds and enough for the learner's own tuning): cohorts "
            f"{', '.join(f'{g} ({n} units)' for g, n in res.left_out.items())}; the "
            "aggregations are over the other cohorts."
        )
    figure_note = (
        f"doubleml DoubleMLDIDMulti, {d.did_learner} nuisances, control group "
        f"{d.did_control_group}; event-study aggregation of the group-time ATTs, pre-periods "
        f"against the previous year; pointwise {int(round(100 * cfg.inference.level))}% "
        "normal intervals clustered by city."
    )
    return Output(
        estimates=estimates,
        tables={TABLE: table},
        figures={
            FIGURE: lambda path: event_study_figure(
                dynamic,
                figure_note,
                path,
                title="Staggered DML: event-study aggregation",
                xlabel="Years relative to the pilot zone (not binned)",
            )
        },
        notes={TABLE: note},
        manifest={
            "learner": describe(d.did_learner, child_seed(cfg.seed, "learner", d.did_learner)),
            "propensity_learner": describe(
                d.did_learner, child_seed(cfg.seed, "learner", d.did_learner), "classification"
            ),
            "fold_seed": "child_rng(seed, 'did-folds', n_folds), cities stratified by cohort",
            "n_cells": res.n_cells,
        },
    )


def _never_treated_controls(cfg: Config) -> bool:
    return cfg.dml.did_control_group == "never_treated"


EXHIBIT = declare(
    run,
    "Table 12 and Figure 7. Staggered DML: group-time ATTs with machine-learned nuisances",
    tables=(TABLE,),
    figures=(FIGURE,),
    models=("dml_did_simple", "dml_did_dynamic", "dml_did_gt"),
    needs=Needs(
        controls=True,
        some_controls=True,
        never_treated=_never_treated_controls,
        never_treated_hint="[dml] did_control_group = 'never_treated' asks for them (set it to "
        "'not_yet_treated')",
    ),
)
