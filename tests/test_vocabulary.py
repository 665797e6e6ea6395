"""Numbers and words that fit any panel: table cells keep the significant digits their
standard errors need (a rate of 1e-4 no longer prints as 0.0000), and on units that are not
the study's cities no table, note, estimate row or figure speaks of pilot zones, Guizhou or
cities, while the study's own run keeps its words."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.cli import main as cli
from analysis.estimates import ModelInfo
from analysis.render import figures
from analysis.render.labels import label, vocabulary, words
from analysis.render.tables import decimals_for, format_numbers, regression_table
from tests.any_unit_panel import write_units

STUDY_WORDS = re.compile(r"pilot|Guizhou|\bcities\b|\bcity\b", re.IGNORECASE)
# Reasons that name the study's setting to say why a check does not apply here.
WHY_NOT = re.compile(r"Chinese cities|city registry|pilot[- ]zone list|city_code")


def _model(model: str) -> ModelInfo:
    return ModelInfo(
        exhibit="t", model=model, estimator="twfe", engine="e", outcome="y", n_obs=10,
        n_clusters=5, vcov="CRV1:city_code", ssc="", formula="",
    )  # fmt: skip


def test_a_small_rate_keeps_its_significant_digits() -> None:
    rows = [
        _model("a").row("treat_post", 1.23e-4, 4.5e-5),
        _model("b").row("treat_post", -2.0e-5, 6.1e-5),
    ]
    table = regression_table(rows, ["a", "b"], ["treat_post"])
    assert table.iloc[0, 1] == "0.000123***" and table.iloc[1, 1] == "(0.000045)"
    assert table.iloc[0, 2] == "-0.000020" and table.iloc[1, 2] == "(0.000061)"
    assert decimals_for(0.0047) == 4 and decimals_for(4.5e-5) == 6 and decimals_for(12.0) == 4
    frame = format_numbers(pd.DataFrame({"estimate": [1.2e-4, 3.4e-4], "p_value": [0.01, 0.5]}))
    assert list(frame["estimate"]) == ["0.00012", "0.00034"]
    assert list(frame["p_value"]) == ["0.0100", "0.5000"]


def test_the_generic_vocabulary_replaces_the_studys_words() -> None:
    with vocabulary(study=False, outcome="l_homicide"):
        assert label("treat_post") == "Treated x post"
        assert label("resilience") == "l_homicide"
        text = "Mechanisms: the pilot zones' effect; clustered by city over 50 cities (Guizhou)"
        assert words(text) == "Mechanisms: the treatment's effect; clustered by unit over 50 units"
        assert words("CRV1:city_code") == "CRV1:city_code"
    with vocabulary(study=True):
        assert label("treat_post") == "Pilot zone x post"


def test_figures_speak_the_runs_vocabulary(tmp_path: Path) -> None:
    fig, ax = plt.subplots()
    ax.set_xlabel("Years relative to the pilot zone")
    ax.set_title("Effect on cities")
    with vocabulary(study=False):
        figures._save(fig, tmp_path / "f.png")
    assert (
        ax.get_xlabel() == "Years relative to the treatment" and ax.get_title() == "Effect on units"
    )


@pytest.mark.slow
def test_a_county_run_says_nothing_of_pilot_zones_or_cities(tmp_path: Path) -> None:
    data, config = write_units(tmp_path, seed=8, n_units=150)
    out = tmp_path / "out"
    only = "baseline,event_study,robustness,psm_did,placebo,dml_plr"
    assert (
        cli(
            ["run", "--data", str(data), "--config", str(config), "--out", str(out), "--only", only]
        )
        == 0
    )
    texts = {p.name: p.read_text(encoding="utf-8") for p in (out / "tables").glob("*.md")}
    texts["estimates.csv"] = (out / "estimates.csv").read_text(encoding="utf-8")
    found = {
        name: STUDY_WORDS.findall(WHY_NOT.sub("", t))
        for name, t in texts.items()
        if STUDY_WORDS.search(WHY_NOT.sub("", t))
    }
    assert not found, found
    html = (out / "report.html").read_text(encoding="utf-8")
    headings = " ".join(re.findall(r"<h[123][^>]*>(.*?)</h[123]>", html))
    assert not STUDY_WORDS.search(headings), headings
