"""Table 8 and Figure 5: HonestDiD sensitivity of the TWFE event study (Rambachan-Roth 2023).

The event-study coefficients and their clustered covariance come from the study's own TWFE
event study (analysis.exhibits.event_study: pyfixest, [inference] settings, [model]
reference_period, end points binned); diff-diff's HonestDiD computes robust confidence sets for the
average of the post-treatment coefficients (l = equal weights) when parallel trends may be
violated:

- relative magnitudes (model `honest_rm`): post-treatment violations at most Mbar times the
  largest pre-treatment one, over the [honest_did] mbar grid (terms `Mbar::<value>`);
- smoothness (model `honest_sd`): the slope of the violation changes by at most M per period,
  over the [honest_did] m grid (terms `M::<value>`).

Each row's estimate is the original point estimate of the target, conf_low/conf_high the
robust confidence set; `breakdown` rows hold the smallest Mbar (M) at which the set includes
zero (NaN when it never does on the search range). The binned end points enter as their own
periods, as they do in the event study.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.engines import diff_diff_adapter as dd
from analysis.estimates import Estimate, ModelInfo
from analysis.estimators.event_time import EventStudyFit
from analysis.exhibit import Context, Exhibit, Output
from analysis.exhibits import event_study
from analysis.inference import t_inference
from analysis.render.figures_did import honest_figure

TABLE = "table8_honest_did"
FIGURE = "figure5_honest_did"
METHODS = {"relative_magnitude": ("honest_rm", "Mbar"), "smoothness": ("honest_sd", "M")}


def twfe_event_study(ctx: Context) -> EventStudyFit:
    """The study's TWFE event study (shared with Table 3) as coefficients and covariance."""
    reg, times = event_study.fit(ctx)
    cols = [event_study.term(k) for k in times]
    return EventStudyFit(
        tuple(times),
        reg.coef[cols].to_numpy(),
        reg.vcov.loc[cols, cols].to_numpy(),
        reg.df,
        ctx.reference_period,
    )


def run(ctx: Context) -> Output:
    """Robust confidence sets under relative magnitudes and smoothness, and breakdowns."""
    fit = twfe_event_study(ctx)
    alpha = 1 - ctx.level
    _, att, se = fit.target()
    grids = {"relative_magnitude": ctx.cfg.honest_did.mbar, "smoothness": ctx.cfg.honest_did.m}
    frames, rows = [], []
    window, ref = ctx.cfg.model.event_window, ctx.reference_period

    def info(model: str, ci: str) -> ModelInfo:
        return ModelInfo(
            exhibit=TABLE,
            model=model,
            estimator="honest_did",
            engine=dd.ENGINE,
            outcome="resilience",
            n_obs=len(ctx.panel),
            n_clusters=int(ctx.panel["city_code"].nunique()),
            vcov=f"{ctx.spec.label}; robust set {ci}",
            ssc=ctx.spec.ssc_label,
            formula=f"{event_study.recorded_formula(ref)}; "
            f"target = mean of post coefficients 0..{window[1]}",
            fixef="city_code + year",
            sample=ctx.sample,
            df=fit.df,
            reference_period=ref,
            level=ctx.level,
            estimand="sensitivity",
        )

    def row(model: str, term: str, est: float, lo: float, hi: float, ci: str) -> Estimate:
        return info(model, ci).row(term, est, se, p_value=np.nan, statistic=np.nan, conf=(lo, hi))

    breakdowns = {}
    for method, grid in grids.items():
        model, name = METHODS[method]
        frame = dd.honest_sensitivity(fit, method, grid, alpha)
        frames.append(frame)
        for r in frame.to_dict("records"):
            term = f"{name}::{r['parameter']:g}"
            rows.append(row(model, term, att, r["conf_low"], r["conf_high"], r["ci_method"]))
        breakdowns[method] = dd.honest_breakdown(fit, method, alpha)
        rows.append(row(model, "breakdown", breakdowns[method], np.nan, np.nan, "breakdown value"))
    table = pd.concat(frames, ignore_index=True)
    ci = t_inference(att, se, fit.df, ctx.level)
    original = (ci.conf_low, ci.conf_high)
    note = (
        f"Target: mean of the post-treatment event-study coefficients, {att:.4f} (SE {se:.4f}); "
        f"original interval [{original[0]:.4f}, {original[1]:.4f}]. Breakdown values: "
        f"Mbar = {breakdowns['relative_magnitude']:.3g} (relative magnitudes), "
        f"M = {breakdowns['smoothness']:.3g} (smoothness). End points of the event window "
        "are binned."
    )
    writer: Callable[[Path], None] = lambda path: honest_figure(table, original, note, path)  # noqa: E731
    return Output(
        estimates=rows, tables={TABLE: table}, figures={FIGURE: writer}, notes={TABLE: note}
    )


EXHIBIT = Exhibit(
    id="honest_did",
    title="Table 8 and Figure 5. HonestDiD sensitivity of the event study",
    module=__name__,
    run=run,
    tables=(TABLE,),
    figures=(FIGURE,),
    models=("honest_rm", "honest_sd"),
)
