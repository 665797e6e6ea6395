"""Callaway-Sant'Anna with covariates as R's did and DRDID compute it
(analysis.estimators.drdid, analysis.estimators.attgt_covariates).

References: tests/reference/drdid_reference.csv, made by rbridge/R/drdid_reference.R from the
panels of tests/_drdid_panel.py (R and package versions in its `versions` column), and the
same script run live where R's did is installed. The test panel has a cohort of six units
that the covariate nearly separates, so did leaves a cell missing (the overlap guard); the
cross-section has controls among many treated units, so DRDID's trimming binds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from analysis.estimators import attgt_covariates as ac
from analysis.estimators import drdid
from tests._drdid_panel import near_separation_panel, trimming_cross_section

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference" / "drdid_reference.csv"
R_SCRIPT = REPO / "rbridge" / "R" / "drdid_reference.R"
RTOL = 1e-8  # relative to max(|value|, SE): closed forms after a logit stopped at R's iterate


def project_values() -> dict[tuple[str, str, str], tuple[float, float]]:
    out = {}
    panel = near_separation_panel()
    for m in drdid.METHODS:
        c = ac.attgt_with_covariates(panel, "y", ("x",), m, unit="unit", cohort="cohort")
        for g, t, a, s in zip(c.cells.groups, c.cells.times, c.cells.att, c.cells.se, strict=True):
            out[("attgt", m, f"{int(g)}:{int(t)}")] = (a, s)
    cross = trimming_cross_section()
    X = np.column_stack([np.ones(len(cross)), cross["x"]])
    dy, d = (cross["y1"] - cross["y0"]).to_numpy(), cross["d"].to_numpy()
    for m in ("dr", "ipw"):
        r = drdid.ESTIMATORS[m](dy, d, X)
        out[("cross", m, "ATT")] = (r.att, float(np.sqrt(np.sum(r.inf**2)) / len(d)))
    return out


def compare(reference: pd.DataFrame) -> int:
    values = project_values()
    missing = 0
    for row in reference.itertuples():
        est, se = values[(row.kind, row.method, str(row.key))]
        if np.isnan(row.estimate):  # did left the cell missing: so must the project
            assert np.isnan(est), (row.kind, row.method, row.key)
            missing += 1
            continue
        scale = max(abs(row.estimate), row.std_error)
        assert abs(est - row.estimate) <= RTOL * scale, (row.kind, row.method, row.key)
        assert abs(se - row.std_error) <= RTOL * row.std_error, (row.kind, row.method, row.key)
    assert len(values) == len(reference)
    return missing


def test_committed_r_reference() -> None:
    ref = pd.read_csv(REFERENCE)
    assert ref["versions"].nunique() == 1
    assert compare(ref) == 2  # the six-unit cohort's 2012 cell, for dr and ipw


@pytest.mark.r_fixest
def test_live_r(tmp_path: Path) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not found")
    probe = subprocess.run(
        ["Rscript", "-e", "library(did); library(DRDID)"],
        capture_output=True,
        env=os.environ.copy(),
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip("R packages did and DRDID not installed; set R_LIBS to a library with them")
    panel, cross, out = tmp_path / "p.csv", tmp_path / "c.csv", tmp_path / "ref.csv"
    near_separation_panel().to_csv(panel, index=False)
    trimming_cross_section().to_csv(cross, index=False)
    run = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(panel), str(cross), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert compare(pd.read_csv(out)) == 2


def test_trimming_binds_and_is_a_setting() -> None:
    """The cross-section's three controls among the treated are trimmed at 0.995; with
    trim_level = 1 nothing is trimmed and the ATT moves."""
    cross = trimming_cross_section()
    X = np.column_stack([np.ones(len(cross)), cross["x"]])
    dy, d = (cross["y1"] - cross["y0"]).to_numpy(), cross["d"].to_numpy()
    trimmed = drdid.drdid_panel(dy, d, X)
    kept = drdid.drdid_panel(dy, d, X, trim_level=1.0)
    assert trimmed.trimmed == 3 and kept.trimmed == 0
    assert abs(trimmed.att - kept.att) > 1e-3


def test_logit_is_the_maximum_likelihood() -> None:
    """IRLS stopped by fastglm's rule is the likelihood's maximum (scipy, independently)."""
    cross = trimming_cross_section()
    X = np.column_stack([np.ones(len(cross)), cross["x"]])
    d = cross["d"].to_numpy()
    fit = drdid.logit(X, d)

    def nll(b: np.ndarray) -> float:
        eta = X @ b
        return float(np.sum(np.logaddexp(0, eta) - d * eta))

    best = optimize.minimize(nll, np.zeros(2), method="BFGS", options={"gtol": 1e-10})
    assert fit.converged
    np.testing.assert_allclose(fit.beta, best.x, rtol=1e-5)


def test_missing_cells_are_named_and_no_simple_att() -> None:
    """A cell did leaves missing is reported with its reason; the simple ATT, which would
    average over it, is not reported (R's aggte stops there)."""
    from analysis.exhibits import callaway_santanna as cs_exhibit
    from analysis.models import callaway_santanna as cs

    panel = near_separation_panel().rename(
        columns={"unit": "city_code", "cohort": "first_treat", "y": "resilience"}
    )
    f = cs.fit(panel, cs.CSSpec("nevertreated", "varying", "dr", ("x",)))
    assert [(g, t) for g, t, _ in f.missing] == [(2015, 2012)]
    assert "overlap" in f.missing[0][2]
    values = cs.aggregations(f)
    assert ("cs_simple_dr_cov", "ATT") not in values
    assert ("cs_attgt_dr_cov", "attgt::2015:2013") in values
    assert ("cs_attgt_dr_cov", "attgt::2015:2012") not in values
    notes = cs_exhibit.missing_notes(f)
    assert "2015:2012" in notes[0] and "simple ATT not reported" in notes[1]


def test_units_did_leaves_out_are_counted_and_said() -> None:
    """A unit with a missing covariate in one year leaves the balanced panel (as did drops
    it): counted, and said in the fit's notes."""
    from analysis.models import callaway_santanna as cs

    panel = near_separation_panel().rename(
        columns={"unit": "city_code", "cohort": "first_treat", "y": "resilience"}
    )
    panel.loc[(panel["city_code"] == 100) & (panel["year"] == 2012), "x"] = np.nan
    c = ac.attgt_with_covariates(panel, "resilience", ("x",), "reg")
    assert c.dropped_units == 1 and c.n_units == panel["city_code"].nunique() - 1
    f = cs.fit(panel, cs.CSSpec("nevertreated", "varying", "reg", ("x",)))
    assert any("1 units left out" in w for w in f.warnings)
