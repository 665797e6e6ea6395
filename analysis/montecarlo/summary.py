"""Monte Carlo summary statistics per design and estimated quantity (pure functions).

For the replications of one design and one (model, term), with error = estimate - truth (the
truth is the replication's own: the simulated sample's ATT, which varies a little between
replications):

- n: replications with a finite estimate; truth: the mean true value; mean: the mean estimate;
- bias = mean(error), its Monte Carlo SE bias_mcse = sd / sqrt(n);
- sd: the standard deviation of the error (n - 1 denominator), the estimator's sampling
  variability around its target; rmse = sqrt(mean(error^2));
- mean_se: the mean reported standard error; se_ratio = mean_se / sd (1 when the standard
  errors are right on average);
- coverage: the share of replications whose interval (the configured level) holds the
  truth, coverage_mcse = sqrt(coverage (1 - coverage) / n);
- rejection: the share of replications that reject zero at 1 - level (p < alpha; for the
  HonestDiD sets: 0 outside the set), with its Monte Carlo SE: the size when the truth is 0,
  the power otherwise; for the pre-trend test (event_study / joint_pre_F) and the placebo
  test (placebo / p_value) it is the rate at which the test rejects;
- width: the mean length of the interval.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

KEYS = ["design", "estimator", "model", "term"]
STATS = [
    "n",
    "truth",
    "mean",
    "bias",
    "bias_mcse",
    "sd",
    "rmse",
    "mean_se",
    "se_ratio",
    "coverage",
    "coverage_mcse",
    "rejection",
    "rejection_mcse",
    "width",
]

# The quantities shown in the summary table, the figures and the README (every (model, term)
# is in montecarlo_summary_all.csv).
HEADLINE = (
    r"baseline_twfe(_controls)?/treat_post",
    r"event_study/(event_time::0|joint_pre_F)",
    r"cs_(simple|simple_notyet)/ATT",
    r"cs_(dynamic|dynamic_notyet)/overall",
    r"(sunab|did2s|imputation)/ATT",
    r"placebo/p_value",
    r"baseline_twfe(_controls)?_wild/treat_post",
    r"event_study_wild/(event_time::0|joint_pre_F)",
    r"ri_cs_simple/ATT",
    r"ri_cs_dynamic/(overall|event_time::-6|event_time::7)",
    r"cs_dynamic/(event_time::-6|event_time::7)",
    r"ri_event_study/event_time::0",
    r"honest_(rm_clf|rm_naive|original)/.*",
    r"dml_plr/treat_post",
    r"dml_did_simple/ATT",
    r"(dml_)?mechanism_\w+/treat_post",
    r"hetero_(\w+)_interaction/treat_post:\1",
    r"dml_hetero_(\w+)_difference/treat_post:\1",
)
_HEADLINE = tuple(re.compile(p) for p in HEADLINE)


def headline(model: str, term: str) -> bool:
    return any(p.fullmatch(f"{model}/{term}") for p in _HEADLINE)


def covers(frame: pd.DataFrame) -> pd.Series:
    """1 when the interval holds the truth, 0 when not, NaN without truth or interval."""
    ok = pd.Series(
        np.isfinite(frame[["truth", "conf_low", "conf_high"]].to_numpy(float)).all(axis=1),
        index=frame.index,
    )
    inside = (frame["conf_low"] <= frame["truth"]) & (frame["truth"] <= frame["conf_high"])
    return inside.astype(float).where(ok)


def rejects(frame: pd.DataFrame, alpha: float) -> pd.Series:
    """1 when zero is rejected at alpha (by the p-value, or by an interval without one)."""
    p = frame["p_value"]
    by_p = (p < alpha).astype(float).where(np.isfinite(p))
    has_set = np.isfinite(frame["conf_low"]) & np.isfinite(frame["conf_high"])
    by_set = ((frame["conf_low"] > 0) | (frame["conf_high"] < 0)).astype(float).where(has_set)
    return by_p.fillna(by_set)


def _share(x: pd.Series) -> tuple[float, float]:
    x = x.dropna()
    if x.empty:
        return np.nan, np.nan
    m = float(x.mean())
    return m, float(np.sqrt(m * (1 - m) / len(x)))


def stats(g: pd.DataFrame, alpha: float) -> dict[str, float]:
    """The statistics of one design and quantity (see the module docstring)."""
    g = g[np.isfinite(g["estimate"])]
    n = len(g)
    err = (g["estimate"] - g["truth"]).dropna()
    has_truth = len(err) > 0
    sd = float(err.std(ddof=1)) if len(err) > 1 else np.nan
    se = g["std_error"][np.isfinite(g["std_error"])]
    mean_se = float(se.mean()) if len(se) else np.nan
    coverage, coverage_mcse = _share(covers(g))
    rejection, rejection_mcse = _share(rejects(g, alpha))
    width = (g["conf_high"] - g["conf_low"])[np.isfinite(g["conf_high"] - g["conf_low"])]
    return {
        "n": float(n),
        "truth": float(g["truth"].mean()) if has_truth else np.nan,
        "mean": float(g["estimate"].mean()) if n else np.nan,
        "bias": float(err.mean()) if has_truth else np.nan,
        "bias_mcse": sd / np.sqrt(len(err)) if has_truth else np.nan,
        "sd": sd,
        "rmse": float(np.sqrt((err**2).mean())) if has_truth else np.nan,
        "mean_se": mean_se,
        "se_ratio": mean_se / sd if has_truth and sd > 0 else np.nan,
        "coverage": coverage,
        "coverage_mcse": coverage_mcse,
        "rejection": rejection,
        "rejection_mcse": rejection_mcse,
        "width": float(width.mean()) if len(width) else np.nan,
    }


def summarize(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row per design and (estimator, model, term), in the order of first appearance."""
    rows = frame[frame["failure"] == ""] if "failure" in frame else frame
    out = []
    for key, g in rows.groupby(KEYS, sort=False):
        out.append({**dict(zip(KEYS, key, strict=True)), **stats(g, alpha)})
    table = pd.DataFrame(out, columns=[*KEYS, *STATS])
    table["n"] = table["n"].astype(int)
    return table


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Replications in which an estimator failed, counted per design and estimator, with the
    first message."""
    bad = frame[frame["failure"] != ""]
    if bad.empty:
        return pd.DataFrame(columns=["design", "estimator", "replications", "first_failure"])
    return (
        bad.groupby(["design", "estimator"], sort=False)
        .agg(replications=("rep", "nunique"), first_failure=("failure", "first"))
        .reset_index()
    )
