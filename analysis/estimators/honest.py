"""Table 8 and Figure 5: HonestDiD sensitivity of the TWFE event study (Rambachan-Roth 2023).

The event-study coefficients and their clustered covariance come from the study's own TWFE
event study (analysis.estimators.event_study: pyfixest, [inference] settings, reference
period -1, end points binned); diff-diff's HonestDiD computes robust confidence sets for the
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

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.estimates import Estimate
from analysis.estimators import event_study
from analysis.exhibits import Context, Output
from analysis.inference import t_inference

EXHIBIT = "table8_honest_did"
FIGURE = "figure5_honest_did"
METHODS = {"relative_magnitude": ("honest_rm", "Mbar"), "smoothness": ("honest_sd", "M")}


@dataclass(frozen=True)
class EventStudyFit:
    """Event-study coefficients (reference omitted), covariance and t degrees of freedom."""

    times: tuple[int, ...]
    coef: np.ndarray
    vcov: np.ndarray
    df: float
    ref: int

    def target(self) -> tuple[np.ndarray, float, float]:
        """Weights over post periods (equal), the target's estimate and SE."""
        post = np.array([k >= 0 for k in self.times])
        lvec = np.full(post.sum(), 1.0 / post.sum())
        b, v = self.coef[post], self.vcov[np.ix_(post, post)]
        return lvec, float(lvec @ b), float(np.sqrt(lvec @ v @ lvec))


def twfe_event_study(ctx: Context) -> EventStudyFit:
    reg, times = event_study.fit(ctx)
    cols = [event_study.term(k) for k in times]
    return EventStudyFit(tuple(times), reg.coef[cols].to_numpy(),
                         reg.vcov.loc[cols, cols].to_numpy(), reg.df,
                         ctx.cfg.model.reference_period)  # fmt: skip


def container(fit: EventStudyFit) -> Any:
    """diff-diff's event-study results object carrying the TWFE coefficients and vcov."""
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    effects = {
        k: PeriodEffect(period=k, effect=float(b), se=float(np.sqrt(v)), t_stat=float(b / np.sqrt(v)),
                        p_value=np.nan, conf_int=(np.nan, np.nan))
        for k, b, v in zip(fit.times, fit.coef, np.diag(fit.vcov), strict=True)
    }  # fmt: skip
    _, att, se = fit.target()
    pre = [k for k in fit.times if k < 0] + [fit.ref]
    return MultiPeriodDiDResults(
        period_effects=effects, avg_att=att, avg_se=se, avg_t_stat=att / se,
        avg_p_value=np.nan, avg_conf_int=(np.nan, np.nan), n_obs=0, n_treated=0, n_control=0,
        pre_periods=sorted(pre), post_periods=[k for k in fit.times if k >= 0],
        vcov=fit.vcov, reference_period=fit.ref,
        interaction_indices={k: i for i, k in enumerate(fit.times)}, inference_df=fit.df,
    )  # fmt: skip


def sensitivity(
    fit: EventStudyFit, method: str, grid: tuple[float, ...], alpha: float
) -> pd.DataFrame:
    """Robust confidence sets of the target over a grid of the restriction's parameter."""
    import diff_diff as dd

    lvec, _, _ = fit.target()
    res = container(fit)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        for value in grid:
            h = dd.HonestDiD(method=method, M=value, alpha=alpha, l_vec=lvec).fit(res)
            rows.append({"restriction": method, "parameter": value, "conf_low": h.ci_lb,
                         "conf_high": h.ci_ub, "bound_low": h.lb, "bound_high": h.ub,
                         "ci_method": h.ci_method})  # fmt: skip
    return pd.DataFrame(rows)


def breakdown(fit: EventStudyFit, method: str, alpha: float) -> float:
    import diff_diff as dd

    lvec, _, _ = fit.target()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        value = dd.HonestDiD(method=method, alpha=alpha, l_vec=lvec).breakdown_value(
            container(fit), tol=1e-4
        )
    return np.nan if value is None else float(value)


def run(ctx: Context) -> Output:
    from analysis.figures_did import honest_figure

    fit = twfe_event_study(ctx)
    alpha = 1 - ctx.cfg.inference.level
    _, att, se = fit.target()
    grids = {"relative_magnitude": ctx.cfg.honest_did.mbar, "smoothness": ctx.cfg.honest_did.m}
    frames, rows = [], []
    n_cities = int(ctx.panel["city_code"].nunique())
    window, ref = ctx.cfg.model.event_window, ctx.cfg.model.reference_period

    def row(model: str, term: str, est: float, lo: float, hi: float, ci: str) -> Estimate:
        return Estimate(
            exhibit=EXHIBIT, model=model, estimator="honest_did", engine="diff-diff",
            outcome="resilience", term=term, estimate=est, std_error=se, statistic=np.nan,
            p_value=np.nan, conf_low=lo, conf_high=hi, df=fit.df, n_obs=len(ctx.panel),
            n_clusters=n_cities, vcov=f"{ctx.spec.label}; robust set {ci}",
            ssc=ctx.spec.ssc_label,
            formula=f"resilience ~ i(event_time, ref = c({ref}, -1000)) | city_code + year; "
                    f"target = mean of post coefficients 0..{window[1]}",
            fixef="city_code + year", sample=ctx.sample,
        )  # fmt: skip

    breakdowns = {}
    for method, grid in grids.items():
        model, name = METHODS[method]
        frame = sensitivity(fit, method, grid, alpha)
        frames.append(frame)
        for r in frame.to_dict("records"):
            term = f"{name}::{r['parameter']:g}"
            rows.append(row(model, term, att, r["conf_low"], r["conf_high"], r["ci_method"]))
        breakdowns[method] = breakdown(fit, method, alpha)
        rows.append(row(model, "breakdown", breakdowns[method], np.nan, np.nan, "breakdown value"))
    table = pd.concat(frames, ignore_index=True)
    ci = t_inference(att, se, fit.df, ctx.cfg.inference.level)
    original = (ci.conf_low, ci.conf_high)
    note = (
        f"Target: mean of the post-treatment event-study coefficients, {att:.4f} (SE {se:.4f}); "
        f"original interval [{original[0]:.4f}, {original[1]:.4f}]. Breakdown values: "
        f"Mbar = {breakdowns['relative_magnitude']:.3g} (relative magnitudes), "
        f"M = {breakdowns['smoothness']:.3g} (smoothness). End points of the event window "
        "are binned."
    )
    writer: Callable[[Path], None] = lambda path: honest_figure(table, original, note, path)  # noqa: E731
    return Output(estimates=rows, tables={EXHIBIT: table}, figures={FIGURE: writer},
                  notes={EXHIBIT: note})  # fmt: skip
