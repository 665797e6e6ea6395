"""The guesses of `python -m analysis init-config` (analysis/initconfig/command.py): a proposed
mapping of a user's table to the configuration's roles.

``propose(frame, source)`` is a pure function of the table: it finds the year column and
the unit key (``analysis.initconfig.keys``), and maps every other column whose normalized name
is a synonym of a role (``analysis.initconfig.synonyms``); what it cannot map is left out with the
reason. ``analysis.initconfig.text`` writes the proposal as TOML and as the
terminal summary.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import DEFAULT_CONFIG
from analysis.errors import InputError
from analysis.initconfig.keys import YEAR_RANGE, city_key, read_cells, year_column
from analysis.initconfig.synonyms import Header, Role, Synonyms, scale_note, synonyms

SAMPLE_ROWS = 20_000
# Share of a role column's non-empty sampled cells that must be numbers.
NUMERIC_SHARE = 0.9
NO_ROLE = "no role of the study has this name"


@dataclass(frozen=True)
class Mapped:
    table: str
    role: str
    column: str
    note: str = ""


@dataclass(frozen=True)
class Left:
    column: str
    reason: str


@dataclass(frozen=True)
class Absent:
    table: str
    role: str
    label: str
    looked_for: tuple[str, ...]


@dataclass(frozen=True)
class Proposal:
    """Everything init-config guessed about a table (rendered by analysis.initconfig.text)."""

    source: str
    rows: int
    n_columns: int
    sampled: int
    year_column: str
    data_years: tuple[int, int]
    first_year: int
    last_year: int
    units: str
    key_column: str
    city_key: str
    key_note: str
    readings: tuple[str, ...]
    unresolved: tuple[str, ...]
    mapped: tuple[Mapped, ...]
    left: tuple[Left, ...]
    absent: tuple[Absent, ...]
    treatment_source: str
    treatment_column: str
    units_found: tuple[tuple[str, str, str], ...]

    def column(self, table: str, role: str) -> str | None:
        return next((m.column for m in self.mapped if (m.table, m.role) == (table, role)), None)


def _check(column: pd.Series, role: Role, frame: pd.DataFrame, key: str, year: str) -> str:
    """Why the column's values cannot serve the role ('' if they can)."""
    cells = read_cells(column)
    if cells.blank.all():
        return "it has no values"
    if cells.bad[~cells.blank].mean() > 1 - NUMERIC_SHARE:
        first = column[cells.bad].iloc[0]
        return f"its values are not numbers (e.g. {first!r})"
    numbers = cells.value.dropna()
    if role.ident == "treatment.cohort":
        lo, hi = YEAR_RANGE
        ok = numbers.eq(0) | (numbers.between(lo, hi) & (numbers % 1 == 0))
        if not ok.all() or not numbers.gt(0).any():
            return "its values are not first-treatment years (a year, 0 or empty)"
    if role.ident == "treatment.indicator":
        if not numbers.isin([0, 1]).all():
            return "its values are not 0/1"
        whole = frame[[key, year, column.name]].copy()
        whole["v"] = read_cells(whole[column.name]).value
        whole["t"] = read_cells(whole[year]).value
        steps = whole.sort_values("t").groupby(key)["v"].diff()
        if not steps.gt(0).any():
            return "it never switches from 0 to 1 within a unit (a group flag, not treated x post)"
    return ""


def _rank(header: Header, role: Role, syn: Synonyms) -> int:
    """How well the header's unit fits the role: 0 as assumed (or no unit assumed), 1 another
    unit of the same kind, 2 none stated, 3 another kind."""
    if not role.unit:
        return 0
    want = syn.unit(role.unit)
    if header.unit is None:
        return 2
    if want is None or header.unit == want:
        return 0
    return 1 if want.kind == header.unit.kind else 3


