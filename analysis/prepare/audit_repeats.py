"""Rule of the data audit: values repeated by several units in the same year (copy-paste
errors), judged against the chance of such a tie (documented in analysis.prepare.audit)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from math import comb, log

import numpy as np
import pandas as pd
from scipy.stats import poisson

from analysis.config import AuditConfig
from analysis.prepare.audit_series import Flag, unit_id

NEIGHBOURS = 10  # the density of values around a tie: from its 10 nearest other values
MIN_OTHERS = 3  # fewer other values in the year: no judgement
MAX_DECIMALS = 9
FLOAT32 = 2.0**-23  # values stored in single precision are no more precise than this
SHOWN = 5  # units listed in a flag's detail


def decimals(values: np.ndarray) -> np.ndarray:
    """The decimals each value is written with (as read from text), at most MAX_DECIMALS."""
    out = np.full(values.shape, MAX_DECIMALS)
    open_ = np.ones(values.shape, dtype=bool)
    for d in range(MAX_DECIMALS + 1):
        scaled = values * 10.0**d
        exact = np.abs(scaled - np.round(scaled)) <= np.maximum(1e-6, 1e-13 * np.abs(scaled))
        out[open_ & exact] = d
        open_ &= ~exact
    return out


@dataclass(frozen=True)
class _Tie:
    column: str
    year: int
    value: float
    units: tuple[int | str, ...]
    chance: float  # expected number of other units at exactly this value by chance
    n: int  # units with a value in this column and year


def _ties(
    raw: pd.DataFrame, unit: str, column: str, rules: AuditConfig
) -> tuple[list[_Tie], list[int]]:
    """The tied values of one column, year by year, with their chance; and the years in
    which ties are the rule (more than repeat_share_max of the units share a value)."""
    data = raw[[unit, "year", column]].dropna()
    data = data[data[column] != 0]
    if data.empty:
        return [], []
    step = 10.0 ** -float(np.median(decimals(data[column].to_numpy())))
    order = np.lexsort((data[column].to_numpy(), data["year"].to_numpy()))
    years = data["year"].to_numpy()[order]
    values = data[column].to_numpy(dtype=float)[order]
    units = data[unit].to_numpy()[order]
    ties, coarse = [], []
    bounds = np.flatnonzero(np.diff(years)) + 1
    for lo, hi in zip([0, *bounds], [*bounds, len(years)], strict=True):
        v = values[lo:hi]  # one year's values, sorted
        new = np.concatenate([[True], v[1:] != v[:-1]])
        starts = np.flatnonzero(new)
        sizes = np.diff([*starts, len(v)])
        tied = sizes >= 2
        if not tied.any():
            continue
        year = int(years[lo])
        if sizes[tied].sum() > rules.repeat_share_max * len(v):
            coarse.append(year)
            continue
        for start, size in zip(starts[tied], sizes[tied], strict=True):
            value = float(v[start])
            others = np.concatenate([v[:start], v[start + size :]])
            k = min(NEIGHBOURS, len(others))
            if k < MIN_OTHERS:
                continue
            width = float(np.partition(np.abs(others - value), k - 1)[k - 1])
            resolution = max(step, abs(value) * FLOAT32)
            chance = k / (2 * width) * resolution if width > 0 else np.inf
            members = tuple(unit_id(u) for u in units[lo + start : lo + start + size])
            ties.append(_Tie(column, year, value, members, chance, len(v)))
    return ties, coarse


def _listed(units: list[int | str]) -> str:
    shown = ", ".join(str(u) for u in units[:SHOWN])
    return shown + (f" and {len(units) - SHOWN} more" if len(units) > SHOWN else "")


def fisher(p: float, k: int) -> float:
    """The chance that k independent uniform p-values have a product as small as p
    (Fisher's combination, in closed form)."""
    if p <= 0:
        return 0.0
    term, total = 1.0, 1.0
    for i in range(1, k):
        term *= -log(p) / i
        total += term
    return min(1.0, p * total)


def _chance(tie: _Tie, departures: pd.DataFrame | None) -> float:
    """The chance of the tie (m - 1 other units landing on the value), combined with the
    chance that the tied cells depart from their own units' series as far as they do (the
    share of the column's cells departing as far: no distribution assumed); the member that
    fits its series best is taken as the source of the value."""
    p_tie = float(poisson.sf(len(tie.units) - 2, tie.chance))
    if departures is None or tie.year not in departures.columns:
        return p_tie
    every = np.sort(departures.to_numpy(dtype=float).ravel())
    every = every[np.isfinite(every)]
    z = departures[tie.year].reindex(list(tie.units)).to_numpy(dtype=float)
    as_far = len(every) - np.searchsorted(every, z, side="left")  # cells departing >= z
    p_cells = np.where(np.isfinite(z), as_far / (len(every) + 1), 1.0)
    p_series = sorted(float(p) for p in p_cells)[:-1]
    return fisher(p_tie * float(np.prod(p_series)), 1 + len(p_series))


def repeated_flags(
    raw: pd.DataFrame,
    unit: str,
    columns: list[str],
    rules: AuditConfig,
    departures: dict[str, pd.DataFrame] | None = None,
) -> tuple[list[Flag], list[str]]:
    """Flags of values shared by more units than chance explains, and notes on columns
    whose values are shared by design (e.g. a province-level indicator). `departures`:
    per column, each cell's robust z against its own series (audit_series.departures)."""
    ties: list[_Tie] = []
    notes = []
    for column in columns:
        found, coarse = _ties(raw, unit, column, rules)
        ties += found
        if coarse:
            notes.append(
                f"{column}: in {_years(coarse)} most units share their value with another "
                "unit (a province-level indicator?); repeated values are not flagged there"
            )
    cells = int(sum(int(((raw[c].notna()) & (raw[c] != 0)).sum()) for c in columns))
    log_alpha = log(rules.repeat_alpha)
    flags = []
    # A value shared by m units: the chance of the tie, and of the tied cells' departures
    # from their own series, over every cell of the panel.
    for tie in ties:
        p = _chance(tie, (departures or {}).get(tie.column))
        if p > 0 and log(p) + log(cells) > log_alpha:
            continue
        for u in tie.units:
            others = [o for o in tie.units if o != u]
            detail = (
                f"same value as {_listed(others)} in {tie.year} "
                f"(chance in this panel ~{p * cells:.1g})"
            )
            flags.append(Flag(u, tie.year, tie.column, tie.value, "repeated", detail))
    # Two units with the same values in several columns of one year: a copied row.
    pairs: dict[tuple[int, int | str, int | str], list[tuple[str, float, float]]] = defaultdict(
        list
    )
    for tie in ties:
        per_unit = tie.chance / max(tie.n - 1, 1)
        for i, a in enumerate(tie.units):
            for b in tie.units[i + 1 :]:
                pairs[(tie.year, a, b)].append((tie.column, per_unit, tie.value))
    n_units = raw[unit].nunique()
    n_years = raw["year"].nunique()
    for (year, a, b), shared in sorted(pairs.items(), key=lambda kv: str(kv[0])):
        if len(shared) < 2:
            continue
        log_p = sum(log(c) if c > 0 else -np.inf for _, c, _ in shared)
        tests = comb(n_units, 2) * n_years * comb(len(columns), len(shared))
        if log_p + log(tests) > log_alpha:
            continue
        names = ", ".join(c for c, _, _ in shared)
        for column, _, value in shared:
            for u, other in ((a, b), (b, a)):
                detail = f"same values as {other} in {len(shared)} columns of {year} ({names})"
                flags.append(Flag(u, year, column, value, "repeated", detail))
    return flags, notes


def _years(years: list[int]) -> str:
    """Years as ranges: 2009-2012, 2015."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][1] + 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
