"""pyfixest: fixed-effects regressions with every inference setting explicit, and their rows.

`feols` passes the configured vcov, small-sample correction and singleton handling on every
call (never a library default); `Regression` is the engine-neutral result; `info` and `rows`
turn it into estimate rows."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.engines.did2s_linear_time import linear_time as did2s_linear_time
from analysis.engines.options import call
from analysis.engines.scaling import unit_scale
from analysis.errors import InputError
from analysis.estimates import Estimate, ModelInfo
from analysis.estimators.event_time import EventCoefs, column
from analysis.inference import FIXEF_RM, VcovSpec

ENGINE = "pyfixest"


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

    def renamed(self, names: dict[str, str], formula: str) -> Regression:
        """The same fit with terms renamed and the formula as it is recorded."""
        return Regression(
            formula=formula,
            outcome=self.outcome,
            fixef=self.fixef,
            coef=self.coef.rename(names),
            se=self.se.rename(names),
            vcov=self.vcov.rename(index=names, columns=names),
            n_obs=self.n_obs,
            n_clusters=self.n_clusters,
            spec=self.spec,
            df=self.df,
        )


def feols(data: pd.DataFrame, formula: str, spec: VcovSpec) -> Regression:
    """pyfixest's feols with every inference setting passed explicitly."""
    import pyfixest as pf

    lhs, _, rhs = formula.partition("~")
    outcome = lhs.strip()
    # demeaning stops on an absolute change: fit the outcome at order one (exact, see
    # analysis.engines.scaling) and scale back every number, each linear in the outcome
    scale = unit_scale(data[outcome]) if outcome in data.columns else 1.0
    scaled = data if scale == 1.0 else data.assign(**{outcome: data[outcome] * scale})
    try:
        fit: Any = call(
            pf.feols,
            formula,
            data=scaled,
            vcov=spec.pyfixest_vcov(),
            ssc=spec.pyfixest_ssc(),
            fixef_rm=FIXEF_RM,
            copy_data=False,
            store_data=False,
        )
    except ValueError as exc:  # pyfixest's way of saying the data cannot identify the model
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"`{formula}` cannot be estimated on these data: {first}") from None
    coef = fit.coef() / scale
    n_obs = int(fit._N)
    n_clusters = int(np.min(fit._G)) if spec.cfg.vcov == "CRV1" else 0
    fixef = rhs.split("|")[1].strip() if "|" in rhs else ""
    return Regression(
        formula=formula,
        outcome=outcome,
        fixef=fixef,
        coef=coef,
        se=fit.se() / scale,
        vcov=pd.DataFrame(fit._vcov / scale**2, index=coef.index, columns=coef.index),
        n_obs=n_obs,
        n_clusters=n_clusters,
        spec=spec,
        df=spec.df(n_obs, n_clusters, len(coef)),
    )


def info(
    reg: Regression, exhibit: str, model: str, estimator: str, sample: str, **facts: Any
) -> ModelInfo:
    """The description of a regression model (facts: subset, reference_period, ...)."""
    return ModelInfo(
        exhibit=exhibit,
        model=model,
        estimator=estimator,
        engine=ENGINE,
        outcome=reg.outcome,
        n_obs=reg.n_obs,
        n_clusters=reg.n_clusters,
        vcov=reg.spec.label,
        ssc=reg.spec.ssc_label,
        formula=reg.formula,
        fixef=reg.fixef,
        sample=sample,
        df=reg.df,
        level=reg.spec.cfg.level,
        **facts,
    )


def rows(
    reg: Regression,
    exhibit: str,
    model: str,
    estimator: str,
    sample: str,
    terms: list[str] | None = None,
    **facts: Any,
) -> list[Estimate]:
    """Rows of a regression's coefficients (all, or the named terms)."""
    described = info(reg, exhibit, model, estimator, sample, **facts)
    dropped = [t for t in terms or () if t not in reg.coef.index]
    if dropped:
        raise InputError(
            f"{model}: {', '.join(repr(t) for t in dropped)} dropped from `{reg.formula}` "
            "(collinear with the fixed effects or the other regressors, or constant)"
        )
    return [
        described.row(t, float(reg.coef[t]), float(reg.se[t]))
        for t in terms or list(reg.coef.index)
    ]


