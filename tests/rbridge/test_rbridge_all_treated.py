"""The live cross-check on a staggered rollout in which every unit is treated in the end:
the not-yet-treated Callaway-Sant'Anna (R's did applies its own rule for such a panel: the
last-treated cohort as comparison, the periods from its first treated period dropped), the
Sun-Abraham event study with the last cohort as control, Gardner's two stages and the
imputation estimator, each against R on the same analysis_panel.csv. Skips, with the
reason, where R's did and fixest are not installed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main as cli
from rbridge.session import RInfo
from tests.any_unit_panel import write_units

pytestmark = pytest.mark.r_fixest


def test_not_yet_treated_estimates_equal_r_without_never_treated_units(
    tmp_path: Path, fixest_r: RInfo, did_r: RInfo
) -> None:
    data, config = write_units(tmp_path, seed=7, n_units=150, never_share=0.0)
    out = tmp_path / "out"
    args = ["run", "--data", str(data), "--config", str(config), "--out", str(out)]
    assert cli([*args, "--only", "callaway_santanna,event_study_estimators"]) == 0
    models = set(pd.read_csv(out / "estimates.csv")["model"])
    assert "cs_simple_notyet" in models and "cs_simple" not in models
    status = cli(["crosscheck", "--out", str(out)])
    checks = pd.read_csv(out / "crosscheck.csv", keep_default_na=False, na_values=[""])
    failed = checks[checks["status"] == "fail"]
    assert failed.empty, failed[["check", "python_value", "r_value", "reason"]].head(10)
    assert status == 0
    passed = checks[checks["status"] == "pass"]
    families = {c.split("/")[0] for c in passed["check"]}
    expected = {
        f"cs_{a}_notyet{b}"
        for a in ("attgt", "simple", "dynamic", "group", "calendar")
        for b in ("", "_universal")
    }
    assert expected | {"sunab", "did2s", "imputation"} <= families
    cs = passed[passed["check"].str.startswith("cs_")]
    assert set(cs["r_engine"]) == {f"did {did_r.packages['did']}"}
    assert len(cs) > 100