def _sample(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= SAMPLE_ROWS:
        return frame
    rows = np.unique(np.linspace(0, len(frame) - 1, SAMPLE_ROWS).astype(int))
    return frame.iloc[rows]


def _study_years() -> tuple[int, int]:
    with DEFAULT_CONFIG.open("rb") as fh:
        panel = tomllib.load(fh)["panel"]
    return int(panel["first_year"]), int(panel["last_year"])


def propose(frame: pd.DataFrame, source: str) -> Proposal:
    """The proposed configuration of a table read by ``analysis.prepare.loading.read_table``."""
    syn = synonyms()
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    sample = _sample(frame)
    headers = {col: syn.parse_header(col) for col in frame.columns}
    year = year_column(sample, headers, syn)
    if year is None:
        looked = ", ".join(syn.role("columns.year").names)
        raise InputError(
            f"{source}: no year column found: looked for a column named {looked}, or one "
            f"holding integer years {YEAR_RANGE[0]}-{YEAR_RANGE[1]} in every sampled row"
        )
    try:
        key = city_key(sample, year, headers, syn)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None
    years = read_cells(frame[year]).integral.dropna()
    data_years = (int(years.min()), int(years.max()))
    # The study's window where the file covers part of it, else the file's own years.
    first, last = _study_years()
    first, last = max(first, data_years[0]), min(last, data_years[1])
    if first >= last:
        first, last = data_years
    mapped = [Mapped("columns", "city", key.column, key.note), Mapped("columns", "year", year)]
    left: list[Left] = []
    candidates: dict[str, list[tuple[tuple[int, int, int, int], str, Role]]] = {}
    for pos, col in enumerate(frame.columns):
        if col in (year, key.column):
            continue
        header = headers[col]
        match = syn.match(header)
        if match is None:
            left.append(Left(col, NO_ROLE))
            continue
        role = match.role
        if role.table == "unused":
            left.append(Left(col, f"{role.label}: the study has no role for it"))
        elif role.ident == "columns.year":
            left.append(Left(col, f"another year column; the year is {year!r}"))
        elif role.table == "columns":
            left.append(Left(col, f"another unit key ({role.key_kind}); the key is {key.column!r}"))
        elif why := _check(sample[col], role, frame, key.column, year):
            left.append(Left(col, f"named like {role.label} ({role.ident}), but {why}"))
        else:
            scope = int(header.scope == "市辖区")
            rank = (match.priority, _rank(header, role, syn), scope, pos)
            candidates.setdefault(role.ident, []).append((rank, col, role))
    units_found: list[tuple[str, str, str]] = []
    for ident in sorted(candidates, key=lambda i: min(c[0][3] for c in candidates[i])):
        (_, col, role), *others = sorted(candidates[ident])
        note = scale_note(headers[col], role.unit, syn)
        if headers[col].scope == "市辖区":
            note = "; ".join(filter(None, (note, "urban districts (市辖区) only")))
        mapped.append(Mapped(role.table, role.role, col, note))
        for _, other, _ in others:
            left.append(Left(other, f"also {role.label}; {ident} uses {col!r}"))
    for col in frame.columns:
        header = headers[col]
        if header.unit_text:
            note = next((m.note for m in mapped if m.column == col and m.table != "columns"), "")
            units_found.append((col, header.unit_text, note))
    done = {(m.table, m.role) for m in mapped}
    absent = tuple(
        Absent(r.table, r.role, r.label, r.names[:5])
        for r in syn.roles
        if r.table in ("components", "inputs") and (r.table, r.role) not in done
    )
    cohort = next((m.column for m in mapped if m.role == "cohort"), "")
    indicator = next((m.column for m in mapped if m.role == "indicator"), "")
    if cohort and indicator:  # one treatment source: the cohort column
        mapped = [m for m in mapped if m.role != "indicator"]
        left.append(Left(indicator, f"a 0/1 treatment; [treatment] uses the cohort {cohort!r}"))
        indicator = ""
    source_kind = "column" if cohort else "indicator" if indicator else "pilot_zones"
    order = {col: i for i, col in enumerate(frame.columns)}
    return Proposal(
        source=source,
        rows=len(frame),
        n_columns=frame.shape[1],
        sampled=len(sample),
        year_column=year,
        data_years=data_years,
        first_year=first,
        last_year=last,
        units=key.units,
        key_column=key.column,
        city_key=key.kind,
        key_note=key.note,
        readings=key.readings,
        unresolved=key.unresolved,
        mapped=tuple(mapped),
        left=tuple(sorted(left, key=lambda x: order[x.column])),
        absent=absent,
        treatment_source=source_kind,
        treatment_column=cohort or indicator,
        units_found=tuple(units_found),
    )
