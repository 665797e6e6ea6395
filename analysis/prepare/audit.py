"""The data audit: what is odd in the raw panel, as the user holds it. Flags are reported,
never corrected; nothing here changes the data the estimators use.

`audit(raw, rules)` reads the role-named raw panel (analysis.prepare.loading.map_columns:
`city_code`, `year` and one column per mapped role, before the sample filters and the
handling of missing values) and returns an `Audit`: coverage by column and year, and one
flag per odd cell with its unit, year, column (role), value, kind and a detail. Roles that
are not mapped are not audited. Thresholds are the `[audit]` table of the configuration
(analysis.config.schema.AuditConfig).

Rules, one kind of flag each:

- missing: the cell is empty. (The exhibit adds what the preparation did with it:
  interpolated, with the value, dropped with its city-year, or outside the sample.)
- non_positive: a value <= 0 in a role that enters logs or ratios as a level
  (analysis.prepare.panel.POSITIVE), or < 0 in a role that must be non-negative
  (NON_NEGATIVE).
- out_of_range: a value outside `[audit] ranges` (roles that are shares or rates; by default
  digital_employment_share in [0, 1]).
- parts: parts that do not add up, when every role of the relation is mapped: sector value
  added va_primary + va_secondary + va_tertiary against gdp (flagged on gdp), urban
  population above population (flagged on urban_population), beyond a relative gap of
  `sum_tolerance`.
- jump and scale_break in a unit's series (analysis.prepare.audit_series). Level roles
  (POSITIVE and NON_NEGATIVE) are taken in logs, other roles (components, rates, indices)
  as they are. The change common to all units in a year (the median change) is removed
  first, unless that common change is itself a jump: a whole year in other units then shows
  in every unit (and is noted). A change into a cell is a candidate when it departs from the
  unit's median change by more than `jump_z` robust SDs (1.4826 x the median absolute
  deviation) of the unit's own changes, never fewer than the column's typical, and, on log
  scale, is at least `jump_ratio`-fold. A cell away from the mean of its two neighbours by
  the same test, the change out undoing the change in, is an outlier (one flag). Two
  candidates in opposite directions that cancel to within half a step are an episode: each
  cell between is flagged. A candidate left alone is a level shift, flagged in the year it
  starts (when only the first or last cell is on one side, that cell). A step within
  10^(k +/- scale_tolerance) of a power of ten (k >= 1) is a scale_break (万元 for 亿元:
  10^4), any other a jump. A break of scale is undone in a working copy and the search
  repeated, so a unit in other units from some year on is one flag, not a cascade.
- scale_break across units: on level roles, a cell at least 10^cross_orders from its year's
  median and beyond jump_z robust SDs of that year's cross-section, in a unit whose own
  series has no flag in that column (a unit in other units in every year).
- repeated (analysis.prepare.audit_repeats): a non-zero value shared by m units in one
  column and year, when that is less likely than repeat_alpha in the whole panel (one test
  per cell, Bonferroni). The chance combines (Fisher) the chance of the tie, m - 1 other
  units landing on the value (Poisson, with the density of the year's values around it
  from its 10 nearest other values, times the values' precision: their decimals as
  written), with the chance that the tied cells depart from their own series as far as
  they do (the share of the column's cells departing as far; the member that fits best is
  the source). A pasted value that fits none of its new units' series is found even at
  yearbook precision; chance ties are not. Two units sharing values in several columns of
  one year (a copied row) are judged by the product of the per-pair chances over every pair,
  year and set of columns. Where more than repeat_share_max of a column-year's units share a
  value (a province-level indicator), ties are noted, not flagged. A discrete column
  (integer-valued with at most 100 distinct values, each ten times on average: a count of
  events, a category code) shares values by its nature and is not checked; a note says so.

Cells with non_positive or out_of_range values are left out of the other rules (flagged
already). A column-year where at least 10% of the units (and 5) jump is noted: rows
misaligned in that year's table, or the year in other units.

Defaults (data/study.toml) and why. On the embedded default panel the audit reports its 239
planted missing cells (0.3%, analysis/simulation/dgp.py) and no flag, with these margins: robust z
of changes at most 5.3 on level-scale roles against jump_z 6; on log scale the only changes
of 2-fold or more are FDI's (its simulated noise is 20% a year; at most x3.2, at z 3.4);
cross-sections within 1.6 orders of magnitude of their median against 2.5; sectors add up to
GDP to 5e-6 against 0.05; the least likely tie (with how far its cells leave their series)
has a chance of 24 in the panel against 0.001. Twenty further seeds of the simulation raise
no flag either. jump_ratio 2 keeps the fast, uneven growth of young indicators (broadband
subscribers: robust z up to 11) from being called jumps; jump_z 6 keeps two million
simulated changes (21 panels) free of false alarms. With these, planted in 30 random cells
of the default panel each, a fourfold outlier and a 10^4 break (one cell or from a year on)
are found with their kind in 97-100% of trials on every level role but FDI (x4: 23%, its own
noise being 20%), a 2.5-fold level shift in 77-100% (fiscal expenditure, primary value added
and loans being the noisiest); on the components whose values sit near zero, less often (a
growth rate of 0.03 times four is within its noise). cross_orders 2.5 lets real
heterogeneity (a city's primary sector a hundredth of the median) pass while 万元 for 亿元 (4
orders) is caught; repeat_alpha 0.001 is the chance of one false repeated flag in a panel;
sum_tolerance 0.05 is above yearbooks' rounding and revisions (about 1%).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from analysis.config import AuditConfig
from analysis.prepare.audit_repeats import repeated_flags
from analysis.prepare.audit_series import Flag, series_flags, unit_id
from analysis.prepare.audit_stats import departures
from analysis.prepare.panel import NON_NEGATIVE, POSITIVE, raw_value_columns

UNIT = "city_code"
KINDS = (
    "missing",
    "non_positive",
    "out_of_range",
    "parts",
    "jump",
    "scale_break",
    "repeated",
)
FLAG_COLUMNS = ("unit", "year", "column", "value", "kind", "detail")
# Relations between roles: (flagged role, whole, parts, relation).
PARTS = (
    ("gdp", "gdp", ("va_primary", "va_secondary", "va_tertiary"), "sum"),
    ("urban_population", "population", ("urban_population",), "at_most"),
)


@dataclass(frozen=True)
class Audit:
    """What the audit found. `coverage`: share of non-missing cells, column x year (rows of
    the file in that year as denominator); `rows`: rows of the file per year; `flags`: one
    row per odd cell (FLAG_COLUMNS), sorted by kind, column, unit and year."""

    columns: tuple[str, ...]
    rows: pd.Series
    coverage: pd.DataFrame
    flags: pd.DataFrame
    notes: tuple[str, ...]

    def counts(self) -> pd.DataFrame:
        """Flags by column (rows, in the audit's column order) and kind (columns)."""
        table = pd.crosstab(self.flags["column"], self.flags["kind"])
        return table.reindex(index=list(self.columns), columns=list(KINDS), fill_value=0)


def log_scale(role: str) -> bool:
    """Levels (GDP, population, counts, money; the digital sector's employment share, whose
    noise is proportional too) are compared in logs; components, rates and indices as they
    are."""
    return role in (*POSITIVE, *NON_NEGATIVE)


def _domain(raw: pd.DataFrame, columns: list[str], rules: AuditConfig) -> list[Flag]:
    """Values outside their role's domain: non_positive, then out_of_range."""
    ranges = {r: (lo, hi) for r, lo, hi in rules.ranges}
    flags = []
    for column in columns:
        values = raw[column].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            if column in POSITIVE:
                bad, text = values <= 0, "must be positive: it enters logs or ratios"
            elif column in NON_NEGATIVE:
                bad, text = values < 0, "must be non-negative"
            else:
                bad, text = np.zeros(len(values), dtype=bool), ""
            flags += [_flag(raw, i, column, "non_positive", text) for i in _rows(bad)]
            if column in ranges:
                lo, hi = ranges[column]
                outside = ((values < lo) | (values > hi)) & ~bad
                text = f"outside the plausible range [{lo:g}, {hi:g}] ([audit] ranges)"
                flags += [_flag(raw, i, column, "out_of_range", text) for i in _rows(outside)]
    return flags


def _rows(mask: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)]


