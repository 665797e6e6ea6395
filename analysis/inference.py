"""Inference settings, stated explicitly and recorded next to every estimate.

The vocabulary is fixest 0.14's `ssc()`: K.adj (the (N-1)/(N-K) factor), K.fixef (which
fixed-effect parameters count in K: "nonnested" leaves out those nested in the cluster
variable, "full" counts them all, "none" counts none), G.adj (the G/(G-1) factor), G.df and
t.df ("min": t tests and confidence intervals use G-1 degrees of freedom with clustered
errors). The study's default equals fixest 0.14's default for clustered errors; pyfixest 0.60's
names are the same (k_adj, k_fixef, G_adj, G_df) and are passed explicitly on every call,
as is the singleton handling (`fixef_rm = "none"`: singletons are kept, as fixest's feols
does by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from analysis.config import InferenceConfig

FIXEF_RM = "none"


@dataclass(frozen=True)
class Inference:
    """An estimate's inference: p-value and interval from estimate, SE and df."""

    statistic: float
    p_value: float
    conf_low: float
    conf_high: float


def t_inference(estimate: float, std_error: float, df: float, level: float) -> Inference:
    """Two-sided t test and interval (df = inf gives the normal)."""
    if not np.isfinite(std_error) or std_error <= 0:
        return Inference(np.nan, np.nan, np.nan, np.nan)
    t = estimate / std_error
    dist = stats.norm if not np.isfinite(df) else stats.t(df)
    q = dist.ppf(0.5 + level / 2)
    return Inference(
        float(t), float(2 * dist.sf(abs(t))), estimate - q * std_error, estimate + q * std_error
    )


@dataclass(frozen=True)
class VcovSpec:
    """The variance estimator of a regression, in the words of both engines."""

    cfg: InferenceConfig

    @property
    def label(self) -> str:
        """Type and cluster variable, e.g. 'CRV1:city_code'."""
        return f"{self.cfg.vcov}:{self.cfg.cluster}" if self.cfg.vcov == "CRV1" else self.cfg.vcov

    @property
    def ssc_label(self) -> str:
        c = self.cfg
        flag = {True: "TRUE", False: "FALSE"}
        return (
            f"K.adj={flag[c.k_adj]};K.fixef={c.k_fixef};G.adj={flag[c.G_adj]};"
            f"G.df={c.G_df};t.df={c.t_df};fixef.rm={FIXEF_RM}"
        )

    def pyfixest_vcov(self) -> Any:
        return {"CRV1": self.cfg.cluster} if self.cfg.vcov == "CRV1" else self.cfg.vcov

    def pyfixest_ssc(self) -> dict[str, Any]:
        import pyfixest as pf

        c = self.cfg
        return pf.ssc(k_adj=c.k_adj, k_fixef=c.k_fixef, G_adj=c.G_adj, G_df=c.G_df)

    def df(self, n_obs: int, n_clusters: int | None, n_params: int) -> float:
        """Degrees of freedom of t tests: G-1 for clustered errors under t.df='min'."""
        if self.cfg.vcov == "CRV1" and self.cfg.t_df == "min" and n_clusters:
            return float(n_clusters - 1)
        return float(n_obs - n_params)
