"""`python -m analysis init-config` on panels that are not the study's Chinese cities, each
test planting one failure a user met on a public panel (a US state panel, a monthly rollout
of a police training, a county panel) and on a Chinese city panel missing inputs:

- the study's window 2009-2022 cut a 2000-2010 state panel to two years;
- city_key = "name" with units = "any" made a file that does not load;
- a cohort column blank for never treated (effyear) and a 0/1 post column were not found;
- 182 lines of "no role of the study has this name" on the terminal;
- a monthly time index (period 1..72) stopped the command ("no year column found");
- no outcome candidates were offered;
- a Chinese city panel without urban_population kept the study's full control set.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.initconfig.settings as init_settings
from analysis.cli import main
from analysis.config import DEFAULT_PANEL, load_config
from analysis.initconfig.guess import propose
from analysis.initconfig.text import line_number, render
from tests.toml_edit import set_keys

N_STATES = 12
YEARS = range(2000, 2011)
# effyear of each state: blank (never treated) for a third of them.
COHORTS = (2005, 2006, 2006, 2007, 2008, 2009, 2009, 2006, None, None, None, None)
FILLERS = 60  # numeric columns no role of the study has: the terminal must not list them


def _states(cohort: bool = True) -> pd.DataFrame:
    """A state panel as in the castle-doctrine data: text and numeric unit ids, a cohort
    column blank for never treated, a 0/1 post column, an outcome, covariates, event-time
    dummies, a year dummy and many other numeric columns."""
    rng = np.random.default_rng(7)
    rows = []
    for i, first in enumerate(COHORTS):
        for year in YEARS:
            treated = first is not None and year >= first
            row: dict[str, object] = {
                "state": f"State {chr(65 + i)}",
                "year": year,
                "sid": i + 1,
                "effyear": "" if first is None else str(first),
                "post": int(treated),
                "l_homicide": round(1.5 + 0.1 * treated + rng.normal(0, 0.2), 4),
                "income": round(40000 + 500 * (year - 2000) + rng.normal(0, 900), 1),
                "south": int(i % 3 == 0),
                "lead1": int(first is not None and year == first - 1),
                "_Iyear_2008": int(year == 2008),
            }
            row |= {f"x{k}": round(rng.normal(), 3) for k in range(FILLERS)}
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame if cohort else frame.drop(columns=["effyear"])


def _init(
    frame: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> tuple[Path, str, str]:
    """Write the panel as CSV, run init-config; the configuration, its text and stdout."""
    data = tmp_path / f"{name}.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / f"{name}.toml"
    assert main(["init-config", str(data), "--out", str(out)]) == 0
    return out, out.read_text(encoding="utf-8"), capsys.readouterr().out


def _table(text: str, table: str) -> str:
    """The lines of `[table]` in a written configuration, comments unwrapped into one line."""
    start = text.index(f"\n[{table}]\n")
    end = text.find("\n[", start + 1)
    return " ".join(text[start : end if end > 0 else len(text)].replace("#", " ").split())


def _set_outcome(out: Path, text: str, stdout: str, column: str) -> None:
    """Edit the one line the summary names, as a user does."""
    line = line_number(text, "outcome", "column")
    assert f"to do: set [outcome] column on line {line} of {out}" in stdout
    lines = text.splitlines()
    assert lines[line - 1] == 'column = ""'
    lines[line - 1] = f'column = "{column}"'
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_state_panel_keeps_its_years_and_loads_with_one_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, text, stdout = _init(_states(), tmp_path, capsys, "states")
    raw = tomllib.loads(text)
    # Years kept: the file's 2000-2010, not the study's 2009-2022; said in a comment.
    assert (raw["panel"]["first_year"], raw["panel"]["last_year"]) == (2000, 2010)
    assert "the study's window 2009-2022 applies to its Chinese cities only" in text
    # Text ids of any kind are used as they are: city_key "code", never "name".
    assert (raw["panel"]["units"], raw["panel"]["city_key"]) == ("any", "code")
    assert raw["columns"] == {"city": "state", "year": "year"}
    # The only edit: the outcome; then the file loads as the study's run reads it.
    _set_outcome(out, text, stdout, "l_homicide")
    cfg = load_config(out)
    assert (cfg.panel.first_year, cfg.panel.last_year, cfg.panel.city_key) == (2000, 2010, "code")
    assert cfg.outcome.column == "l_homicide" and cfg.components == () and cfg.inputs == {}
    assert (cfg.treatment.source, cfg.treatment.cohort_column) == ("column", "effyear")
    assert cfg.model.controls == cfg.model.mechanisms == cfg.model.moderators == ()
    assert cfg.callaway_santanna.covariates == () and cfg.sample.cities == "all"
    assert raw["inputs"] == {} and raw["components"] == {}  # present, with no keys


def test_cohort_column_found_from_the_data_with_its_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, text, stdout = _init(_states(), tmp_path, capsys, "states")
    treatment = _table(text, "treatment")
    # effyear is named like no cohort the synonyms list before; the data say what it is.
    assert 'source = "column"' in treatment and 'cohort_column = "effyear"' in treatment
    evidence = treatment
    assert "effyear: constant within each of 12 units" in evidence
    assert "values 2005-2009 inside the panel's years (8 units)" in evidence
    assert "4 units blank = never treated" in evidence
    # post is a 0/1 candidate too, with how it agrees; the cohort column is preferred.
    assert "post: 0/1, switches on once and never off in 8 units" in evidence
    assert "its first 1 is the effyear value in 8 of 8 treated units" in evidence
    assert "treatment: source = 'column', effyear: constant within" in stdout


def test_indicator_found_when_no_cohort_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _states(cohort=False).assign(
        ever=lambda d: d.groupby("state")["post"].transform("max"),  # a group flag
        after2004=lambda d: (d["year"] >= 2004).astype(int),  # the same in every unit
    )
    out, text, stdout = _init(frame, tmp_path, capsys, "post")
    raw = tomllib.loads(text)
    assert raw["treatment"] == {"source": "indicator", "cohort_column": "post"}
    evidence = _table(text, "treatment")
    assert "post: 0/1, switches on once and never off in 8 units; 4 units always 0" in evidence
    # Neither the ever-treated flag nor the period dummy is taken for the treatment.
    left = text[text.index("# ---- Columns of the file left out") :]
    assert "ever" in left and "after2004" in _table(text, "model") + left
    assert "ever" not in _table(text, "outcome")
    _set_outcome(out, text, stdout, "l_homicide")
    assert load_config(out).treatment.source == "indicator"


def test_without_a_treatment_column_the_two_lines_to_set_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = _states(cohort=False).drop(columns=["post", "lead1"])
    out, text, stdout = _init(frame, tmp_path, capsys, "none")
    assert "treatment: no cohort or 0/1 column found in the data" in stdout
    lines = text.splitlines()
    for table, key, value in (
        ("outcome", "column", "l_homicide"),
        ("treatment", "cohort_column", "t"),
    ):
        number = line_number(text, table, key)
        assert f"to do: set [{table}] {key} on line {number} of {out}" in stdout
        lines[number - 1] = f'{key} = "{value}"'
    assert "does not load" not in stdout  # it loads once both are set
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_config(out).treatment.cohort_column == "t"


def test_terminal_is_a_short_summary_and_the_reasons_are_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, text, stdout = _init(_states(), tmp_path, capsys, "states")
    lines = stdout.splitlines()
    assert len(lines) < 25, stdout
    assert "no role of the study" not in stdout and "x17" not in stdout
    assert "50 units" not in stdout and "12 units ('state', ids of any kind) x 11 years" in stdout
    assert any(ln.startswith("to do: set [outcome] column") for ln in lines)
    # Every column but the key, time and treatment is in the file with its reason, grouped:
    # the fillers in one run, not one line each.
    assert "x0 ... x59 (60)" in text
    left = text[text.index("# ---- Columns of the file left out") :]
    assert "sid: another unit key" in left
    assert "follows the treatment" in left and "lead1" in left  # not offered as a control
    assert "_Iyear_2008" in left and "the same for every unit in each year" in left
    assert len(left.splitlines()) < 15


def test_outcome_and_covariate_candidates_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, text, _ = _init(_states(), tmp_path, capsys, "states")
    outcome = _table(text, "outcome")
    assert "Candidates (62 numeric columns varying within units" in outcome
    assert "l_homicide, income, x0 ... x59 (60)" in outcome
    for column in ("effyear", "sid", "post", "lead1", "south", "_Iyear_2008"):
        assert column not in outcome, column
    model = _table(text, "model")
    assert "l_homicide, income, x0 ... x59 (60)" in model
    assert "usable as [callaway_santanna] covariates): south" in model
    assert "controls = []" in model and "event_window = [-5, 5]" in model
    assert "covariates = []" in _table(text, "callaway_santanna")


def _rollout(named: bool = True) -> pd.DataFrame:
    """A staggered rollout of a training by month: every officer is trained at some month
    of the panel; the time is an integer index 1..24, the month a date string."""
    rng = np.random.default_rng(3)
    rows = []
    for uid in range(101, 131):
        first = int(rng.integers(3, 25))
        birth = int(rng.integers(1950, 1990))
        for t in range(1, 25):
            rows.append(
                {
                    "uid": uid,
                    "month": f"{2011 + (t - 1) // 12}-{(t - 1) % 12 + 1:02d}-01",
                    "birth_year": birth,
                    "complaints": int(rng.poisson(0.3)),
                    "period": t,
                    "first_trained": first,
                }
            )
    frame = pd.DataFrame(rows)
    if named:
        return frame
    return frame.drop(columns=["month"]).rename(columns={"period": "k"})


@pytest.mark.parametrize("named", [True, False], ids=["period", "unnamed-index"])
def test_monthly_rollout_uses_its_period_index(
    named: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, text, stdout = _init(_rollout(named), tmp_path, capsys, "rollout")
    raw = tomllib.loads(text)
    time = "period" if named else "k"  # by its name, or by its data (birth_year is not)
    assert raw["columns"] == {"city": "uid", "year": time}
    assert (raw["panel"]["first_year"], raw["panel"]["last_year"]) == (1, 24)
    assert raw["treatment"] == {"source": "column", "cohort_column": "first_trained"}
    evidence = _table(text, "treatment")
    assert "inside the panel's periods (30 units)" in evidence
    assert "every unit is treated by period" in evidence
    # No never-treated unit: the staggered DML compares with the not yet treated.
    assert raw["dml"] == {"did_control_group": "not_yet_treated"}
    assert "30 units ('uid', ids of any kind) x 24 periods" in stdout
    if named:
        assert "# month: another time column; the time is 'period'" in text
    _set_outcome(out, text, stdout, "complaints")
    cfg = load_config(out)
    assert cfg.columns["year"] == time and cfg.dml.did_control_group == "not_yet_treated"


def test_unit_dummies_too_large_for_memory_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rollout panel's 7,785 officers x 560,520 rows would make a 33 GiB matrix of unit
    dummies for the DML's fe_handling "dummies" (the run was killed for memory); here the
    limit is lowered to the small panel's 30 units x 720 rows."""
    frame = _rollout()
    out = tmp_path / "rollout.toml"
    assert "fe_handling" not in render(propose(frame, "rollout.csv"))
    monkeypatch.setattr(init_settings, "DUMMIES_BYTES", 30 * 720 * 8 - 1)
    text = render(propose(frame, "rollout.csv"), out)
    assert "Unit dummies for 30 units over 720 rows would take" in _table(text, "dml")
    out.write_text(text.replace('column = ""', 'column = "complaints"'), encoding="utf-8")
    assert load_config(out).dml.fe_handling == ("within",)


