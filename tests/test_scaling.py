"""Outcomes of any scale are solved alike: the power of two that brings an outcome to order
one (analysis.engines.scaling), the regressions and did2s on a rate of order 1e-5 equal to
those on the same outcome at order one, scaled; and the did2s precision block restores
pyfixest's own method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.config import load_config
from analysis.engines import pyfixest_adapter as fx
from analysis.engines.scaling import unit_scale
from analysis.inference import VcovSpec


@pytest.mark.parametrize("sd", [3e-6, 0.7, 1.0, 42.0, 5e4])
def test_unit_scale_is_a_power_of_two_to_order_one(sd: float) -> None:
    values = np.random.default_rng(1).normal(0, sd, 500)
    c = unit_scale(values)
    assert np.log2(c) == int(np.log2(c))
    assert 0.5 <= np.std(values * c, ddof=1) < 1


def test_constant_or_empty_values_are_not_scaled() -> None:
    assert unit_scale(np.ones(5)) == 1.0 and unit_scale(np.array([])) == 1.0


def _panel(scale: float) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n, years = 60, np.arange(2000, 2016)
    cohort = np.where(np.arange(n) < 15, 2006, np.where(np.arange(n) < 30, 2010, 0))
    rows = []
    for i in range(n):
        a = rng.normal()
        for t in years:
            d = float(cohort[i] > 0 and t >= cohort[i])
            rows.append((i, t, cohort[i], d, (a + 0.05 * (t - 2000) + 0.3 * d + rng.normal())))
    p = pd.DataFrame(rows, columns=["city_code", "year", "first_treat", "treat_post", "y"])
    p["rel_time"] = (p["year"] - p["first_treat"]).where(p["first_treat"] > 0)
    return p.assign(y=p["y"] * scale)


def test_a_rate_is_estimated_as_precisely_as_an_index() -> None:
    spec = VcovSpec(load_config().inference)
    big = fx.feols(_panel(1.0), "y ~ treat_post | city_code + year", spec)
    small = fx.feols(_panel(1e-5), "y ~ treat_post | city_code + year", spec)
    np.testing.assert_allclose(small.coef * 1e5, big.coef, rtol=1e-12)
    np.testing.assert_allclose(small.se * 1e5, big.se, rtol=1e-12)
    d_big, d_small = fx.did2s(_panel(1.0), "y", -1), fx.did2s(_panel(1e-5), "y", -1)
    np.testing.assert_allclose(np.array(d_small.estimate) * 1e5, d_big.estimate, rtol=1e-10)


def test_exact_fixef_restores_pyfixest_after_the_block_and_on_an_error() -> None:
    import importlib

    did2s_module = importlib.import_module("pyfixest.did.did2s")
    from pyfixest.estimation.models.feols_ import Feols

    original, original_feols = Feols.fixef, did2s_module.feols
    with fx._exact_fixef():
        assert Feols.fixef is not original and did2s_module.feols is not original_feols
    assert Feols.fixef is original and did2s_module.feols is original_feols
    with pytest.raises(RuntimeError), fx._exact_fixef():
        raise RuntimeError("inside")
    assert Feols.fixef is original and did2s_module.feols is original_feols


def test_did2s_keeps_a_unit_with_one_untreated_year() -> None:
    """A cohort treated in the panel's second year has one untreated year per unit (a
    singleton of the first stage): its treated years are still residualized, as R's did2s
    does, and the estimate is finite."""
    p = _panel(1.0)
    early = p["city_code"] < 5  # five units treated from 2001 on
    p.loc[early, "first_treat"] = 2001
    p["treat_post"] = ((p["first_treat"] > 0) & (p["year"] >= p["first_treat"])).astype(float)
    p["rel_time"] = (p["year"] - p["first_treat"]).where(p["first_treat"] > 0)
    got = fx.did2s(p, "y", -1)
    assert np.isfinite(got.att) and max(got.times) == 2015 - 2001
