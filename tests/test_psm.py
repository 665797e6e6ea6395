"""PSM-DID: on simulated cities selected into treatment on their covariates, matching
improves the standardized differences; matches respect the caliper and the replacement rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.config import PSMConfig
from analysis.estimators import matching as psm

CONTROLS = ("x1", "x2", "x3")


def selected_panel(seed: int = 0, n: int = 300, years: int = 6) -> pd.DataFrame:
    """Treatment (cohort year 4) more likely for cities with high x1 and low x2."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    p = 1 / (1 + np.exp(-(-1.2 + 1.2 * x[:, 0] - 0.8 * x[:, 1])))
    treated = rng.random(n) < p
    rows = []
    for i in range(n):
        for t in range(1, years + 1):
            drift = rng.normal(0, 0.1, 3)
            rows.append((i + 1, t, 4 if treated[i] else 0, *(x[i] + drift)))
    out = pd.DataFrame(rows, columns=["city_code", "year", "first_treat", *CONTROLS])
    out["treat_post"] = ((out["first_treat"] > 0) & (out["year"] >= 4)).astype(int)
    out["resilience"] = out["x1"] + rng.normal(size=len(out)) + 0.5 * out["treat_post"]
    return out


@pytest.mark.parametrize("replacement", [True, False])
def test_matching_improves_balance(replacement: bool) -> None:
    panel = selected_panel()
    m = psm.psm(panel, CONTROLS, PSMConfig(neighbours=1, caliper=0.2, replacement=replacement))
    table = psm.balance(m, CONTROLS)
    before, after = table["std_diff_before"].abs(), table["std_diff_after"].abs()
    assert before.iloc[0] > 0.3  # the selection is visible before matching
    assert after.max() < before.max() and after.mean() < 0.5 * before.mean()
    assert after.iloc[:2].max() < 0.1  # x1 and x2 (the selection variables) balanced
    cov = m.covariates
    for t, c in m.pairs:
        assert cov.at[t, "treated"] == 1 and cov.at[c, "treated"] == 0
        assert abs(cov.at[t, "score"] - cov.at[c, "score"]) <= m.caliper
    if not replacement:
        assert m.control_weights.max() == 1


def test_caliper_drops_treated_without_close_controls() -> None:
    panel = selected_panel(seed=2)
    wide = psm.psm(panel, CONTROLS, PSMConfig(1, 0.5, True))
    tight = psm.psm(panel, CONTROLS, PSMConfig(1, 0.001, False))
    assert len(tight.unmatched) > len(wide.unmatched)
    assert len({t for t, _ in tight.pairs}) + len(tight.unmatched) == int(
        tight.covariates["treated"].sum()
    )


def test_covariates_are_pre_treatment_means() -> None:
    panel = selected_panel(seed=1)
    cov = psm.pre_treatment_means(panel, CONTROLS)
    city = panel[(panel["city_code"] == 7) & (panel["year"] < 4)]
    assert cov.at[7, "x2"] == pytest.approx(city["x2"].mean(), abs=1e-12)


def reference_match(cov: pd.DataFrame, cfg: PSMConfig) -> tuple[list, list]:
    """The matching as first written: every treated city sorts every available control by
    distance (stable: ties to the control listed first). Quadratic; the reference."""
    score = cov["score"]
    caliper = cfg.caliper * float(score.std(ddof=1))
    controls = score[cov["treated"] == 0]
    available = set(controls.index)
    treated = score[cov["treated"] == 1].sort_values(ascending=False, kind="stable")
    pairs, unmatched = [], []
    for city, s in zip(treated.index.to_numpy(), treated.to_numpy(), strict=True):
        pool = controls if cfg.replacement else controls[controls.index.isin(available)]
        dist = (pool - s).abs().sort_values(kind="stable")
        chosen = dist[dist <= caliper].index[: cfg.neighbours]
        if len(chosen) == 0:
            unmatched.append(int(city))
            continue
        pairs += [(int(city), int(c)) for c in chosen]
        available -= set(chosen)
    return pairs, unmatched


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize("neighbours", [1, 3])
@pytest.mark.parametrize("caliper", [0.05, 0.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sorted_matching_gives_the_reference_pairs(
    seed: int, caliper: float, neighbours: int, replacement: bool
) -> None:
    """The same pairs, in the same order, as the quadratic reference; scores rounded to a
    coarse grid so that many controls tie (equal distances, on both sides of a treated city)."""
    rng = np.random.default_rng(seed)
    n = 400
    treated = (rng.random(n) < 0.3).astype(int)
    score = np.round(rng.normal(size=n) + 0.5 * treated, 1)
    cov = pd.DataFrame(
        {"treated": treated, "score": score}, index=pd.Index(rng.permutation(n) + 10)
    )
    cfg = PSMConfig(neighbours=neighbours, caliper=caliper, replacement=replacement)
    got = psm.match(cov, cfg)
    pairs, unmatched = reference_match(cov, cfg)
    assert list(got.pairs) == pairs
    assert list(got.unmatched) == unmatched
