"""What the study found, for the first screen of the report and the end of the terminal
output: made from estimates.csv and crosscheck.csv alone, never typed. Sentences are filled
from the numbers by stated rules (tests/test_findings.py checks them).

- The headline: every estimator of the study's overall effect, side by side, with its
  interval (and the true effect on simulated data).
- The checks: the joint pre-trend test, HonestDiD's breakdown values, the placebo p-value,
  the range of the robustness table, the channels' and splits' signs and significance, and
  the R cross-check's verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# (label, model, term): the study's overall effect by each estimator, in the report's order.
HEADLINE = (
    ("TWFE", "baseline_twfe", "treat_post"),
    ("TWFE with controls", "baseline_twfe_controls", "treat_post"),
    ("Callaway-Sant'Anna, simple", "cs_simple", "ATT"),
    ("Callaway-Sant'Anna, dynamic", "cs_dynamic", "overall"),
    ("Sun-Abraham", "sunab", "ATT"),
    ("Two-stage (did2s)", "did2s", "ATT"),
    ("Imputation", "imputation", "ATT"),
    ("DML, partially linear", "dml_plr", "treat_post"),
    ("DML, staggered", "dml_did_simple", "ATT"),
)
ALPHA = 0.05


@dataclass(frozen=True)
class Headline:
    label: str
    model: str
    estimate: float
    conf_low: float
    conf_high: float
    p_value: float
    std_error: float
    truth: float | None = None


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce")


def _row(est: pd.DataFrame, model: str, term: str) -> pd.Series | None:
    hit = est[(est["model"] == model) & (est["term"] == term)]
    return None if hit.empty else hit.iloc[0]


def headline(est: pd.DataFrame, truth: pd.DataFrame | None = None) -> list[Headline]:
    """The overall effect by each estimator the run has (in HEADLINE's order)."""
    out = []
    for label, model, term in HEADLINE:
        row = _row(est, model, term)
        if row is None or not np.isfinite(float(row["estimate"])):
            continue
        true = None
        if truth is not None and not truth.empty:
            hit = truth[(truth["model"] == model) & (truth["term"] == term)]
            true = float(hit["truth"].iloc[0]) if len(hit) else None
        out.append(
            Headline(
                label,
                model,
                float(row["estimate"]),
                float(row["conf_low"]),
                float(row["conf_high"]),
                float(row["p_value"]),
                float(row["std_error"]),
                true,
            )
        )
    return out


def sign_word(value: float) -> str:
    return "positive" if value > 0 else "negative" if value < 0 else "zero"


def verdict(rows: list[Headline], simulated: bool) -> str:
    """One sentence from the headline numbers: the majority sign, in how many estimators it
    is significant at 5%, and the range."""
    if not rows:
        return "No estimator of the overall effect ran on these data."
    signs = [np.sign(r.estimate) for r in rows]
    main = 1.0 if signs.count(1.0) >= signs.count(-1.0) else -1.0
    same = [r for r in rows if np.sign(r.estimate) == main]
    significant = [r for r in same if r.p_value < ALPHA]
    low, high = min(r.estimate for r in rows), max(r.estimate for r in rows)
    text = (
        f"The overall effect is {sign_word(main)} in {len(same)} of {len(rows)} estimators "
        f"and significant at 5% in {len(significant)} of {len(rows)}; the estimates range "
        f"from {fmt(low)} to {fmt(high)}."
    )
    covered = [r for r in rows if r.truth is not None]
    if covered:
        inside = sum(r.conf_low <= r.truth <= r.conf_high for r in covered)  # type: ignore[operator]
        text += f" The true effect is inside {inside} of {len(covered)} intervals."
    if simulated:
        text += " Simulated data: the embedded default panel, not the study's yearbook data."
    return text


def fmt(value: float, digits: int = 3) -> str:
    """A number to `digits` significant digits (plain notation where it reads well)."""
    if not np.isfinite(value):
        return "NA"
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e5:
        decimals = max(0, digits - 1 - int(np.floor(np.log10(abs(value)))))
        return f"{value:.{decimals}f}"
    return f"{value:.{digits - 1}e}"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def checks(
    est: pd.DataFrame,
    crosscheck: pd.DataFrame | None,
    out_hint: str,
    cohorts: dict[int, int] | None = None,
) -> list[tuple[str, str]]:
    """(check, result) lines: pre-trends, HonestDiD, placebo, robustness, channels, splits,
    the few-treated-clusters tests and which p-value to read (`cohorts`: treated units per
    cohort), the R cross-check."""
    lines: list[tuple[str, str]] = []
    pre = _row(est, "event_study", "joint_pre_F")
    if pre is not None:
        p = float(pre["p_value"])
        word = "not rejected" if p >= ALPHA else "rejected"
        lines.append(
            (
                "Pre-trends (TWFE event study, joint F)",
                f"F = {fmt(float(pre['estimate']))}, {_p(p)}: {word} at 5%",
            )
        )
    for model, name in (("honest_rm", "relative magnitudes, Mbar"), ("honest_sd", "smoothness, M")):
        row = _row(est, model, "breakdown")
        if row is not None and not str(row["estimate"]).strip():  # NaN: none in the range
            lines.append(
                (
                    "HonestDiD breakdown",
                    f"{name}: beyond the searched range (the effect stays significant at "
                    "every value searched)",
                )
            )
        elif row is not None:
            value = float(row["estimate"])
            text = (
                f"{name} = {fmt(value)} (the largest violation at which the effect stays significant)"
                if np.isfinite(value)
                else f"{name}: none on the grid (the effect is not significant even at 0)"
            )
            lines.append(("HonestDiD breakdown", text))
    placebo = _row(est, "placebo", "p_value")
    if placebo is not None:
        lines.append(("Placebo (randomization inference)", _p(float(placebo["estimate"]))))
    robust = est[est["model"].str.startswith("robust_") & (est["term"] == "treat_post")]
    if len(robust):
        values, ps = _num(robust, "estimate"), _num(robust, "p_value")
        main = np.sign(values.median())
        lines.append(
            (
                "Robustness table",
                f"{len(robust)} checks from {fmt(values.min())} to {fmt(values.max())}; "
                f"{int(((np.sign(values) == main) & (ps < ALPHA)).sum())} of {len(robust)} "
                f"{sign_word(main)} and significant at 5%",
            )
        )
    channel = est[est["model"].str.startswith("mechanism_") & (est["term"] == "treat_post")]
    channel = channel[~channel["model"].str.startswith(("mechanism_direct_", "mechanism_link_"))]
    if len(channel):
        parts = [
            f"{m.removeprefix('mechanism_')} {sign_word(float(v))[:3]} ({_p(float(p))})"
            for m, v, p in zip(
                channel["model"], channel["estimate"], channel["p_value"], strict=True
            )
        ]
        lines.append(("Channels: effect on each (TWFE)", "; ".join(parts)))
    splits = est[
        est["model"].str.endswith("_interaction") & est["term"].str.startswith("treat_post:")
    ]
    if len(splits):
        parts = [
            f"{t.removeprefix('treat_post:')} {sign_word(float(v))[:3]} ({_p(float(p))})"
            for t, v, p in zip(splits["term"], splits["estimate"], splits["p_value"], strict=True)
        ]
        lines.append(("Splits: difference of effects (interaction)", "; ".join(parts)))
    lines += few_clusters(est, cohorts)
    lines.append(("R cross-check", crosscheck_verdict(crosscheck, out_hint)))
    return lines


FEW = 10  # treated clusters in a cohort below which the analytical tests over-reject (README)


def few_clusters(est: pd.DataFrame, cohorts: dict[int, int] | None) -> list[tuple[str, str]]:
    """The wild bootstrap and randomization p-values beside the rule that says when to read
    them: a treated cohort with fewer than FEW clusters (README, 'Which p-value to read')."""
    lines: list[tuple[str, str]] = []
    for label, rows in (
        (
            "Wild cluster bootstrap (WCR)",
            (
                ("baseline_twfe_wild", "treat_post", "TWFE"),
                ("baseline_twfe_controls_wild", "treat_post", "TWFE with controls"),
                ("event_study_wild", "joint_pre_F", "pre-trend joint test"),
            ),
        ),
        (
            "Randomization at the level of assignment",
            (
                ("ri_cs_simple", "ATT", "CS simple"),
                ("ri_cs_dynamic", "overall", "CS dynamic overall"),
            ),
        ),
    ):
        parts = [
            f"{name} {_p(float(row['p_value']))}"
            for model, term, name in rows
            if (row := _row(est, model, term)) is not None
        ]
        if parts:
            lines.append((label, "; ".join(parts)))
    if cohorts:
        g, n = min(cohorts.items(), key=lambda kv: kv[1])
        rule = (
            f"the smallest treated cohort ({g}) has {n} clusters, fewer than {FEW}: read the wild "
            "bootstrap (TWFE) and randomization (Callaway-Sant'Anna) p-values"
            if n < FEW
            else f"every treated cohort has at least {FEW} clusters: the analytical p-values hold"
        )
        lines.append(("Which p-value to read", rule))
    return lines


def crosscheck_verdict(crosscheck: pd.DataFrame | None, out_hint: str) -> str:
    if crosscheck is None:
        return f"not run: python -m analysis crosscheck --out {out_hint}"
    counts = crosscheck["status"].value_counts()
    engines = ", ".join(sorted(set(crosscheck["r_engine"].dropna()) - {""})) or "none"
    return (
        f"{int(counts.get('pass', 0))} pass, {int(counts.get('fail', 0))} fail, "
        f"{int(counts.get('skipped', 0))} skipped (R engines: {engines})"
    )


def _read(path: Path) -> pd.DataFrame | None:
    """A written table, or None when it is absent or empty (a run whose exhibits have no
    known truth writes an empty truth comparison)."""
    if not path.exists():
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return None


def terminal_lines(out: Path) -> list[str]:
    """The report's first screen in a few lines for the end of `python -m analysis`: the
    verdict, each estimator's overall effect, the pre-trend test, the R cross-check and where
    the report is."""
    est = pd.read_csv(out / "estimates.csv", dtype=str, keep_default_na=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    truth_csv = out / "tables" / "truth_comparison.csv"
    truth = _read(truth_csv)
    cc_csv = out / "crosscheck.csv"
    crosscheck = pd.read_csv(cc_csv, dtype=str, keep_default_na=False) if cc_csv.exists() else None
    rows = headline(est, truth)
    lines = [f"findings: {verdict(rows, manifest['data']['simulated'])}"]
    width = max((len(r.label) for r in rows), default=0)
    lines += [
        f"  {r.label:<{width}}  {fmt(r.estimate):>9} ({fmt(r.std_error)})  "
        f"[{fmt(r.conf_low)}, {fmt(r.conf_high)}]"
        for r in rows
    ]
    wanted = ("Pre-trends (TWFE event study, joint F)", "Which p-value to read", "R cross-check")
    lines += [
        f"{name}: {result}"
        for name, result in checks(est, crosscheck, str(out), cohort_sizes(out))
        if name in wanted
    ]
    spec = manifest.get("specification") or {}
    if spec and not spec.get("as_in_paper", True):
        lines.append(
            f"specification: differs from the paper's in {len(spec['differences'])} ways "
            "(listed in the report's first screen and manifest.json)"
        )
    lines.append(f"report: {out / 'report.html'}")
    return lines


def cohort_sizes(out: Path) -> dict[int, int] | None:
    """Treated units per cohort in the run's analysis panel (None when it is not there)."""
    path = out / "analysis_panel.csv"
    if not path.exists():
        return None
    panel = pd.read_csv(path, usecols=["city_code", "first_treat"])
    first = panel.groupby("city_code")["first_treat"].first()
    counts = first[first > 0].value_counts()
    return {int(float(str(g))): int(n) for g, n in counts.sort_index().items()}
