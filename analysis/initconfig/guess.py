"""The guesses of `python -m analysis init-config` (analysis/initconfig/command.py): a proposed
mapping of a user's table to the configuration's roles.

``propose(frame, source)`` is a pure function of the table: it finds the time column and the
unit key (``analysis.initconfig.keys``), reads the table as a panel of those
(``analysis.initconfig.view``), finds the treatment from the data
(``analysis.initconfig.treatment``) and what the other columns hold
(``analysis.initconfig.profile``). On a Chinese city panel it maps every column whose
normalized name is a synonym of a role (``analysis.initconfig.synonyms``) and keeps the study's
variable lists that the mapped inputs build (``analysis.initconfig.study``); on a panel of any
other units the outcome and covariates are the user's to pick, among the candidates offered.
What it cannot map is left out with the reason. ``analysis.initconfig.text`` writes the
proposal as TOML, ``analysis.initconfig.summary`` as the terminal summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.initconfig.keys import YEAR_RANGE, Key, city_key, read_cells, time_columns
from analysis.initconfig.profile import Profile, profile
from analysis.initconfig.study import VariableList, study_defaults, study_lists
from analysis.initconfig.synonyms import Header, Role, Synonyms, scale_note, synonyms
from analysis.initconfig.treatment import Treatment, clip_window, event_reach, find_treatment
from analysis.initconfig.view import PanelView, panel_view

SAMPLE_ROWS = 20_000
# Share of a role column's non-empty sampled cells that must be numbers.
NUMERIC_SHARE = 0.9
NO_ROLE = "no role of the study has this name"
# Why a column of a panel of any units is left out, by its group (analysis.initconfig.profile).
GROUP_REASONS = {
    "varying": "numbers that vary within units: candidates for [outcome] column, [model] "
    "controls and [callaway_santanna] covariates (listed there)",
    "constant": "constant within each unit: absorbed by the unit fixed effects (may serve as "
    "[callaway_santanna] covariates)",
    "follows": "follows the treatment (one value in every row of the never-treated units, "
    "varying within treated ones or never that value in them): not a control",
    "period": "the same for every unit in each {period}: absorbed by the {period} fixed effects",
    "id": "another id of the units (one value per unit)",
    "text": "some cells are not numbers (text or dates)",
    "empty": "no values",
}


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
    """Everything init-config guessed about a table (rendered by analysis.initconfig.text and
    analysis.initconfig.summary)."""

    source: str
    rows: int
    n_columns: int
    sampled: int
    year_column: str
    data_years: tuple[int, int]
    first_year: int
    last_year: int
    study_window: bool
    """Whether [panel] first_year-last_year is the study's window (Chinese cities only)."""
    years: bool
    """Whether the time column holds calendar years (else periods of any length)."""
    n_units: int
    n_periods: int
    units: str
    key_column: str
    city_key: str
    key_note: str
    readings: tuple[str, ...]
    unresolved: tuple[str, ...]
    mapped: tuple[Mapped, ...]
    left: tuple[Left, ...]
    absent: tuple[Absent, ...]
    treatment: Treatment
    profile: Profile
    lists: tuple[VariableList, ...]
    """The study's variable lists and what the mapped inputs build (Chinese cities)."""
    event_window: tuple[int, int] | None
    """[model] event_window clipped to the panel (units of any kind)."""
    event_reach: tuple[int, int] | None
    """The lowest and highest event time the panel's cohorts reach."""
    units_found: tuple[tuple[str, str, str], ...]

    def column(self, table: str, role: str) -> str | None:
        return next((m.column for m in self.mapped if (m.table, m.role) == (table, role)), None)

    @property
    def treatment_source(self) -> str:
        return self.treatment.source

    @property
    def treatment_column(self) -> str:
        return self.treatment.column

    @property
    def period_word(self) -> str:
        """'year' or 'period', as the panel's time is called."""
        return "year" if self.years else "period"

    @property
    def outcome_candidates(self) -> tuple[str, ...]:
        return self.profile["varying"]

    @property
    def covariate_candidates(self) -> tuple[str, ...]:
        """Numbers that vary within units, then those constant within units."""
        return self.profile["varying"] + self.profile["constant"]


