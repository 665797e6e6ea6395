"""Numerics of the DML partially linear model (doubleml), as pure functions.

Model: Y_it = theta D_it + g(X_it) + city and year effects + U_it, D_it = m(X_it) + ... + V_it,
estimated with the partialling-out score by cross-fitting. The fixed effects enter in one of
two ways (both reported):

- "dummies": the common applied recipe, city and year dummies appended to the controls of a
  `DoubleMLPLR` (learners must then learn the fixed effects, which flexible learners do badly);
- "within": the panel approach of Clarke and Polselli (2025), `DoubleMLPLPR` with
  approach "wg_approx" (every variable demeaned within city), the year dummies kept among
  the covariates; "first_difference" is the same class with approach "fd_exact".

Inference is cluster-robust by city: DoubleML's one-way cluster DML (Chiang, Kato, Ma and
Sasaki 2022), with folds that keep every city's years together. The folds are drawn from a
seeded generator over cities (analysis.estimators.dml_folds) and passed in
(`set_sample_splitting`), never left to DoubleML's unseeded splitter. Repetitions are
aggregated both by DoubleML's rule (median estimate; SE from the median of the upper 95%
bounds) and by Chernozhukov et al.'s (2018) median rule with the variance adjustment,
median of se^2 + (theta_s - median)^2.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import doubleml as dml
import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression
from sklearn.utils import check_X_y

from analysis.engines.doubleml_linear_time import linear_time
from analysis.engines.options import call
from analysis.errors import InputError
from analysis.estimators.crossfit import Job, NuisanceCache, crossfit
from analysis.estimators.dml_folds import Splits
from analysis.estimators.learners import STACK, stack_weights

KEYS = ("city_code", "year")
TREATMENT = "treat_post"
# fe handling -> DoubleMLPLPR approach (None: dummies in a DoubleMLPLR)
FE_APPROACH: dict[str, str | None] = {
    "within": "wg_approx",
    "dummies": None,
    "first_difference": "fd_exact",
}
FE_LABELS = {
    "within": "within-city transformation (DoubleMLPLPR wg_approx) + year dummies",
    "dummies": "city and year dummies among the covariates (DoubleMLPLR)",
    "first_difference": "first differences (DoubleMLPLPR fd_exact) + year dummies",
}
CRITICAL_DOUBLEML = 1.96  # DoubleML's aggregation uses this fixed critical value
# Largest dense matrix of unit dummies built for fe = "dummies" (as init-config proposes): one
# feature per unit, so its size grows with rows x units, quadratically in a panel's size.
DUMMIES_BYTES = 2**30


def year_dummies(years: pd.Series) -> pd.DataFrame:
    levels = np.sort(years.unique())[1:]
    return pd.DataFrame(
        {f"year_{y}": (years == y).astype(float) for y in levels}, index=years.index
    )


def city_dummies(cities: pd.Series) -> pd.DataFrame:
    levels = np.sort(cities.unique())[1:]
    return pd.DataFrame(
        {f"city_{c}": (cities == c).astype(float) for c in levels}, index=cities.index
    )


@dataclass(frozen=True)
class Design:
    """The data of one partially linear model, as DoubleML needs it."""

    data: pd.DataFrame  # keys, outcome, treatment, covariates; sorted by city and year
    outcome: str
    covariates: tuple[str, ...]
    fe: str

    @property
    def n_cities(self) -> int:
        return int(self.data["city_code"].nunique())


def design(panel: pd.DataFrame, outcome: str, controls: tuple[str, ...], fe: str) -> Design:
    """Outcome, treat_post and covariates (controls + year dummies, + city dummies for
    fe = 'dummies') of the complete rows, sorted by city and year. Unit dummies larger than
    DUMMIES_BYTES are refused (InputError: the exhibit is not run, with the reason)."""
    cols = [*KEYS, outcome, TREATMENT, *controls]
    base = panel[cols].dropna().sort_values(list(KEYS)).reset_index(drop=True)
    extra = [year_dummies(base["year"])]
    size = len(base) * base["city_code"].nunique() * 8
    if fe == "dummies" and size > DUMMIES_BYTES:
        raise InputError(
            f"[dml] fe_handling 'dummies': dummies of {base['city_code'].nunique():,} units over "
            f"{len(base):,} rows would take {size / 2**30:,.1f} GiB (more than "
            f"{DUMMIES_BYTES / 2**30:.0f} GiB); use the within transformation "
            '(fe_handling = ["within"], fe = "within")'
        )
    if fe == "dummies":
        extra.append(city_dummies(base["city_code"]))
    data = pd.concat([base, *extra], axis=1)
    covariates = (*controls, *(c for e in extra for c in e.columns))
    return Design(data=data, outcome=outcome, covariates=covariates, fe=fe)


def formula(outcome: str, controls: tuple[str, ...], fe: str) -> str:
    """A short specification string (no fixest formula exists for a partially linear model)."""
    x = ", ".join(controls)
    if fe == "dummies":
        return f"{outcome} ~ treat_post + g({x}, i(year), i(city_code))"
    if fe == "first_difference":
        return (
            f"d({outcome}) ~ d(treat_post) + g({x}, lags, i(year)); first differences by city_code"
        )
    return f"{outcome} ~ treat_post + g({x}, i(year)); within city_code"


FIXEF = {
    "within": "city_code (within transformation) + year (dummies in g)",
    "dummies": "city_code + year (dummies in g)",
    "first_difference": "city_code (first differences) + year (dummies in g)",
}
VCOV = "analytical:dml-cluster(Chiang et al. 2022),cluster=city_code"


def ssc(n_folds: int, n_rep: int, rule: str, sizes: str = "") -> str:
    """The DML's settings beside its estimate; `sizes`: learner settings that depend on the
    number of rows, where they bind (analysis.estimators.learners.size_note)."""
    text = f"none;normal;folds={n_folds} by city_code;n_rep={n_rep};agg={rule}"
    return f"{text};{sizes}" if sizes else text


def model(des: Design, ml_l: BaseEstimator, ml_m: BaseEstimator, n_folds: int) -> Any:
    """An unfitted DoubleML partially linear model (no sample splitting drawn).

    `n_folds` must be the number of folds later passed to `set_sample_splitting`: with
    cluster data doubleml 0.11.4 keeps the constructor's folds-per-cluster count, which
    scales the cluster variance (J and Gamma are divided by it), even after new splits are
    set. A mismatch would silently scale the standard error by sqrt(k_set / k_constructed).
    """
    approach = FE_APPROACH[des.fe]
    common = dict(n_folds=n_folds, n_rep=1, score="partialling out", draw_sample_splitting=False)
    if approach is None:
        data = call(
            dml.DoubleMLData,
            des.data,
            y_col=des.outcome,
            d_cols=TREATMENT,
            x_cols=list(des.covariates),
            cluster_cols="city_code",
        )
        return call(dml.DoubleMLPLR, data, ml_l, ml_m, **common)
    pdata = call(
        dml.DoubleMLPanelData,
        des.data,
        y_col=des.outcome,
        d_cols=TREATMENT,
        t_col="year",
        id_col="city_code",
        x_cols=list(des.covariates),
        static_panel=True,
    )
    return call(dml.DoubleMLPLPR, pdata, ml_l, ml_m, approach=approach, **common)


def _used_data(obj: Any) -> Any:
    """The data object DoubleML estimates on (transformed for the panel approaches)."""
    return obj.data_transform if isinstance(obj, dml.DoubleMLPLPR) else obj._dml_data


def row_cities(des: Design) -> np.ndarray:
    """The city of every row DoubleML estimates on (after any panel transformation)."""
    probe = model(des, LinearRegression(), LinearRegression(), 2)
    return np.asarray(_used_data(probe).cluster_vars[:, 0])


@dataclass(frozen=True)
class Fit:
    """One learner's repeated cross-fitted estimates of theta."""

    learner: str
    coefs: np.ndarray  # one per repetition
    ses: np.ndarray
    coef_doubleml: float  # DoubleML's aggregation (as the library returns it)
    se_doubleml: float
    rmse_l: float  # out-of-fold RMSE of the outcome and treatment regressions (mean over reps)
    rmse_m: float
    n_obs: int
    n_clusters: int
    seconds: float
    seconds_per_rep: float
    predictions: dict[str, np.ndarray] = field(repr=False)  # ml_l, ml_m: (n_obs, n_rep)
    weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # stack only


