"""The findings of the report's first screen are filled from estimates.csv and
crosscheck.csv by stated rules: each rule checked on planted numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.render import findings


def _est(rows: list[tuple[str, str, float, float, float]]) -> pd.DataFrame:
    """(model, term, estimate, std_error, p_value) -> estimates.csv as the report reads it."""
    return pd.DataFrame(
        [
            {
                "model": m,
                "term": t,
                "estimate": str(e),
                "std_error": str(se),
                "p_value": str(p),
                "conf_low": str(e - 1.96 * se),
                "conf_high": str(e + 1.96 * se),
            }
            for m, t, e, se, p in rows
        ]
    )


def test_the_verdict_counts_signs_and_significance() -> None:
    est = _est(
        [
            ("baseline_twfe", "treat_post", 0.07, 0.01, 0.001),
            ("cs_simple", "ATT", 0.05, 0.03, 0.09),
            ("sunab", "ATT", -0.01, 0.02, 0.6),
            ("dml_plr", "treat_post", 0.08, 0.01, 0.0001),
            ("unrelated", "ATT", 9.0, 1.0, 0.0),
        ]
    )
    rows = findings.headline(est)
    assert [r.model for r in rows] == ["baseline_twfe", "cs_simple", "sunab", "dml_plr"]
    text = findings.verdict(rows, simulated=False)
    assert text.startswith("The overall effect is positive in 3 of 4 estimators")
    assert "significant at 5% in 2 of 4" in text and "from -0.0100 to 0.0800" in text
    assert "Simulated" not in text
    assert "Simulated data" in findings.verdict(rows, simulated=True)


def test_truth_coverage_is_counted_where_known() -> None:
    est = _est(
        [("baseline_twfe", "treat_post", 0.07, 0.01, 0.001), ("cs_simple", "ATT", 0.2, 0.01, 0.0)]
    )
    truth = pd.DataFrame(
        {
            "model": ["baseline_twfe", "cs_simple"],
            "term": ["treat_post", "ATT"],
            "truth": ["0.07", "0.07"],
        }
    )
    text = findings.verdict(findings.headline(est, truth), simulated=True)
    assert "The true effect is inside 1 of 2 intervals." in text


@pytest.mark.parametrize(("p", "word"), [(0.2, "not rejected at 5%"), (0.01, "rejected at 5%")])
def test_the_pretrend_line_follows_the_test(p: float, word: str) -> None:
    lines = dict(
        findings.checks(_est([("event_study", "joint_pre_F", 1.5, float("nan"), p)]), None, "out")
    )
    assert lines["Pre-trends (TWFE event study, joint F)"].endswith(word)
    assert lines["R cross-check"] == "not run: python -m analysis crosscheck --out out"


def test_robustness_channels_splits_and_crosscheck_lines() -> None:
    est = _est(
        [
            ("robust_a", "treat_post", 0.06, 0.01, 0.001),
            ("robust_b", "treat_post", 0.02, 0.02, 0.3),
            ("robust_c", "treat_post", 0.09, 0.01, 0.0),
            ("mechanism_tech", "treat_post", -0.2, 0.05, 0.0004),
            ("mechanism_direct_tech", "treat_post", 0.05, 0.01, 0.0),
            ("hetero_east_interaction", "treat_post:east", 0.03, 0.01, 0.004),
        ]
    )
    cc = pd.DataFrame(
        {"status": ["pass", "pass", "fail", "skipped"], "r_engine": ["fixest", "did", "fixest", ""]}
    )
    lines = dict(findings.checks(est, cc, "out"))
    assert (
        lines["Robustness table"]
        == "3 checks from 0.0200 to 0.0900; 2 of 3 positive and significant at 5%"
    )
    assert lines["Channels: effect on each (TWFE)"] == "tech neg (p < 0.001)"
    assert lines["Splits: difference of effects (interaction)"] == "east pos (p = 0.004)"
    assert lines["R cross-check"] == "2 pass, 1 fail, 1 skipped (R engines: did, fixest)"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0676, "0.0676"),
        (12.345, "12.3"),
        (-0.000123, "-0.000123"),
        (3.2e-6, "3.20e-06"),
        (0.0, "0"),
    ],
)
def test_numbers_keep_three_significant_digits(value: float, text: str) -> None:
    assert findings.fmt(value) == text


def test_the_audit_shows_the_flags_most_likely_to_matter_first() -> None:
    from analysis.render.report import SHOWN_FLAGS, audit_summary

    flags = pd.DataFrame(
        [
            {
                "unit": i,
                "year": 2010,
                "column": "gdp",
                "value": "1",
                "kind": "missing",
                "detail": "interpolated: 1",
            }
            for i in range(30)
        ]
        + [
            {
                "unit": 100 + i,
                "year": 2011,
                "column": "gdp",
                "value": "1",
                "kind": "jump",
                "detail": f"+{i}.5 against 2010 and 2012",
            }
            for i in range(5)
        ]
        + [
            {
                "unit": 200,
                "year": 2012,
                "column": "fdi",
                "value": "1",
                "kind": "scale_break",
                "detail": "x10^4",
            }
        ]
    )
    html = audit_summary(flags, "tables/table0b_audit_flags.csv")
    shown, full = html.split("<details>")
    assert "36 flagged cells (scale_break: 1, jump: 5, missing: 30)" in shown
    assert shown.count("<tr>") == SHOWN_FLAGS + 1  # header + the top rows
    order = [shown.index(f'<td class="num">{u}</td>') for u in (200, 104, 103, 100)]
    assert order == sorted(order)  # scale break, then the largest jumps first
    assert full.count("<tr>") == len(flags) + 1 and 'href="tables/table0b_audit_flags.csv"' in shown


@pytest.mark.parametrize(
    ("smallest", "word"),
    [(6, "fewer than 10: read the wild"), (12, "the analytical p-values hold")],
)
def test_the_few_clusters_rule_names_which_p_value_to_read(smallest: int, word: str) -> None:
    est = _est(
        [
            ("baseline_twfe_wild", "treat_post", 0.07, float("nan"), 0.0004),
            ("ri_cs_simple", "ATT", 0.07, float("nan"), 0.03),
        ]
    )
    lines = dict(findings.checks(est, None, "out", {2015: smallest, 2016: 51}))
    assert lines["Wild cluster bootstrap (WCR)"] == "TWFE p < 0.001"
    assert lines["Randomization at the level of assignment"] == "CS simple p = 0.030"
    rule = lines["Which p-value to read"]
    assert word in rule and ("(2015) has 6 clusters" in rule) == (smallest == 6)


def test_a_breakdown_beyond_the_searched_range_is_said_so() -> None:
    """estimates.csv writes a breakdown outside the search range as an empty cell (NaN): a
    very precise effect (a panel of 400,000 rows) stays significant at every Mbar searched."""
    est = _est([("honest_rm", "breakdown", 0.0, float("nan"), float("nan"))])
    est.loc[0, "estimate"] = ""
    lines = dict(findings.checks(est, None, "out"))
    assert "beyond the searched range" in lines["HonestDiD breakdown"]


def test_the_terminal_summary_reads_a_run_without_any_truth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`--only placebo` writes an empty truth comparison: the summary still reads the run."""
    import json

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "truth_comparison.csv").write_text("", encoding="utf-8")
    _est([("placebo", "p_value", 0.001, float("nan"), float("nan"))]).to_csv(
        tmp_path / "estimates.csv", index=False
    )
    (tmp_path / "manifest.json").write_text(
        json.dumps({"data": {"simulated": True}}), encoding="utf-8"
    )
    lines = findings.terminal_lines(tmp_path)
    assert lines[0].startswith("findings: No estimator of the overall effect ran")
    assert lines[-1] == f"report: {tmp_path / 'report.html'}"
