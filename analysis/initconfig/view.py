"""A table seen as a panel, for the guesses that read its structure (analysis.initconfig.treatment,
analysis.initconfig.profile): whole units sampled, rows ordered by unit and time, every cell read
as a number once.

Rows are sampled by unit, not one by one: whether a column is constant within a unit, or
switches on and never off, can only be seen on all of a unit's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.initconfig.keys import Cells, is_years, read_cells

# Rows of the units sampled to read the panel's structure, at most.
VIEW_ROWS = 60_000


@dataclass(frozen=True)
class PanelView:
    """The sampled units' rows, ordered by unit and time, with the file's own counts."""

    frame: pd.DataFrame
    unit: pd.Series
    """Integer code of each row's unit (its position among the file's units)."""
    time: pd.Series
    """Each row's period (a whole number)."""
    key: str
    time_column: str
    first: int
    last: int
    units: int
    periods: int
    sampled_units: int
    _cells: dict[str, Cells] = field(default_factory=dict, repr=False, compare=False)

    def cells(self, column: str) -> Cells:
        """The column's cells read as numbers (analysis.initconfig.keys.read_cells), once."""
        if column not in self._cells:
            self._cells[column] = read_cells(self.frame[column])
        return self._cells[column]

    @property
    def years(self) -> bool:
        """Whether the periods are calendar years."""
        return is_years(pd.Series([self.first, self.last]))

    @property
    def word(self) -> str:
        """'years' or 'periods', as the file's time is called in notes."""
        return "years" if self.years else "periods"

    def of_units(self, n: int) -> str:
        """'50 units', or '695 sampled units' when not every unit was read."""
        sampled = "sampled " if self.sampled_units < self.units else ""
        return f"{n:,} {sampled}unit{'s' if n != 1 else ''}"


def panel_view(frame: pd.DataFrame, key: str, time: str) -> PanelView:
    """The table's units evenly sampled (all of them when the table has at most VIEW_ROWS rows),
    rows with a time that is not a whole number dropped, ordered by unit and time."""
    codes, uniques = pd.factorize(frame[key].astype(str).str.strip(), sort=True)
    times = read_cells(frame[time]).integral
    n_units = len(uniques)
    keep = times.notna().to_numpy()
    if len(frame) > VIEW_ROWS:
        wanted = max(1, n_units * VIEW_ROWS // len(frame))
        chosen = np.unique(np.linspace(0, n_units - 1, wanted).astype(int))
        keep = keep & np.isin(codes, chosen)
    order = np.lexsort((times.to_numpy()[keep], codes[keep]))
    rows = frame.iloc[np.flatnonzero(keep)[order]].reset_index(drop=True)
    unit = pd.Series(codes[keep][order], name="unit")
    period = pd.Series(times.to_numpy()[keep][order].astype("int64"), name="time")
    all_times = times.dropna()
    return PanelView(
        frame=rows,
        unit=unit,
        time=period,
        key=key,
        time_column=time,
        first=int(all_times.min()),
        last=int(all_times.max()),
        units=n_units,
        periods=int(all_times.nunique()),
        sampled_units=int(unit.nunique()),
    )
