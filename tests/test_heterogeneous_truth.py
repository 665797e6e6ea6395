"""On simulated data where effects grow with exposure and cohorts differ strongly, the
heterogeneity-robust estimators recover the truth the simulation knows, and TWFE does not.

DGP: 28 never-treated cities, cohorts 2011 / 2015 / 2019 (40% / 30% / 20% of the cities)
with effect multipliers 2.0 / 1.0 / 0.3, effects growing linearly in exposure. TWFE then
uses already-treated cities, whose effects are still growing, as controls (the forbidden
comparisons), which drags its coefficient far from the ATT. Bounds: the robust estimators
within 3 standard errors of the truth (overall) and 4 (each event time 0..5); TWFE more
than 10 standard errors away. The data are fixed by the seed, so the test is deterministic.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import load_config
from analysis.engines import diff_diff_adapter as dd
from analysis.engines.pyfixest_adapter import feols
from analysis.inference import VcovSpec
from analysis.models import callaway_santanna as cs
from analysis.prepare.panel import build_panel
from analysis.simulation.dgp import DGP, own_cohort_config, simulate, write_simulation
from tests._regen import assert_regenerates

REPO = Path(__file__).resolve().parents[1]
DESIGN = DGP(
    seed=7,
    effect_shape="linear",
    heterogeneity=False,
    missing_share=0.0,
    cohorts=((2011, 0.4), (2015, 0.3), (2019, 0.2)),
    cohort_effects=(2.0, 1.0, 0.3),
)


@pytest.fixture(scope="module")
def simulated() -> tuple[pd.DataFrame, dict]:
    raw, truth = simulate(DESIGN)
    cfg = own_cohort_config(load_config())
    panel, _ = build_panel(raw.drop(columns=["simulated", "city_name"]), cfg, "simulated")
    return panel, truth


def test_robust_estimators_recover_truth_twfe_does_not(
    simulated: tuple[pd.DataFrame, dict],
) -> None:
    panel, truth = simulated
    att = truth["resilience"]["att"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = cs.fit(panel, cs.CSSpec(), 1e-6)
        simple = f.results.aggregate("simple").to_dataframe().iloc[0]
        imp = dd.imputation(panel, "resilience")
    reg = feols(
        panel, "resilience ~ treat_post | city_code + year", VcovSpec(load_config().inference)
    )
    twfe, twfe_se = float(reg.coef["treat_post"]), float(reg.se["treat_post"])
    report = (
        f"truth {att:.4f}; CS {simple['att']:.4f} ({simple['se']:.4f}); imputation "
        f"{imp.att:.4f} ({imp.att_se:.4f}); TWFE {twfe:.4f} ({twfe_se:.4f})"
    )
    print(report)
    assert abs(simple["att"] - att) < 3 * simple["se"], report
    assert abs(imp.att - att) < 3 * imp.att_se, report
    assert abs(twfe - att) > 10 * twfe_se, report
    assert abs(twfe - att) > 5 * max(abs(simple["att"] - att), abs(imp.att - att)), report

    dyn = f.results.aggregate("event_study").to_dataframe().set_index("event_time")
    by_imp = dict(zip(imp.times, zip(imp.estimate, imp.std_error, strict=True), strict=True))
    for k in range(6):
        true_k = truth["resilience"]["by_event_time"][str(k)]
        assert abs(dyn.at[k, "att"] - true_k) < 4 * dyn.at[k, "se"], (k, dyn.at[k, "att"], true_k)
        est, se = by_imp[k]
        assert abs(est - true_k) < 4 * se, (k, est, true_k)


def test_truth_is_the_estimand_of_the_simple_aggregation(
    simulated: tuple[pd.DataFrame, dict],
) -> None:
    """The truth's ATT averages treated post city-years; its cohort-time cells weighted by
    their number of cities give the same number (the CS simple aggregation's weights)."""
    panel, truth = simulated
    res = truth["resilience"]
    cells = [(int(g), int(t), v) for g, by in res["by_cohort_year"].items() for t, v in by.items()]
    size = panel.groupby("first_treat")["city_code"].nunique()
    w = np.array([size[g] for g, _, _ in cells], dtype=float)
    assert float(w @ np.array([v for _, _, v in cells]) / w.sum()) == pytest.approx(
        res["att"], abs=1e-12
    )


def test_default_panel_unchanged(tmp_path: Path) -> None:
    """The new DGP options leave the embedded default panel byte-identical."""
    out = tmp_path / "simulated_panel.csv"
    write_simulation(out, load_config().seed)
    assert out.read_bytes() == (REPO / "data" / "simulated_panel.csv").read_bytes()
    # byte for byte, or within the precision policy's tolerance (reported; tests/_regen.py)
    assert_regenerates(REPO / "data" / "simulated_panel.truth.json", out.with_suffix(".truth.json"))
