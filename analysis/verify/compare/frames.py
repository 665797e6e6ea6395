"""Comparison of CSV files whose rows have keys: estimates.csv (exhibit, model, term; each
row's tolerance kind from its structured columns) and panels (city_code, year). Vectorized
over cells: only differing cells are examined one by one."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.precision import TOLERANCES, estimate_kind
from analysis.verify.compare.report import MAX_LISTED, FileReport, Finding

ESTIMATE_KEYS = ("exhibit", "model", "term")
PANEL_KEYS = ("city_code", "year")
COUNT_COLUMNS = {"n_obs", "n_clusters", "reference_period"}
# Scale of each numeric column of estimates.csv (see analysis.precision): the row's
# standard error for quantities in outcome units, 1 for statistics and p-values.
SE_SCALED = {"estimate", "std_error", "conf_low", "conf_high"}
UNIT_SCALED = {"statistic", "p_value"}


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _labels(frame: pd.DataFrame, keys: Iterable[str]) -> list[str]:
    """A name for each row from its key columns (plus the occurrence, for repeated keys)."""
    cols = [k for k in keys if k in frame.columns]
    if not cols:
        return [f"line {i + 2}" for i in range(len(frame))]
    text = frame[cols[0]].map(lambda v: f"{cols[0]}={v}")
    for c in cols[1:]:
        text = text + frame[c].map(lambda v, c=c: f", {c}={v}")
    occurrence = frame.groupby(cols, sort=False).cumcount()
    return [t if n == 0 else f"{t} #{n}" for t, n in zip(text, occurrence, strict=True)]


def _frames(
    rep: FileReport,
    a: pd.DataFrame,
    b: pd.DataFrame,
    keys: Iterable[str],
    kinds: list[str],
    scale_of: Callable[[pd.DataFrame, str], np.ndarray],
    counts: set[str],
) -> None:
    """Two tables of text cells: same columns, same keyed rows, cells equal or within the
    tolerance of their row's kind (`kinds`, one per row of a) on the scale scale_of(a, column);
    the columns in `counts` are exact. Vectorized: only differing cells are reported."""
    if list(a.columns) != list(b.columns):
        only = sorted(set(a.columns) ^ set(b.columns))
        where = f"columns {', '.join(only)}" if only else "column order"
        rep.differ(
            Finding(where, ", ".join(a.columns), ", ".join(b.columns), "count", 0.0, math.inf)
        )
        return
    la, lb = _labels(a, keys), _labels(b, keys)
    pos_b = {k: i for i, k in enumerate(lb)}
    missing = [k for k in la if k not in pos_b] + sorted(set(lb) - set(la))
    for k in missing[:MAX_LISTED]:
        rep.differ(Finding(f"row ({k})", "in one run only", "", "count", 0.0, math.inf))
    keep = np.array([k in pos_b for k in la])
    take = [pos_b[k] for k, ok in zip(la, keep, strict=True) if ok]
    fa = a.loc[keep].reset_index(drop=True)
    fb = b.iloc[take].reset_index(drop=True)
    labels = [k for k, ok in zip(la, keep, strict=True) if ok]
    rtol_all = np.array([TOLERANCES[k].rtol for k in kinds])[keep]
    kind_all = np.array(kinds, dtype=object)[keep]
    for c in fa.columns:
        unequal = (fa[c] != fb[c]).to_numpy()
        if not unequal.any():
            continue
        rows = np.flatnonzero(unequal)
        ta, tb = fa[c].to_numpy()[rows], fb[c].to_numpy()[rows]
        x = pd.to_numeric(pd.Series(ta), errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(pd.Series(tb), errors="coerce").to_numpy(dtype=float)
        exact = c in counts
        rtol = np.zeros(len(rows)) if exact else rtol_all[rows]
        scale = np.abs(scale_of(fa, c)[rows])
        both_nan = np.isnan(x) & np.isnan(y) & (ta != "") & (tb != "")
        finite = np.isfinite(x) & np.isfinite(y)
        big = np.maximum(np.maximum(np.abs(x), np.abs(y)), scale)
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = np.where(finite, np.abs(x - y), np.inf)
            size = np.where(finite, diff / np.maximum(big, 1e-300), np.inf)
        ok = both_nan | (finite & (diff <= rtol * big))
        for i in np.flatnonzero(~ok)[:MAX_LISTED]:
            kind = "count" if exact else str(kind_all[rows[i]])
            rep.differ(
                Finding(
                    f"row ({labels[rows[i]]}), column {c}",
                    str(ta[i]),
                    str(tb[i]),
                    kind,
                    float(rtol[i] * big[i]) if finite[i] else 0.0,
                    float(size[i]),
                )
            )
        rep.more += max(0, int((~ok).sum()) - MAX_LISTED)
        noise = np.flatnonzero(ok & finite)
        if len(noise):
            i = noise[np.argmax(size[noise])]
            rep.noise(
                Finding(
                    f"row ({labels[rows[i]]}), column {c}",
                    str(ta[i]),
                    str(tb[i]),
                    str(kind_all[rows[i]]),
                    float(rtol[i] * big[i]),
                    float(size[i]),
                )
            )


def estimates(a: Path, b: Path, rep: FileReport) -> None:
    """estimates.csv: rows by exhibit, model and term; each row's kind from its structured
    columns; numbers in outcome units on the scale of the row's standard error."""
    fa, fb = read(a), read(b)
    kinds = [
        estimate_kind(*r)
        for r in zip(fa["estimator"], fa["engine"], fa["estimand"], fa["vcov"], strict=True)
    ]
    se = np.abs(pd.to_numeric(fa["std_error"], errors="coerce").fillna(0.0).to_numpy())

    def scale_of(frame: pd.DataFrame, column: str) -> np.ndarray:
        if column in UNIT_SCALED:
            return np.ones(len(frame))
        return se[: len(frame)] if column in SE_SCALED else np.zeros(len(frame))

    _frames(rep, fa, fb, ESTIMATE_KEYS, kinds, scale_of, COUNT_COLUMNS)


def panel(a: Path, b: Path, rep: FileReport, kind: str = "closed_form") -> None:
    """A panel (or any CSV keyed by city_code and year): integer columns are counts, other
    numbers are compared on the scale of their column's median magnitude."""
    fa, fb = read(a), read(b)

    def scale_of(frame: pd.DataFrame, column: str) -> np.ndarray:
        values = pd.to_numeric(frame[column], errors="coerce").abs()
        values = values[values > 0]
        return np.full(len(frame), float(values.median()) if len(values) else 0.0)

    integer = {c for c in fa.columns if fa[c].str.fullmatch(r"-?\d*").all()}
    _frames(rep, fa, fb, PANEL_KEYS, [kind] * len(fa), scale_of, integer)
