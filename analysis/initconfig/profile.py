"""What the columns of a panel hold, read from the data (analysis/initconfig/guess.py), so that
init-config can say which may serve as the outcome or as covariates and why the others
cannot, in a few grouped lines instead of one per column.

Groups, in the order a column is tested:

- ``empty``: no values;
- ``text``: some cells are not numbers (the loader reads roles as numbers);
- ``follows``: follows the treatment: one value in every row of the never-treated units,
  and either varying within at least half of the treated units (treated x post, event-time
  dummies, time since treatment; a unit's own trend varies within one unit only) or never
  that value in a treated unit (an ever-treated flag);
- ``id``: another id of the units (one distinct whole number per unit);
- ``constant``: constant within each unit (absorbed by the unit fixed effects);
- ``period``: the same for every unit in each period (absorbed by the period fixed effects);
- ``varying``: numbers that vary within units: candidates for the outcome and covariates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from analysis.initconfig.treatment import Treatment
from analysis.initconfig.view import PanelView

# Never-treated units needed to call a column one that follows the treatment.
MIN_NEVER = 2
GROUPS = ("varying", "constant", "follows", "period", "id", "text", "empty")


@dataclass(frozen=True)
class Profile:
    """Columns by group (module docstring), each in the file's order."""

    groups: dict[str, tuple[str, ...]]

    def __getitem__(self, group: str) -> tuple[str, ...]:
        return self.groups.get(group, ())


def _group(view: PanelView, column: str, never: pd.Series | None) -> str:
    cells = view.cells(column)
    if cells.blank.all():
        return "empty"
    if cells.bad.any():
        return "text"
    value = cells.value
    frame = pd.DataFrame({"u": view.unit, "t": view.time, "v": value})
    within = frame.groupby("u")["v"].nunique(dropna=False)
    if never is not None and never.sum() >= MIN_NEVER and (~never).any():
        is_never = frame["u"].isin(never.index[never])
        untreated, treated = frame.loc[is_never, "v"], frame.loc[~is_never, "v"]
        varies = within.reindex(never.index[~never]).gt(1)
        if untreated.nunique(dropna=False) == 1:
            shared = treated.isin(untreated.iloc[:1]) | (treated.isna() & untreated.isna().iloc[0])
            if varies.sum() >= max(2, len(varies) / 2) or not shared.any():
                return "follows"
    if within.max() <= 1:
        distinct = frame.drop_duplicates("u")["v"]
        whole = bool((distinct.dropna() % 1 == 0).all())
        unique = distinct.notna().all() and distinct.is_unique and len(distinct) > 2
        return "id" if unique and whole else "constant"
    if frame.groupby("t")["v"].nunique(dropna=False).max() <= 1:
        return "period"
    return "varying"


def profile(view: PanelView, columns: list[str], treatment: Treatment) -> Profile:
    """The columns' groups (module docstring) on the sampled units of `view`."""
    never = treatment.never_treated()
    groups: dict[str, list[str]] = {g: [] for g in GROUPS}
    for column in columns:
        groups[_group(view, column, never)].append(column)
    return Profile({g: tuple(cols) for g, cols in groups.items() if cols})


_NUMBERED = re.compile(r"^(.*?)(\d+)$")
# Runs of numbered columns (trend_1, trend_2, ...) at least this long are shown as one.
RUN = 3


def plural(n: int, word: str) -> str:
    """'1 column', '3 columns'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def compact(
    columns: tuple[str, ...] | list[str], show: int = 0, quote: Callable[[str], str] = str
) -> str:
    """Column names comma-separated, a run of names that differ only in a trailing number
    written as its first and last (``lead1 ... lead9 (9)``); with ``show``, at most that
    many items and the count of the rest."""
    items: list[str] = []
    run: list[str] = []
    stem = None

    def flush() -> None:
        if len(run) >= RUN:
            items.append(f"{quote(run[0])} ... {quote(run[-1])} ({len(run)})")
        else:
            items.extend(quote(name) for name in run)

    for name in columns:
        m = _NUMBERED.match(name)
        key = m.group(1) if m else None
        if key is None or key != stem:
            flush()
            run = []
        stem = key
        run.append(name)
    flush()
    if show and len(items) > show:
        rest = len(columns) - sum(_count(i) for i in items[:show])
        return ", ".join(items[:show]) + f" and {rest} more"
    return ", ".join(items)


def _count(item: str) -> int:
    m = re.search(r" \((\d+)\)$", item)
    return int(m.group(1)) if m and " ... " in item else 1
