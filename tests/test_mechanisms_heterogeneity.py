"""Mechanisms, heterogeneity and staggered DML on simulated data with known effects.

Tolerances: Z_TRUTH standard errors around the simulated truth (a two-sided 0.27% miss
rate per check for a correctly centred normal estimate); TOL_DEMEAN = 1e-8 for the
bootstrap's own two-way demeaning against pyfixest's feols (demeaning tolerance 1e-10).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from analysis.config import Config
from analysis.engines.pyfixest_adapter import feols
from analysis.estimates import Estimate
from analysis.estimators import mediation
from analysis.exhibit import Context
from analysis.exhibits import dml_did, heterogeneity, mechanisms
from analysis.inference import VcovSpec
from analysis.models import twfe
from analysis.simulation.comparison import truth_of

Z_TRUTH = 3.0
TOL_DEMEAN = 1e-8
CONTROLS = ("ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital")


def fast(cfg: Config, **changes: object) -> Config:
    base = dict(n_rep=2, n_jobs=1, did_n_rep=1, bootstrap_reps=99)
    return dataclasses.replace(cfg, dml=dataclasses.replace(cfg.dml, **{**base, **changes}))


def by_model(estimates: list[Estimate]) -> dict[tuple[str, str], Estimate]:
    return {(e.model, e.term): e for e in estimates}


def test_mechanisms_recover_effect_on_each_channel(sim_constant) -> None:
    ctx = Context(panel=sim_constant.panel, cfg=fast(sim_constant.cfg))
    out = mechanisms.run(ctx)
    rows = by_model(out.estimates)
    for m, t in sim_constant.truth["mechanisms"].items():
        for model in (f"mechanism_{m}", f"dml_mechanism_{m}"):
            e = rows[(model, "treat_post")]
            assert e.outcome == m
            assert abs(e.estimate - t["att"]) <= Z_TRUTH * e.std_error, (
                model,
                e.estimate,
                t["att"],
            )
        ind = rows[(f"mechanism_indirect_{m}", "indirect")]
        assert ind.conf_low <= ind.estimate <= ind.conf_high
        assert (f"mechanism_link_{m}", m) in rows
        assert (f"mechanism_direct_{m}", "treat_post") in rows
    assert len(out.tables["table13_mechanisms"]) == 3
    again = mechanisms.run(ctx)
    assert [e.conf_low for e in again.estimates] == [e.conf_low for e in out.estimates]


def test_indirect_effect_equals_product_of_feols_coefficients(sim_constant) -> None:
    panel, cfg = sim_constant.panel, sim_constant.cfg
    spec = VcovSpec(cfg.inference)
    m = "digital_infra"
    forms = twfe.mechanism_formulas(m, CONTROLS)
    a = feols(panel, forms[f"mechanism_{m}"], spec).coef["treat_post"]
    b = feols(panel, forms[f"mechanism_direct_{m}"], spec).coef[m]
    data = panel.sort_values(["city_code", "year"])
    values = data[[m, "resilience", "treat_post", *CONTROLS]].to_numpy(dtype=float)
    a2, b2 = mediation.indirect_ab(
        values, data["city_code"].to_numpy(), data["year"].to_numpy(), len(CONTROLS)
    )
    assert a2 == pytest.approx(a, abs=TOL_DEMEAN)
    assert b2 == pytest.approx(b, abs=TOL_DEMEAN)
    draws = mediation.bootstrap_indirect(panel, m, CONTROLS, 20, np.random.default_rng(1), 0.95)
    same = mediation.bootstrap_indirect(panel, m, CONTROLS, 20, np.random.default_rng(1), 0.95)
    assert np.array_equal(draws.draws, same.draws) and draws.estimate == pytest.approx(a * b)


def test_bootstrap_blocks_are_the_draws_of_one_loop(sim_constant) -> None:
    """The blocks (here, in two local processes, on an in-process Dask cluster) give the
    draws of a plain loop over one generator: resample cities, a x b, next."""
    from distributed import Client

    from analysis.cluster import DaskBlocks
    from analysis.estimators.blocks import LocalBlocks

    panel, m, reps = sim_constant.panel, "digital_infra", 2 * mediation.BLOCK + 3
    data = panel.sort_values(["city_code", "year"])
    values = data[[m, "resilience", "treat_post", *CONTROLS]].to_numpy(dtype=float)
    city, year = data["city_code"].to_numpy(), data["year"].to_numpy()
    bounds = np.r_[np.flatnonzero(np.r_[True, city[1:] != city[:-1]]), len(city)]
    rng, loop = np.random.default_rng(7), []
    for _ in range(reps):
        pick = rng.integers(0, len(bounds) - 1, len(bounds) - 1)
        rows, new_city = mediation._resample_rows(bounds, pick)
        a, b = mediation.indirect_ab(values[rows], new_city, year[rows], len(CONTROLS))
        loop.append(a * b)
    args = (panel, m, CONTROLS, reps)
    serial = mediation.bootstrap_indirect(*args, np.random.default_rng(7), 0.95)
    assert np.array_equal(serial.draws, np.array(loop))
    pooled = mediation.bootstrap_indirect(*args, np.random.default_rng(7), 0.95, LocalBlocks(2))
    assert np.array_equal(pooled.draws, serial.draws)
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as c:
        remote = mediation.bootstrap_indirect(*args, np.random.default_rng(7), 0.95, DaskBlocks(c))
    assert np.array_equal(remote.draws, serial.draws)


def test_interaction_recovers_coastal_difference(sim_heterogeneous) -> None:
    cfg = fast(sim_heterogeneous.cfg)
    out = heterogeneity.run(Context(panel=sim_heterogeneous.panel, cfg=cfg))
    rows = by_model(out.estimates)
    truth = sim_heterogeneous.truth["heterogeneity"]["east_coastal"]
    inter = rows[("hetero_east_coastal_interaction", "treat_post:east_coastal")]
    assert abs(inter.estimate - truth["difference"]) <= Z_TRUTH * inter.std_error
    assert inter.estimate > 0 and inter.p_value < 0.05  # the simulated difference is 0.6 x effect
    for g in (1, 0):
        for model in (f"hetero_east_coastal_{g}", f"dml_hetero_east_coastal_{g}"):
            e = rows[(model, "treat_post")]
            assert truth_of(e, sim_heterogeneous.truth, (-5, 5)) == truth[f"att_{g}"]
    assert ("dml_hetero_east_coastal_difference", "treat_post:east_coastal") in rows
    assert {"figure8_heterogeneity_forest"} == set(out.figures)
    assert len(out.tables["table14_heterogeneity"]) == 3


@pytest.mark.slow
def test_staggered_dml_recovers_att(sim_constant) -> None:
    res = dml_did.fit_did(sim_constant.panel, fast(sim_constant.cfg), n_jobs=1)
    truth = sim_constant.truth["resilience"]
    assert abs(res.simple.estimate - truth["att"]) <= Z_TRUTH * res.simple.std_error
    assert res.cohorts == {2015: 6, 2016: 51}
    post = [e for e in res.dynamic if int(e.term.split("::")[1]) >= 0]
    pre = [e for e in res.dynamic if int(e.term.split("::")[1]) < 0]
    assert post and pre
    for e in pre:
        assert abs(e.estimate) <= Z_TRUTH * e.std_error + 1e-12


def test_truth_mapping_of_new_models() -> None:
    truth = {
        "resilience": {"att": 1.0, "by_cohort_year": {"2016": {"2017": 2.0}}},
        "mechanisms": {},
        "heterogeneity": {"east_coastal": {"att_1": 3.0, "att_0": 4.0, "difference": -1.0}},
    }
    base = dict(
        exhibit="x",
        estimator="x",
        engine="x",
        estimate=0.0,
        std_error=1.0,
        statistic=0.0,
        p_value=1.0,
        conf_low=-1.0,
        conf_high=1.0,
        df=1.0,
        n_obs=1,
        n_clusters=1,
        vcov="",
        ssc="",
        formula="",
        fixef="",
        sample="",
    )

    def t(model: str, term: str, **facts: str) -> float | None:
        return truth_of(
            Estimate(model=model, outcome="resilience", term=term, **base, **facts),
            truth,
            (-5, 5),
        )  # type: ignore[arg-type]

    # The truth is read from the structured columns, not from the model id.
    split = {"moderator": "east_coastal", "estimand": "att"}
    assert t("x", "treat_post", subset="east_coastal == 1", **split) == 3.0
    assert t("x", "treat_post", subset="east_coastal == 0", **split) == 4.0
    inter = {"moderator": "east_coastal", "estimand": "att_difference"}
    assert t("x", "treat_post:east_coastal", **inter) == -1.0
    assert t("x", "treat_post", **inter) == 4.0
    assert t("x", "gt::2016::2017", estimand="att_by_cohort_year") == 2.0
    assert t("x", "gt::2016::2014", estimand="att_by_cohort_year") == 0.0
    assert t("x", "treat_post", estimand="direct_effect") is None
    assert t("x", "digital_infra", estimand="association") is None
    assert t("x", "treat_post", estimand="att") == 1.0


def test_bootstrap_rows_are_the_drawn_cities_years_in_draw_order() -> None:
    """The vectorised resample equals the plain loop over the drawn cities."""
    import numpy as np

    from analysis.estimators.mediation import _resample_rows

    rng = np.random.default_rng(1)
    bounds = np.r_[0, np.cumsum(rng.integers(1, 15, 40))]
    for _ in range(50):
        pick = rng.integers(0, 40, 40)
        rows, cluster = _resample_rows(bounds, pick)
        loop = np.concatenate([np.arange(bounds[c], bounds[c + 1]) for c in pick])
        np.testing.assert_array_equal(rows, loop)
        np.testing.assert_array_equal(cluster, np.repeat(np.arange(40), np.diff(bounds)[pick]))
