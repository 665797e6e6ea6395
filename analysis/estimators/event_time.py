"""Event-time coefficient sets, and the Sun-Abraham (2021) interaction-weighted aggregation.

Sun-Abraham: a regression of the outcome on cohort x relative-time dummies (one cell omitted
per cohort, the reference period), city and year fixed effects; the cohort-specific
coefficients are averaged at each relative time with the cohorts' shares of observations
there (fixest's `sunab()` with `aggregate`), the SE by the delta method with the shares held
fixed. The overall ATT averages all post-treatment cells with their observation counts
(fixest's `summary(agg = "ATT")`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class EventCoefs:
    """Event-time coefficients of one estimator (and its overall ATT)."""

    times: tuple[int, ...]
    estimate: tuple[float, ...]
    std_error: tuple[float, ...]
    att: float
    att_se: float
    df: float

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"event_time": self.times, "estimate": self.estimate, "std_error": self.std_error}
        )


def column(prefix: str, k: int) -> str:
    """A regressor name for event time k (no minus sign in a formula)."""
    return f"{prefix}_{k}".replace("-", "m")


def sunab_cells(panel: pd.DataFrame, ref: int) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """The panel with one dummy per treated cohort x relative time (the reference period
    omitted), and column -> (cohort, relative time)."""
    rel = panel["rel_time"]
    cells = (
        panel.loc[panel["first_treat"] > 0, ["first_treat", "rel_time"]]
        .drop_duplicates()
        .astype(int)
        .sort_values(["first_treat", "rel_time"])
    )
    cols: dict[str, tuple[int, int]] = {}
    data = {}
    for g, k in cells.itertuples(index=False):
        if k == ref:
            continue
        name = column(f"sa_{g}", k)
        cols[name] = (int(g), int(k))
        data[name] = ((panel["first_treat"] == g) & (rel == k)).astype(float).to_numpy()
    return panel.assign(**data), cols


def interaction_weighted(
    coef: np.ndarray,
    vcov: np.ndarray,
    cells: list[tuple[int, int]],
    counts: np.ndarray,
    df: float,
) -> EventCoefs:
    """Average the cohort x relative-time coefficients at each relative time with the cells'
    observation counts (delta-method SE, weights fixed); ATT over the post cells."""
    ks = np.array([k for _, k in cells])
    times, est, se = [], [], []
    for k in sorted(set(ks.tolist())):
        w = np.where(ks == k, counts, 0.0)
        w /= w.sum()
        times.append(int(k))
        est.append(float(w @ coef))
        se.append(float(np.sqrt(w @ vcov @ w)))
    w = np.where(ks >= 0, counts, 0.0)
    w /= w.sum()
    att, att_se = float(w @ coef), float(np.sqrt(w @ vcov @ w))
    return EventCoefs(tuple(times), tuple(est), tuple(se), att, att_se, df)


@dataclass(frozen=True)
class EventStudyFit:
    """Event-study coefficients (reference omitted), their covariance, the t degrees of
    freedom and the reference period: what a sensitivity analysis of the event study needs."""

    times: tuple[int, ...]
    coef: np.ndarray
    vcov: np.ndarray
    df: float
    ref: int

    @property
    def post(self) -> np.ndarray:
        return np.array([k >= 0 for k in self.times])

    def target(self) -> tuple[np.ndarray, float, float]:
        """Weights over post periods (equal), the target's estimate and SE."""
        post = self.post
        lvec = np.full(post.sum(), 1.0 / post.sum())
        b, v = self.coef[post], self.vcov[np.ix_(post, post)]
        return lvec, float(lvec @ b), float(np.sqrt(lvec @ v @ lvec))

    def renormalized(self, ref: int = -1) -> EventStudyFit:
        """The same event study with `ref` as the omitted period: b'_k = b_k - b_ref for
        every other k, and the old reference enters as -b_ref (a linear map of the
        coefficients, applied to the covariance as A V A'). HonestDiD's restrictions are
        stated for coefficients normalised to the period before treatment (-1)."""
        if ref == self.ref:
            return self
        if ref not in self.times:
            raise ValueError(f"event time {ref} is not among the estimated times {self.times}")
        times = tuple(sorted({*self.times, self.ref} - {ref}))
        old = {k: i for i, k in enumerate(self.times)}
        a = np.zeros((len(times), len(self.times)))
        for row, k in enumerate(times):
            if k != self.ref:
                a[row, old[k]] = 1.0
            a[row, old[ref]] -= 1.0
        return EventStudyFit(times, a @ self.coef, a @ self.vcov @ a.T, self.df, ref)
