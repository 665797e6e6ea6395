"""Callaway-Sant'Anna: against hand-computed 2x2 DIDs, against R's did (live where installed)
and against the committed reference values from R (tests/reference/did_reference.csv).

Tolerances (stated once, with the reason):
- EXACT 1e-10: the hand-computed 2x2 DIDs are the same arithmetic on the same numbers.
- R_TOL 1e-8: the brief's tolerance for did; diff-diff agrees to ~1e-16 on this panel, the
  committed file keeps R's 15 significant digits.
  The covariate variants (dr, reg, ipw) are the project's mirror of DRDID
  (analysis.estimators.drdid) and are held to the same tolerance.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import DEFAULT_PANEL, load_config
from analysis.estimators import cs_aggregate as agg
from analysis.exhibits import callaway_santanna as cs_exhibit
from analysis.models import callaway_santanna as cs
from analysis.pipeline import prepare
from analysis.precision import write_csv
from tests._regen import assert_panel_is_reference

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference" / "did_reference.csv"
R_SCRIPT = REPO / "tools" / "r_reference_did.R"
EXACT, R_TOL = 1e-10, 1e-8


def small_panel(seed: int = 0, n: int = 14, periods: int = 6) -> pd.DataFrame:
    """Cohorts 3 and 5 and never treated, with effects and unit/time noise."""
    rng = np.random.default_rng(seed)
    cohort = np.array([3] * 4 + [5] * 4 + [0] * (n - 8))
    rows = []
    for i in range(n):
        a = rng.normal()
        for t in range(1, periods + 1):
            eff = 0.5 * (t - cohort[i] + 1) if cohort[i] and t >= cohort[i] else 0.0
            rows.append((i + 1, t, cohort[i], a + 0.3 * t + eff + rng.normal()))
    return pd.DataFrame(rows, columns=["city_code", "year", "first_treat", "resilience"])


def hand_2x2(panel: pd.DataFrame, g: int, t: int, control: str) -> tuple[float, float]:
    """ATT(g,t) and its influence-function SE by hand: base g-1 after treatment, t-1 before."""
    base = g - 1 if t >= g else t - 1
    wide = panel.pivot(index="city_code", columns="year", values="resilience")
    cohort = panel.groupby("city_code")["first_treat"].first()
    change = wide[t] - wide[base]
    treated = cohort == g
    not_yet = (cohort > max(t, base)) if control == "notyettreated" else False
    ctrl = (cohort == 0) | not_yet
    ct, cc = change[treated], change[ctrl & ~treated]
    se = np.sqrt(
        ((ct - ct.mean()) ** 2).sum() / len(ct) ** 2 + ((cc - cc.mean()) ** 2).sum() / len(cc) ** 2
    )
    return float(ct.mean() - cc.mean()), float(se)


@pytest.mark.parametrize("control", ["nevertreated", "notyettreated"])
def test_attgt_equal_hand_computed_2x2(control: str) -> None:
    panel = small_panel()
    f = cs.fit(
        panel,
        cs.CSSpec(control, "varying"),
    )
    assert len(f.results.group_time_effects) == 2 * 5
    for (g, t), v in f.results.group_time_effects.items():
        att, se = hand_2x2(panel, int(g), int(t), control)
        assert v["effect"] == pytest.approx(att, abs=EXACT)
        assert v["se"] == pytest.approx(se, abs=EXACT)


def test_aggregations_equal_hand_computed() -> None:
    """Simple = cohort-share weighted post cells; calendar year = share-weighted cohorts
    treated by then; dynamic e = share-weighted cells at e; group = mean of post cells."""
    panel = small_panel(seed=3)
    f = cs.fit(
        panel,
        cs.CSSpec(),
    )
    out = cs.aggregations(f)
    cells = {
        (int(g), int(t)): hand_2x2(panel, int(g), int(t), "nevertreated")[0]
        for g, t in f.results.group_time_effects
    }
    share = {3: 4 / 14, 5: 4 / 14}
    post = {k: v for k, v in cells.items() if k[1] >= k[0]}
    simple = sum(share[g] * v for (g, _), v in post.items()) / sum(share[g] for g, _ in post)
    assert out[("cs_simple", "ATT")][0] == pytest.approx(simple, abs=EXACT)
    for year in range(3, 7):
        here = {k: v for k, v in post.items() if k[1] == year}
        want = sum(share[g] * v for (g, _), v in here.items()) / sum(share[g] for g, _ in here)
        assert out[("cs_calendar", f"year::{year}")][0] == pytest.approx(want, abs=EXACT)
    for g in (3, 5):
        want = np.mean([v for (gg, _), v in post.items() if gg == g])
        assert out[("cs_group", f"cohort::{g}")][0] == pytest.approx(want, abs=EXACT)
    dyn = [out[("cs_dynamic", f"event_time::{e}")][0] for e in range(0, 4)]
    assert out[("cs_dynamic", "overall")][0] == pytest.approx(np.mean(dyn), abs=EXACT)


def test_own_aggregator_reproduces_diff_diff() -> None:
    """cs_aggregate (used for calendar and the overall summaries) on diff-diff's own
    aggregations: same estimates and SEs, including the share-estimation term."""
    panel = small_panel(seed=5, n=20)
    for spec in (cs.CSSpec(), cs.CSSpec("notyettreated", "universal")):
        f = cs.fit(
            panel,
            spec,
        )
        assert f.cells is not None
        s = f.results.aggregate("simple").to_dataframe().iloc[0]
        mine = agg.simple(f.cells)
        assert (mine.estimate, mine.se) == pytest.approx((s["att"], s["se"]), abs=1e-12)
        by, _ = agg.dynamic(f.cells)
        for row in f.results.aggregate("event_study").to_dataframe().itertuples():
            if np.isfinite(row.se):
                assert (by[row.event_time].estimate, by[row.event_time].se) == pytest.approx(
                    (row.att, row.se), abs=1e-12
                )
        groups, _ = agg.group(f.cells)
        for row in f.results.aggregate("group").to_dataframe().itertuples():
            g = groups[int(row.label)]
            assert (g.estimate, g.se) == pytest.approx((row.att, row.se), abs=1e-12)


# ---- against R's did -------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_panel_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default analysis panel written exactly as the pipeline writes analysis_panel.csv."""
    panel, _ = prepare(DEFAULT_PANEL, load_config())
    path = tmp_path_factory.mktemp("did") / "analysis_panel.csv"
    write_csv(panel, path)
    return path


