"""The two columns every table needs, found by `python -m analysis init-config`
(analysis/initconfig/guess.py): the time (a column named like 年份/year/period holding whole
numbers, else integer years in YEAR_RANGE or a dense integer index found by the data) and
the unit key (6-digit codes or names that resolve to units of data/cities.csv through
analysis.prepare.units, else ids of any kind that, with the time, identify the rows).
`read_cells` reads a column's cells as numbers the way users write them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.initconfig.synonyms import Header, Synonyms
from analysis.prepare.cities import registry
from analysis.prepare.keys import plain
from analysis.prepare.units import KIND_LABELS, Resolution, resolve_codes, resolve_names

YEAR_RANGE = (1900, 2100)
# Columns found by their data alone that are tried as the time, at most.
MAX_DATA_TRIES = 5
# Share of sampled rows whose key resolves to registry units for the panel to be "cities".
CITY_SHARE = 0.5
BLANKS = frozenset({"", "nan", "NaN", "NA", "N/A", ".", "-", "--", "—", "…", "..."})


@dataclass(frozen=True)
class Cells:
    """A column's cells read as numbers: ``value`` (NaN where blank or not a number),
    ``blank`` and ``bad`` (a cell that is neither blank nor a number)."""

    value: pd.Series
    blank: pd.Series
    bad: pd.Series

    @property
    def integral(self) -> pd.Series:
        """Values that are whole numbers, NaN otherwise."""
        return self.value.where(self.value % 1 == 0)


def _fallback(text: str) -> float:
    try:
        return float(unicodedata.normalize("NFKC", text).strip().replace(",", ""))
    except ValueError:
        return np.nan


def read_cells(series: pd.Series) -> Cells:
    """Numbers of a column (thousands separators, full-width digits and '2009.0' allowed);
    vectorized, with a per-cell NFKC pass only for the cells that need it."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        value = series.astype(float)
        blank = value.isna()
        return Cells(value, blank, pd.Series(False, index=series.index))
    text = series.astype(str).str.strip()
    value = pd.to_numeric(text.str.replace(",", "", regex=False), errors="coerce").astype(float)
    blank = series.isna()
    unread = value.isna() & ~blank
    blank[unread] = text[unread].map(plain).isin(BLANKS)
    retry = value.isna() & ~blank
    if retry.any():
        value[retry] = text[retry].map(_fallback)
    return Cells(value, blank, value.isna() & ~blank)


def _named_time(sample: pd.DataFrame, headers: dict[str, Header], syn: Synonyms) -> list[str]:
    """Columns named like a year or period (data/synonyms.toml [columns.year]) whose sampled
    cells are all whole numbers, at least two of them: years first, then by the name's rank."""
    lo, hi = YEAR_RANGE
    found: list[tuple[bool, int, int, str]] = []
    for pos, col in enumerate(sample.columns):
        match = syn.match(headers[col])
        if match is None or match.role.ident != "columns.year":
            continue
        times = read_cells(sample[col]).integral
        if times.isna().any() or times.nunique() < 2:
            continue
        found.append((not times.between(lo, hi).all(), match.priority, pos, col))
    return [col for *_, col in sorted(found)]


def _data_time(sample: pd.DataFrame, skip: list[str]) -> list[str]:
    """Columns that hold a time by their data: integer years in YEAR_RANGE, or a dense
    integer index (1, 2, 3, ...: at least three values, spanning at most twice as many as
    they hold), each value repeated over rows (over units). The most balanced first (each
    period as often as the others, as in a panel; a birth year is not), then years, then the
    fewest values (a panel has more units than periods more often than not: with integer
    ids 1..N as balanced as the time, the ids are the key)."""
    lo, hi = YEAR_RANGE
    found: list[tuple[float, bool, int, int, str]] = []
    for pos, col in enumerate(sample.columns):
        if col in skip:
            continue
        times = read_cells(sample[col]).integral
        if times.isna().any() or times.nunique() < 2 or times.nunique() > len(times) / 2:
            continue
        years = bool(times.between(lo, hi).all())
        dense = times.nunique() >= 3 and times.max() - times.min() + 1 <= 2 * times.nunique()
        if years or dense:
            counts = times.value_counts()
            balance = round(float(counts.std(ddof=0) / counts.mean()), 1)
            found.append((balance, not years, int(times.nunique()), pos, col))
    return [col for *_, col in sorted(found)[:MAX_DATA_TRIES]]


def time_columns(sample: pd.DataFrame, headers: dict[str, Header], syn: Synonyms) -> list[str]:
    """Candidates for the panel's time column, best first: named like a year or period
    (any whole numbers: years, months 1..72, quarters), then found by their data. The first
    one with which a unit key identifies the rows is the time (analysis.initconfig.guess)."""
    named = _named_time(sample, headers, syn)
    return named + _data_time(sample, named)


