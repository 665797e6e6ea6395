"""DML partially linear model: the project's doubleml fits against a hand-written
cross-fitting on the same folds, short-stacking, folds, seeds, and recovery of simulated
effects.

Tolerances: TOL_EXACT = 1e-9 (same folds, deterministic learners: only floating-point
summation order differs); TOL_STACK = 1e-7 (the reference stacking weights come from an
iterative solver, SLSQP, to ~1e-10); simulated truth: within Z_TRUTH standard errors.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from sklearn.linear_model import Lasso, LinearRegression, Ridge

from analysis.bench.stages import bench_dml
from analysis.config import Config, load_config
from analysis.engines.doubleml_plr import (
    aggregate_median_adjusted,
    design,
    fit_learner,
    fit_learners,
    row_cities,
)
from analysis.estimators.dml_folds import city_folds, grouped_splits
from analysis.estimators.learners import LEARNER_NAMES, describe, make_learner, stack_weights
from analysis.exhibit import Context
from analysis.exhibits import dml_plr as dml
from analysis.models.dml import run_plr
from tests._manual_plr import design_matrices, manual_plr, median_rules, theta_se

TOL_EXACT = 1e-9
TOL_STACK = 1e-7
Z_TRUTH = 3.0
CONTROLS = ("ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital")


def fast(cfg: Config, **changes: object) -> Config:
    """The configuration with small DML settings for tests."""
    base = dict(n_rep=2, n_jobs=1, did_n_rep=1, bootstrap_reps=99)
    return dataclasses.replace(cfg, dml=dataclasses.replace(cfg.dml, **{**base, **changes}))


def subsample(panel: pd.DataFrame, n_cities: int, seed: int = 0) -> pd.DataFrame:
    """A random subset of cities that keeps treated and untreated ones."""
    rng = np.random.default_rng(seed)
    per_city = panel.groupby("city_code")["first_treat"].first()
    treated = rng.choice(per_city.index[per_city > 0], n_cities // 4, replace=False)
    control = rng.choice(per_city.index[per_city == 0], n_cities - len(treated), replace=False)
    keep = np.concatenate([treated, control])
    return panel[panel["city_code"].isin(keep)].reset_index(drop=True)


def splits_of(des: object, n_folds: int, n_rep: int, seed: int = 5):  # type: ignore[no-untyped-def]
    groups = row_cities(des)  # type: ignore[arg-type]
    cities = np.unique(groups)
    return grouped_splits(
        groups, cities, city_folds(cities, n_folds, n_rep, np.random.default_rng(seed))
    )


LEARNER_PAIRS = {
    "ols": lambda: LinearRegression(),
    "lasso": lambda: Lasso(alpha=1e-4, tol=1e-12, max_iter=200_000),
}


@pytest.mark.parametrize("fe", ["within", "dummies"])
@pytest.mark.parametrize("learner", list(LEARNER_PAIRS))
def test_matches_hand_written_cross_fitting(sim_constant, fe: str, learner: str) -> None:
    """theta and SE of every repetition, and both aggregations, equal the manual DML."""
    panel = subsample(sim_constant.panel, 60)
    des = design(panel, "resilience", CONTROLS, fe)
    splits = splits_of(des, 4, 3)
    make = LEARNER_PAIRS[learner]
    fit = fit_learner(des, learner, make(), make(), splits)
    y, d, X, city = design_matrices(panel, "resilience", list(CONTROLS), fe)
    thetas, ses, _ = manual_plr(y, d, X, city, [list(r) for r in splits.smpls], make, make)
    np.testing.assert_allclose(fit.coefs, thetas, rtol=0, atol=TOL_EXACT)
    np.testing.assert_allclose(fit.ses, ses, rtol=0, atol=TOL_EXACT)
    rules = median_rules(thetas, ses)
    assert fit.coef_doubleml == pytest.approx(rules["doubleml"][0], abs=TOL_EXACT)
    assert fit.se_doubleml == pytest.approx(rules["doubleml"][1], abs=TOL_EXACT)
    adjusted = aggregate_median_adjusted(fit.coefs, fit.ses)
    assert adjusted.std_error == pytest.approx(rules["cddhnr"][1], abs=TOL_EXACT)
    assert fit.n_clusters == 60


def _slsqp_weights(y: np.ndarray, P: np.ndarray) -> np.ndarray:
    p = P.shape[1]
    res = minimize(
        lambda w: np.sum((y - P @ w) ** 2),
        np.full(p, 1 / p),
        method="SLSQP",
        bounds=[(0, 1)] * p,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        options={"ftol": 1e-16, "maxiter": 1000},
    )
    return res.x


def test_stack_weights_solve_the_constrained_least_squares() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.normal(size=200)
        P = y[:, None] * rng.uniform(0.2, 1.2, 4) + rng.normal(
            scale=rng.uniform(0.2, 2, 4), size=(200, 4)
        )
        w = stack_weights(y, P)
        assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)
        ref = _slsqp_weights(y, P)
        assert np.sum((y - P @ w) ** 2) <= np.sum((y - P @ ref) ** 2) + 1e-9
        np.testing.assert_allclose(w, ref, atol=1e-5)
    y = rng.normal(size=50)
    assert stack_weights(y, np.column_stack([y + 1, y, y - 0.5]))[1] == pytest.approx(1.0)


def test_short_stack_matches_manual(sim_constant) -> None:
    """The stack's theta from the base learners' out-of-fold predictions, by hand."""
    panel = subsample(sim_constant.panel, 60, seed=1)
    des = design(panel, "resilience", CONTROLS, "within")
    splits = splits_of(des, 3, 2)
    makers = {"ols": lambda task: LinearRegression(), "ridge": lambda task: Ridge(alpha=5.0)}
    fits = fit_learners(des, makers, splits, stack=True)
    y, d, X, city = design_matrices(panel, "resilience", list(CONTROLS), "within")
    reps = [list(r) for r in splits.smpls]
    preds = {
        n: manual_plr(y, d, X, city, reps, lambda n=n: makers[n](""), lambda n=n: makers[n](""))[2]
        for n in makers
    }
    for r, folds in enumerate(reps):
        L = np.column_stack([preds[n][r][0] for n in makers])
        M = np.column_stack([preds[n][r][1] for n in makers])
        wl, wm = _slsqp_weights(y, L), _slsqp_weights(d, M)
        theta, se = theta_se(y, d, L @ wl, M @ wm, city, folds)
        assert fits["stack"].coefs[r] == pytest.approx(theta, abs=TOL_STACK)
        assert fits["stack"].ses[r] == pytest.approx(se, abs=TOL_STACK)


def test_folds_keep_cities_together_and_balance(sim_constant) -> None:
    des = design(sim_constant.panel, "resilience", CONTROLS, "within")
    groups = row_cities(des)
    cities = np.unique(groups)
    folds = city_folds(cities, 5, 3, np.random.default_rng(1))
    splits = grouped_splits(groups, cities, folds)
    for rep, assignment in zip(splits.smpls, folds, strict=True):
        sizes = np.bincount(assignment)
        assert sizes.max() - sizes.min() <= 1
        covered = np.sort(np.concatenate([test for _, test in rep]))
        assert np.array_equal(covered, np.arange(len(groups)))
        for train, test in rep:
            assert not set(groups[train]) & set(groups[test])
    cohort = (
        sim_constant.panel.groupby("city_code")["first_treat"].first().reindex(cities).to_numpy()
    )
    strat = city_folds(cities, 5, 2, np.random.default_rng(2), cohort)
    for assignment in strat:
        for g in np.unique(cohort):
            counts = np.bincount(assignment[cohort == g], minlength=5)
            assert counts.max() - counts.min() <= 1


def test_dml_recovers_constant_effect(sim_constant) -> None:
    cfg = fast(sim_constant.cfg)
    run = run_plr(
        sim_constant.panel, "resilience", CONTROLS, "within", 5, ("lasso",), cfg.dml, cfg.seed
    )
    fit = run.fits["lasso"]
    truth = sim_constant.truth["resilience"]["att"]
    assert abs(fit.coef_doubleml - truth) <= Z_TRUTH * fit.se_doubleml


def test_same_seed_same_numbers_serial_or_parallel(sim_constant) -> None:
    cfg = fast(sim_constant.cfg, n_rep=1)
    panel = subsample(sim_constant.panel, 80, seed=2)
    args = (panel, "resilience", CONTROLS, "within", 3, ("lasso", "boosting"), cfg.dml, cfg.seed)
    serial, again, parallel = (
        run_plr(*args, n_jobs=1),
        run_plr(*args, n_jobs=1),
        run_plr(*args, n_jobs=2),
    )
    for name in ("lasso", "boosting"):
        assert np.array_equal(serial.fits[name].coefs, again.fits[name].coefs)
        assert np.array_equal(serial.fits[name].coefs, parallel.fits[name].coefs)
    other = run_plr(
        panel, "resilience", CONTROLS, "within", 3, ("boosting",), cfg.dml, cfg.seed + 1
    )
    assert not np.array_equal(serial.fits["boosting"].coefs, other.fits["boosting"].coefs)


def test_exhibit_model_ids_and_determinism(sim_constant) -> None:
    cfg = fast(sim_constant.cfg, learners=("lasso", "linear", "stack"), robustness_folds=(2,))
    ctx = Context(panel=subsample(sim_constant.panel, 60, seed=3), cfg=cfg)
    out = dml.run(ctx)
    models = {e.model for e in out.estimates}
    expected = {
        "dml_plr",
        "dml_plr_cddhnr_median",
        "dml_plr_lasso_within_5folds",
        "dml_plr_linear_dummies_5folds",
        "dml_plr_stack_dummies_5folds",
        "dml_plr_lasso_within_2folds",
    }
    assert expected <= models
    assert all(e.term == "treat_post" and e.n_clusters == 60 for e in out.estimates)
    assert len(out.tables["table11_dml_plr"]) == 7
    again = dml.run(ctx)
    from analysis.estimates import to_frame

    assert to_frame(out.estimates).equals(to_frame(again.estimates))
    assert set(out.manifest["learners"]) == {"lasso", "linear"}


def test_learner_registry_matches_config() -> None:
    from analysis.config import ALLOWED, ALLOWED_ITEMS

    assert set(ALLOWED_ITEMS["dml.learners"]) == set(LEARNER_NAMES) == set(ALLOWED["dml.learner"])
    for name in LEARNER_NAMES:
        for task in ("regression", "classification"):
            if name != "stack":
                make_learner(name, 1, task)  # every learner exists for both tasks
            assert describe(name, 1, task) == describe(name, 1, task)
    for name in ("random_forest", "boosting", "neural_net"):
        assert "random_state=7" in describe(name, 7)


def test_bench_reports_speedup_and_identical_estimates(sim_constant) -> None:
    cfg = fast(sim_constant.cfg, learners=("lasso", "linear", "stack"))
    bench = bench_dml(subsample(sim_constant.panel, 60, seed=4), cfg, n_rep=1, n_jobs=2)
    assert list(bench.table["learner"]) == ["lasso", "linear", "stack"]
    assert bench.table["identical_estimates"].all()
    assert (bench.table["speedup"] > 0).all() and (bench.table["seconds_serial"] > 0).all()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('learners = ["lasso", "svm"]', "'svm' is not allowed"),
        ('learners = ["lasso", "stack"]', "'stack' needs at least two"),
        ('fe = "dummies"\nfe_handling = ["within"]', "fe = 'dummies' must be one of fe_handling"),
        ("n_folds = 1", "n_folds = 1 must be at least 2"),
        ("robustness_folds = [1]", "must be integers of at least 2"),
        ('did_learner = "stack"', "'stack' is not allowed"),
    ],
)
def test_dml_config_errors(tmp_path, toml: str, message: str) -> None:
    from analysis.errors import InputError

    path = tmp_path / "c.toml"
    path.write_text(f"[dml]\n{toml}\n", encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(path)


def test_dml_config_defaults_are_study_toml() -> None:
    from analysis.config import DMLConfig

    assert load_config().dml == DMLConfig()


def test_unit_dummies_too_large_for_memory_are_refused_in_one_line() -> None:
    """fe = "dummies" on a firm-sized panel: a one-line InputError with the size and the
    remedy instead of a MemoryError (the within transformation needs no dummies)."""
    from analysis.engines.doubleml_plr import design
    from analysis.errors import InputError

    n = 20_000
    panel = pd.DataFrame(
        {
            "city_code": np.repeat(np.arange(n), 15),
            "year": np.tile(np.arange(2001, 2016), n),
            "y": 1.0,
            "treat_post": 0,
        }
    )
    with pytest.raises(InputError, match=r"20,000 units over 300,000 rows would take 44\.7 GiB"):
        design(panel, "y", (), "dummies")
    assert design(panel.head(150), "y", (), "dummies").covariates[-1] == "city_9"
