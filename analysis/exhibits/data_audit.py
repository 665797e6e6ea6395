"""Table 0 and Figure 0: the data audit. What is odd in the raw panel as the user holds it:
coverage by column and year, the cells interpolated or dropped, and one flag per odd cell
(rules and thresholds: analysis.prepare.audit and the [audit] table). Flags are reported,
never corrected; the audit estimates nothing (no rows in estimates.csv). It runs on every
run, also with --only."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from analysis.exhibit import Context, Output, declare
from analysis.prepare.audit import KINDS, UNIT, Audit, audit
from analysis.prepare.loading import role_columns
from analysis.render.figures_audit import coverage_figure

TABLE = "table0_data_audit"
FLAGS = "table0b_audit_flags"
FIGURE = "figure0_coverage"
ANOMALIES = tuple(k for k in KINDS if k != "missing")
log = logging.getLogger("analysis")


def _raw(ctx: Context) -> tuple[pd.DataFrame, str]:
    """The raw panel as loaded; without it (an exhibit run on a ready panel), the inputs
    kept in the analysis panel (after missing values were handled)."""
    if ctx.raw is not None:
        return ctx.raw, ""
    kept = [c for c in ctx.panel.columns if c.startswith("raw_")]
    frame = ctx.panel[[UNIT, "year", *kept]].rename(columns=lambda c: c.removeprefix("raw_"))
    return frame, "The raw panel was not given: audited the inputs of the analysis panel."


def missing_outcomes(flags: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """The missing cells' detail: interpolated (with the value), dropped with the city-year,
    or outside the sample (the city or the year is not in the analysis panel)."""
    out = flags.copy()
    missing = out["kind"] == "missing"
    if not missing.any():
        return out
    rows = panel.set_index([UNIT, "year"])
    units, years = set(panel[UNIT]), set(panel["year"])
    details = []
    for unit, year, column in out.loc[missing, ["unit", "year", "column"]].itertuples(index=False):
        if (unit, year) in rows.index and f"raw_{column}" in rows.columns:
            value = float(rows.at[(unit, year), f"raw_{column}"])  # type: ignore[arg-type]
            details.append(f"interpolated: {value:.6g}")
        elif unit in units and year in years:
            details.append("dropped with its city-year")
        else:
            details.append("outside the sample")
    out.loc[missing, "detail"] = details
    return out


def _counts(ctx: Context, flags: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Cells interpolated and dropped per column: the preparation's counts when given, else
    counted from the missing cells' outcomes."""
    if ctx.prepared is not None and ctx.prepared.interpolated_by_column:
        info = ctx.prepared
        return pd.DataFrame(
            {
                "interpolated": [info.interpolated_by_column.get(c, 0) for c in columns],
                "dropped": [info.dropped_by_column.get(c, 0) for c in columns],
            },
            index=list(columns),
        )
    missing = flags[flags["kind"] == "missing"]
    detail = missing["detail"].astype(str)
    interpolated = missing.loc[detail.str.startswith("interpolated"), "column"].value_counts()
    dropped = missing.loc[detail == "dropped with its city-year", "column"].value_counts()
    return pd.DataFrame(
        {
            "interpolated": [int(interpolated.get(c, 0)) for c in columns],
            "dropped": [int(dropped.get(c, 0)) for c in columns],
        },
        index=list(columns),
    )


def summary(result: Audit, flags: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """One row per audited column: cells, coverage (overall and the lowest year), cells
    interpolated and dropped, flags by kind; a last row sums them."""
    cols = result.columns
    source = role_columns(ctx.cfg)
    cov = result.coverage
    lowest = [
        f"{cov.loc[c].idxmin()}: {100 * cov.loc[c].min():.1f}%" if cov.loc[c].min() < 1 else ""
        for c in cols
    ]
    counts = result.counts()
    missing = counts["missing"].to_numpy(dtype=int)
    handled = _counts(ctx, flags, cols)
    n_rows = int(result.rows.sum())
    table = pd.DataFrame(
        {
            "column": list(cols),
            "source": [source.get(c, c) for c in cols],
            "cells": [n_rows] * len(cols),
            "missing": missing,
            "coverage": 1 - missing / n_rows if n_rows else np.nan,
            "lowest_year": lowest,
            "interpolated": handled["interpolated"].astype(int).to_list(),
            "dropped": handled["dropped"].astype(int).to_list(),
            **{k: counts[k].astype(int).to_list() for k in ANOMALIES},
        }
    )
    table["flags"] = table[list(ANOMALIES)].sum(axis=1)
    total: dict[str, Any] = {"column": "all", "source": "", "lowest_year": ""}
    for name in ("cells", "missing", "interpolated", "dropped", *ANOMALIES, "flags"):
        total[name] = int(table[name].sum())
    total["coverage"] = 1 - total["missing"] / total["cells"] if total["cells"] else np.nan
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def flag_table(flags: pd.DataFrame, ctx: Context) -> pd.DataFrame:
    """Every flag: unit, year, column (role) and the user's column name, value, kind and
    detail. Values are written as read (up to 10 significant digits)."""
    source = role_columns(ctx.cfg)
    out = flags.copy()
    out.insert(3, "source", [source.get(c, c) for c in out["column"]])
    out["value"] = [f"{v:.10g}" if np.isfinite(v) else "" for v in out["value"]]
    return out


def _thresholds(ctx: Context) -> str:
    a = ctx.cfg.audit
    ranges = "; ".join(f"{r} in [{lo:g}, {hi:g}]" for r, lo, hi in a.ranges) or "none"
    return (
        f"Thresholds ([audit]): jump_ratio {a.jump_ratio:g}, jump_z {a.jump_z:g}, "
        f"scale_tolerance {a.scale_tolerance:g}, cross_orders {a.cross_orders:g}, "
        f"repeat_alpha {a.repeat_alpha:g}, repeat_share_max {a.repeat_share_max:g}, "
        f"sum_tolerance {a.sum_tolerance:g}; ranges: {ranges}."
    )


def run(ctx: Context) -> Output:
    """Audit the raw panel; nothing is estimated or corrected."""
    raw, fallback = _raw(ctx)
    result = audit(raw, ctx.cfg.audit)
    flags = missing_outcomes(result.flags, ctx.panel)
    table = summary(result, flags, ctx)
    total = table.iloc[-1]
    counts = {k: int(total[k]) for k in ANOMALIES}
    log.info(
        "data audit: %d missing cells (%d interpolated, %d dropped), %d flags%s",
        total["missing"],
        total["interpolated"],
        total["dropped"],
        total["flags"],
        "".join(f", {k} {n}" for k, n in counts.items() if n),
    )
    parts = [
        "Flags are reported, never corrected; rules in analysis/prepare/audit.py.",
        *result.notes,
        fallback,
        _thresholds(ctx),
    ]
    notes = " ".join(p for p in parts if p)
    figure_note = "Rows of the file in each year as denominator; cells below 100% are labelled."
    return Output(
        tables={TABLE: table, FLAGS: flag_table(flags, ctx)},
        figures={FIGURE: partial(coverage_figure, result.coverage, figure_note)},
        notes={TABLE: notes, FLAGS: "One row per odd cell; missing cells say what was done."},
        manifest={
            "cells": int(total["cells"]),
            "missing": int(total["missing"]),
            "interpolated": int(total["interpolated"]),
            "dropped": int(total["dropped"]),
            "flags": counts,
            "notes": list(result.notes),
        },
    )


EXHIBIT = declare(
    run, "Table 0 and Figure 0. Data audit", tables=(TABLE, FLAGS), figures=(FIGURE,), always=True
)
