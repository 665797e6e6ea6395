"""Live tests with real fixest and did (skipped with the reason where they are absent; run
them with R_LIBS or RBRIDGE_R_LIBS pointing at a library that has both)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main as cli
from rbridge.engines import DidEngine, FixestEngine
from rbridge.session import RInfo, RSession
from rbridge.spec import RegressionSpec, parse_formula, parse_ssc, parse_vcov
from rbridge.spec_did import DidSpec
from rbridge.tolerances import tolerance

pytestmark = pytest.mark.r_fixest
REPO = Path(__file__).resolve().parents[2]
SSC = "K.adj=TRUE;K.fixef=nonnested;G.adj=TRUE;G.df=min;t.df=min;fixef.rm=none"
SUNAB = "resilience ~ sunab(first_treat, year) | city_code + year"


@pytest.fixture(scope="module")
def panel(default_run: Path) -> pd.DataFrame:
    return pd.read_csv(default_run / "analysis_panel.csv")


def read(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "crosscheck.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def diff_diff_cs(panel: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Callaway-Sant'Anna by an independent Python implementation (diff-diff), in the
    bridge's keys: attgt/attgt::g:t, simple/ATT, dynamic/event_time::e, group/cohort::g."""
    import warnings

    from diff_diff import CallawaySantAnna

    cs = CallawaySantAnna(
        control_group="never_treated",
        estimation_method="dr",
        n_bootstrap=0,
        base_period="varying",
        anticipation=0,
        cband=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = cs.fit(
            panel,
            outcome="resilience",
            unit="city_code",
            time="year",
            first_treat="first_treat",
            aggregate="all",
        )
    out: dict[str, tuple[float, float]] = {"simple/ATT": (r.overall_att, r.overall_se)}
    for (g, t), v in r.group_time_effects.items():
        out[f"attgt/attgt::{g}:{t}"] = (v["effect"], v["se"])
    for e, v in r.event_study_effects.items():
        out[f"dynamic/event_time::{e}"] = (v["effect"], v["se"])
    for g, v in r.group_effects.items():
        out[f"group/cohort::{g}"] = (v["effect"], v["se"])
    return {k: (float(b), float(s)) for k, (b, s) in out.items()}


def test_crosscheck_with_fixest(run_dir: Path, fixest_r: RInfo) -> None:
    assert cli(["crosscheck", "--out", str(run_dir)]) == 0
    table = read(run_dir)
    ran = table.query("status != 'skipped'")
    assert (ran["status"] == "pass").all()
    fixest = ran[ran["r_engine"] == f"fixest {fixest_r.packages['fixest']}"]
    # baseline (2 models), event study and Sun-Abraham: 43 + 32 checks that fixest ran
    assert len(fixest) == 75
    assert fixest["check"].str.startswith("sunab/").sum() == 32
    # two-stage and imputation event studies (14 event times and the ATT each): did2s and
    # didimputation where installed, else skipped with the reason
    for model, package in (("did2s", "did2s"), ("imputation", "didimputation")):
        rows = table[table["check"].str.startswith(model + "/")]
        assert len(rows) == 30
        if fixest_r.packages.get(package):
            assert (rows["r_engine"] == f"{package} {fixest_r.packages[package]}").all()
            assert (rows["status"] == "pass").all()
        else:
            assert rows["reason"].str.contains(f"R package {package} is not installed").all()


def test_sunab_against_brute_force(
    fixest_r: RInfo, panel: pd.DataFrame, manual_sunab: dict[str, tuple[float, float]]
) -> None:
    spec = RegressionSpec(parse_formula(SUNAB), parse_vcov("CRV1:city_code"), parse_ssc(SSC))
    result = FixestEngine().run(RSession(panel), spec, "sunab")
    assert set(result.values) == set(manual_sunab)
    for term, (b, se) in manual_sunab.items():
        assert abs(result.values[term][0] - b) <= tolerance("fixest", "estimate").value, term
        assert abs(result.values[term][1] - se) <= tolerance("fixest", "std_error").value, term
    assert result.n_obs == len(panel)


def test_did_against_diff_diff(
    did_r: RInfo, panel: pd.DataFrame, diff_diff_cs: dict[str, tuple[float, float]]
) -> None:
    values = DidEngine().run(RSession(panel), DidSpec(outcome="resilience"), "cs").values
    shared = set(values) & set(diff_diff_cs)
    assert len(shared) >= 26 + 1 + 14 + 2  # every ATT(g,t), the overall, 14 event times, 2 cohorts
    for key in shared:
        assert abs(values[key][0] - diff_diff_cs[key][0]) <= tolerance("did", "estimate").value, key
        assert abs(values[key][1] - diff_diff_cs[key][1]) <= tolerance("did", "std_error").value, (
            key
        )


def _rows(
    template: pd.Series, model: str, values: dict[str, tuple[float, float]], **extra: Any
) -> pd.DataFrame:
    rows = [
        {**template.to_dict(), "model": model, "term": t, "estimate": b, "std_error": s, **extra}
        for t, (b, s) in values.items()
    ]
    return pd.DataFrame(rows)


def test_crosscheck_picks_up_sunab_and_cs(
    run_dir: Path,
    fixest_r: RInfo,
    did_r: RInfo,
    manual_sunab: dict[str, tuple[float, float]],
    diff_diff_cs: dict[str, tuple[float, float]],
) -> None:
    """Rows shaped as the DID suite will write them are found and checked live."""
    est = pd.read_csv(run_dir / "estimates.csv", keep_default_na=False, na_values=[""])
    base = est.iloc[0]
    cs = {"simple": "cs_simple", "dynamic": "cs_dynamic", "group": "cs_group", "attgt": "cs_attgt"}
    new = [_rows(base, "sunab", manual_sunab, formula=SUNAB, estimator="sun_abraham")]
    for kind, model in cs.items():
        values = {
            k.split("/", 1)[1]: v for k, v in diff_diff_cs.items() if k.startswith(kind + "/")
        }
        formula = (
            "att_gt(yname='resilience', tname='year', idname='city_code', gname='first_treat', "
            "xformla=NULL, control_group='nevertreated', base_period='varying', est_method='dr', "
            "bstrap=FALSE, clustervars=NULL)"
        ) + ("" if kind == "attgt" else f"; aggte(type='{kind}')")
        new.append(
            _rows(
                base,
                model,
                values,
                engine="diff-diff",
                estimator="callaway_santanna",
                vcov="analytical:influence-function,cluster=city_code",
                ssc="none",
                formula=formula,
                aggregation=kind,
                control_group="nevertreated",
                base_period="varying",
            )
        )
    pd.concat([est, *new]).to_csv(
        run_dir / "estimates.csv", index=False, lineterminator="\n", float_format="%.17g"
    )
    assert cli(["crosscheck", "--out", str(run_dir)]) == 0
    table = read(run_dir)
    for model in ("sunab", *cs.values()):
        rows = table[table["check"].str.startswith(model + "/")]
        assert len(rows) and (rows["status"] == "pass").all(), model
    assert (
        table.loc[table["check"] == "cs_simple/ATT/estimate", "r_engine"].item()
        == f"did {did_r.packages['did']}"
    )


def test_reference_script_reproduces_the_committed_file(
    fixest_r: RInfo, default_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fixest_reference.csv"
    env = {**os.environ, "R_LIBS": os.pathsep.join(fixest_r.lib_paths)}
    proc = subprocess.run(
        [
            "Rscript",
            str(REPO / "rbridge" / "R" / "reference.R"),
            str(default_run / "analysis_panel.csv"),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    fresh = pd.read_csv(out)
    committed = pd.read_csv(REPO / "tests" / "reference" / "fixest_reference.csv")
    pd.testing.assert_frame_equal(
        fresh.drop(columns=["estimate", "std_error"]),
        committed.drop(columns=["estimate", "std_error"]),
    )
    for column in ("estimate", "std_error"):
        assert np.allclose(fresh[column], committed[column], rtol=0, atol=1e-12)


def test_sunab_with_another_reference_period(fixest_r: RInfo, panel: pd.DataFrame) -> None:
    """[model] reference_period = -2 reaches fixest as sunab(..., ref.p = -2) through the
    recorded formula; fixest and the project's Sun-Abraham agree term by term."""
    from analysis.config import load_config
    from analysis.exhibits import event_study_estimators as staggered
    from analysis.inference import VcovSpec

    formula = staggered.sunab_formula(-2)
    spec = RegressionSpec(parse_formula(formula), parse_vcov("CRV1:city_code"), parse_ssc(SSC))
    assert spec.formula.sunab is not None and spec.formula.sunab.ref == -2
    result = FixestEngine().run(RSession(panel), spec, "sunab ref.p = -2")
    sa, _ = staggered.sunab(panel, VcovSpec(load_config().inference), -2)
    expected = dict(zip((f"event_time::{k}" for k in sa.times), sa.estimate, strict=True))
    expected["ATT"] = sa.att
    assert "event_time::-1" in result.values and "event_time::-2" not in result.values
    for term, value in expected.items():
        assert abs(result.values[term][0] - value) <= tolerance("fixest", "estimate").value, term
