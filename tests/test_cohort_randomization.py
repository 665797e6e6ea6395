"""Randomization inference at the level of assignment
(analysis/estimators/cohort_randomization.py): the closed forms of every permutation's
estimates and standard errors equal a brute-force loop that refits each permuted panel
(Callaway-Sant'Anna through the project's diff-diff fit and aggregations, the event study
through pyfixest with clustered errors: TOL, the same estimators solved two ways), the permutations move whole groups with their cohort years, the pilot zones
are the groups of the default data, and bad [randomization] values are one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import cohort_randomization as cr
from analysis.models.callaway_santanna import CSSpec, aggregations, fit
from analysis.prepare.treatment import assignment_groups
from tests._config_errors import assert_one_line_refusal
from tests.conftest import REPO

TOL = 1e-9  # pyfixest's demeaning stops at 1e-13 (fixef_tol); diff-diff is exact
WINDOW, REF = (-3, 3), -1
N_PERM = 12


def small_panel(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """14 units in 7 groups over 9 years: two groups in 2004, one in 2006, four never."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.arange(7), 2)
    group_cohort = np.array([2004, 2004, 2006, 0, 0, 0, 0])
    cohort = group_cohort[group]
    unit = np.repeat(np.arange(1, 15), 9)
    year = np.tile(np.arange(2000, 2009), 14)
    g = cohort[unit - 1]
    y = rng.normal(size=14)[unit - 1] + 0.1 * (year - 2000) + rng.normal(size=unit.size)
    y = y + 0.5 * ((g > 0) & (year >= g))
    panel = pd.DataFrame({"city_code": unit, "year": year, "first_treat": g, "resilience": y})
    return panel, pd.Series([f"group {k}" for k in group], index=np.arange(1, 15))


def refit(panel: pd.DataFrame, cohorts: np.ndarray) -> dict[tuple[str, str], tuple[float, float]]:
    """Estimate and SE of every statistic of one assignment, by fitting the estimators on the
    permuted panel (the event study's clustered SE without small-sample factors)."""
    import pyfixest as pf

    g = panel["city_code"].map(dict(zip(np.arange(1, 15), cohorts, strict=True)))
    data = panel.assign(first_treat=g)
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for (model, term), (est, se, _) in aggregations(fit(data, CSSpec())).items():
        if model in ("cs_simple", "cs_dynamic", "cs_attgt"):
            out[(model, term)] = (est, se)
    rel = (data["year"] - g).where(g > 0)
    binned = rel.clip(*WINDOW)
    names = {}
    for k in range(WINDOW[0], WINDOW[1] + 1):
        if k != REF:
            col = f"ev_{k}".replace("-", "m")
            data[col] = (binned == k).astype(float)
            names[col] = f"event_time::{k}"
    reg = pf.feols(
        f"resilience ~ {' + '.join(names)} | city_code + year",
        data=data,
        vcov={"CRV1": "city_code"},
        ssc=pf.ssc(k_adj=False, G_adj=False),
        fixef_tol=1e-13,
    )
    for col, term in names.items():
        out[("event_study", term)] = (float(reg.coef()[col]), float(reg.se()[col]))
    return out


@pytest.mark.filterwarnings("ignore:The `demeaner_backend`:DeprecationWarning")
def test_closed_forms_equal_refits_of_permuted_panels() -> None:
    panel, groups = small_panel()
    grid, dropped = cr.balanced_grid(panel, "resilience", groups)
    assert dropped == 0 and grid.n_groups == 7
    assign = np.vstack([grid.cohort, cr.permutations(grid, N_PERM, np.random.default_rng(5))])
    stats = cr.statistics(grid, assign, WINDOW, REF)
    for b, row in enumerate(assign):
        expected = refit(panel, row)
        assert set(expected) == set(stats.estimate)
        for key, (est, se) in expected.items():
            assert abs(stats.estimate[key][b] - est) < TOL, (b, key)
            assert abs(stats.se[key][b] - se) < TOL, (b, key, "se")


def test_permutations_move_whole_groups_with_their_years() -> None:
    panel, groups = small_panel()
    grid, _ = cr.balanced_grid(panel, "resilience", groups)
    assign = cr.permutations(grid, 200, np.random.default_rng(1))
    for row in assign:
        by_group = pd.Series(row).groupby(grid.group).nunique()
        assert (by_group == 1).all()  # a group's units share their (permuted) cohort
        per_group = pd.Series(row).groupby(grid.group).first().value_counts()
        assert per_group.to_dict() == {0: 4, 2004: 2, 2006: 1}
    assert len({tuple(r) for r in assign}) > 50


def test_p_value_and_seed() -> None:
    panel, groups = small_panel()
    grid, _ = cr.balanced_grid(panel, "resilience", groups)
    one = cr.randomization_inference(grid, 99, np.random.default_rng(3), WINDOW, REF)
    two = cr.randomization_inference(grid, 99, np.random.default_rng(3), WINDOW, REF)
    key = ("cs_simple", "ATT")
    assert np.array_equal(one.draws[key], two.draws[key]) and one.p(key) == two.p(key)
    raw = cr.randomization_inference(
        grid, 99, np.random.default_rng(3), WINDOW, REF, statistic="estimate"
    )
    assert one.actual[key] == one.t[key] != raw.actual[key] == raw.estimate[key]
    assert cr.p_value(1.0, np.array([0.5, -1.0, 2.0, 0.1])) == 3 / 5
    assert 1 / 100 <= one.p(key) <= 1


def test_default_zones_are_the_pilot_zones(cfg) -> None:  # type: ignore[no-untyped-def]
    panel = pd.read_csv(REPO / "tests" / "reference" / "golden" / "analysis_panel.csv")
    cohort = panel.groupby("city_code")["first_treat"].first()
    group = assignment_groups(cohort.index, cfg.treatment)
    per_group = cohort.groupby(group).agg(["nunique", "first", "size"])
    assert (per_group["nunique"] == 1).all()
    assert per_group.loc["Guizhou"].tolist() == [1, 2015, 6]
    assert (per_group["first"] == 2016).sum() == 7 and (per_group["first"] == 0).sum() == 18
    guangdong = cfg.treatment.__class__(**{**cfg.treatment.__dict__, "prd_scope": "guangdong"})
    wide = assignment_groups(cohort.index, guangdong)
    assert "Guangdong, no zone" not in set(wide) and (wide == "Pearl River Delta").sum() == 21


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    for text, words in (
        ('[randomization]\nscheme = "provinces"\n', ["[randomization] scheme", "'zones'"]),
        ("[randomization]\npermutations = 5\n", ["[randomization] permutations = 5", "99"]),
        ('[randomization]\nstatistic = "F"\n', ["[randomization] statistic", "'t', 'estimate'"]),
        (
            '[randomization]\nscheme = "zones"\n[treatment]\nsource = "column"\n'
            'cohort_column = "cohort"\n',
            ["scheme = 'zones'", "'units', 'auto'"],
        ),
    ):
        assert_one_line_refusal(tmp_path, text, words)
