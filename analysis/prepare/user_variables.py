"""The user's own variables: columns of their file named by header, and `[variables]`
expressions (analysis.config.expressions), computed on the panel from their parsed trees.

Series (log, ratio, ...) are computed on the role-named panel before the analysis panel is
assembled; split rules (above_median) afterwards, one 0/1 flag per unit, from years before
the first treated period like the study's own moderators. A value outside a function's
domain (the log of a non-positive number, a ratio over zero) is an input error naming the
variable, the unit and the year; a lag leaves the first period of each unit missing, and
those unit-years leave the analysis panel (counted in the log and the manifest).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.config import Config, Declared
from analysis.config.expressions import Call, Node, Num, Ref
from analysis.errors import InputError


def _at(panel: pd.DataFrame, bad: np.ndarray) -> str:
    i = int(np.flatnonzero(bad)[0])
    return f"unit {panel['city_code'].iloc[i]} in {panel['year'].iloc[i]}"


class _Evaluator:
    def __init__(self, panel: pd.DataFrame, columns: dict[str, pd.Series], name: str, file: str):
        self.panel, self.columns, self.name, self.file = panel, columns, name, file

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.file}: [variables] {self.name}: {message}")

    def value(self, node: Node) -> np.ndarray:
        if isinstance(node, Num):
            return np.full(len(self.panel), node.value)
        if isinstance(node, Ref):
            return self.columns[node.name].to_numpy(dtype=float)
        assert isinstance(node, Call)
        args = [self.value(a) for a in node.args]
        return OPERATIONS[node.function](self, args)

    def log(self, args: list[np.ndarray]) -> np.ndarray:
        (x,) = args
        bad = ~np.isnan(x) & (x <= 0)
        if bad.any():
            raise self.fail(f"log of {x[bad][0]:g} ({_at(self.panel, bad)}); log needs values > 0")
        return np.log(x)

    def ratio(self, args: list[np.ndarray]) -> np.ndarray:
        num, den = args
        bad = den == 0
        if bad.any():
            raise self.fail(f"ratio over zero ({_at(self.panel, bad)})")
        return num / den

    def share(self, args: list[np.ndarray]) -> np.ndarray:
        total = np.sum(args, axis=0)
        bad = total == 0
        if bad.any():
            raise self.fail(f"share of a sum that is zero ({_at(self.panel, bad)})")
        return args[0] / total

    def lag(self, args: list[np.ndarray]) -> np.ndarray:
        (x,) = args
        unit = self.panel["city_code"].to_numpy()
        year = self.panel["year"].to_numpy()
        order = np.lexsort((year, unit))
        out = np.full(len(x), np.nan)
        prev = order[:-1]
        nxt = order[1:]
        follows = (unit[prev] == unit[nxt]) & (year[nxt] - year[prev] == 1)
        out[nxt[follows]] = x[prev[follows]]
        return out


OPERATIONS: dict[str, Callable[[_Evaluator, list[np.ndarray]], np.ndarray]] = {
    "log": _Evaluator.log,
    "ratio": _Evaluator.ratio,
    "product": lambda ev, a: np.prod(a, axis=0),
    "difference": lambda ev, a: a[0] - a[1],
    "share": _Evaluator.share,
    "lag": _Evaluator.lag,
}


def _inputs(d: Declared, frame: pd.DataFrame, unavailable: dict[str, str]) -> str | None:
    """Why `d` cannot be computed (a variable or role it reads is not there), or None."""
    for name in d.reads:
        if name in frame.columns:
            continue
        if name in unavailable:
            return f"reads '{name}', which {unavailable[name]}"
        return f"reads '{name}', which is not in the data"
    return None


def series_variables(
    data: pd.DataFrame, built: pd.DataFrame, cfg: Config, file: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The user's columns and series of `[variables]` on the rows of `data` (the role-named
    panel after missing values are handled), given the study's variables `built` on the
    same rows; and variable -> why it is not built."""
    frame = pd.concat([data, built.drop(columns=data.columns, errors="ignore")], axis=1)
    for role in [c for c in data.columns if c not in ("city_code", "year")]:
        frame[f"raw_{role}"] = data[role]
    unavailable: dict[str, str] = {}
    out = pd.DataFrame(
        {internal: data[internal] for internal in cfg.user_columns}, index=data.index
    )
    for d in cfg.variables:
        if d.unit_level:
            continue
        why = _inputs(d, frame, unavailable)
        if why is not None:
            unavailable[d.name] = why
            continue
        ev = _Evaluator(frame, {n: frame[n] for n in d.reads}, d.name, file)
        with np.errstate(all="ignore"):
            values = ev.value(d.tree)
        out[d.name] = frame[d.name] = values
    return out, unavailable


def split_variables(
    panel: pd.DataFrame, cfg: Config, pre_end: int, file: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The split rules of `[variables]` (above_median), one 0/1 flag per unit (NaN for a
    unit without the values the rule reads), indexed by city_code."""
    units = pd.Index(sorted(panel["city_code"].unique()), name="city_code")
    out = pd.DataFrame(index=units)
    unavailable: dict[str, str] = {}
    for d in cfg.variables:
        if not d.unit_level:
            continue
        assert isinstance(d.tree, Call)
        why = _inputs(d, panel, unavailable)
        if why is not None:
            unavailable[d.name] = why
            continue
        ev = _Evaluator(panel, {n: panel[n] for n in d.reads}, d.name, file)
        with np.errstate(all="ignore"):
            x = pd.Series(ev.value(d.tree.args[0]), index=panel.index)
        if len(d.tree.args) == 2:
            year = int(d.tree.args[1].value) if isinstance(d.tree.args[1], Num) else 0
            rows = panel["year"] == year
            if not rows.any():
                raise InputError(
                    f"{file}: [variables] {d.name} = {d.expression!r}: the data have no period "
                    f"{year} (they cover {panel['year'].min()}-{panel['year'].max()})"
                )
            by_unit = x[rows].groupby(panel.loc[rows, "city_code"]).mean()
        else:
            pre = panel["year"] < pre_end
            by_unit = x[pre].groupby(panel.loc[pre, "city_code"]).mean()
        by_unit = by_unit.reindex(units)
        flag = (by_unit > by_unit.median()).astype(float)
        out[d.name] = flag.where(by_unit.notna())
    return out, unavailable


def moderator_problem(panel: pd.DataFrame, name: str, label: str) -> str | None:
    """Why a column cannot split the units as a moderator (not 0/1, or not constant within
    each unit), or None."""
    values = panel[name].dropna()
    if not values.isin([0, 1]).all():
        odd = values[~values.isin([0, 1])].iloc[0]
        return (
            f"is not a 0/1 flag (value {odd:g}); a moderator is a 0/1 column or a split rule "
            f"such as above_median({label}) in [variables]"
        )
    spread = panel.groupby("city_code")[name].nunique()
    if (spread > 1).any():
        unit = spread[spread > 1].index[0]
        return (
            f"changes within unit {unit}; a moderator splits units: a 0/1 column constant "
            f"within each unit, or a split rule such as above_median({label}) in [variables]"
        )
    return None