def _flag(raw: pd.DataFrame, i: int, column: str, kind: str, detail: str) -> Flag:
    return Flag(
        unit_id(raw[UNIT].to_numpy()[i]),
        int(raw["year"].to_numpy()[i]),
        column,
        float(raw[column].to_numpy(dtype=float)[i]),
        kind,
        detail,
    )


def _parts(raw: pd.DataFrame, rules: AuditConfig) -> list[Flag]:
    """Parts against their whole, where every role of a relation is mapped."""
    flags = []
    for flagged, whole, parts, relation in PARTS:
        if not all(c in raw.columns for c in (whole, *parts)):
            continue
        total = raw[list(parts)].sum(axis=1, min_count=len(parts)).to_numpy(dtype=float)
        base = raw[whole].to_numpy(dtype=float)
        with np.errstate(all="ignore"):
            gap = (total - base) / base
            far = np.abs(gap) if relation == "sum" else gap
            bad = (base > 0) & (far > rules.sum_tolerance)
        for i in _rows(bad):
            if relation == "sum":
                detail = f"{' + '.join(parts)} = {total[i]:.6g}, {gap[i]:+.1%} against {whole}"
            else:
                detail = f"exceeds {whole} = {base[i]:.6g} by {gap[i]:.1%}"
            flags.append(_flag(raw, i, flagged, "parts", detail))
    return flags