# pyfixest 0.60's did2s recovers the first stage's fixed effects with scipy's lsqr at its
# default tolerances (atol = btol = 1e-6) and has no option for them: the imputed untreated
# outcomes then carry an error of ~4e-6 of the outcome's SD on a 33-year state panel. Within
# the block they are recovered to 1e-14, the exact solution (R's did2s mirror, run with
# fixest's fixef.tol at 1e-10, then agrees to 4e-16 there).
FIXEF_LSQR_TOL = 1e-14


@contextmanager
def _exact_fixef() -> Iterator[None]:
    """Within the block, pyfixest's Feols.fixef solves to FIXEF_LSQR_TOL, and the feols
    calls inside pyfixest's did2s keep singletons (fixef_rm = "none", the project's setting:
    pyfixest's own default drops a unit with one untreated year from the first stage, whose
    treated years then have no imputed outcome, while R's did2s keeps it). The library's
    functions are restored after the block, also on an error."""
    import importlib

    # the module, not the function pyfixest.did exports under the same name
    did2s_module: Any = importlib.import_module("pyfixest.did.did2s")
    from pyfixest.estimation.models.feols_ import Feols

    original = Feols.fixef
    original_feols = did2s_module.feols

    def fixef(self: Any, atol: float = FIXEF_LSQR_TOL, btol: float = FIXEF_LSQR_TOL) -> Any:
        return original(self, atol=atol, btol=btol)

    def feols(*args: Any, **kwargs: Any) -> Any:
        return original_feols(*args, **{"fixef_rm": FIXEF_RM, **kwargs})

    Feols.fixef = fixef
    did2s_module.feols = feols
    try:
        yield
    finally:
        Feols.fixef = original
        did2s_module.feols = original_feols


def did2s(panel: pd.DataFrame, outcome: str, ref: int) -> EventCoefs:
    """Gardner's two-stage DID (pyfixest's did2s): first stage city and year fixed effects on
    the untreated city-years; second stage the residualized outcome on event-time dummies
    (every observed relative time but `ref`; never-treated cities have none) or on
    treat_post for the ATT; pyfixest's GMM-corrected clustered variance (computed in linear
    time: analysis.engines.did2s_linear_time). City-years of a year or city without
    untreated observations are left out (no first-stage effect)."""
    import pyfixest as pf

    untreated = panel[panel["treat_post"] == 0]
    identified = panel["year"].isin(untreated["year"]) & panel["city_code"].isin(
        untreated["city_code"]
    )
    panel = panel[identified].reset_index(drop=True)  # no first-stage effect (R did2s: NA)
    rel = panel["rel_time"]
    times = sorted(int(k) for k in rel.dropna().unique() if k != ref)
    names = [column("ev", k) for k in times]
    data = panel.assign(**{n: (rel == k).astype(float) for n, k in zip(names, times, strict=True)})
    first = "~ 0 | city_code + year"
    common = dict(yname=outcome, first_stage=first, treatment="treat_post", cluster="city_code")
    with warnings.catch_warnings(), _exact_fixef(), did2s_linear_time():
        warnings.simplefilter("ignore", category=UserWarning)
        es: Any = call(pf.did2s, data, second_stage="~ " + " + ".join(names), **common)
        att: Any = call(pf.did2s, data, second_stage="~ treat_post", **common)
    coef, se = es.coef(), es.se()
    return EventCoefs(
        tuple(times),
        tuple(float(coef[n]) for n in names),
        tuple(float(se[n]) for n in names),
        float(att.coef()["treat_post"]),
        float(att.se()["treat_post"]),
        np.inf,
    )
