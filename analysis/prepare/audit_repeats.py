"""Rule of the data audit: values repeated by several units in the same year (copy-paste
errors), judged against the chance of such a tie (documented in analysis.prepare.audit).

The rule is for levels as yearbooks print them, whose values rarely coincide by chance.
A discrete column (integer-valued with few distinct values: a count such as complaints,
mostly 0, 1 or 2, or a category code) shares values across units by its nature, so it is
not checked; the audit says so once, naming the columns."""

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
BY_DESIGN = 2.0  # ties in more than this times the share chance explains: shared by design
# A column is discrete when every value is an integer and there are at most DISCRETE_LEVELS
# distinct values, each occurring DISCRETE_REPEATS times on average: a yearbook level has
# about as many distinct values as cells, a count of events a handful.
DISCRETE_LEVELS = 100
DISCRETE_REPEATS = 10


def discrete(values: pd.Series) -> bool:
    """Integer-valued with few distinct values (see DISCRETE_LEVELS), e.g. a count."""
    v = values.dropna().to_numpy(dtype=float)
    if len(v) == 0 or not np.all(v == np.round(v)):
        return False
    levels = len(np.unique(v))
    return levels <= DISCRETE_LEVELS and levels * DISCRETE_REPEATS <= len(v)


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


def _chances(v: np.ndarray, starts: np.ndarray, sizes: np.ndarray, step: float) -> np.ndarray:
    """For each run of equal values in the sorted year `v`: the expected number of other
    units on that exact value by chance, the density of the nearest other values (up to
    NEIGHBOURS on either side) times the precision. NaN with fewer than MIN_OTHERS others."""
    n = len(v)
    offsets = np.arange(1, NEIGHBOURS + 1)[None, :]
    value = v[starts][:, None]
    below = starts[:, None] - offsets
    above = (starts + sizes)[:, None] + offsets - 1
    left = np.where(below >= 0, value - v[np.clip(below, 0, n - 1)], np.inf)
    right = np.where(above < n, v[np.clip(above, 0, n - 1)] - value, np.inf)
    distance = np.sort(np.concatenate([left, right], axis=1), axis=1)
    k = np.minimum(NEIGHBOURS, n - sizes)
    width = distance[np.arange(len(starts)), np.maximum(k - 1, 0)]
    resolution = np.maximum(step, np.abs(value[:, 0]) * FLOAT32)
    with np.errstate(divide="ignore", invalid="ignore"):
        chance = k / (2 * width) * resolution
    return np.where(k >= MIN_OTHERS, chance, np.nan)


def _ties(
    raw: pd.DataFrame, unit: str, column: str, rules: AuditConfig
) -> tuple[list[_Tie], list[int]]:
    """The tied values of one column, year by year, with their chance; and the years whose
    values are shared by design: more than repeat_share_max of the units share a value, and
    more than BY_DESIGN times as many as chance explains at the values' precision."""
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
        starts = np.flatnonzero(np.concatenate([[True], v[1:] != v[:-1]]))
        sizes = np.diff([*starts, len(v)])
        tied = sizes >= 2
        if not tied.any():
            continue
        chance = _chances(v, starts, sizes, step)
        share = sizes[tied].sum() / len(v)
        expected = float(np.nansum(sizes * -np.expm1(-chance))) / len(v)
        year = int(years[lo])
        if share > rules.repeat_share_max and share > BY_DESIGN * expected:
            coarse.append(year)
            continue
        for start, size, c in zip(starts[tied], sizes[tied], chance[tied], strict=True):
            if np.isfinite(c):
                members = tuple(unit_id(u) for u in units[lo + start : lo + start + size])
                ties.append(_Tie(column, year, float(v[start]), members, float(c), len(v)))
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


