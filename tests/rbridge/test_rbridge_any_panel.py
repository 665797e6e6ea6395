"""The live cross-check on a panel unlike the study's: units of any kind, a cohort of six
units that the covariate nearly separates (did leaves a cell missing), a negative effect
with a pre-trend, an outcome of order 1e-4. Every check passes or is skipped with a stated
reason (issue: the cross-check on real panels)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main as cli
from rbridge.session import RInfo
from tests._drdid_panel import negative_pretrend_panel, pretrend_panel_toml

pytestmark = [pytest.mark.r_fixest, pytest.mark.slow]
EXHIBITS = "baseline,event_study,callaway_santanna,event_study_estimators,honest_did"


def test_every_check_passes_on_a_small_negative_rate(
    tmp_path: Path, fixest_r: RInfo, did_r: RInfo
) -> None:
    data, config, out = tmp_path / "panel.csv", tmp_path / "c.toml", tmp_path / "out"
    negative_pretrend_panel().to_csv(data, index=False)
    config.write_text(pretrend_panel_toml(), encoding="utf-8")
    args = ["run", "--data", str(data), "--config", str(config), "--out", str(out)]
    assert cli([*args, "--only", EXHIBITS]) == 0
    estimates = pd.read_csv(out / "estimates.csv")
    assert "cs_attgt_dr_cov" in set(estimates["model"])
    dr_cells = set(estimates.loc[estimates["model"] == "cs_attgt_dr_cov", "term"])
    assert "attgt::2015:2012" not in dr_cells  # did's overlap guard
    status = cli(["crosscheck", "--out", str(out)])
    checks = pd.read_csv(out / "crosscheck.csv", keep_default_na=False, na_values=[""])
    failed = checks[checks["status"] == "fail"]
    assert failed.empty, failed[["check", "python_value", "r_value", "reason"]].head(10)
    assert status == 0
    skipped = checks[checks["status"] == "skipped"]
    assert skipped["reason"].str.len().gt(0).all()
    families = {c.split("/")[0] for c in checks.loc[checks["status"] == "pass", "check"]}
    assert {"cs_attgt_dr_cov", "honest_sd", "imputation", "did2s"} <= families
