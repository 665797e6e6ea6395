"""The smoothness breakdown value: the project's replay of diff-diff's bisection, which skips
the fits the sensitivity grid answers, gives diff-diff's own `breakdown_value` with fewer
fits."""

from __future__ import annotations

from typing import Any

import diff_diff as dd
import numpy as np
import pandas as pd
import pytest

from analysis.config import Config
from analysis.engines import diff_diff_adapter as adapter
from analysis.estimators.event_time import EventStudyFit
from analysis.exhibit import Context
from analysis.exhibits.honest_did import BREAKDOWN_TOL_SD, HONEST_REF, twfe_event_study


def _diff_diffs_own(fit: EventStudyFit, alpha: float) -> float:
    lvec, _, _ = fit.target()
    honest = dd.HonestDiD(method="smoothness", alpha=alpha, l_vec=lvec)
    with adapter._quiet():
        value = honest.breakdown_value(adapter._event_study_results(fit), tol=BREAKDOWN_TOL_SD)
    return np.nan if value is None else float(value)


@pytest.mark.slow
def test_breakdown_with_the_grid_equals_diff_diffs_search(
    default_panel: pd.DataFrame, cfg: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    fit = twfe_event_study(Context(panel=default_panel, cfg=cfg)).renormalized(HONEST_REF)
    alpha = 1 - cfg.inference.level
    grid = adapter.honest_sensitivity(fit, "smoothness", cfg.honest_did.m, alpha)
    fits: list[Any] = []
    original = dd.HonestDiD.fit

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        fits.append(kwargs.get("M"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dd.HonestDiD, "fit", counted)
    ours = adapter.honest_breakdown(fit, "smoothness", alpha, BREAKDOWN_TOL_SD, known=grid)
    ours_fits = len(fits)
    fits.clear()
    theirs = _diff_diffs_own(fit, alpha)
    assert np.isfinite(theirs) and ours == theirs
    assert ours_fits < len(fits)


def test_an_undefined_set_counts_as_covering_zero_and_the_bounds_are_inclusive() -> None:
    assert adapter._covers_zero(np.nan, 0.08) and adapter._covers_zero(-0.02, np.inf)
    assert adapter._covers_zero(0.0, 0.05) and adapter._covers_zero(-0.05, 0.0)
    assert not adapter._covers_zero(0.01, 0.05) and not adapter._covers_zero(-0.05, -0.01)
