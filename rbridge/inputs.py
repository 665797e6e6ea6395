"""What the bridge computes in Python and hands to R, so that R re-estimates with exactly the
data and randomness of the run (never re-drawn in R):

- `attach_columns`: the `province` of each city from data/cities.csv (the registry the
  robustness exhibit reads for `province^year`), as integer codes (names sorted), when the
  analysis panel has no such column and the registry knows every city;
- `placebo_draws`: the permuted cohort assignments of the placebo exhibit, drawn as
  analysis.estimators.randomization draws them (np.random.default_rng(seed));
- `dml_reference`: the folds of the DML partially linear model (analysis.models.dml,
  the seed of the run) and a check-only Python fit on them with the project's "linear"
  learner (OLS), which R's DoubleML repeats with OLS: the configured learners have no
  deterministic R counterpart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rbridge.spec_inference import DmlSpec, PlaceboSpec

PROVINCE = "province"


def attach_columns(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel with the columns the bridge attaches (today `province`), when it can."""
    if PROVINCE in panel.columns or "city_code" not in panel.columns:
        return panel
    from analysis.prepare.cities import registry

    names = registry().set_index("admin_code")["province_en"]
    province = panel["city_code"].map(names)
    if province.isna().any():
        return panel  # not every unit is a registry city: the column stays absent
    codes = {name: i + 1 for i, name in enumerate(sorted(set(province)))}
    return panel.assign(**{PROVINCE: province.map(codes).astype("int64")})


def attached(panel: pd.DataFrame, original: pd.DataFrame) -> list[str]:
    """The columns of `panel` that the bridge attached to `original`."""
    return [c for c in panel.columns if c not in original.columns]


def placebo_draws(panel: pd.DataFrame, spec: PlaceboSpec) -> dict[str, np.ndarray]:
    """units (sorted) and cohorts (units x permutations), as the placebo exhibit draws them."""
    from analysis.estimators.randomization import permuted_cohorts

    city_cohort = panel.groupby(spec.unit, sort=True)[spec.cohort].first()
    draws = permuted_cohorts(city_cohort.to_numpy(), spec.n_perm, np.random.default_rng(spec.seed))
    return {
        "cities": city_cohort.index.to_numpy(dtype=float),
        "cohorts": np.ascontiguousarray(draws.T, dtype=float),
    }


@dataclass(frozen=True)
class DmlReference:
    """The folds of every repetition (units x repetitions, 0-based fold of each unit) and the
    linear learner's estimate and standard error per repetition."""

    cities: np.ndarray
    folds: np.ndarray
    coefs: np.ndarray
    ses: np.ndarray

    @property
    def median(self) -> float:
        return float(np.median(self.coefs))


def dml_reference(panel: pd.DataFrame, spec: DmlSpec, tags: tuple[str, ...] = ()) -> DmlReference:
    """The run's folds of this specification and the check-only fit with OLS learners."""
    from threadpoolctl import threadpool_limits

    from analysis.engines.doubleml_plr import fit_learner
    from analysis.estimators.learners import make_learner
    from analysis.models.dml import splits_for

    if spec.unit != "city_code" or spec.time != "year":
        raise ValueError("the project's DML folds are drawn over city_code")
    des, splits = splits_for(
        panel, spec.outcome, spec.controls, spec.fe, spec.n_folds, spec.n_rep, spec.seed, tags
    )
    cities = np.unique(des.data["city_code"].to_numpy())
    folds = np.full((len(cities), splits.n_rep), -1, dtype=float)
    for r, rep in enumerate(splits.smpls_cluster):
        for k, (_, test) in enumerate(rep):
            folds[np.searchsorted(cities, test[0]), r] = k
    if (folds < 0).any():
        raise RuntimeError("a city is in no test fold")
    with threadpool_limits(1):
        fit = fit_learner(
            des,
            "linear",
            make_learner("linear", 0, "regression"),
            make_learner("linear", 0, "regression"),
            splits,
        )
    return DmlReference(cities.astype(float), folds, fit.coefs, fit.ses)
