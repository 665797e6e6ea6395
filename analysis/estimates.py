"""One tidy schema for every estimate: `estimates.csv`, tables, figures, the report and the
R cross-check all read it. Engines' own result objects are translated here, at the edge."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from analysis.inference import FIXEF_RM, VcovSpec, t_inference

# Stable column order of estimates.csv (the contract in DESIGN.md, plus statistic, df, fixef).
COLUMNS = (
    "exhibit", "model", "estimator", "engine", "outcome", "term", "estimate", "std_error",
    "statistic", "p_value", "conf_low", "conf_high", "df", "n_obs", "n_clusters", "vcov",
    "ssc", "formula", "fixef", "sample", "subset",
)  # fmt: skip
FLOAT_FORMAT = "%.12g"


@dataclass(frozen=True)
class Estimate:
    """One estimated quantity with the inference settings that produced it."""

    exhibit: str
    model: str
    estimator: str
    engine: str
    outcome: str
    term: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    df: float
    n_obs: int
    n_clusters: int
    vcov: str
    ssc: str
    formula: str
    fixef: str
    sample: str
    subset: str = ""  # machine-readable sample restriction, e.g. "high_marketization == 1"


assert tuple(f.name for f in fields(Estimate)) == COLUMNS


def to_frame(estimates: list[Estimate]) -> pd.DataFrame:
    """Estimates as a table in the stable column order."""
    return pd.DataFrame([asdict(e) for e in estimates], columns=list(COLUMNS))


@dataclass(frozen=True)
class Regression:
    """A fitted fixed-effects regression, engine-neutral."""

    formula: str
    outcome: str
    fixef: str
    coef: pd.Series
    se: pd.Series
    vcov: pd.DataFrame
    n_obs: int
    n_clusters: int
    spec: VcovSpec
    df: float


def feols(data: pd.DataFrame, formula: str, spec: VcovSpec) -> Regression:
    """pyfixest's feols with every inference setting passed explicitly."""
    import pyfixest as pf

    fit = pf.feols(
        formula,
        data=data,
        vcov=spec.pyfixest_vcov(),
        ssc=spec.pyfixest_ssc(),
        fixef_rm=FIXEF_RM,
        copy_data=False,
        store_data=False,
    )
    coef = fit.coef()
    n_obs = int(fit._N)
    n_clusters = int(np.min(fit._G)) if spec.cfg.vcov == "CRV1" else 0
    lhs, _, rhs = formula.partition("~")
    fixef = rhs.split("|")[1].strip() if "|" in rhs else ""
    return Regression(
        formula=formula,
        outcome=lhs.strip(),
        fixef=fixef,
        coef=coef,
        se=fit.se(),
        vcov=pd.DataFrame(fit._vcov, index=coef.index, columns=coef.index),
        n_obs=n_obs,
        n_clusters=n_clusters,
        spec=spec,
        df=spec.df(n_obs, n_clusters, len(coef)),
    )


def from_regression(
    reg: Regression,
    exhibit: str,
    model: str,
    estimator: str,
    sample: str,
    terms: list[str] | None = None,
    subset: str = "",
) -> list[Estimate]:
    """Tidy rows of a regression's coefficients (all, or the named terms)."""
    rows = []
    for term in terms or list(reg.coef.index):
        est, se = float(reg.coef[term]), float(reg.se[term])
        inf = t_inference(est, se, reg.df, reg.spec.cfg.level)
        rows.append(
            Estimate(
                exhibit=exhibit,
                model=model,
                estimator=estimator,
                engine="pyfixest",
                outcome=reg.outcome,
                term=term,
                estimate=est,
                std_error=se,
                statistic=inf.statistic,
                p_value=inf.p_value,
                conf_low=inf.conf_low,
                conf_high=inf.conf_high,
                df=reg.df,
                n_obs=reg.n_obs,
                n_clusters=reg.n_clusters,
                vcov=reg.spec.label,
                ssc=reg.spec.ssc_label,
                formula=reg.formula,
                fixef=reg.fixef,
                sample=sample,
                subset=subset,
            )  # fmt: skip
        )
    return rows
