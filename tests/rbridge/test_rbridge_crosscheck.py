"""`python -m analysis crosscheck` end to end: the skip path without R, and at the depth of
Debian's R (base R + sandwich) the pass, the failures (exit 3) and R's errors and chatter."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main as cli
from rbridge import crosscheck
from rbridge.crosscheck import COLUMNS
from rbridge.session import RError, RInfo, RSession, chatter

TERM = "baseline_twfe/treat_post"


def read(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "crosscheck.csv", keep_default_na=False, na_values=[""])


def edit_estimate(folder: Path, model: str, term: str, column: str, value: float) -> None:
    path = folder / "estimates.csv"
    est = pd.read_csv(path, keep_default_na=False, na_values=[""])
    row = (est["model"] == model) & (est["term"] == term)
    assert row.sum() == 1
    est.loc[row, column] = value
    est.to_csv(path, index=False, float_format="%.12g", lineterminator="\n")


# R packages that Debian packages (r-cran-*): all that the CI machine's R has of rbridge's list
DEBIAN = ("sandwich", "data.table")


@pytest.fixture
def base_r_only(base_r: RInfo, monkeypatch: pytest.MonkeyPatch) -> RInfo:
    """The Debian-only depth also where the full library is installed: the cross-check sees
    only the packages Debian has, so the regressions go to base R and every family that
    needs fixest, did or the others is skipped, as on CI."""
    packages = {k: v for k, v in base_r.packages.items() if k in DEBIAN}
    debian = dataclasses.replace(base_r, packages=packages)
    monkeypatch.setattr(crosscheck, "detect", lambda: debian)
    return debian


def test_skip_path_without_r(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RBRIDGE_DISABLE", "1")
    assert cli(["crosscheck", "--out", str(run_dir)]) == 0
    table = read(run_dir)
    assert tuple(table.columns) == COLUMNS
    assert (table["status"] == "skipped").all()
    assert (table["r_engine"] == "none").all()
    assert table["reason"].str.len().gt(0).all()
    rows = table.set_index("check")
    assert "RBRIDGE_DISABLE" in rows.loc[f"{TERM}/estimate", "reason"]
    assert rows.loc["cs_simple", "reason"] == "not in this run"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["crosscheck"]["r"]["available"] is False
    assert manifest["crosscheck"]["counts"]["pass"] == 0
    assert "0 pass, 0 fail" in capsys.readouterr().out


def test_missing_run_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["crosscheck", "--out", str(tmp_path / "nothing")]) == 2
    assert "estimates.csv: not found" in capsys.readouterr().err


@pytest.mark.r_base
def test_base_r_depth_passes(run_dir: Path, base_r_only: RInfo) -> None:
    assert cli(["crosscheck", "--out", str(run_dir)]) == 0
    table = read(run_dir)
    ran = table[table["status"] != "skipped"]
    assert (ran["status"] == "pass").all()
    assert ran["r_engine"].str.startswith("base-r lm+sandwich").all()
    # every coefficient and SE of the three fixed-effects models, plus counts and the Wald F
    assert len(ran) == 2 * (1 + 7 + 10) + 3 * 2 + 1
    assert ran["abs_diff"].max() < 1e-8
    manifest = json.loads((run_dir / "manifest.json").read_text())["crosscheck"]
    assert manifest["r"]["R"] and manifest["r"]["packages"]["sandwich"]
    assert manifest["engines"]["baseline_twfe"].startswith("base-r")
    assert "baseline_twfe with base-r lm+sandwich" in (run_dir / "run.log").read_text()


@pytest.mark.r_base
def test_perturbed_estimate_exits_3(
    run_dir: Path, base_r_only: RInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    est = pd.read_csv(run_dir / "estimates.csv")
    b = est.loc[
        (est["model"] == "baseline_twfe") & (est["term"] == "treat_post"), "estimate"
    ].item()
    edit_estimate(run_dir, "baseline_twfe", "treat_post", "estimate", b + 1e-6)
    assert cli(["crosscheck", "--out", str(run_dir)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: 1 cross-check(s) failed: baseline_twfe/treat_post/estimate")
    rows = read(run_dir).set_index("check")
    assert rows.loc[f"{TERM}/estimate", "status"] == "fail"
    assert rows.loc[f"{TERM}/std_error", "status"] == "pass"


@pytest.mark.r_base
def test_fixed_effect_count_gap_is_caught(
    run_dir: Path, base_r_only: RInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pitfall of the issue: an SE whose small-sample correction counts the fixed
    effects differently (pyfixest k_fixef='full') differs in the 4th digit and must fail."""
    import pyfixest as pf

    panel = pd.read_csv(run_dir / "analysis_panel.csv")
    fit = pf.feols(
        "resilience ~ treat_post | city_code + year",
        data=panel,
        vcov={"CRV1": "city_code"},
        ssc=pf.ssc(k_fixef="full"),
        fixef_rm="none",
    )
    se_full = float(fit.se()["treat_post"])
    edit_estimate(run_dir, "baseline_twfe", "treat_post", "std_error", se_full)
    assert cli(["crosscheck", "--out", str(run_dir)]) == 3
    assert "baseline_twfe/treat_post/std_error" in capsys.readouterr().err
    row = read(run_dir).set_index("check").loc[f"{TERM}/std_error"]
    assert row["status"] == "fail" and 1e-5 < row["abs_diff"] < 1e-3