def test_cohort_after_the_panel_is_flagged_and_a_zero_coded_twin_preferred() -> None:
    """divorce-law panels code never treated as a year after the panel (2000); the run reads
    that as a cohort, so a twin column coding them 0 is preferred and the other flagged."""
    frame = _states(cohort=False)
    first = frame["state"].map(dict(zip(frame["state"].unique(), COHORTS, strict=True)))
    frame = frame.assign(divyear=first.fillna(2020).astype(int), g=first.fillna(0).astype(int))
    p = propose(frame, "divorce.csv")
    assert p.treatment_column == "g"
    divyear = next(o for o in p.treatment.others if o.column == "divyear")
    assert "4 units after 2010 = never treated" in divyear.evidence
    assert "recode those to 0 or blank" in divyear.evidence


def test_city_panel_missing_inputs_writes_the_buildable_lists(tmp_path: Path) -> None:
    frame = pd.read_csv(DEFAULT_PANEL, dtype=str, keep_default_na=False)
    frame = frame.drop(columns=["urban_population", "invention_patents", "marketization"])
    p = propose(frame, "cities.csv")
    out = tmp_path / "cities.toml"
    text = render(p, out)
    out.write_text(text, encoding="utf-8")
    model = _table(text, "model")
    assert "this differs from the paper's control set" in model
    assert "Left out: urbanization (needs input urban_population, not found)" in model
    assert "tech_innovation (needs input invention_patents, not found)" in model
    assert "high_marketization (needs input marketization, not found)" in model
    cfg = load_config(out)
    assert cfg.model.controls == ("ln_gdp_pc", "fiscal", "finance", "fdi_share", "human_capital")
    assert cfg.model.mechanisms == ("digital_infra", "rationalization")
    assert cfg.model.moderators == ("east_coastal", "high_digital_economy")
    assert cfg.callaway_santanna.covariates == ("ln_gdp_pc",)
    # The study's window is the cities' own, and said so.
    assert (cfg.panel.first_year, cfg.panel.last_year, cfg.panel.units) == (2009, 2022, "cities")
    assert "The study's window 2009-2022 (the paper's years, for its Chinese cities)" in text