@dataclass(frozen=True)
class _Fits:
    """How far each cell of one column leaves its own series (robust z, units x years),
    and every such z sorted, for the share of cells departing as far."""

    z: np.ndarray
    rows: dict[int | str, int]
    cols: dict[int, int]
    every: np.ndarray

    @classmethod
    def of(cls, departures: pd.DataFrame) -> _Fits:
        z = departures.to_numpy(dtype=float)
        every = np.sort(z[np.isfinite(z)])
        rows = {unit_id(u): i for i, u in enumerate(departures.index)}
        return cls(z, rows, {int(y): j for j, y in enumerate(departures.columns)}, every)

    def shares(self, units: tuple[int | str, ...], year: int) -> list[float]:
        """Per unit, the share of the column's cells departing at least as far (1: unknown)."""
        j = self.cols.get(year)
        out = []
        for u in units:
            i = self.rows.get(u)
            z = self.z[i, j] if i is not None and j is not None else np.nan
            far = len(self.every) - np.searchsorted(self.every, z, side="left")
            out.append(float(far / (len(self.every) + 1)) if np.isfinite(z) else 1.0)
        return out


def _chance(tie: _Tie, p_tie: float, fits: _Fits | None) -> float:
    """The chance of the tie combined with the chance that the tied cells depart from their
    own units' series as far as they do; the member that fits best is taken as the source."""
    if fits is None:
        return p_tie
    p_series = sorted(fits.shares(tie.units, tie.year))[:-1]
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
    per column, each cell's robust z against its own series (audit_stats.departures)."""
    ties: list[_Tie] = []
    notes = []
    exempt = [c for c in columns if discrete(raw[c])]
    if exempt:
        notes.append(
            f"{', '.join(exempt)}: not checked for repeated values, since a discrete column "
            "(integer-valued with few distinct values, such as a count) shares values across "
            "units by chance"
        )
    columns = [c for c in columns if c not in exempt]
    for column in columns:
        found, coarse = _ties(raw, unit, column, rules)
        ties += found
        if coarse:
            notes.append(
                f"{column}: in {_years(coarse)} most units share their value with another "
                "unit, more than chance explains (a province-level indicator?); repeated "
                "values are not flagged there"
            )
    fits = {c: _Fits.of(d) for c, d in (departures or {}).items()}
    cells = int(sum(int(((raw[c].notna()) & (raw[c] != 0)).sum()) for c in columns))
    log_alpha = log(rules.repeat_alpha)
    sizes = np.array([len(t.units) for t in ties])
    p_ties = poisson.sf(sizes - 2, [t.chance for t in ties]) if ties else np.array([])
    flags = []
    # A value shared by m units: the chance of the tie and of the tied cells' departures
    # from their own series, over every cell of the panel.
    for tie, p_tie in zip(ties, p_ties, strict=True):
        p = _chance(tie, float(p_tie), fits.get(tie.column))
        if p > 0 and log(p) + log(cells) > log_alpha:
            continue
        for u in tie.units:
            others = [o for o in tie.units if o != u]
            detail = (
                f"same value as {_listed(others)} in {tie.year} "
                f"(chance in this panel ~{p * cells:.1g})"
            )
            flags.append(Flag(u, tie.year, tie.column, tie.value, "repeated", detail))
    return flags + _copied_rows(ties, raw, unit, columns, rules), notes


def _copied_rows(
    ties: list[_Tie], raw: pd.DataFrame, unit: str, columns: list[str], rules: AuditConfig
) -> list[Flag]:
    """Two units with the same values in several columns of one year (a copied row): the
    product of the per-pair chances, over every pair, year and set of columns."""
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
    flags = []
    several = [(key, shared) for key, shared in pairs.items() if len(shared) >= 2]
    for (year, a, b), shared in sorted(several, key=lambda kv: str(kv[0])):
        log_p = sum(log(c) if c > 0 else -np.inf for _, c, _ in shared)
        tests = comb(n_units, 2) * n_years * comb(len(columns), len(shared))
        if log_p + log(tests) > log(rules.repeat_alpha):
            continue
        names = ", ".join(c for c, _, _ in shared)
        for column, _, value in shared:
            for u, other in ((a, b), (b, a)):
                detail = f"same values as {other} in {len(shared)} columns of {year} ({names})"
                flags.append(Flag(u, year, column, value, "repeated", detail))
    return flags


def _years(years: list[int]) -> str:
    """Years as ranges: 2009-2012, 2015."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][1] + 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