def _rmse(target: np.ndarray, preds: np.ndarray) -> float:
    return float(np.mean(np.sqrt(np.mean((preds - target[:, None]) ** 2, axis=0))))


def _finish(obj: Any, learner: str, seconds: float, weights: dict[str, np.ndarray]) -> Fit:
    data = _used_data(obj)
    preds = {k: np.asarray(obj.predictions[k][:, :, 0]) for k in ("ml_l", "ml_m")}
    return Fit(
        learner=learner,
        coefs=np.asarray(obj.all_coef[0], dtype=float),
        ses=np.asarray(obj.all_se[0], dtype=float),
        coef_doubleml=float(obj.coef[0]),
        se_doubleml=float(obj.se[0]),
        rmse_l=_rmse(np.asarray(data.y), preds["ml_l"]),
        rmse_m=_rmse(np.asarray(data.d), preds["ml_m"]),
        n_obs=int(data.n_obs),
        n_clusters=int(len(np.unique(data.cluster_vars[:, 0]))),
        seconds=seconds,
        seconds_per_rep=seconds / obj.n_rep,
        predictions=preds,
        weights=weights,
    )


def _arrays(obj: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, outcome and treatment exactly as doubleml hands them to its learners."""
    data = _used_data(obj)
    x, y = check_X_y(data.x, data.y, ensure_all_finite=False)
    x, d = check_X_y(x, data.d, ensure_all_finite=False)
    return x, y, d


def _external(obj: Any, preds: Mapping[str, np.ndarray]) -> Any:
    """Fit the model on given cross-fitted predictions (n_obs x n_rep per nuisance)."""
    d_col = _used_data(obj).d_cols[0]
    obj.fit(store_predictions=True, external_predictions={d_col: dict(preds)})
    return obj


def fit_learners(
    des: Design,
    learners: Mapping[str, Callable[[str], BaseEstimator]],
    splits: Splits,
    stack: bool,
    n_jobs: int = 1,
    cache: NuisanceCache | None = None,
) -> dict[str, Fit]:
    """Every base learner on the same folds, then (optionally) their short-stack.
    `learners` maps a name to a factory of a fresh learner for a task. The nuisances of all
    learners and repetitions are cross-fitted together (analysis.estimators.crossfit), in
    `n_jobs` processes, reusing any fit already in `cache`."""
    pairs = {name: (make("regression"), make("regression")) for name, make in learners.items()}
    fits = fit_pairs(des, pairs, splits, n_jobs, cache)
    if stack:
        fits[STACK] = fit_stack(des, fits, splits)
    return fits


def fit_learner(
    des: Design,
    name: str,
    ml_l: BaseEstimator,
    ml_m: BaseEstimator,
    splits: Splits,
    n_jobs: int = 1,
    cache: NuisanceCache | None = None,
) -> Fit:
    """Cross-fit one learner (one clone per nuisance and fold) on the given folds."""
    return fit_pairs(des, {name: (ml_l, ml_m)}, splits, n_jobs, cache)[name]


@dataclass(frozen=True)
class Request:
    """Learner pairs to fit on one design and its folds: name -> (outcome learner,
    treatment learner)."""

    des: Design
    pairs: Mapping[str, tuple[BaseEstimator, BaseEstimator]]
    splits: Splits


def fit_pairs(
    des: Design,
    pairs: Mapping[str, tuple[BaseEstimator, BaseEstimator]],
    splits: Splits,
    n_jobs: int = 1,
    cache: NuisanceCache | None = None,
) -> dict[str, Fit]:
    """Each pair cross-fitted on the folds of every repetition, then estimated by doubleml
    from those predictions."""
    return fit_many([Request(des, pairs, splits)], n_jobs, cache)[0]


def fit_many(
    requests: Sequence[Request], n_jobs: int = 1, cache: NuisanceCache | None = None
) -> list[dict[str, Fit]]:
    """Several designs at once: the nuisance jobs of all of them share one pool of
    processes (so two cores stay busy to the end), then each model is estimated."""
    jobs: list[Job] = []
    for req in requests:
        probe = model(req.des, LinearRegression(), LinearRegression(), req.splits.n_folds)
        x, y, d = _arrays(probe)
        x_key = str(joblib.hash(x))
        jobs += [
            Job(learner, x, target, req.splits.smpls[r], x_key=x_key)
            for ml_l, ml_m in req.pairs.values()
            for learner, target in ((ml_l, y), (ml_m, d))
            for r in range(req.splits.n_rep)
        ]
    results = iter(crossfit(jobs, n_jobs, cache))
    out = []
    for req in requests:
        fits = {}
        n_rep = req.splits.n_rep
        for name in req.pairs:
            preds, seconds = {}, 0.0
            for key in ("ml_l", "ml_m"):
                cols = [next(results) for _ in range(n_rep)]
                preds[key] = np.column_stack([p for p, _ in cols])
                seconds += sum(s for _, s in cols)
            t0 = time.perf_counter()
            obj = model(req.des, LinearRegression(), LinearRegression(), req.splits.n_folds)
            with linear_time():
                obj.set_sample_splitting(req.splits.smpls, req.splits.smpls_cluster)
                _external(obj, preds)
            fits[name] = _finish(obj, name, seconds + time.perf_counter() - t0, {})
        out.append(fits)
    return out


def fit_stack(des: Design, base: Mapping[str, Fit], splits: Splits) -> Fit:
    """Short-stacking: per repetition and nuisance, the constrained least-squares weights of
    the base learners' cross-fitted predictions; the combination enters DoubleML as external
    predictions on the same folds."""
    t0 = time.perf_counter()
    obj = model(des, LinearRegression(), LinearRegression(), splits.n_folds)
    data = _used_data(obj)
    targets = {"ml_l": np.asarray(data.y, dtype=float), "ml_m": np.asarray(data.d, dtype=float)}
    names = list(base)
    stacked: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    for key, target in targets.items():
        preds = np.stack([base[n].predictions[key] for n in names], axis=2)  # n x rep x p
        w = np.vstack([stack_weights(target, preds[:, r, :]) for r in range(splits.n_rep)])
        weights[key] = w
        stacked[key] = np.einsum("nrp,rp->nr", preds, w)
    with linear_time():
        obj.set_sample_splitting(splits.smpls, splits.smpls_cluster)
        _external(obj, stacked)
    seconds = time.perf_counter() - t0 + sum(f.seconds for f in base.values())
    return _finish(obj, STACK, seconds, weights)


@dataclass(frozen=True)
class PLRRun:
    """Fits of one specification (fixed effects, folds) for several learners."""

    outcome: str
    controls: tuple[str, ...]
    fe: str
    n_folds: int
    n_rep: int
    fits: dict[str, Fit]


@dataclass(frozen=True)
class Aggregate:
    """Estimate and SE over the repetitions of the sample split, by one rule."""

    rule: str
    estimate: float
    std_error: float


def aggregate_doubleml(coefs: np.ndarray, ses: np.ndarray) -> Aggregate:
    """DoubleML 0.11's rule: the median estimate; the SE backed out of the median of the
    upper bounds theta_s + 1.96 se_s."""
    med = float(np.median(coefs))
    upper = float(np.median(coefs + CRITICAL_DOUBLEML * ses))
    return Aggregate("doubleml_median", med, (upper - med) / CRITICAL_DOUBLEML)


def aggregate_median_adjusted(coefs: np.ndarray, ses: np.ndarray) -> Aggregate:
    """Chernozhukov et al. (2018, section 3.4): the median estimate; variance the median of
    se_s^2 + (theta_s - median)^2, which adds the spread over sample splits."""
    med = float(np.median(coefs))
    return Aggregate("cddhnr_median", med, float(np.sqrt(np.median(ses**2 + (coefs - med) ** 2))))


AGGREGATIONS = {"doubleml_median": aggregate_doubleml, "cddhnr_median": aggregate_median_adjusted}