def test_complete_city_panel_keeps_the_study_lists() -> None:
    """Nothing written for the lists when every input is there (the defaults hold)."""
    text = render(propose(pd.read_csv(DEFAULT_PANEL), "default.csv"))
    assert "[model]" not in text and "[callaway_santanna]" not in text


def test_small_settings_edit_keeps_one_table_each(tmp_path: Path) -> None:
    """The test helper a user's edit imitates: a key set inside its table, not a second one."""
    path = tmp_path / "c.toml"
    path.write_text("[placebo]\n# why\npermutations = 1000\n\n[model]\nx = 1\n", encoding="utf-8")
    set_keys(path, {"placebo": {"permutations": 49}, "dml": {"n_rep": 1}})
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert raw == {"placebo": {"permutations": 49}, "model": {"x": 1}, "dml": {"n_rep": 1}}


SMALL = {
    "dml": {"learners": ["lasso", "linear"], "learner": "lasso", "aux_learner": "lasso",
            "fe_handling": ["within"], "fe": "within", "n_rep": 1, "did_n_rep": 1, "did_learner": "linear",
            "robustness_folds": [2], "n_folds": 3, "bootstrap_reps": 99},
    "placebo": {"permutations": 49},
}  # fmt: skip


@pytest.mark.slow
def test_state_panel_runs_every_exhibit_after_two_edits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Done-when of the issue: init-config, then the outcome and the covariates the user
    picks (headers of the file), and every exhibit that does not need the Chinese city
    registry runs; only the lists left empty (channels, splits) are not asked for."""
    out, text, stdout = _init(_states(), tmp_path, capsys, "states")
    _set_outcome(out, text, stdout, "l_homicide")
    set_keys(
        out, {"model": {"controls": ["income"]}, "callaway_santanna": {"covariates": ["income"]}}
    )
    set_keys(out, SMALL)  # small settings for the test's time only
    run_dir = tmp_path / "run"
    args = [
        "run",
        "--data",
        str(tmp_path / "states.csv"),
        "--config",
        str(out),
        "--out",
        str(run_dir),
    ]
    assert main(args) == 0
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    # whole exhibits not run: only those whose lists the user left empty; robustness checks
    # tied to the study (registry, pilot-zone timing, index rebuilds) are listed as parts
    not_run = {r["exhibit"] for r in manifest["not_run"]}
    assert {r.split(" (")[0] for r in not_run} <= {"mechanisms", "heterogeneity", "robustness"}
    assert {"mechanisms", "heterogeneity"} <= not_run and "robustness" not in not_run
    models = set(pd.read_csv(run_dir / "estimates.csv")["model"])
    assert {
        "dml_plr",
        "dml_did_simple",
        "psm_twfe",
        "cs_attgt_dr_cov",
        "baseline_twfe_controls",
    } <= models


@pytest.mark.slow
def test_yearbook_without_three_inputs_runs_the_dml_and_psm_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real-yearbook scenario: no urban population, fiscal expenditure or college students.
    init-config proposes the buildable controls; the DMLs and PSM-DID run with them, and the
    manifest and the report's first screen say the control set differs from the paper's."""
    frame = pd.read_csv(DEFAULT_PANEL, dtype=str, keep_default_na=False)
    frame = frame.drop(columns=["urban_population", "fiscal_expenditure", "college_students"])
    data = tmp_path / "yearbook.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "yearbook.toml"
    assert main(["init-config", str(data), "--out", str(out)]) == 0
    set_keys(out, SMALL)
    cfg = load_config(out)
    assert cfg.model.controls == ("ln_gdp_pc", "finance", "fdi_share")
    run_dir = tmp_path / "run"
    only = "dml_plr,dml_did,psm_did"
    args = ["run", "--data", str(data), "--config", str(out), "--out", str(run_dir), "--only", only]
    assert main(args) == 0
    models = set(pd.read_csv(run_dir / "estimates.csv")["model"])
    assert {"dml_plr", "dml_did_simple", "psm_twfe"} <= models
    spec = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["specification"]
    line = next(d for d in spec["differences"] if d.startswith("controls:"))
    assert "left out: urbanization, fiscal, human_capital" in line
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert html.index("specification differs") < html.index('id="contents"')
