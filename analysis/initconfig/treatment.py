"""The treatment of a panel, found from its data (analysis/initconfig/guess.py).

A cohort candidate holds, for each unit, one whole number in every row (blank allowed): the
first treated period. Some unit's value is a period of the panel after its first one; 0, a
blank or a value after the panel's last period means never treated; values before the
first period (treated before the panel starts) may not outnumber those inside it.

An indicator candidate is 0 or 1 in every row, switches on within at least one unit and
never off, and is not the same for every unit of a period (a period dummy is not a
treatment).

Names (data/synonyms.toml [treatment]) only rank candidates of one kind (then a cohort coding
never treated as 0 or blank, which the run reads so, before one using values after the
panel; an indicator switching on in more units first); a cohort column is preferred over an
indicator. Every choice carries its evidence, written beside it in the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.initconfig.view import PanelView

COHORT, INDICATOR = "column", "indicator"  # [treatment] source


@dataclass(frozen=True)
class Found:
    """A column the data show to be a treatment: a cohort or an indicator."""

    column: str
    kind: str
    evidence: str
    named: bool
    first_treat: pd.Series
    """Per unit code: the first treated period; 0 when never treated in the panel."""
    after: int = 0
    """Units whose cohort is a value after the panel's last period (read as never treated
    here, as a cohort by the run)."""

    @property
    def switching(self) -> int:
        """Units whose treatment starts inside the panel, after its first period."""
        return int(self.first_treat.gt(0).sum())


@dataclass(frozen=True)
class Treatment:
    """The chosen treatment (None: none found), the other candidates, and the columns named
    like a treatment whose data do not fit one."""

    chosen: Found | None
    others: tuple[Found, ...]
    refused: tuple[tuple[str, str, str], ...]
    """(column, 'cohort' or 'indicator', why its data do not fit)."""

    @property
    def source(self) -> str:
        return self.chosen.kind if self.chosen else "pilot_zones"

    @property
    def column(self) -> str:
        return self.chosen.column if self.chosen else ""

    def never_treated(self) -> pd.Series | None:
        """Per unit code: True for units never treated in the panel (None without a treatment)."""
        return None if self.chosen is None else self.chosen.first_treat.eq(0)


def _span(values: pd.Series) -> str:
    lo, hi = int(values.min()), int(values.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _cohort(view: PanelView, column: str, named: bool) -> Found | str:
    """The column as a cohort column, or why it is not one."""
    cells = view.cells(column)
    if cells.bad.any():
        return f"its values are not numbers (e.g. {view.frame[column][cells.bad].iloc[0]!r})"
    pairs = pd.DataFrame({"u": view.unit, "v": cells.value}).drop_duplicates()
    if not pairs["u"].is_unique:
        return "it varies within a unit (a cohort is one first treated period per unit)"
    per = pairs.set_index("u")["v"].sort_index()
    if (per.dropna() % 1 != 0).any():
        return "its values are not whole numbers"
    blank, zero, after = per.isna(), per.eq(0), per.gt(view.last)
    inside = per.gt(view.first) & per.le(view.last)
    start = per.eq(view.first)
    before = ~(blank | zero | after | inside | start)
    if not inside.any():
        return (
            f"no value is one of the panel's {view.word} after its first "
            f"({view.first}-{view.last}), as a first treated period is"
        )
    if before.sum() > inside.sum():
        return f"most values are before the panel's first {view.word[:-1]} ({view.first})"
    parts = [
        f"{column}: constant within each of {view.of_units(len(per))}",
        f"values {_span(per[inside | start])} inside the panel's {view.word} "
        f"({int((inside | start).sum())} units)",
    ]
    never = [
        f"{int(mask.sum())} units {label}"
        for mask, label in ((blank, "blank"), (zero, "0"), (after, f"after {view.last}"))
        if mask.any()
    ]
    if never:
        parts.append(" + ".join(never) + " = never treated")
    else:
        parts.append(f"every unit is treated by {view.word[:-1]} {int(per.max())}")
    if after.any():
        parts.append(
            f"the run reads a value after {view.last} as a cohort, not as never treated: "
            "recode those to 0 or blank"
        )
    if start.any():
        parts.append(f"{int(start.sum())} units treated from the first {view.word[:-1]}")
    if before.any():
        parts.append(f"{int(before.sum())} units treated before the panel starts")
    first_treat = per.where(inside | start | before, 0).astype("int64")
    return Found(column, COHORT, "; ".join(parts), named, first_treat, int(after.sum()))


def _indicator(view: PanelView, column: str, named: bool) -> Found | str:
    """The column as a 0/1 indicator that switches on once, or why it is not one."""
    cells = view.cells(column)
    if cells.bad.any():
        return f"its values are not numbers (e.g. {view.frame[column][cells.bad].iloc[0]!r})"
    value = cells.value
    if cells.blank.any() or not value.isin([0, 1]).all():
        return "its values are not 0/1 in every row"
    steps = value.groupby(view.unit).diff()
    if steps.lt(0).any():
        row = int(steps.lt(0).to_numpy().argmax())
        unit = view.frame[view.key].iloc[row]
        return f"it switches off within a unit (unit {unit} in {view.time.iloc[row]})"
    switch = steps.gt(0).groupby(view.unit).any()
    if not switch.any():
        return "it never switches from 0 to 1 within a unit (a group flag, not treated x post)"
    if value.groupby(view.time).nunique().max() < 2:
        return f"it is the same for every unit in each of the {view.word} (a period dummy)"
    on = value.eq(1)
    first = view.time[on].groupby(view.unit[on]).min()
    first_treat = first.reindex(sorted(view.unit.unique()), fill_value=0).astype("int64")
    always = first_treat.eq(0)
    from_start = ~switch.reindex(first_treat.index, fill_value=False) & ~always
    parts = [
        f"{column}: 0/1, switches on once and never off in {view.of_units(int(switch.sum()))}",
        f"{int(always.sum())} units always 0 = never treated",
    ]
    if from_start.any():
        parts.append(f"{int(from_start.sum())} units 1 from their first {view.word[:-1]}")
    return Found(column, INDICATOR, "; ".join(parts), named, first_treat)


def _agreement(cohort: Found, indicator: Found) -> str:
    """How an indicator candidate agrees with the chosen cohort column."""
    both = cohort.first_treat.index.intersection(indicator.first_treat.index)
    c, i = cohort.first_treat[both], indicator.first_treat[both]
    treated = c.gt(0) | i.gt(0)
    same = int((c[treated] == i[treated]).sum())
    return (
        f"{indicator.evidence}; its first 1 is the {cohort.column} value in {same} of "
        f"{int(treated.sum())} treated units"
    )


def find_treatment(view: PanelView, columns: list[str], named: dict[str, str]) -> Treatment:
    """Cohort and indicator candidates among `columns` (named: column -> 'cohort' or
    'indicator' for columns whose name says so), the best chosen (module docstring)."""
    cohorts: list[tuple[tuple[bool, bool, int], Found]] = []
    indicators: list[tuple[tuple[bool, int, int], Found]] = []
    refused: list[tuple[str, str, str]] = []
    for pos, column in enumerate(columns):
        role = named.get(column, "")
        cohort = _cohort(view, column, role == "cohort")
        if isinstance(cohort, Found):
            cohorts.append(((role != "cohort", cohort.after > 0, pos), cohort))
        elif role == "cohort":
            refused.append((column, "cohort", cohort))
        indicator = _indicator(view, column, role == "indicator")
        if isinstance(indicator, Found):
            indicators.append(((role != "indicator", -indicator.switching, pos), indicator))
        elif role == "indicator":
            refused.append((column, "indicator", indicator))
    ranked = [f for _, f in sorted(cohorts, key=lambda c: c[0])]
    ranked += [f for _, f in sorted(indicators, key=lambda c: c[0])]
    if not ranked:
        return Treatment(None, (), tuple(refused))
    chosen, *others = ranked
    if chosen.kind == COHORT:
        others = [
            Found(o.column, o.kind, _agreement(chosen, o), o.named, o.first_treat, o.after)
            if o.kind == INDICATOR
            else o
            for o in others
        ]
    return Treatment(chosen, tuple(others), tuple(refused))


def event_reach(treatment: Treatment, view: PanelView) -> tuple[int, int] | None:
    """The lowest and highest event time (period minus first treated period) the panel's
    cohorts treated inside it reach; None without such a cohort."""
    if treatment.chosen is None:
        return None
    cohorts = treatment.chosen.first_treat
    cohorts = cohorts[cohorts.gt(view.first)]
    if cohorts.empty:
        return None
    return view.first - int(cohorts.max()), view.last - int(cohorts.min())


def clip_window(window: tuple[int, int], reach: tuple[int, int] | None) -> tuple[int, int]:
    """`window` clipped to the event times reached (unchanged when the clipped one would not
    hold the reference period -1 between two others: the run clips it then)."""
    if reach is None:
        return window
    lo, hi = max(window[0], reach[0]), min(window[1], reach[1])
    return (lo, hi) if lo < -1 < hi else window
