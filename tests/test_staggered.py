"""Sun-Abraham, two-stage and imputation event studies against independent references:
identities between estimators computed by different libraries, and pyfixest's own
saturated event study.

Tolerances: 1e-10 for identities of least-squares algebra on the same sample; 1e-8 where
two libraries solve the same problem with different numerics (two-stage vs imputation).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.config import load_config
from analysis.engines import diff_diff_adapter as dd
from analysis.engines import pyfixest_adapter as fx
from analysis.estimators.event_time import sunab_cells
from analysis.exhibits import event_study_estimators as staggered
from analysis.inference import VcovSpec
from analysis.models import callaway_santanna as cs
from analysis.prepare.panel import event_time


def staggered_panel(seed: int = 0, n: int = 40, periods: int = 8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohort = rng.choice([0, 4, 6], size=n, p=[0.5, 0.25, 0.25])
    rows = []
    for i in range(n):
        a = rng.normal()
        for t in range(1, periods + 1):
            eff = 0.4 * (t - cohort[i] + 1) if cohort[i] and t >= cohort[i] else 0.0
            rows.append((i + 1, t, int(cohort[i]), a + 0.2 * t + eff + rng.normal(0, 0.5)))
    p = pd.DataFrame(rows, columns=["city_code", "year", "first_treat", "resilience"])
    p["treat_post"] = ((p["first_treat"] > 0) & (p["year"] >= p["first_treat"])).astype(int)
    p["rel_time"] = (p["year"] - p["first_treat"]).where(p["first_treat"] > 0)
    p["event_time"] = event_time(p, load_config())
    return p


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return staggered_panel()


def test_sunab_equals_cs_universal_never_treated(panel: pd.DataFrame) -> None:
    """With never-treated controls and no covariates the interaction-weighted estimator
    equals Callaway-Sant'Anna with the universal base period, event time by event time."""
    sa, _ = staggered.sunab(panel, VcovSpec(load_config().inference), -1)
    f = cs.fit(panel, cs.CSSpec("nevertreated", "universal"), 1e-6)
    es = f.results.aggregate("event_study").to_dataframe().set_index("event_time")
    for k, est in zip(sa.times, sa.estimate, strict=True):
        assert est == pytest.approx(es.at[k, "att"], abs=1e-10), k


def test_sunab_equals_pyfixest_saturated(panel: pd.DataFrame) -> None:
    import pyfixest as pf

    sa, _ = staggered.sunab(panel, VcovSpec(load_config().inference), -1)
    sat = pf.event_study(
        panel,
        yname="resilience",
        idname="city_code",
        tname="year",
        gname="first_treat",
        estimator="saturated",
        cluster="city_code",
    )
    agg = sat.aggregate()
    ref = dict(zip(agg.index.astype(float).astype(int), agg["Estimate"].astype(float), strict=True))
    assert set(ref) == set(sa.times)
    for k, est in zip(sa.times, sa.estimate, strict=True):
        assert est == pytest.approx(ref[k], abs=1e-10), k


def test_two_stage_equals_imputation_after_treatment(panel: pd.DataFrame) -> None:
    """Gardner's two-stage and BJS imputation are the same estimator of post-treatment
    effects (pyfixest vs diff-diff)."""
    d2 = fx.did2s(panel, "resilience", -1)
    imp = dd.imputation(panel, "resilience")
    post_d2 = {k: e for k, e in zip(d2.times, d2.estimate, strict=True) if k >= 0}
    post_imp = {k: e for k, e in zip(imp.times, imp.estimate, strict=True) if k >= 0}
    assert post_d2.keys() == post_imp.keys() and len(post_d2) == 5
    for k in post_d2:
        assert post_d2[k] == pytest.approx(post_imp[k], abs=1e-8)
    assert d2.att == pytest.approx(imp.att, abs=1e-8)


def test_sunab_att_is_cell_count_weighted(panel: pd.DataFrame) -> None:
    """The ATT is the observation-weighted mean of the cohort x post-period coefficients."""
    sa, reg = staggered.sunab(panel, VcovSpec(load_config().inference), -1)
    data, cols = sunab_cells(panel, -1)
    post = [c for c, (_, k) in cols.items() if k >= 0]
    n = np.array([data[c].sum() for c in post])
    assert sa.att == pytest.approx(float(n @ reg.coef[post].to_numpy() / n.sum()), abs=1e-12)
