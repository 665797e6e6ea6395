"""The linear-time GMM variance of Gardner's two-stage DID (analysis/engines/did2s_linear_time.py)
against pyfixest's own `_did2s_vcov` (dense dummies, a scan per cluster), through pyfixest's
`did2s` with and without the block. Tolerance RTOL = 1e-10 relative to the largest entry:
the same variance solved in another order (machine noise ~1e-14)."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.engines import did2s_linear_time as lt
from analysis.engines import pyfixest_adapter as fx
from analysis.estimators.event_time import column
from tests.test_bacon import panel_with

RTOL = 1e-10


def event_panel(cohorts: list[int], periods: int = 9, seed: int = 0, drop: float = 0.0):
    p = panel_with(cohorts, periods=periods, seed=seed)
    if drop:
        p = p[np.random.default_rng(seed).random(len(p)) > drop].reset_index(drop=True)
    rel = (p["year"] - p["first_treat"]).where(p["first_treat"] > 0)
    return p.assign(rel_time=rel, city_code=p["city_code"] * 7 + 3)  # ids not 0..n-1


PANELS = {
    "balanced": lambda: event_panel([0] * 10 + [3] * 6 + [5] * 8 + [7] * 5),
    "unbalanced": lambda: event_panel([0] * 12 + [3] * 7 + [6] * 8, seed=2, drop=0.12),
}


def fit(panel: pd.DataFrame, second: str, linear: bool):
    import pyfixest as pf

    data = panel.assign(
        **{column("ev", k): (panel["rel_time"] == k).astype(float) for k in range(-6, 7)}
    )
    names = [column("ev", k) for k in range(-6, 7) if k != -1 and data[column("ev", k)].any()]
    rhs = " + ".join(names) if second == "event" else "treat_post"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block = lt.linear_time() if linear else _nothing()
        with fx._exact_fixef(), block:  # the project's first stage (singletons kept)
            return pf.did2s(
                data,
                yname="resilience",
                first_stage="~ 0 | city_code + year",
                second_stage=f"~ {rhs}",
                treatment="treat_post",
                cluster="city_code",
            )


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize("second", ["event", "att"])
@pytest.mark.parametrize("name", sorted(PANELS))
def test_variance_equals_pyfixests(name: str, second: str) -> None:
    panel = PANELS[name]()
    ours, library = fit(panel, second, True), fit(panel, second, False)
    assert list(ours.coef().index) == list(library.coef().index)
    np.testing.assert_array_equal(ours.coef(), library.coef())  # the estimates are untouched
    scale = np.abs(library._vcov).max()
    np.testing.assert_allclose(ours._vcov, library._vcov, rtol=0, atol=RTOL * scale)
    np.testing.assert_allclose(ours.se(), library.se(), rtol=RTOL)
    assert ours._G == library._G


def test_adapter_runs_inside_the_block_and_restores_the_library() -> None:
    estimation = importlib.import_module("pyfixest.did.estimation")
    original = estimation._did2s_vcov
    got = fx.did2s(PANELS["balanced"](), "resilience", -1)
    assert estimation._did2s_vcov is original
    library = fit(PANELS["balanced"](), "att", False)
    assert got.att_se == pytest.approx(float(library.se()["treat_post"]), rel=RTOL)
    with pytest.raises(RuntimeError), lt.linear_time():
        assert estimation._did2s_vcov is lt.vcov
        raise RuntimeError
    assert estimation._did2s_vcov is original


def test_other_cases_run_the_librarys_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights, or a first stage with covariates: pyfixest's own variance."""
    calls = []
    monkeypatch.setattr(lt, "_library", lambda: lambda *a, **k: calls.append(k) or (None, 0))
    panel = PANELS["balanced"]()
    args = (panel, "resilience", "~0|city_code+year", "~treat_post", "treat_post")
    lt.vcov(*args, np.zeros(len(panel)), np.zeros(len(panel)), "city_code", weights="w")
    args = (panel, "resilience", "~x|city_code+year", "~treat_post", "treat_post")
    lt.vcov(*args, np.zeros(len(panel)), np.zeros(len(panel)), "city_code")
    assert len(calls) == 2
