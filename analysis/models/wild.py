"""The wild cluster bootstrap of the TWFE fits (analysis.estimators.wild_bootstrap) as the
exhibits use it: the settings of [wild_bootstrap], the same draws for every model with the
same clusters (seeded from [run] seed: common random numbers), and rows
beside the analytical ones, with what was done in `vcov` and `ssc`.

Rows: the model id of the analytical fit with `_wild` appended; `estimate` the coefficient,
`std_error` empty (a bootstrap-t gives no SE), `statistic` the analytical t (or F) that the
bootstrap distribution is compared with, `p_value` the bootstrap p-value of H0: beta = 0,
`conf_low`/`conf_high` the interval by test inversion at [inference] level."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.engines import pyfixest_adapter as fx
from analysis.estimates import Estimate, ModelInfo
from analysis.estimators import wild_bootstrap as wb
from analysis.exhibit import Context

# Below this many treated clusters in a cohort, analytical cluster-robust tests of what the
# cohort identifies over-reject (MacKinnon and Webb 2018; the committed Monte Carlo: 6 Guizhou
# cities, 12-15% at 5%, while the 51 cities of 2016 give 4-8%): the notes then say which
# p-value to read (README, "Inference with few treated clusters").
FEW_TREATED = 10
# Below this many, even the restricted wild bootstrap fails: with 3 treated cities (design
# `few_treated`) it never rejects at 5% (p >= 0.08 in 200 replications) while randomization
# over units keeps its size.
VERY_FEW_TREATED = 5
ENGINE = "analysis.estimators.wild_bootstrap"
ESTIMATOR = "wild_cluster_bootstrap"
SUFFIX = "_wild"


@dataclass(frozen=True)
class Settings:
    reps: int
    weights: str  # as configured ("auto", "rademacher", "webb")
    restricted: bool
    seed: int
    level: float


def settings(ctx: Context) -> Settings:
    w = ctx.cfg.wild_bootstrap
    return Settings(w.reps, w.weights, w.restricted, ctx.cfg.seed, ctx.level)


def draws(ctx: Context, n_clusters: int) -> wb.Draws:
    """The run's draws for a model with `n_clusters` clusters (the same for every such
    model: common random numbers, made block by block from [run] seed)."""
    s = settings(ctx)
    weights = wb.choose_weights(s.weights, n_clusters, s.reps)
    return wb.draw(weights, n_clusters, s.reps, s.seed)


def regressors(formula: str) -> list[str]:
    """The regressors of a `y ~ a + b | fe` formula."""
    rhs = formula.partition("~")[2].partition("|")[0]
    return [t.strip() for t in rhs.split("+") if t.strip()]


def design(
    ctx: Context, reg: fx.Regression, data: pd.DataFrame, columns: list[str], names: list[str]
) -> wb.Design:
    """The bootstrap's design of a fitted regression `reg` of `data` (regressor `columns`,
    named `names` as in reg), on the rows pyfixest used (complete cases)."""
    if len(columns) != len(names):
        raise RuntimeError(f"wild bootstrap of `{reg.formula}`: {columns} for terms {names}")
    cluster = ctx.cfg.inference.cluster
    keep = data[[reg.outcome, *columns]].notna().all(axis=1)
    rows = data[keep]
    if len(rows) != reg.n_obs:
        raise RuntimeError(
            f"wild bootstrap of `{reg.formula}`: {len(rows)} complete rows, the fit used "
            f"{reg.n_obs}"
        )
    return wb.design(
        rows[reg.outcome].to_numpy(float),
        rows[columns].to_numpy(float),
        names,
        rows["city_code"].to_numpy(),
        rows["year"].to_numpy(),
        rows[cluster].to_numpy(),
    )


def described(base: ModelInfo, s: Settings, d: wb.Draws, cluster: str) -> ModelInfo:
    """The description of the bootstrap rows of the model described by `base`."""
    kind = "WCR" if s.restricted else "WCU"
    how = "enumerated" if d.enumerated else f"seed {s.seed}"
    return replace(
        base,
        model=base.model + SUFFIX,
        estimator=ESTIMATOR,
        engine=ENGINE,
        vcov=f"{kind}-{d.weights}:{cluster} B={d.reps}",
        ssc=(
            f"wild cluster bootstrap-t ({kind}, {d.weights} weights, B={d.reps}, {how}; "
            f"weights '{s.weights}'); p = #(|t*| > |t|)/B; interval by test inversion; "
            f"t from {base.vcov} with {base.ssc}"
        ),
        df=np.nan,
    )


def coefficient_rows(
    ctx: Context,
    reg: fx.Regression,
    data: pd.DataFrame,
    columns: list[str],
    base: ModelInfo,
    terms: list[str] | None = None,
) -> list[Estimate]:
    """Bootstrap rows of the coefficients `terms` (default: all) of `reg`, described by
    `base` (the analytical rows' description)."""
    names = list(reg.coef.index)
    dsn = design(ctx, reg, data, columns, names)
    s = settings(ctx)
    d = draws(ctx, dsn.n_clusters)
    info = described(base, s, d, ctx.cfg.inference.cluster)
    out = []
    for term in terms or names:
        res = wb.bootstrap_test(dsn, term, d, restricted=s.restricted, level=s.level)
        t = float(reg.coef[term] / reg.se[term])
        out.append(
            info.row(
                term,
                float(reg.coef[term]),
                p_value=res.p_value,
                conf=(res.conf_low, res.conf_high),
                statistic=t,
            )
        )
    return out


def wald_row(
    ctx: Context,
    reg: fx.Regression,
    data: pd.DataFrame,
    columns: list[str],
    base: ModelInfo,
    terms: list[str],
    term: str,
    statistic: float,
) -> Estimate:
    """The bootstrap p-value of the joint Wald test that `terms` are all zero (restricted
    bootstrap whatever [wild_bootstrap] restricted says: the test needs the null imposed),
    beside the analytical F `statistic`."""
    dsn = design(ctx, reg, data, columns, list(reg.coef.index))
    s = settings(ctx)
    d = draws(ctx, dsn.n_clusters)
    res = wb.wald(dsn, terms, d)
    info = described(base, replace(s, restricted=True), d, ctx.cfg.inference.cluster)
    return info.row(
        term, statistic, p_value=res.p_value, conf=(np.nan, np.nan), statistic=statistic
    )


def few_treated_note(ctx: Context, read: str, read_very_few: str) -> str:
    """A sentence naming the cohorts with fewer than FEW_TREATED treated clusters and the
    p-value to read instead of the analytical one: `read`, or `read_very_few` when a cohort
    has fewer than VERY_FEW_TREATED ('' when no cohort is small)."""
    cluster = ctx.cfg.inference.cluster
    treated = ctx.panel[ctx.panel["first_treat"] > 0]
    per_cohort = treated.groupby("first_treat")[cluster].nunique()
    few = per_cohort[per_cohort < FEW_TREATED]
    if few.empty:
        return ""
    listed = ", ".join(
        f"{int(g)} ({int(n)} clusters)"
        for g, n in zip(few.index.to_numpy(), few.to_numpy(), strict=True)
    )
    if few.min() < VERY_FEW_TREATED:
        return (
            f" Very few treated clusters: cohort {listed}, fewer than {VERY_FEW_TREATED}; "
            "analytical clustered tests of what it identifies over-reject and the wild "
            f"bootstrap under-rejects, so read {read_very_few}."
        )
    return (
        f" Few treated clusters: cohort {listed}, fewer than {FEW_TREATED}; analytical "
        f"clustered tests of what it identifies over-reject, so read {read}."
    )
