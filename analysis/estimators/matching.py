"""Propensity-score matching of cities (PSM-DID's first stage), as pure functions.

1. Covariates: each city's mean of the controls over the years before the first cohort year
   (pre-treatment for every city).
2. Propensity score of ever being treated: logit on those means (unpenalized maximum
   likelihood, scikit-learn's LogisticRegression with C = inf).
3. Matching on the logit of the score: each treated city gets its nearest never-treated
   cities within a caliper (standard deviations of the logit score); with replacement a
   control may serve several treated cities, without it treated cities are matched greedily
   from the highest score down. Treated cities without a control inside the caliper are
   dropped (reported).
4. Balance: standardized differences (treated minus control mean over the pooled SD of the
   unmatched sample, the same denominator before and after), controls weighted by how often
   they are matched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import PSMConfig


@dataclass(frozen=True)
class Matching:
    """Result of the matching stage (indices refer to the rows of `covariates`)."""

    covariates: pd.DataFrame  # one row per city: covariate means, treated, logit score
    pairs: tuple[tuple[int, int], ...]  # (treated city_code, control city_code)
    unmatched: tuple[int, ...]  # treated cities without a control inside the caliper
    caliper: float  # on the logit-score scale

    @property
    def control_weights(self) -> pd.Series:
        return pd.Series([c for _, c in self.pairs]).value_counts().sort_index()


def pre_treatment_means(panel: pd.DataFrame, controls: tuple[str, ...]) -> pd.DataFrame:
    """City means of the controls before the first cohort year, and the treated flag."""
    first = int(panel.loc[panel["first_treat"] > 0, "first_treat"].min())
    pre = panel[panel["year"] < first]
    out = pre.groupby("city_code")[list(controls)].mean()
    out["treated"] = (panel.groupby("city_code")["first_treat"].first() > 0).astype(int)
    return out.dropna()


def logit_score(x: pd.DataFrame, treated: pd.Series) -> np.ndarray:
    """Linear predictor of an unpenalized logit of treated on standardized covariates."""
    from sklearn.linear_model import LogisticRegression

    z = (x - x.mean()) / x.std(ddof=0)
    model = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=10_000, tol=1e-10)
    model.fit(z.to_numpy(), treated.to_numpy())
    return model.decision_function(z.to_numpy())


def match(cov: pd.DataFrame, cfg: PSMConfig) -> Matching:
    score = cov["score"]
    caliper = cfg.caliper * float(score.std(ddof=1))
    controls = score[cov["treated"] == 0]
    available = set(controls.index)
    treated = score[cov["treated"] == 1].sort_values(ascending=False, kind="stable")
    pairs, unmatched = [], []
    for city, s in zip(treated.index.to_numpy(), treated.to_numpy(), strict=True):
        pool = controls if cfg.replacement else controls[controls.index.isin(available)]
        dist = (pool - s).abs().sort_values(kind="stable")
        chosen = dist[dist <= caliper].index[: cfg.neighbours]
        if len(chosen) == 0:
            unmatched.append(int(city))
            continue
        pairs += [(int(city), int(c)) for c in chosen]
        available -= set(chosen)
    return Matching(cov, tuple(pairs), tuple(unmatched), caliper)


def balance(m: Matching, controls: tuple[str, ...]) -> pd.DataFrame:
    """Standardized differences before and after matching, with variance ratios; one row per
    control by its name, and `score` for the logit propensity score."""
    cov = m.covariates
    t, c = cov[cov["treated"] == 1], cov[cov["treated"] == 0]
    matched_t = cov.loc[sorted({a for a, _ in m.pairs})]
    w = m.control_weights
    matched_c = cov.loc[w.index]
    rows = []
    for v in (*controls, "score"):
        sd = np.sqrt((t[v].var() + c[v].var()) / 2)
        after_c = float(np.average(matched_c[v], weights=w.to_numpy()))
        rows.append(
            {
                "variable": v,
                "mean_treated": float(t[v].mean()),
                "mean_control": float(c[v].mean()),
                "std_diff_before": float((t[v].mean() - c[v].mean()) / sd),
                "mean_treated_matched": float(matched_t[v].mean()),
                "mean_control_matched": after_c,
                "std_diff_after": float((matched_t[v].mean() - after_c) / sd),
            }
        )
    return pd.DataFrame(rows)


def psm(panel: pd.DataFrame, controls: tuple[str, ...], cfg: PSMConfig) -> Matching:
    cov = pre_treatment_means(panel, controls)
    cov["score"] = logit_score(cov[list(controls)], cov["treated"])
    return match(cov, cfg)