@pytest.mark.r_base
def test_r_error_fails_the_model_with_r_message(
    run_dir: Path, base_r_only: RInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    # east_coastal does not vary within a city: the dummy-variable regression is collinear
    est = pd.read_csv(run_dir / "estimates.csv", keep_default_na=False, na_values=[""])
    rows = est[est["model"] == "baseline_twfe"].assign(
        model="robust_collinear",
        term="east_coastal",
        formula="resilience ~ east_coastal | city_code + year",
    )
    pd.concat([est, rows]).to_csv(run_dir / "estimates.csv", index=False, lineterminator="\n")
    assert cli(["crosscheck", "--out", str(run_dir)]) == 3
    assert "robust_collinear/east_coastal/estimate" in capsys.readouterr().err
    row = read(run_dir).set_index("check").loc["robust_collinear/east_coastal/estimate"]
    assert row["status"] == "fail"
    assert row["reason"].startswith(
        "R error in lm + sandwich::vcovCL (robust_collinear): collinear"
    )


@pytest.mark.r_base
def test_r_error_is_a_python_error(base_r: RInfo, default_run: Path) -> None:
    session = RSession(pd.read_csv(default_run / "analysis_panel.csv"))
    with pytest.raises(RError, match=r"R error in test call: undefined columns selected"):
        session.call(
            "rb_lm",
            "test call",
            outcome="not_a_column",
            regressors=["treat_post"],
            interactions=[],
            event_var=None,
            event_ref=None,
            fixef=[("city_code",)],
            cluster="city_code",
            subset_col=None,
            subset_vals=None,
            **{"K.adj": True, "K.fixef": "nonnested", "G.adj": True},
        )


@pytest.mark.r_base
def test_r_chatter_goes_to_the_log_not_the_terminal(
    base_r: RInfo, default_run: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import rpy2.robjects as ro

    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    chatter.addHandler(handler)
    try:
        session = RSession(pd.read_csv(default_run / "analysis_panel.csv"))
        session._env["rb_noisy"] = ro.r(
            "function(data) { print('printed by R'); message('a message'); warning('a warning'); list(n = nrow(data)) }"
        )
        out = session.call("rb_noisy", "noisy")
    finally:
        chatter.removeHandler(handler)
    assert out["n"][0] == 3724
    text = "\n".join(records)
    assert "printed by R" in text
    assert "R (noisy): a message" in text and "R (noisy): warning: a warning" in text
    captured = capfd.readouterr()
    assert "printed by R" not in captured.out + captured.err
    assert "a warning" not in captured.out + captured.err


def test_broken_r_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    """An R that cannot start (here: a wrong R_HOME) would end the embedding process; the
    bridge finds out in a child process and reports the reason instead."""
    from rbridge import session

    monkeypatch.setenv("R_HOME", "/nonexistent")
    monkeypatch.delenv("RBRIDGE_DISABLE", raising=False)
    session._probe.cache_clear()
    try:
        info = session.detect()
    finally:
        session._probe.cache_clear()
    assert not info.available
    assert info.reason.startswith("R could not be started through rpy2: ")


@pytest.mark.r_base
def test_embedded_r_leaves_child_processes_their_own_libraries(base_r: RInfo) -> None:
    """After R started in this process, a child Python (a Dask worker, a tool) still loads
    its own libpython: rpy2's change of LD_LIBRARY_PATH is undone."""
    import os
    import subprocess
    import sys

    assert "/usr/lib/R/lib" not in os.environ.get("LD_LIBRARY_PATH", "")
    child = subprocess.run(
        [sys.executable, "-c", "import ssl, sqlite3"], capture_output=True, text=True, check=False
    )
    assert child.returncode == 0, child.stderr