def python_values(panel_csv: Path) -> dict[tuple[str, str], tuple[float, float]]:
    """Every CS estimate of the default configuration on the panel the R side read, plus
    the R-did-2.1.2 variant of the group ATT's SE under model id 'cs_group_rwif' (did 2.5
    gives the project's value)."""
    panel = pd.read_csv(panel_csv)
    c = load_config().callaway_santanna
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for spec in cs.specs(c):
        f = cs.fit(panel, spec, c.trim_level)
        out.update({k: (v[0], v[1]) for k, v in cs.aggregations(f).items()})
        if f.cells is not None and not spec.covariates:
            _, overall = agg.group(f.cells, r_did_wif=True)
            out[(spec.model("group") + "_rwif", "overall")] = (overall.estimate, overall.se)
    return out


def compare(reference: pd.DataFrame, values: dict[tuple[str, str], tuple[float, float]]) -> None:
    assert len(reference) > 200
    checked = 0
    for row in reference.itertuples():
        # did before 2.5 indexes the wrong cohort in the group aggregation's overall SE
        # (rbridge.planners.GROUP_OVERALL_SE): compare with its indexing there
        old_did = tuple(int(x) for x in str(row.did_version).split(".")[:2]) < (2, 5)
        wrong_index = old_did and row.model.startswith("cs_group") and row.term == "overall"
        model = row.model + ("_rwif" if wrong_index else "")
        assert (model, row.term) in values, (row.model, row.term)
        est, se = values[(model, row.term)]
        tol = R_TOL
        assert est == pytest.approx(row.estimate, abs=tol), (row.model, row.term)
        if np.isfinite(row.std_error):
            assert se == pytest.approx(row.std_error, abs=tol), (row.model, row.term)
        else:  # universal base: R reports the reference cell without an SE
            assert row.estimate == 0 and not (np.isfinite(se) and se > 0)
        checked += 1
    assert checked == len(reference)


def test_committed_r_reference(default_panel_csv: Path) -> None:
    """The committed values from R did (no R needed): same panel bytes, same numbers."""
    ref = pd.read_csv(REFERENCE)
    assert ref["did_version"].nunique() == 1 and ref["r_version"].nunique() == 1
    assert ref["panel_sha256"].nunique() == 1
    assert_panel_is_reference(
        default_panel_csv,
        ref["panel_sha256"].iloc[0],
        "the default analysis panel changed since tests/reference/did_reference.csv was made; "
        "regenerate it with tools/r_reference_did.R (see its header)",
    )
    assert ref["covariates"].iloc[0] == ",".join(load_config().callaway_santanna.covariates)
    compare(ref, python_values(default_panel_csv))


def r_did_available() -> str | None:
    """None if Rscript can load did, else the reason."""
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    probe = subprocess.run(
        ["Rscript", "-e", "library(did); library(digest)"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    if probe.returncode != 0:
        return "R package did (or digest) not installed; set R_LIBS to a library that has it"
    return None


@pytest.mark.r_fixest
def test_live_r_did(default_panel_csv: Path, tmp_path: Path) -> None:
    """R's did run now, on the same panel, by the project's reference script."""
    reason = r_did_available()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "did_live.csv"
    run = subprocess.run(
        ["Rscript", str(R_SCRIPT), str(default_panel_csv), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    compare(pd.read_csv(out), python_values(default_panel_csv))


def test_covariate_column_checked() -> None:
    from analysis.errors import InputError

    with pytest.raises(InputError, match="nope"):
        cs.fit(
            small_panel(),
            cs.CSSpec(covariates=("nope",)),
        )


def test_bootstrap_is_seeded() -> None:
    panel = small_panel(seed=1, n=30)
    runs = [cs.fit(panel, cs.CSSpec(), 1e-6, bootstrap_reps=199, seed=s) for s in (7, 7, 8)]
    rows = [cs_exhibit.bootstrap_estimates(f, 0.95, "s", 199, "rademacher", 7) for f in runs]
    assert [r.conf_high for r in rows[0]] == [r.conf_high for r in rows[1]]
    assert [r.conf_high for r in rows[0]] != [r.conf_high for r in rows[2]]
    band = [r for r in rows[0] if r.model == "cs_dynamic_boot"]
    # the uniform band is wider than the pointwise normal interval
    assert all(r.conf_high - r.conf_low > 2 * 1.96 * r.std_error for r in band)
