"""The Monte Carlo's files, made from the stored replications of every design in the folder:
`montecarlo.csv` (one row per replication and estimate), `tables/montecarlo_summary.*`
(the headline quantities; every quantity in `montecarlo_summary_all.csv`),
`tables/montecarlo_acceptance.*`, `tables/montecarlo_honest.*`, `figures/montecarlo_bias.png`,
`figures/montecarlo_coverage.png`, `report.html` and `manifest.json`.

Everything but manifest.json (which holds seconds and the cluster) is a function of the stored
replications alone, so it is byte-identical whatever the number of workers, the chunking and
the order of completion. The files are written into a temporary folder and moved into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.montecarlo import figures
from analysis.montecarlo.acceptance import evaluate
from analysis.montecarlo.estimators import ESTIMATORS
from analysis.montecarlo.report import render
from analysis.montecarlo.store import stores
from analysis.montecarlo.summary import covers, failures, headline, rejects, summarize
from analysis.precision import write_csv, write_json
from analysis.render.tables import format_numbers, write_table
from analysis.simulation.designs import DESIGNS

SHOWN = [
    "design",
    "model",
    "term",
    "n",
    "truth",
    "bias",
    "sd",
    "bias_sd",
    "rmse",
    "se_ratio",
    "coverage",
    "coverage_mcse",
    "rejection",
    "rejection_mcse",
]
HONEST = {
    "honest_original": "original t interval (parallel trends)",
    "honest_rm_naive": "relative magnitudes, naive (diff-diff 3.13)",
    "honest_rm_clf": "relative magnitudes, ARP C-LF",
}
SIMULATED = "SIMULATED DATA: Monte Carlo replications of analysis/simulation/dgp.py (analysis/simulation/designs.py)."


def collect(out: Path) -> pd.DataFrame:
    """Every stored replication of the folder: designs in the registry's order, then
    replications, estimators in the registry's order, rows in their order. An estimate stored
    by two estimator sets (the same replication run twice) is kept once."""
    frames = [s.read() for _, s in stores(out)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.drop_duplicates(["design", "rep", "estimator", "model", "term", "failure"])
    order = {
        "d": frame["design"].map({n: i for i, n in enumerate(DESIGNS)}),
        "e": frame["estimator"].map({n: i for i, n in enumerate(ESTIMATORS)}),
    }
    frame = frame.assign(_d=order["d"], _e=order["e"])
    frame = frame.sort_values(["_d", "rep", "_e", "row"], kind="stable")
    return frame.drop(columns=["_d", "_e"]).reset_index(drop=True)


def with_checks(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """montecarlo.csv: the rows, with whether the interval covers the truth and whether zero
    is rejected at alpha (empty where undefined)."""
    out = frame.copy()
    out["covered"] = covers(out).astype("Int64")
    out["rejected"] = rejects(out, alpha).astype("Int64")
    return out


def headline_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """The headline quantities, every statistic, and bias_sd = bias / sd."""
    keep = [headline(m, t) for m, t in zip(summary["model"], summary["term"], strict=True)]
    t = summary[keep]
    return t.assign(bias_sd=t["bias"] / t["sd"]).reset_index(drop=True)


def honest(summary: pd.DataFrame) -> pd.DataFrame:
    t = summary[summary["model"].isin(list(HONEST))].copy()
    t["interval"] = t["model"].map(HONEST)
    cols = [
        "design",
        "interval",
        "n",
        "truth",
        "mean",
        "bias",
        "coverage",
        "coverage_mcse",
        "width",
        "rejection",
    ]
    return t[cols].reset_index(drop=True)


def _replace(tmp: Path, out: Path) -> None:
    """Move each finished file and folder of `tmp` into `out`, keeping the old one until the
    new one is in place."""
    for item in sorted(tmp.iterdir()):
        target = out / item.name
        old = None
        if target.exists():
            old = out / f".{item.name}.old-{os.getpid()}"
            target.rename(old)
        item.rename(target)
        if old is not None:
            shutil.rmtree(old) if old.is_dir() else old.unlink()


def write(out: Path, level: float, note: str, manifest: dict[str, Any]) -> pd.DataFrame:
    """Write every output of the folder; returns the summary of all quantities."""
    alpha = 1 - level
    frame = collect(out)
    if frame.empty:
        return pd.DataFrame()
    summary = summarize(frame, alpha)
    top = headline_rows(summary)
    table = top[SHOWN]
    accept = evaluate(summary, level)
    fails = failures(frame)
    tmp = Path(tempfile.mkdtemp(prefix=".outputs-tmp-", dir=out))
    try:
        write_csv(with_checks(frame, alpha), tmp / "montecarlo.csv")
        tables = tmp / "tables"
        text = f"{note} {SIMULATED}"
        write_table(table, "montecarlo_summary", "Monte Carlo summary", text, tables)
        format_numbers(summary).to_csv(
            tables / "montecarlo_summary_all.csv", index=False, lineterminator="\n"
        )
        write_table(accept, "montecarlo_acceptance", "Acceptance criteria", text, tables)
        write_table(
            honest(summary),
            "montecarlo_honest",
            "HonestDiD at Mbar = 1: coverage of the true target",
            text,
            tables,
        )
        if not fails.empty:
            fails.to_csv(tables / "montecarlo_failures.csv", index=False, lineterminator="\n")
        fig_note = f"Error bars: two Monte Carlo standard errors. {note}"
        figures.bias_figure(top, fig_note, tmp / "figures" / "montecarlo_bias.png")
        figures.coverage_figure(top, level, fig_note, tmp / "figures" / "montecarlo_coverage.png")
        reps = {
            str(d): int(frame.loc[frame["design"] == d, "rep"].nunique())
            for d in dict.fromkeys(frame["design"])
        }
        render(tmp, table, accept, honest(summary), fails, reps, note, manifest)
        full = {**manifest, "replications": reps, "failures": fails.to_dict("records")}
        write_json(full, tmp / "manifest.json")
        _replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary
