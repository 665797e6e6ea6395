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


class _Free:
    """Which positions of a sorted array are still available, with the nearest available
    position on each side found in near-constant time (union-find with path halving)."""

    def __init__(self, n: int) -> None:
        self.up = list(range(n + 1))  # up[i]: candidate for the first free position >= i
        self.down = list(range(-1, n))  # down[i + 1]: candidate for the last free <= i

    def right(self, i: int) -> int:
        """The first free position >= i (n if none)."""
        up = self.up
        while up[i] != i:
            up[i] = up[up[i]]
            i = up[i]
        return i

    def left(self, i: int) -> int:
        """The last free position <= i (-1 if none)."""
        down, j = self.down, i + 1
        while down[j] != j - 1:
            down[j] = down[down[j] + 1]
            j = down[j] + 1
        return j - 1

    def take(self, i: int) -> None:
        self.up[i] = i + 1
        self.down[i + 1] = i - 1


def match(cov: pd.DataFrame, cfg: PSMConfig) -> Matching:
    """Each treated city, from the highest score down, gets its `neighbours` nearest
    never-treated cities by |score difference| within the caliper; ties go to the control
    listed first (cov's order). The nearest are found from the treated city's place among
    the controls sorted by score, outwards, so the cost grows with cities x log(cities),
    not with treated x controls."""
    score = cov["score"]
    caliper = cfg.caliper * float(score.std(ddof=1))
    controls = score[cov["treated"] == 0]
    codes = controls.index.to_numpy()
    order = np.argsort(controls.to_numpy(), kind="stable")  # by score, then by position
    values = controls.to_numpy()[order]
    free = _Free(len(values))
    treated = score[cov["treated"] == 1].sort_values(ascending=False, kind="stable")
    pairs, unmatched = [], []
    for city, s in zip(treated.index.to_numpy(), treated.to_numpy(), strict=True):
        at = int(np.searchsorted(values, s))
        chosen = _nearest(values, order, s, at, cfg.neighbours, free, cfg.replacement)
        chosen = [i for i in chosen if abs(values[i] - s) <= caliper]
        if not chosen:
            unmatched.append(int(city))
            continue
        pairs += [(int(city), int(codes[order[i]])) for i in chosen]
        if not cfg.replacement:
            for i in chosen:
                free.take(i)
    return Matching(cov, tuple(pairs), tuple(unmatched), caliper)


def _nearest(
    values: np.ndarray,
    order: np.ndarray,
    s: float,
    at: int,
    k: int,
    free: _Free,
    replacement: bool,
) -> list[int]:
    """Sorted positions of the k controls nearest to s (distance |value - s|, ties to the
    smaller original position), among the free ones unless `replacement`."""
    n = len(values)

    def step_left(i: int) -> int:
        return i - 1 if replacement else free.left(i - 1) if i > 0 else -1

    def step_right(i: int) -> int:
        return i + 1 if replacement else free.right(i + 1) if i < n - 1 else n

    lo = step_left(at) if at > 0 else -1  # nearest candidate below s
    hi = (at if replacement else free.right(at)) if at < n else n  # at or above s
    found: list[tuple[float, int, int]] = []
    # take candidates outwards in order of distance until k are found and the next one is
    # farther than the k-th (so every tie at the k-th distance is in)
    while lo >= 0 or hi < n:
        d_lo = abs(values[lo] - s) if lo >= 0 else np.inf
        d_hi = abs(values[hi] - s) if hi < n else np.inf
        d = min(d_lo, d_hi)
        if len(found) >= k and d > found[k - 1][0]:
            break
        if d_lo <= d_hi:
            found.append((d_lo, int(order[lo]), lo))
            lo = step_left(lo)
        else:
            found.append((d_hi, int(order[hi]), hi))
            hi = step_right(hi)
        found.sort()
    return [i for _, _, i in found[:k]]


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
