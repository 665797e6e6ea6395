"""The estimators of a replication, by id (the exhibit ids of `python -m analysis run --only`).

Each runs the study's own code on the replication's analysis panel with the Monte Carlo
configuration (analysis.montecarlo.settings): the exhibit's `run` where it is cheap, or the
engine adapters and estimator functions the exhibit calls where the exhibit also computes
something without a true value at a high cost (the mechanisms' bootstrap of indirect
effects, HonestDiD's grids and breakdown values). Fits shared between exhibits (the TWFE
event study, the default Callaway-Sant'Anna fit) are computed once per replication through
`Context.shared`, as in a run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from analysis.catalogue import exhibit
from analysis.engines import diff_diff_adapter as dd
from analysis.engines import pyfixest_adapter as fx
from analysis.engines.doubleml_adapter import plr_rows
from analysis.estimates import Estimate
from analysis.estimators.honest_rm import rm_confidence_set
from analysis.exhibit import Context
from analysis.inference import t_inference
from analysis.models import twfe
from analysis.models.dml import run_plr

Runner = Callable[[Context], list[Estimate]]
MECHANISMS_TABLE = exhibit("mechanisms").tables[0]
HONEST_TABLE = exhibit("honest_did").tables[0]
HONEST_MODELS = {"c-lf": "honest_rm_clf", "naive": "honest_rm_naive", "original": "honest_original"}
HONEST_ENGINES = {
    "c-lf": "analysis.estimators.honest_rm",
    "naive": dd.ENGINE,
    "original": fx.ENGINE,
}


def _mechanisms(ctx: Context) -> list[Estimate]:
    """The pilots' effect on each channel, TWFE and DML, as Table 13 computes it."""
    cfg, controls, d = ctx.cfg, ctx.cfg.model.controls, ctx.cfg.dml
    rows: list[Estimate] = []
    for m in cfg.model.mechanisms:
        model = f"mechanism_{m}"
        reg = fx.feols(ctx.panel, twfe.mechanism_formulas(m, controls)[model], ctx.spec)
        rows += fx.rows(
            reg, MECHANISMS_TABLE, model, "twfe", ctx.sample, ["treat_post"], estimand="att"
        )
        plr = run_plr(ctx.panel, m, controls, d.fe, d.n_folds, (d.aux_learner,), d, cfg.seed)
        rows += plr_rows(
            plr, d.aux_learner, MECHANISMS_TABLE, f"dml_mechanism_{m}", ctx.sample, ctx.level
        )
    return rows


def _honest(ctx: Context) -> list[Estimate]:
    """The relative-magnitudes set at the configured Mbar, two ways: the Andrews-Roth-Pakes
    C-LF set (analysis.estimators.honest_rm) and diff-diff 3.13's (the identified set at the
    point estimates widened by the critical value times the SE), for the mean of the event
    study's post-period effects; and beside them the original t interval of that mean, which
    assumes parallel trends."""
    fit = twfe.event_study_fit(ctx)
    lvec, att, se = fit.target()
    mbar = ctx.cfg.honest_did.mbar[0]
    alpha = 1 - ctx.level
    n_pre, n_post = int((~fit.post).sum()), int(fit.post.sum())
    clf = rm_confidence_set(fit.coef, fit.vcov, n_pre, n_post, lvec, mbar, alpha, "c-lf")
    naive = dd.honest_sensitivity(fit, "relative_magnitude", (mbar,), alpha).iloc[0]
    sets = {
        "c-lf": (clf.conf_low, clf.conf_high, "ARP C-LF (analysis.estimators.honest_rm)"),
        "naive": (
            float(naive["conf_low"]),
            float(naive["conf_high"]),
            f"diff-diff {naive['ci_method']}",
        ),
        "original": (*_t_interval(att, se, fit.df, ctx.level), "none: t interval of l'beta_post"),
    }
    window, ref = ctx.event_window, ctx.reference_period
    reg, _ = twfe.event_study(ctx)
    target = f"{reg.formula}; target = mean of post coefficients 0..{window[1]}"
    rows = []
    for key, (low, high, method) in sets.items():
        described = replace(
            fx.info(reg, HONEST_TABLE, HONEST_MODELS[key], "honest_did", ctx.sample),
            engine=HONEST_ENGINES[key],
            vcov=f"{reg.spec.label}; robust set {method}",
            formula=target,
            reference_period=ref,
            estimand="sensitivity",
        )
        term = "target" if key == "original" else f"Mbar::{mbar:g}"
        rows.append(
            described.row(term, att, se, p_value=np.nan, statistic=np.nan, conf=(low, high))
        )
    return rows


def _t_interval(estimate: float, se: float, df: float, level: float) -> tuple[float, float]:
    inf = t_inference(estimate, se, df, level)
    return inf.conf_low, inf.conf_high


def _exhibit(exhibit_id: str) -> Runner:
    """An exhibit's estimate rows (its tables are built and dropped; figures are not drawn)."""

    def runner(ctx: Context) -> list[Estimate]:
        return list(exhibit(exhibit_id).run(ctx).estimates)

    return runner


# In run order: the event study and the default Callaway-Sant'Anna fit come before the
# estimators that reuse them.
ESTIMATORS: dict[str, Runner] = {
    "baseline": _exhibit("baseline"),
    "event_study": _exhibit("event_study"),
    "callaway_santanna": _exhibit("callaway_santanna"),
    "event_study_estimators": _exhibit("event_study_estimators"),
    "placebo": _exhibit("placebo"),
    "cohort_randomization": _exhibit("cohort_randomization"),
    "honest_did": _honest,
    "dml_plr": _exhibit("dml_plr"),
    "dml_did": _exhibit("dml_did"),
    "mechanisms": _mechanisms,
    "heterogeneity": _exhibit("heterogeneity"),
}
DEFAULT = tuple(ESTIMATORS)
# Named sets for `--estimators` (and the names of their stores): the DID family is cheap (about
# a third of a replication's time), the DML family dear, so a run may give them different
# numbers of replications.
GROUPS = {
    "did": (
        "baseline",
        "event_study",
        "callaway_santanna",
        "event_study_estimators",
        "placebo",
        "cohort_randomization",
        "honest_did",
    ),
    "dml": ("dml_plr", "dml_did", "mechanisms", "heterogeneity"),
}
assert set(GROUPS["did"]) | set(GROUPS["dml"]) == set(ESTIMATORS)