def _valid(raw: pd.DataFrame, column: str, flagged: set[tuple[int | str, int]]) -> pd.DataFrame:
    """Units x years of one column, without empty cells and cells flagged as invalid; on log
    scale without zeros."""
    data = raw[[UNIT, "year", column]].dropna()
    if flagged:
        pairs = pd.MultiIndex.from_frame(data[[UNIT, "year"]])
        data = data[~pairs.isin(list(flagged))]
    if log_scale(column):
        data = data[data[column] > 0]
    return data.pivot(index=UNIT, columns="year", values=column).sort_index(axis=1)


def audit(raw: pd.DataFrame, rules: AuditConfig) -> Audit:
    """Audit the role-named raw panel (see the module's docstring for the rules)."""
    columns = raw_value_columns(raw)
    rows = raw.groupby("year").size()
    present = raw[columns].notna().groupby(raw["year"]).sum()
    coverage = present.div(rows, axis=0).T
    flags: list[Flag] = []
    for column in columns:
        flags += [
            _flag(raw, i, column, "missing", "missing")
            for i in _rows(raw[column].isna().to_numpy())
        ]
    invalid = _domain(raw, columns, rules)
    flags += invalid + _parts(raw, rules)
    notes: list[str] = []
    fits: dict[str, pd.DataFrame] = {}
    for column in columns:
        bad = {(f.unit, f.year) for f in invalid if f.column == column}
        valid = _valid(raw, column, bad)
        found, said = series_flags(valid, column, log_scale(column), rules)
        fits[column] = departures(valid, log_scale(column), rules)
        flags += found
        notes += said
    found, said = repeated_flags(raw, UNIT, columns, rules, fits)
    flags += found
    notes += said + _clusters(flags, raw)
    return Audit(tuple(columns), rows, coverage, _table(flags, columns), tuple(notes))


CLUSTER = 0.1  # a column-year with jumps in this share of its units (at least 5) is noted


def _clusters(flags: list[Flag], raw: pd.DataFrame) -> list[str]:
    """Column-years where many units jump at once: misaligned rows (a column shifted by a
    row in one year's table) or the year's values in other units."""
    units = raw.groupby("year")[UNIT].nunique()
    count: dict[tuple[str, int], set[int | str]] = {}
    for f in flags:
        if f.kind in ("jump", "scale_break"):
            count.setdefault((f.column, f.year), set()).add(f.unit)
    return [
        f"{column} in {year}: {len(hit)} of {units[year]} units jump (rows misaligned in "
        "that year's table, or its values in other units?)"
        for (column, year), hit in sorted(count.items())
        if len(hit) >= max(5, CLUSTER * units[year])
    ]


def _table(flags: list[Flag], columns: list[str]) -> pd.DataFrame:
    table = pd.DataFrame([asdict(f) for f in flags], columns=list(FLAG_COLUMNS))
    table = table.drop_duplicates(subset=["unit", "year", "column", "kind"], keep="first")
    order = {
        "kind": {k: i for i, k in enumerate(KINDS)},
        "column": {c: i for i, c in enumerate(columns)},
    }
    return table.sort_values(
        ["kind", "column", "unit", "year"],
        key=lambda s: s.map(order[s.name]) if s.name in order else s,
        kind="stable",
    ).reset_index(drop=True)
