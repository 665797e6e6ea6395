"""The project's cross-fitting (analysis.estimators.crossfit) against doubleml's own: the
same folds and learners give the same predictions and estimates, bit for bit, whatever the
number of processes; a nuisance shared by two models is fitted once.

References: doubleml 0.11.4 fitting its learners itself (`fit()` without external
predictions) on the same sample splits. Tolerance: exact equality (the same scikit-learn
fits on the same rows; only the caller differs)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from analysis.engines.doubleml_did import did_model, fit_did, set_city_folds
from analysis.engines.doubleml_plr import design, fit_learner, model, row_cities
from analysis.estimators.crossfit import Job, NuisanceCache, crossfit
from analysis.estimators.dml_folds import city_folds, grouped_splits
from analysis.estimators.learners import make_learner
from analysis.models.dml import Spec, run_plrs

CONTROLS = ("ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital")


def _cities(panel: pd.DataFrame, n: int) -> pd.DataFrame:
    keep = sorted(panel["city_code"].unique())[:n]
    return panel[panel["city_code"].isin(keep)].reset_index(drop=True)


@pytest.mark.parametrize("fe", ["within", "dummies"])
@pytest.mark.parametrize("learner", ["lasso", "boosting"])
def test_plr_equals_doubleml_own_crossfitting(sim_constant, fe: str, learner: str) -> None:
    panel = _cities(sim_constant.panel, 50)
    des = design(panel, "resilience", CONTROLS, fe)
    groups = row_cities(des)
    cities = np.unique(groups)
    splits = grouped_splits(groups, cities, city_folds(cities, 3, 2, np.random.default_rng(4)))
    ml_l, ml_m = make_learner(learner, 7), make_learner(learner, 7)
    with threadpool_limits(1):
        own = model(des, ml_l, ml_m, 3)
        own.set_sample_splitting(splits.smpls, splits.smpls_cluster)
        own.fit(store_predictions=True)
        ours = fit_learner(des, learner, ml_l, ml_m, splits)
    np.testing.assert_array_equal(ours.coefs, own.all_coef[0])
    np.testing.assert_array_equal(ours.ses, own.all_se[0])
    np.testing.assert_array_equal(ours.predictions["ml_l"], own.predictions["ml_l"][:, :, 0])


def test_parallel_equals_serial_and_cache_reuses(sim_constant) -> None:
    """Two processes give the numbers of one; the mechanism-style second outcome reuses the
    treatment regression of the first (same sample, folds and learner)."""
    panel = _cities(sim_constant.panel, 40)
    cfg = dataclasses.replace(sim_constant.cfg.dml, n_rep=2)
    specs = [
        Spec(panel, outcome, CONTROLS, "within", 3, ("lasso", "linear"))
        for outcome in ("resilience", "tech_innovation")
    ]
    serial_cache, parallel_cache = NuisanceCache(), NuisanceCache()
    serial = run_plrs(specs, cfg, 1, n_jobs=1, cache=serial_cache)
    parallel = run_plrs(specs, cfg, 1, n_jobs=2, cache=parallel_cache)
    for a, b in zip(serial, parallel, strict=True):
        for name in a.fits:
            np.testing.assert_array_equal(a.fits[name].coefs, b.fits[name].coefs)
            np.testing.assert_array_equal(a.fits[name].ses, b.fits[name].ses)
    # 2 outcomes x 2 learners x 2 nuisances x 2 repetitions; the treatment regressions of the
    # second outcome are the first's.
    assert serial_cache.fitted == 12 and serial_cache.reused == 4
    again = run_plrs(specs[:1], cfg, 1, n_jobs=1, cache=serial_cache)
    assert serial_cache.fitted == 12
    np.testing.assert_array_equal(again[0].fits["lasso"].coefs, serial[0].fits["lasso"].coefs)


def test_crossfit_restricts_training_rows() -> None:
    """train_mask: each fold's learner sees only the masked training rows (DID's outcome
    regression on control units), checked against a hand-written loop."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), rng.normal(size=60)
    mask = rng.random(60) < 0.5
    folds = [
        (np.flatnonzero(np.arange(60) % 3 != k), np.flatnonzero(np.arange(60) % 3 == k))
        for k in range(3)
    ]
    ((pred, _),) = crossfit([Job(LinearRegression(), x, y, folds, train_mask=mask)])
    for train, test in folds:
        t = train[mask[train]]
        ref = LinearRegression().fit(x[t], y[t]).predict(x[test])
        np.testing.assert_array_equal(pred[test], ref)
    with pytest.raises(ValueError, match="method"):
        crossfit([Job(LinearRegression(), x, y, folds, method="decision_function")])


@pytest.mark.slow
def test_staggered_dml_equals_doubleml_own_crossfitting(sim_constant) -> None:
    """fit_did (own cross-fitting, ml_g1 not fitted, shared propensity scores) gives
    doubleml's own group-time estimates and SEs exactly."""
    cfg = sim_constant.cfg
    cfg = dataclasses.replace(cfg, dml=dataclasses.replace(cfg.dml, did_n_rep=2, n_folds=3))
    per_city = sim_constant.panel.groupby("city_code")["first_treat"].first()
    keep = [*per_city[per_city > 0].index, *per_city[per_city == 0].index[:40]]
    panel = sim_constant.panel[sim_constant.panel["city_code"].isin(keep)]
    d = cfg.dml
    cols = ["city_code", "year", "resilience", "first_treat", *cfg.model.controls]
    data = panel[cols].sort_values(["city_code", "year"]).reset_index(drop=True)
    own = did_model(data, cfg)
    set_city_folds(own, data.groupby("city_code")["first_treat"].first(), cfg)
    cache = NuisanceCache()
    with threadpool_limits(1):
        own.fit(n_jobs_models=1)
        ours = fit_did(panel, cfg, n_jobs=1, cache=cache)
    n_cells = len(ours.cells)
    np.testing.assert_array_equal(
        np.stack([c.coefs for c in ours.cells]),
        np.asarray(own.framework.all_thetas).reshape(n_cells, -1),
    )
    np.testing.assert_array_equal(
        np.stack([c.ses for c in ours.cells]),
        np.asarray(own.framework.all_ses).reshape(n_cells, -1),
    )
    post_cells = sum(
        1 for c in ours.cells if int(c.term.split("::")[2]) >= int(c.term.split("::")[1])
    )
    n_cohorts = len(ours.cohorts)
    # one propensity score per cohort serves all its post-treatment cells, per repetition
    assert cache.reused == (post_cells - n_cohorts) * d.did_n_rep