def _check(column: pd.Series) -> str:
    """Why the column's values cannot serve a role of numbers ('' if they can)."""
    cells = read_cells(column)
    if cells.blank.all():
        return "it has no values"
    if cells.bad[~cells.blank].mean() > 1 - NUMERIC_SHARE:
        first = column[cells.bad].iloc[0]
        return f"its values are not numbers (e.g. {first!r})"
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


def _key_and_time(
    sample: pd.DataFrame, headers: dict[str, Header], syn: Synonyms, source: str
) -> tuple[Key, str]:
    """The unit key and the time column: the first time candidate with which a key is found."""
    times = time_columns(sample, headers, syn)
    if not times:
        looked = ", ".join(syn.role("columns.year").names)
        raise InputError(
            f"{source}: no year or period column found: looked for a column named {looked} "
            f"holding whole numbers, or one holding integer years {YEAR_RANGE[0]}-"
            f"{YEAR_RANGE[1]} or an integer period index (1, 2, 3, ...) in every sampled row"
        )
    first: InputError | None = None
    for time in times:
        try:
            return city_key(sample, time, headers, syn), time
        except InputError as exc:
            first = first or exc
    raise InputError(f"{source}: with time column {times[0]!r}: {first}") from None


def _window(key: Key, view: PanelView) -> tuple[int, int, bool]:
    """[panel] first_year, last_year: the study's window where a Chinese city panel covers
    part of it, else the file's own years or periods (units of any kind: always)."""
    if key.units == "cities":
        panel = study_defaults()["panel"]
        first = max(int(panel["first_year"]), view.first)
        last = min(int(panel["last_year"]), view.last)
        if first < last:
            return first, last, True
    return view.first, view.last, False


@dataclass
class _Names:
    """The name-based mapping of the columns (what propose() collects)."""

    mapped: list[Mapped]
    left: list[Left]
    treatment: dict[str, str]
    """Columns named like a treatment role: column -> 'cohort' or 'indicator'."""
    rest: list[str]
    """Columns the names leave to the data (no role, or a role units of any kind do not use)."""


def _by_name(
    frame: pd.DataFrame, sample: pd.DataFrame, headers: dict[str, Header], key: Key, year: str
) -> _Names:
    """Columns mapped by their names (module docstring); with units of any kind only a ready
    outcome, the study's components and inputs being the Chinese yearbook's."""
    syn = synonyms()
    names = _Names([Mapped("columns", "city", key.column, key.note)], [], {}, [])
    names.mapped.append(Mapped("columns", "year", year))
    candidates: dict[str, list[tuple[tuple[int, int, int, int], str, Role]]] = {}
    for pos, col in enumerate(frame.columns):
        if col in (year, key.column):
            continue
        header = headers[col]
        match = syn.match(header)
        role = None if match is None else match.role
        if role is not None and role.table == "treatment":
            names.treatment[col] = role.role
            names.rest.append(col)
        elif role is None or (role.table == "unused" and key.units == "any"):
            names.rest.append(col)
            if key.units == "cities":
                names.left.append(Left(col, NO_ROLE))
        elif key.units == "any" and role.table in ("components", "inputs"):
            names.rest.append(col)
        elif role.table == "unused":
            names.left.append(Left(col, f"{role.label}: the study has no role for it"))
        elif role.ident == "columns.year":
            names.left.append(Left(col, f"another time column; the time is {year!r}"))
        elif role.table == "columns":
            names.left.append(
                Left(col, f"another unit key ({role.key_kind}); the key is {key.column!r}")
            )
        elif why := _check(sample[col]):
            names.left.append(Left(col, f"named like {role.label} ({role.ident}), but {why}"))
        else:
            assert match is not None
            scope = int(header.scope == "市辖区")
            rank = (match.priority, _rank(header, role, syn), scope, pos)
            candidates.setdefault(role.ident, []).append((rank, col, role))
    for ident in sorted(candidates, key=lambda i: min(c[0][3] for c in candidates[i])):
        (_, col, role), *others = sorted(candidates[ident])
        note = scale_note(headers[col], role.unit, syn)
        if headers[col].scope == "市辖区":
            note = "; ".join(filter(None, (note, "urban districts (市辖区) only")))
        names.mapped.append(Mapped(role.table, role.role, col, note))
        for _, other, _ in others:
            names.left.append(Left(other, f"also {role.label}; {ident} uses {col!r}"))
    return names


