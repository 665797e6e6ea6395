"""A header is data, never code: headers holding formula syntax, R code and HTML, named as
controls, covariates, a mechanism and a moderator, are estimated, cross-checked in R and
shown in the report as text (issue: your specification on your panel)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main as cli
from rbridge.session import RInfo
from tests.any_unit_panel import simulate_units

FORMULA = "ln(gdp) + x | year ~ 1"
R_CODE = 'x"); system("touch {flag}"); ("'
HTML = "<script>alert(1)</script>"
EXHIBITS = "baseline,callaway_santanna,mechanisms,heterogeneity"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

pytestmark = pytest.mark.slow


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def nasty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("headers")
    flag = folder / "pwned"
    r_code = R_CODE.format(flag=flag)
    frame = simulate_units(seed=5, n_units=240)
    frame["region_flag"] = (frame["county"].str[-1].astype(int) % 2).astype(int)
    frame = frame.rename(
        columns={"gdp": FORMULA, "loans": r_code, "region_flag": HTML, "outcome": "y ~ x"}
    )
    data = folder / "panel.csv"
    frame.to_csv(data, index=False)
    config = folder / "c.toml"
    config.write_text(
        f"""[panel]
first_year = 2001
last_year = 2015
units = "any"

[columns]
city = "county"
year = "year"

[outcome]
column = "y ~ x"

[components]

[inputs]

[variables]
ratio_nasty = 'ratio({_toml_string(r_code)}, {_toml_string(FORMULA)})'

[model]
controls = [{_toml_string(FORMULA)}, "ratio_nasty"]
mechanisms = [{_toml_string(r_code)}]
moderators = [{_toml_string(HTML)}]

[treatment]
source = "column"
cohort_column = "cohort"

[sample]
cities = "all"

[callaway_santanna]
covariates = [{_toml_string(FORMULA)}]
covariate_methods = ["reg"]
bootstrap_reps = 0

[dml]
learners = ["lasso", "linear"]
fe_handling = ["within"]
learner = "lasso"
aux_learner = "lasso"
n_folds = 3
robustness_folds = [2]
n_rep = 1
n_jobs = 1
bootstrap_reps = 99
""",
        encoding="utf-8",
    )
    out = folder / "out"
    args = ["run", "--data", str(data), "--config", str(config), "--out", str(out)]
    assert cli([*args, "--only", EXHIBITS]) == 0
    return out, flag


def test_headers_reach_the_estimators_only_as_internal_names(nasty_run: tuple[Path, Path]) -> None:
    out, flag = nasty_run
    panel = pd.read_csv(out / "analysis_panel.csv", nrows=2)
    assert all(IDENTIFIER.fullmatch(c) for c in panel.columns), list(panel.columns)
    variables = pd.read_csv(out / "tables" / "variables.csv", keep_default_na=False)
    name = dict(zip(variables["label"], variables["name"], strict=True))
    r_label = next(label for label in name if label.startswith('x"); system('))
    assert all(IDENTIFIER.fullmatch(name[h]) for h in (FORMULA, HTML, r_label))
    estimates = pd.read_csv(out / "estimates.csv", keep_default_na=False)
    models = set(estimates["model"])
    expected = {
        "baseline_twfe_controls",
        "cs_attgt_reg_cov",
        f"hetero_{name[HTML]}_interaction",
        f"mechanism_{name[r_label]}",
    }
    assert expected <= models
    formula = estimates.loc[estimates["model"] == "baseline_twfe_controls", "formula"].iloc[0]
    assert formula == f"resilience ~ treat_post + {name[FORMULA]} + ratio_nasty | city_code + year"
    assert not flag.exists()


def test_the_report_shows_headers_as_text(nasty_run: tuple[Path, Path]) -> None:
    out, _ = nasty_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert HTML not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "This run&#x27;s specification differs" in html or "specification differs" in html


def test_r_reads_headers_as_data(nasty_run: tuple[Path, Path], base_r: RInfo) -> None:
    """The cross-check and the exported replicate.R run in R; the planted R code never runs."""
    out, flag = nasty_run
    cli(["crosscheck", "--out", str(out)])
    checks = pd.read_csv(out / "crosscheck.csv", keep_default_na=False)
    assert (checks["status"] == "pass").sum() > 0
    assert (checks["status"] != "fail").all(), checks[checks["status"] == "fail"].head()
    assert cli(["export-r", str(out)]) == 0
    script = next(out.rglob("replicate.R"))
    assert "system(" not in script.read_text(encoding="utf-8")
    subprocess.run(
        ["Rscript", str(script)], cwd=script.parent, capture_output=True, timeout=900, check=False
    )
    assert not flag.exists()
