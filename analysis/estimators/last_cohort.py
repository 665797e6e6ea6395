"""The comparison group of a staggered rollout in which every unit is treated in the end.

Without never-treated units, the not-yet-treated comparison has no control at and after the
first period of the last-treated cohort (every unit is treated there). R's did (2.5.1,
`pre_process_did`) then keeps the periods before that cohort's first treated period, uses
that cohort as the comparison group (it is untreated in every period kept) and estimates no
ATT(g,t) for it; with control_group = "notyettreated" it says nothing, with "nevertreated"
it warns NEVERTREATED_WARNING and recodes the cohort as never treated. Sun and Abraham
(2021) use the last-treated cohort as the control cohort in the same way; fixest's sunab()
reads a cohort that is never treated within the rows it is given as the reference.

A unit whose first treated period lies after the panel's last period is never treated
within the panel (R's did recodes it to 0): then the rule does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# What R's did (2.5.1) prints for control_group = "nevertreated" without never-treated units
# (pre_process_did), quoted in notes so that a user comparing with R recognizes it.
NEVERTREATED_WARNING = (
    "No never-treated group is available. The last treated cohort is being coerced as "
    "'never-treated' units, and data from periods after that is being filtered out (no "
    "available comparison groups)."
)
NO_NEVER_TREATED = "no never-treated units, which it uses as the control group"


@dataclass(frozen=True)
class LastCohort:
    """The last-treated cohort as the comparison group: its first treated period, its units,
    and the periods dropped (that period and every later one)."""

    cohort: int
    units: int
    dropped_years: tuple[int, ...]
    dropped_rows: int

    @property
    def size(self) -> str:
        """Its units, in words ('1 unit', '13 units')."""
        return f"{self.units} unit{'' if self.units == 1 else 's'}"

    def sentence(self) -> str:
        """The rule as applied, for a table note."""
        years = self.dropped_years
        span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
        return (
            f"No never-treated units: as R's did does with control_group = 'notyettreated', "
            f"the last-treated cohort ({self.cohort}, {self.size}) is the comparison "
            f"group and the periods from its first treated period on ({span}, "
            f"{self.dropped_rows} unit-periods) are dropped; no effect is estimated for "
            "that cohort."
        )


def has_never_treated(panel: pd.DataFrame) -> bool:
    """Whether some unit is never treated (first_treat 0)."""
    return bool((panel["first_treat"] == 0).any())


def last_cohort(panel: pd.DataFrame) -> LastCohort | None:
    """The rule for this panel, or None when it does not apply (never-treated units exist,
    or the last cohort is first treated after the panel ends)."""
    if has_never_treated(panel):
        return None
    first, year = panel["first_treat"], panel["year"]
    latest = int(first.max())
    if latest > int(year.max()):
        return None
    dropped = year >= latest
    return LastCohort(
        cohort=latest,
        units=int(panel.loc[first == latest, "city_code"].nunique()),
        dropped_years=tuple(sorted(int(y) for y in year[dropped].unique())),
        dropped_rows=int(dropped.sum()),
    )


def restrict(panel: pd.DataFrame, rule: LastCohort | None) -> pd.DataFrame:
    """The rows the rule keeps (the periods before the last cohort's first treated period);
    the panel itself when there is no rule."""
    if rule is None:
        return panel
    return panel[panel["year"] < rule.cohort]


def as_never_treated(panel: pd.DataFrame, rule: LastCohort | None) -> pd.DataFrame:
    """The kept rows with the last cohort recoded as never treated (first_treat 0), which
    is how R's did treats it within the kept periods."""
    if rule is None:
        return panel
    kept = restrict(panel, rule)
    return kept.assign(first_treat=kept["first_treat"].where(kept["first_treat"] != rule.cohort, 0))