def _treatment_left(treatment: Treatment) -> list[Left]:
    """Why the treatment candidates not chosen, and the columns named like a treatment whose
    data do not fit one, are left out."""
    syn = synonyms()
    left = [
        Left(column, f"named like {syn.role(f'treatment.{role}').label}, but {why}")
        for column, role, why in treatment.refused
    ]
    chosen = treatment.column
    for other in treatment.others:
        if other.kind == "column" or other.named:
            kind = "cohort" if other.kind == "column" else "0/1 indicator"
            left.append(Left(other.column, f"also a {kind} candidate; [treatment] uses {chosen!r}"))
    return left


def propose(frame: pd.DataFrame, source: str) -> Proposal:
    """The proposed configuration of a table read by ``analysis.prepare.loading.read_table``."""
    syn = synonyms()
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    sample = _sample(frame)
    headers = {col: syn.parse_header(col) for col in frame.columns}
    key, year = _key_and_time(sample, headers, syn, source)
    view = panel_view(frame, key.column, year)
    first, last, study_window = _window(key, view)
    names = _by_name(frame, sample, headers, key, year)
    treatment = find_treatment(view, names.rest, names.treatment)
    # Indicator candidates not chosen stay among the other columns (a region-year dummy
    # switches on once too); cohort candidates, constant within units, do not.
    candidates = {treatment.column, *(o.column for o in treatment.others if o.kind == "column")}
    candidates |= {o.column for o in treatment.others if o.named}
    rest = [c for c in names.rest if c not in candidates]
    prof = profile(view, rest, treatment)
    left = [x for x in names.left if x.column not in candidates] + _treatment_left(treatment)
    if key.units == "any":
        reasons = {
            col: GROUP_REASONS[group].format(period=view.word[:-1])
            for group, cols in prof.groups.items()
            for col in cols
        }
        refused = {x.column for x in left}
        left += [Left(col, reasons[col]) for col in rest if col not in refused]
    units_found: list[tuple[str, str, str]] = []
    for col in frame.columns:
        header = headers[col]
        if header.unit_text:
            note = next(
                (m.note for m in names.mapped if m.column == col and m.table != "columns"), ""
            )
            units_found.append((col, header.unit_text, note))
    done = {(m.table, m.role) for m in names.mapped}
    absent = tuple(
        Absent(r.table, r.role, r.label, r.names[:5])
        for r in syn.roles
        if key.units == "cities"
        and r.table in ("components", "inputs")
        and (r.table, r.role) not in done
    )
    inputs = {m.role for m in names.mapped if m.table == "inputs"}
    low, high = study_defaults()["model"]["event_window"]
    window, reach = (int(low), int(high)), event_reach(treatment, view)
    order = {col: i for i, col in enumerate(frame.columns)}
    return Proposal(
        source=source,
        rows=len(frame),
        n_columns=frame.shape[1],
        sampled=len(sample),
        year_column=year,
        data_years=(view.first, view.last),
        first_year=first,
        last_year=last,
        study_window=study_window,
        years=view.years,
        n_units=view.units,
        n_periods=view.periods,
        units=key.units,
        key_column=key.column,
        city_key=key.kind,
        key_note=key.note,
        readings=key.readings,
        unresolved=key.unresolved,
        mapped=tuple(names.mapped),
        left=tuple(sorted(left, key=lambda x: order[x.column])),
        absent=absent,
        treatment=treatment,
        profile=prof,
        lists=study_lists(inputs) if key.units == "cities" else (),
        event_window=clip_window(window, reach) if key.units == "any" else None,
        event_reach=reach,
        units_found=tuple(units_found),
    )