def is_years(times: pd.Series) -> bool:
    """Whether a time column's values are calendar years (else periods of any length)."""
    lo, hi = YEAR_RANGE
    return bool(times.dropna().between(lo, hi).all())


def _resolution(column: pd.Series, years: pd.Series) -> tuple[str, Resolution] | None:
    """The column read as codes (mostly 6-digit integers) or as names (mostly text)."""
    cells = read_cells(column)
    if cells.integral.between(100000, 999999).mean() >= 0.5:
        return "code", resolve_codes(column, years)
    if cells.value.notna().mean() < 0.5:
        return "name", resolve_names(column, years)
    return None


@dataclass(frozen=True)
class Key:
    column: str
    kind: str
    units: str
    note: str
    readings: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()


def city_key(sample: pd.DataFrame, year: str, headers: dict[str, Header], syn: Synonyms) -> Key:
    best: tuple[float, int, int, int] | None = None
    chosen: tuple[str, str, Resolution] | None = None
    for pos, col in enumerate(sample.columns):
        if col == year:
            continue
        found = _resolution(sample[col], sample[year])
        if found is None:
            continue
        kind, res = found
        share = float(res.admin_code.notna().mean())
        match = syn.match(headers[col])
        named = int(match is not None and match.role.role == "city")
        score = (share, int(kind == "code"), named, -pos)
        if best is None or score > best:
            best, chosen = score, (col, kind, res)
    if chosen is None or best is None or best[0] < CITY_SHARE:
        return _any_key(sample, year, headers, syn, best[0] if best else 0.0)
    col, kind, res = chosen
    done = res.admin_code.notna()
    units = {int(c) for c in res.admin_code[done]}
    reg = registry()
    study = {int(c) for c in reg.loc[reg["in_study_sample"] == 1, "admin_code"]}
    note = (
        f"{int(done.sum()):,} of {len(done):,} sampled rows are units of data/cities.csv, "
        f"read by {'6-digit code' if kind == 'code' else 'name'}: {len(units)} units, "
        f"{len(units & study)} of the study's {len(study)} cities"
    )
    read: list[str] = []
    for row in res.readings().to_dict("records"):
        value, how = str(row["value"]), str(row["kind"])
        odd = plain(value) != value
        if how in ("code", "name") and not odd:
            continue
        label = KIND_LABELS[how] + (", full-width or invisible characters" if odd else "")
        read.append(
            f"{value!r} -> {row['name_zh']} {row['name_en']} {row['admin_code']} ({label}), "
            f"{row['rows']} rows"
        )
    counts: dict[tuple[str, str], int] = {}
    for cell, why in zip(res.unresolved_values, res.unresolved_reasons, strict=True):
        counts[repr(cell), why] = counts.get((repr(cell), why), 0) + 1
    unresolved = tuple(f"{v} ({n} rows): {why}" for (v, why), n in counts.items())
    return Key(col, kind, "cities", note, tuple(read), unresolved)


def _any_key(
    sample: pd.DataFrame, year: str, headers: dict[str, Header], syn: Synonyms, share: float
) -> Key:
    """Ids of units of any kind: a column named like one whose values, with the year, identify
    the sampled rows; among unnamed columns only integers or text that repeat over years."""
    named: list[tuple[int, int, str]] = []
    unnamed: list[tuple[int, str]] = []
    for pos, col in enumerate(sample.columns):
        cells = read_cells(sample[col])
        if col == year or cells.blank.any():
            continue
        if sample.duplicated([col, year]).any():
            continue
        match = syn.match(headers[col])
        if match is not None and match.role.role == "city":
            named.append((match.priority, pos, col))
            continue
        integral = cells.integral.notna().all()
        text = cells.bad.all()
        if (integral or text) and sample[col].nunique() <= len(sample) / 2:
            unnamed.append((pos, col))
    found = [c for *_, c in sorted(named)] + [c for _, c in unnamed]
    if not found:
        looked = ", ".join(syn.role("columns.city:any").names[:6])
        raise InputError(
            f"no unit column found: looked for a column of 6-digit city codes or city names "
            f"(at most {share:.0%} of sampled rows matched data/cities.csv), one named like "
            f"{looked}, or one whose values, with the year, identify the rows"
        )
    col = found[0]
    numeric = not read_cells(sample[col]).bad.any()
    note = (
        f"ids of units of any kind, used as they are ({sample[col].nunique():,} in the sampled "
        f"rows{'' if numeric else '; text ids are numbered in sorted order'}); at most "
        f"{share:.0%} of sampled rows matched data/cities.csv"
    )
    # With units of any kind the ids are never matched against city names: "code".
    return Key(col, "code", "any", note)
