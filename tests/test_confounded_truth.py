"""Known truth on units of any kind with a covariate of the user's own that confounds the
treatment (tests/any_unit_panel.py, `confounded`): parallel trends hold only given the
"market size" column, named by its header. The partially linear DML and Callaway-Sant'Anna
with it recover the true effect within their stated uncertainty; without it they do not."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main as cli
from tests.any_unit_panel import TAU, simulate_units

pytestmark = pytest.mark.slow
Z = 3.29  # a two-sided 0.1% test: a failure is not chance


def _run(folder: Path, data: Path, with_covariate: bool) -> pd.DataFrame:
    names = '["market size"]' if with_covariate else "[]"
    config = folder / f"c{int(with_covariate)}.toml"
    config.write_text(
        f"""[panel]
first_year = 2001
last_year = 2015
units = "any"

[columns]
city = "county"
year = "year"

[outcome]
column = "outcome"

[components]

[inputs]

[model]
controls = {names}
mechanisms = []
moderators = []

[treatment]
source = "column"
cohort_column = "cohort"

[sample]
cities = "all"

[callaway_santanna]
control_groups = ["nevertreated"]
base_periods = ["varying"]
covariates = {names}
covariate_methods = ["dr", "reg"]
bootstrap_reps = 0

[dml]
learners = ["lasso", "linear"]
fe_handling = ["within"]
learner = "linear"
n_folds = 3
robustness_folds = [2]
n_rep = 1
n_jobs = 1
""",
        encoding="utf-8",
    )
    out = folder / f"out{int(with_covariate)}"
    args = ["run", "--data", str(data), "--config", str(config), "--out", str(out)]
    assert cli([*args, "--only", "callaway_santanna,dml_plr"]) == 0
    return pd.read_csv(out / "estimates.csv")


def _estimate(estimates: pd.DataFrame, model: str, term: str) -> tuple[float, float]:
    row = estimates[(estimates["model"] == model) & (estimates["term"] == term)].iloc[0]
    return float(row["estimate"]), float(row["std_error"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("confounded")
    data = folder / "counties.csv"
    simulate_units(seed=11, n_units=1500, confounded=True).to_csv(data, index=False)
    return _run(folder, data, False), _run(folder, data, True)


@pytest.mark.parametrize(
    ("without", "with_", "term"),
    [
        ("cs_simple", "cs_simple_dr_cov", "ATT"),
        ("cs_simple", "cs_simple_reg_cov", "ATT"),
        ("dml_plr", "dml_plr", "treat_post"),
    ],
)
def test_the_users_covariate_removes_the_confounding(
    runs: tuple[pd.DataFrame, pd.DataFrame], without: str, with_: str, term: str
) -> None:
    plain, adjusted = runs
    est, se = _estimate(adjusted, with_, term)
    assert abs(est - TAU) < Z * se, (with_, est, se)
    biased, biased_se = _estimate(plain, without, term)
    assert biased - TAU > Z * biased_se, (without, biased, biased_se)
