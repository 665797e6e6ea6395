"""End to end: `python -m analysis run` reaches every exhibit of the staggered-DID suite and
writes their stable model ids, tables and figures (small permutation/bootstrap settings)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SUITE_TABLES = (
    "table4_callaway_santanna",
    "table4b_cs_event_time",
    "table5_event_study_estimators",
    "table6_placebo",
    "table7_twfe_diagnostics",
    "table7b_dcdh_weights",
    "table8_honest_did",
    "table9_psm_did",
    "table9b_psm_balance",
    "table10_robustness",
)
SUITE_FIGURES = (
    "figure2_event_study_estimators",
    "figure3_placebo",
    "figure4_bacon",
    "figure5_honest_did",
)


@pytest.mark.slow
@pytest.mark.xdist_group("fast_run")
def test_suite_in_full_run(fast_run: Path) -> None:
    """Read from the session's run of the golden fast configuration (tests/conftest.py
    `fast_run`: 199 bootstrap replications, 500 permutations, M grid 0 and 0.005)."""
    out = fast_run
    est = pd.read_csv(out / "estimates.csv")
    ids = set(zip(est["model"], est["term"], strict=True))
    for key in [
        ("cs_simple", "ATT"),
        ("cs_dynamic", "event_time::0"),
        ("cs_group", "cohort::2016"),
        ("cs_calendar", "year::2016"),
        ("cs_attgt", "attgt::2015:2015"),
        ("cs_simple_notyet", "ATT"),
        ("cs_simple_dr_cov", "ATT"),
        ("cs_dynamic_boot", "event_time::0"),
        ("sunab", "event_time::0"),
        ("did2s", "ATT"),
        ("imputation", "event_time::0"),
        ("placebo", "p_value"),
        ("bacon", "weighted_sum"),
        ("dcdh_weights", "n_negative"),
        ("honest_rm", "breakdown"),
        ("honest_sd", "M::0.005"),
        ("psm_twfe", "treat_post"),
        ("robust_timing", "treat_post"),
        ("robust_province_year_fe", "treat_post"),
    ]:
        assert key in ids, key
    placebo = est[(est["model"] == "placebo") & (est["term"] == "p_value")]["estimate"].iloc[0]
    assert placebo == pytest.approx(1 / 501)  # the actual estimate beats all 500 placebos
    for name in SUITE_TABLES:
        assert (out / "tables" / f"{name}.csv").is_file(), name
    for name in SUITE_FIGURES:
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000, name
