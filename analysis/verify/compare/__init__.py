"""Compare two runs' files and tell machine noise from a difference (used by `verify` and
the golden-output test).

Each file is `identical` (same bytes), `within tolerance` (every number agrees within the
tolerance of its kind, analysis.precision.TOLERANCES; the largest difference is reported)
or `different` (the first differences are named: file, row, column, both values and the
tolerance). Compared: estimates.csv (rows matched by exhibit, model and term; the kind of
each row from its structured columns), analysis_panel.csv (rows matched by city and year),
and every table in csv, md and tex (cells or lines in order; numbers in the text compared
with the loosest kind among the estimates of the table's exhibit, plus one unit of the last
shown decimal). Text that is not a number must match exactly; integers are counts and must
match exactly. Figures are drawings of these numbers and are not compared."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.precision import estimate_kind, looser
from analysis.verify.compare.cells import json_scale, json_values, table_csv, text_lines
from analysis.verify.compare.frames import estimates, panel, read
from analysis.verify.compare.report import FileReport, Finding

__all__ = ["FileReport", "Finding", "compare_file", "compare_runs", "exhibit_kinds"]
ESTIMATES = "estimates.csv"
PANEL = "analysis_panel.csv"


def exhibit_kinds(estimates_csv: Path, exhibits: list[dict[str, Any]]) -> dict[str, str]:
    """The loosest kind among each table's exhibit's estimates (closed_form if none)."""
    rows = read(estimates_csv) if estimates_csv.is_file() else pd.DataFrame()
    by_table: dict[str, str] = {}
    for _, r in rows.iterrows():
        k = estimate_kind(r["estimator"], r["engine"], r["estimand"], r["vcov"])
        by_table[r["exhibit"]] = looser(by_table.get(r["exhibit"], "closed_form"), k)
    loosest = "closed_form"
    for k in by_table.values():
        loosest = looser(loosest, k)
    out = {}
    for ex in exhibits:
        names = list(ex.get("tables", []))
        kind = "closed_form"
        for n in names:
            kind = looser(kind, by_table.get(n, "closed_form"))
        out.update(dict.fromkeys(names, kind))
    out["truth_comparison"] = loosest  # estimates of every exhibit beside the truth
    return out


def _files(root: Path, suffixes: tuple[str, ...]) -> set[str]:
    found = {
        f"tables/{p.name}"
        for p in (root / "tables").glob("*")
        if p.is_file() and p.suffix in suffixes
    }
    return found | {f for f in (ESTIMATES, PANEL) if (root / f).is_file()}


def compare_runs(
    a: Path,
    b: Path,
    exhibits: list[dict[str, Any]],
    suffixes: tuple[str, ...] = (".csv", ".md", ".tex"),
) -> list[FileReport]:
    """Compare the estimates, the panel and every table (with these suffixes) of runs a and
    b. `exhibits` is the manifest's list (id and table names of each exhibit), to name each
    table's exhibit and pick its kind."""
    kinds = exhibit_kinds(a / ESTIMATES, exhibits)
    owner = {t: str(ex["id"]) for ex in exhibits for t in ex.get("tables", [])}
    reports = []
    for name in sorted(_files(a, suffixes) | _files(b, suffixes)):
        stem = Path(name).stem
        exhibit = "all" if name in (ESTIMATES, PANEL) else owner.get(stem, "-")
        rep = FileReport(name, exhibit)
        fa, fb = a / name, b / name
        if not (fa.is_file() and fb.is_file()):
            rep.differ(
                Finding(
                    "file",
                    "present" if fa.is_file() else "missing",
                    "present" if fb.is_file() else "missing",
                    "count",
                    0.0,
                    math.inf,
                )
            )
        elif fa.read_bytes() != fb.read_bytes():
            if name == ESTIMATES:
                estimates(fa, fb, rep)
            elif name == PANEL:
                panel(fa, fb, rep)
            elif name.endswith(".csv"):
                table_csv(fa, fb, rep, kinds.get(stem, "closed_form"))
            else:
                text_lines(fa, fb, rep, kinds.get(stem, "closed_form"))
            if not rep.differences and rep.largest is None and not rep.notes:
                rep.notes.append("the bytes differ but every value matches (order or layout)")
        reports.append(rep.finish())
    return reports


def compare_file(a: Path, b: Path, kind: str = "closed_form") -> FileReport:
    """One committed generated file (a) against its regeneration (b): JSON by path and CSV
    keyed by city and year (or by position) under `kind`'s tolerance."""
    rep = FileReport(a.name)
    if a.read_bytes() == b.read_bytes():
        return rep.finish()
    if a.suffix == ".json":
        da = json.loads(a.read_text(encoding="utf-8"))
        db = json.loads(b.read_text(encoding="utf-8"))
        json_values(da, db, rep, kind, scale=json_scale(da))
    elif a.suffix == ".csv":
        panel(a, b, rep, kind)
    else:
        text_lines(a, b, rep, kind)
    return rep.finish()
