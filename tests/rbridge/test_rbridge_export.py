"""`python -m analysis export-r DIR`: replicate.R is written from the cross-check's own
matrix, R calls and tolerances; names enter it only as escaped string literals; run with
Rscript at the depth of Debian's R (base R + sandwich) it gives the same verdicts as the
cross-check at that depth, and with the R packages the same verdicts as the live cross-check."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main as cli
from rbridge import crosscheck
from rbridge.export import r_string
from rbridge.session import RInfo, detect
from tests.rbridge.conftest import EXHIBITS, write_run

# the fast exhibits plus the placebo (permutations handed to R as a file) and the robustness
# table (sample restrictions, province^year with the province the bridge attaches)
EXPORT_EXHIBITS = (*EXHIBITS, "placebo", "robustness")
NASTY = 'a"b\\c\n); system("touch /tmp/rb_pwned"); ("é'


@pytest.fixture(scope="module")
def export_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("export") / "run", EXPORT_EXHIBITS)


@pytest.fixture
def run_copy(export_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(export_run, tmp_path / "run"))


def _rscript(script: Path, libs: str, timeout: int = 3600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "R_LIBS": libs, "R_LIBS_USER": libs or "NULL", "TZ": "UTC"}
    return subprocess.run(
        ["Rscript", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def _verdicts(folder: Path) -> pd.DataFrame:
    """crosscheck.csv and replicate.csv side by side, one row per check."""
    cc = pd.read_csv(folder / "crosscheck.csv", keep_default_na=False, na_values=[""])
    rep = pd.read_csv(folder / "replicate.csv", keep_default_na=False, na_values=["", "NA"])
    return cc.merge(rep, on="check", how="outer", indicator=True, validate="one_to_one")


def test_r_string_is_a_literal_never_code() -> None:
    text = r_string(NASTY)
    assert text.startswith('"') and text.endswith('"')
    body = text[1:-1]
    # every double quote inside is escaped, so the literal cannot end early
    assert all(body[i - 1] == "\\" for i, ch in enumerate(body) if ch == '"')
    assert "\n" not in text


def test_export_writes_the_matrix_and_inputs(run_copy: Path) -> None:
    assert cli(["export-r", str(run_copy)]) == 0
    text = (run_copy / "replicate.R").read_text(encoding="utf-8")
    inputs = run_copy / "replicate_inputs"
    assert (inputs / "placebo_cities.csv").is_file() and (inputs / "placebo_cohorts.csv").is_file()
    columns = pd.read_csv(inputs / "columns.csv")
    assert list(columns.columns) == ["city_code", "year", "province"]
    cohorts = pd.read_csv(inputs / "placebo_cohorts.csv", header=None)
    assert cohorts.shape == (266, 1000)  # cities x permutations of the default configuration
    for model in ("baseline_twfe", "did2s", "imputation", "placebo", "robust_province_year_fe"):
        assert f'list(model = "{model}", skip = ""' in text, model
    assert 'subset_op" = "not in", "subset_vals" = c(2020L, 2021L, 2022L)' in text
    # the R code of the bridge is copied verbatim, not re-implemented
    for name in ("bridge.R", "did.R", "inference.R", "replicate_lib.R"):
        assert f"# ---- rbridge/R/{name} ----" in text


def test_export_of_a_missing_run_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["export-r", str(tmp_path / "nothing")]) == 2
    assert "estimates.csv: not found" in capsys.readouterr().err


@pytest.mark.r_base
def test_nasty_text_reads_back_as_itself(base_r: RInfo, tmp_path: Path) -> None:
    """R parses the literal into exactly the text (and runs nothing)."""
    script = tmp_path / "probe.R"
    script.write_text(f"x <- {r_string(NASTY)}\ncat(nchar(x), file.exists('/tmp/rb_pwned'))\n")
    proc = _rscript(script, "", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(len(NASTY)), "FALSE"]


@pytest.mark.r_base
def test_replicate_at_the_debian_depth_matches_the_crosscheck(
    run_copy: Path, base_r: RInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rscript with Debian's library only (no fixest, did, ...): base R lm + sandwich for the
    regressions, lm.fit for the placebo, every other check skipped with the same reasons the
    cross-check gives when only sandwich is installed."""
    assert cli(["export-r", str(run_copy)]) == 0
    proc = _rscript(run_copy / "replicate.R", "")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "replicate.R:" in proc.stdout and "Skipped, and why:" in proc.stdout
    debian = RInfo(
        True,
        r_version=base_r.r_version,
        rpy2_version=base_r.rpy2_version,
        packages={p: (v if p == "sandwich" else None) for p, v in base_r.packages.items()},
        lib_paths=base_r.lib_paths,
    )
    monkeypatch.setattr(crosscheck, "detect", lambda: debian)
    assert cli(["crosscheck", "--out", str(run_copy)]) == 0
    both = _verdicts(run_copy)
    assert (both["_merge"] == "both").all()
    assert (both["status"] == both["verdict"]).all()
    assert (both["reason_x"].fillna("") == both["reason_y"].fillna("")).all()
    ran = both[both["status"] == "pass"]
    assert ran["r_engine_y"].str.startswith("base-r lm+sandwich").any()
    assert ran["r_engine_y"].str.startswith("base-r lm.fit").any()
    assert ran["check"].str.startswith("robust_province_year_fe/").any()
    assert ran["check"].str.startswith("placebo/p_value").any()
    assert (
        both.loc[both["r_value_x"].notna(), "r_value_x"]
        - both.loc[both["r_value_x"].notna(), "r_value_y"]
    ).abs().max() < 1e-12


@pytest.mark.r_fixest
def test_replicate_with_the_packages_matches_the_live_crosscheck(
    run_copy: Path, fixest_r: RInfo
) -> None:
    """With every R package of the bridge installed: the same verdicts as `crosscheck`."""
    info = detect()
    assert cli(["export-r", str(run_copy)]) == 0
    proc = _rscript(run_copy / "replicate.R", os.pathsep.join(info.lib_paths))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert cli(["crosscheck", "--out", str(run_copy)]) == 0
    both = _verdicts(run_copy)
    assert (both["_merge"] == "both").all()
    assert (both["status"] == both["verdict"]).all()
    ran = both[both["status"] == "pass"]
    assert (
        ran["check"].str.startswith("did2s/").any()
        and ran["check"].str.startswith("placebo/").any()
    )
