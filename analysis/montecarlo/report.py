"""`report.html` of a Monte Carlo folder: one self-contained page (figures embedded) with the
settings, the designs, the acceptance checks, the HonestDiD coverage and the summary of every
design. Only deterministic facts go in (no seconds, no cluster), so the page is
byte-identical whatever ran the replications."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.render.tables import format_numbers
from analysis.simulation.designs import DESIGNS

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2em}table{border-collapse:collapse;font-size:.8em}
td,th{border:1px solid #ddd;padding:2px 6px}th{background:#f3f3f3}
.banner{background:#fff3cd;border:1px solid #e0c36c;padding:.6em 1em;font-weight:600}
.pass{color:#1a7f37}.fail{color:#b42318;font-weight:700}img{max-width:100%}
"""
READING = (
    "Read each design's table row by row. bias is the mean of estimate minus truth (truth: the "
    "replication's own true value), sd the standard deviation of that error, bias_sd their "
    "ratio: an unbiased estimator has |bias_sd| within about 2 x (1 / sqrt(n)) of zero. "
    "se_ratio is the mean reported standard error over sd (1: the standard errors are right). "
    "coverage is the share of intervals that hold the truth (nominal 0.95, Monte Carlo SE "
    "coverage_mcse); rejection is the share of tests that reject zero at 5%: the size where "
    "the truth is zero (no_effect, pre-trend and placebo tests under parallel trends), the "
    "power otherwise."
)


def _table(frame: pd.DataFrame) -> str:
    cells = format_numbers(frame).astype(str).replace("nan", "")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cells.columns)
    body = []
    for row in cells.itertuples(index=False):
        tds = []
        for c, v in zip(cells.columns, row, strict=True):
            cls = f' class="{v}"' if c == "status" and v in ("pass", "fail") else ""
            tds.append(f"<td{cls}>{html.escape(str(v))}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{path.stem}" src="data:image/png;base64,{data}"></p>'


def render(
    folder: Path,
    summary: pd.DataFrame,
    acceptance: pd.DataFrame,
    honest: pd.DataFrame,
    failures: pd.DataFrame,
    reps: dict[str, int],
    note: str,
    manifest: dict[str, Any],
) -> Path:
    """Write folder/report.html from the finished tables and figures."""
    designs = "".join(
        f"<li><b>{html.escape(n)}</b> ({reps[n]} replications): "
        f"{html.escape(DESIGNS[n].description)}</li>"
        for n in DESIGNS
        if n in reps
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Monte Carlo</title>"
        f"<style>{CSS}</style></head><body>",
        "<h1>Monte Carlo evidence for the study's estimators</h1>",
        '<p class="banner">SIMULATED DATA: replications of the documented process '
        "(analysis/simulation/dgp.py, designs in analysis/simulation/designs.py) with known true effects.</p>",
        f"<p>{html.escape(note)}</p>",
        f"<p>Seeds: replication r uses the first word of SeedSequence([{manifest['base_seed']}, "
        "r]) for the simulation and for every estimator (listed per row in montecarlo.csv).</p>",
        f"<h2>Designs</h2><ul>{designs}</ul>",
        f"<h2>How to read the tables</h2><p>{html.escape(READING)}</p>",
        "<h2>Acceptance criteria</h2>",
        _table(acceptance),
        "<h2>HonestDiD at Mbar = 1: coverage of the true target</h2>",
        "<p>Target: the mean of the true effects at event times 0..5 (5 = the binned end "
        "point), the causal parameter l'tau of Rambachan and Roth, not the event study's own "
        "l'beta, which includes the differential trend.</p>",
        _table(honest),
    ]
    for name in DESIGNS:
        if name in reps:
            parts += [f"<h2>{html.escape(name)}</h2>", _table(summary[summary["design"] == name])]
    if not failures.empty:
        parts += ["<h2>Estimator failures</h2>", _table(failures)]
    for fig in ("montecarlo_bias", "montecarlo_coverage"):
        path = folder / "figures" / f"{fig}.png"
        if path.exists():
            parts.append(_img(path))
    parts.append(
        "<p>Every estimate: montecarlo.csv; every quantity's statistics: "
        "tables/montecarlo_summary_all.csv; versions, seeds and seconds: manifest.json.</p>"
    )
    parts.append("</body></html>\n")
    out = folder / "report.html"
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
