"""Real panels as economists hold them: any input optional, units as they appear in yearbooks
(province-coded municipalities, units prefecture-level for part of the period), estimator
failures as input errors, nothing lost when one part fails, and units of any kind."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.config import load_config
from analysis.pipeline import prepare
from tests.any_unit_panel import TAU, write_units
from tests.conftest import SMALL_DML_TOML

FAST = (
    SMALL_DML_TOML
    + """
[placebo]
permutations = 49

[callaway_santanna]
bootstrap_reps = 0
"""
)
INPUTS = """
[inputs]
gdp = "gdp"
population = "population"
fiscal_expenditure = "fiscal_expenditure"
loans = "loans"
fdi = "fdi"
va_primary = "va_primary"
va_secondary = "va_secondary"
va_tertiary = "va_tertiary"
"""


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def _write(frame: pd.DataFrame, folder: Path, name: str = "panel.csv") -> Path:
    path = folder / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_inputs_are_optional_and_what_needs_them_is_not_run(
    raw_default: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Failure 1 and 5 of the issue: every [inputs] role was required, and mechanisms = []
    crashed the report. Now a panel with five inputs runs; what needs the others is listed
    as not run, with the missing roles, in the terminal, the manifest and the report."""
    config = tmp_path / "c.toml"
    config.write_text(
        INPUTS
        + '[model]\ncontrols = ["ln_gdp_pc", "fiscal", "finance", "fdi_share"]\n'
        + 'mechanisms = []\nmoderators = ["east_coastal", "high_marketization"]\n'
        + FAST,
        encoding="utf-8",
    )
    data = raw_default.drop(columns=["urban_population", "invention_patents", "marketization"])
    path = _write(data, tmp_path)
    out = tmp_path / "out"
    code, err = _cli(
        ["run", "--data", str(path), "--config", str(config), "--out", str(out)], capsys
    )
    assert code == 0, err
    assert err.count("[model] mechanisms is empty") == 1  # once, not also during the run
    assert "not run: mechanisms: [model] mechanisms is empty" in err
    manifest = json.loads((out / "manifest.json").read_text())
    not_run = {r["exhibit"]: r["reasons"] for r in manifest["not_run"]}
    assert list(not_run) == ["mechanisms"]
    built = manifest["panel"]["not_built"]
    assert "needs input 'marketization'" in built["high_marketization"]
    assert "'urban_population'" in built["urbanization"]
    het = pd.read_csv(out / "tables" / "table14_heterogeneity.csv")
    assert list(het["moderator"]) == ["Eastern coastal region"]
    assert "high_marketization' is built from marketization" in (
        out / "tables" / "table14_heterogeneity.md"
    ).read_text(encoding="utf-8")
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Not run" in report and "[model] mechanisms is empty" in report
    estimates = pd.read_csv(out / "estimates.csv")
    assert {"baseline_twfe", "baseline_twfe_controls", "dml_plr", "cs_simple"} <= set(
        estimates["model"]
    )


def test_only_an_exhibit_the_data_do_not_allow_is_an_input_error(
    raw_default: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(INPUTS + FAST, encoding="utf-8")
    path = _write(raw_default.drop(columns=["invention_patents"]), tmp_path)
    code, err = _cli(
        [
            "run",
            "--data",
            str(path),
            "--config",
            str(config),
            "--only",
            "mechanisms",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    last = err.strip().splitlines()[-1]
    assert code == 2
    assert last.startswith("error: --only mechanisms: cannot run on these data:")
    assert "'urbanization' needs input 'urban_population', not mapped in [inputs]" in last
    assert "'tech_innovation' needs input 'invention_patents'" in last


def test_units_as_yearbooks_code_them(raw_default: pd.DataFrame, tmp_path: Path) -> None:
    """Failures 2 and 3: municipalities by province code and units prefecture-level for part
    of the period stopped the run. Now 110000 reads as Beijing and Chaohu's and Sansha's rows,
    like rows of other years, are dropped and listed."""
    data = raw_default.copy()
    data["city_code"] = data["city_code"].replace(
        {"110100": "110000", "120100": "120000", "310100": "310000", "500100": "500000"}
    )
    extra = raw_default[raw_default["city_code"] == "340100"].head(2).copy()
    chaohu = extra.assign(city_code="341400", year=["2009", "2010"])
    sansha = extra.assign(city_code="460300", year=["2013", "2014"])
    unknown = extra.head(1).assign(city_code="999999")
    early = raw_default.head(3).assign(year="2007")
    data = pd.concat([data, chaohu, sansha, unknown, early], ignore_index=True)
    path = _write(data, tmp_path)
    panel, info = prepare(path, load_config())
    assert {110100, 120100, 310100, 500100} <= set(panel["city_code"])
    assert panel["city_code"].nunique() == 266
    assert {341400, 460300} <= set(info.dropped_cities)
    assert info.load is not None
    assert info.load.unknown_units == {"999999": 1}
    assert info.load.years_outside == {2007: 3}
    read = {value: how for value, _, how in info.load.readings}
    assert set(read) == {"110000", "120000", "310000", "500000"}


def test_constant_index_indicator_is_a_reason_not_a_traceback(
    raw_default: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Failure 4: a constant indicator of the digital-economy index ended in a traceback.
    Now the index is not built, the moderator built from it is not estimated, and the
    reason names the indicator."""
    config = tmp_path / "c.toml"
    config.write_text(FAST, encoding="utf-8")
    path = _write(raw_default.assign(digital_finance="50"), tmp_path)
    out = tmp_path / "out"
    code, err = _cli(
        [
            "run",
            "--data",
            str(path),
            "--config",
            str(config),
            "--only",
            "descriptives,heterogeneity",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        "indicator 'digital_finance' is constant"
        in manifest["panel"]["not_built"]["digital_economy"]
    )
    note = (out / "tables" / "table14_heterogeneity.md").read_text(encoding="utf-8")
    assert "'high_digital_economy' is built from digital_economy" in note
    assert "Traceback" not in err


def test_a_failing_part_loses_nothing_else(
    raw_default: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A figure that fails is recorded; everything else is written and the status is 4;
    --strict gives all or nothing."""
    from analysis.exhibits import event_study

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the plotting library broke")

    monkeypatch.setattr(event_study, "event_study_figure", broken)
    out = tmp_path / "out"
    code, err = _cli(["run", "--only", "baseline,event_study", "--out", str(out)], capsys)
    assert code == 4
    assert "failed: figure figure1_event_study: RuntimeError: the plotting library broke" in err
    assert (out / "tables" / "table3_event_study.csv").exists()
    assert not (out / "figures" / "figure1_event_study.png").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed"][0]["part"] == "figure figure1_event_study"
    assert "the plotting library broke" in (out / "run.log").read_text(encoding="utf-8")
    assert "not drawn" in (out / "report.html").read_text(encoding="utf-8")
    strict = tmp_path / "strict"
    code, err = _cli(
        ["run", "--only", "baseline,event_study", "--strict", "--out", str(strict)], capsys
    )
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: internal failure: RuntimeError")
    assert not strict.exists()


@pytest.mark.slow
def test_units_of_any_kind_recover_the_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Failure 6: a panel of counties (text ids, a cohort column, a ready outcome) could not
    run. Now it does, the exhibits that need the city registry say why they are not run,
    and Callaway-Sant'Anna, imputation and DML recover the simulated effect."""
    data, config = write_units(tmp_path, seed=11)
    out = tmp_path / "out"
    code, err = _cli(
        [
            "run",
            "--data",
            str(data),
            "--config",
            str(config),
            "--only",
            "baseline,callaway_santanna,event_study_estimators,robustness,dml_plr",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    panel = pd.read_csv(out / "analysis_panel.csv")
    assert panel["city_code"].nunique() == 2000 and panel["unit_id"].iloc[0] == "C00001"
    truth = pd.read_csv(out / "tables" / "truth_comparison.csv")
    for model, term in (("cs_simple", "ATT"), ("imputation", "ATT"), ("dml_plr", "treat_post")):
        row = truth[(truth["model"] == model) & (truth["term"] == term)].iloc[0]
        assert row["truth"] == TAU
        assert abs(row["estimate"] - TAU) < 3 * row["std_error"], (model, row.to_dict())
    note = (out / "tables" / "table10_robustness.md").read_text(encoding="utf-8")
    assert "province_year_fe: skipped (the units are not Chinese cities" in note


def test_not_run_reasons_are_grouped_by_cause() -> None:
    """One terminal line per cause, naming its exhibits in run order."""
    from analysis.pipeline import not_run_lines

    lines = not_run_lines(
        {
            "psm_did": ["[model] controls is empty"],
            "dml_plr": ["[model] controls is empty"],
            "mechanisms": ["[model] mechanisms is empty", "[model] controls is empty"],
        }
    )
    assert lines == [
        "not run: psm_did, dml_plr, mechanisms: [model] controls is empty",
        "not run: mechanisms: [model] mechanisms is empty",
    ]
    # parts of an exhibit (Output.not_run) are named after it, once per exhibit
    lines = not_run_lines(
        {
            "robustness (robust_winsorized)": ["no raw components"],
            "callaway_santanna (never-treated controls)": ["no never-treated units"],
            "robustness (robust_pca)": ["no raw components"],
            "psm_did": ["no never-treated units"],
        }
    )
    assert lines == [
        "not run: robustness (robust_winsorized, robust_pca): no raw components",
        "not run: callaway_santanna (never-treated controls), psm_did: no never-treated units",
    ]


def test_no_controls_means_the_propensity_exhibits_are_not_run(cfg, default_panel) -> None:  # type: ignore[no-untyped-def]
    """With [model] controls = [] the PSM-DID and the staggered DML (a propensity score on
    the controls) are not run, with the reason, instead of failing inside scikit-learn."""
    from dataclasses import replace as dc_replace

    from analysis.catalogue import exhibit
    from analysis.exhibit import Context

    none = dc_replace(cfg, model=dc_replace(cfg.model, controls=()))
    ctx = Context(panel=default_panel, cfg=none)
    reason = "[model] controls is empty: its propensity score needs at least one"
    for name in ("psm_did", "dml_did"):
        assert reason in exhibit(name).needs.missing(ctx), name
    assert reason not in exhibit("dml_plr").needs.missing(ctx)
    assert exhibit("psm_did").needs.missing(Context(panel=default_panel, cfg=cfg)) == []


def test_a_cohort_smaller_than_the_folds_is_left_out_of_the_staggered_dml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state panel has cohorts of one unit: the staggered DML ran on none of them ('needs
    at least n_folds cities per cohort'). Now such a cohort is left out, and the note says so."""
    data, config = write_units(tmp_path, seed=4, n_units=150)
    frame = pd.read_csv(data)
    lone = frame.loc[frame["cohort"] == 0, "county"].unique()[:2]
    frame.loc[frame["county"].isin(lone), "cohort"] = 2004  # a cohort of two units
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    code, _ = _cli(
        [
            "run",
            "--data",
            str(data),
            "--config",
            str(config),
            "--out",
            str(out),
            "--only",
            "dml_did",
        ],
        capsys,
    )
    assert code == 0
    estimates = pd.read_csv(out / "estimates.csv")
    cells = estimates.loc[estimates["model"] == "dml_did_gt", "term"]
    assert not cells.str.startswith("gt::2004::").any() and len(cells) > 0
    note = (out / "tables" / "table12_dml_did.md").read_text(encoding="utf-8")
    assert "cohorts 2004 (2 units)" in note
