"""Rules of the data audit on one column's unit series: year-on-year jumps and breaks of
scale (the rules are documented in analysis.prepare.audit, which calls these)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.config import AuditConfig
from analysis.prepare.audit_stats import MAD, following, median_path, statistics

RETURN = 0.5  # a jump back is a return when the two leave at most half the step
NEAR = 3  # cells on each side of a step that measure it in powers of ten (level scale)


@dataclass(frozen=True)
class Flag:
    """One odd cell: the unit (its id as in the panel), year, column (role) and value."""

    unit: int | str
    year: int
    column: str
    value: float
    kind: str
    detail: str


def _ratio(step: float, log_scale: bool) -> str:
    return f"x{np.exp(step):.3g}" if log_scale else f"{step:+.4g}"


def _kind(log10_step: float | None, rules: AuditConfig) -> tuple[str, str]:
    """'scale_break' and 'x10^k' when the step is within the tolerance of a power of ten."""
    if log10_step is None or not np.isfinite(log10_step):
        return "jump", ""
    k = round(abs(log10_step))
    if k >= 1 and abs(abs(log10_step) - k) <= rules.scale_tolerance:
        return "scale_break", f"x10^{k if log10_step > 0 else -k}"
    return "jump", ""


MAX_PASSES = 4  # breaks of scale found, undone in a working copy, and searched again


def series_flags(
    wide: pd.DataFrame, column: str, log_scale: bool, rules: AuditConfig
) -> tuple[list[Flag], list[str]]:
    """Jumps and breaks of scale in the unit series of one column (`wide`: units x years,
    NaN where not observed or not valid); returns the flags and notes.

    Breaks of scale are undone in a working copy and the search is repeated, so that a
    unit in other units from some year on is one flag, not a cascade of jumps; the jumps
    reported are those of the last pass."""
    values = wide.to_numpy(dtype=float)
    if values.shape[1] < 3 or values.shape[0] == 0:
        return [], []
    work = values.copy()
    breaks: dict[tuple[int, int], Flag] = {}
    notes: list[str] = []
    for _ in range(MAX_PASSES):
        found, said = _search(wide, work, values, column, log_scale, rules)
        notes += [n for n in said if n not in notes]
        new = _first_breaks([f for f in found if f.power and (f.row, f.flag.year) not in breaks])
        for f in new:
            breaks[(f.row, f.flag.year)] = f.flag
            work[f.row, list(f.cells)] /= 10.0**f.power
        if not new:
            break
    jumps = [f.flag for f in found if not f.power]
    return [*breaks.values(), *jumps], notes


def _first_breaks(found: list[_Found]) -> list[_Found]:
    """Per unit, the break of scale with the largest power (the earliest of those), with
    every cell of its episode; the unit's other candidates wait for the next pass, since a
    break inflates the changes after it. Breaks across units (one cell each): all."""
    best: dict[int, tuple[int, int]] = {}
    for f in found:
        if not f.across:
            key = (abs(f.power), -f.start)
            if f.row not in best or key > best[f.row]:
                best[f.row] = key
    return [f for f in found if f.across or best.get(f.row) == (abs(f.power), -f.start)]


@dataclass(frozen=True)
class _Found:
    flag: Flag
    row: int
    cells: tuple[int, ...]  # positions at the broken level, undone in the next pass
    power: int = 0  # the break's power of ten (0: a jump)
    start: int = 0  # the year its episode starts (shared by the episode's cells)
    across: bool = False  # found against the year's other units, not the unit's series

    def also(self, t: int, year: int, value: float) -> _Found:
        """The same finding on another cell of an episode (undone with the first)."""
        flag = replace(self.flag, year=year, value=value)
        return replace(self, flag=flag, cells=() if self.power else (t,))


def _search(
    wide: pd.DataFrame,
    x: np.ndarray,
    reported: np.ndarray,
    column: str,
    log_scale: bool,
    rules: AuditConfig,
) -> tuple[list[_Found], list[str]]:
    """One pass of the series rules over the working values `x`."""
    stats = statistics(x, log_scale, rules)
    if stats is None:
        return [], []
    years = np.asarray(wide.columns, dtype=int)
    notes = [
        f"{column}: the whole column changes abruptly in {years[j]} (a change of units "
        "for that year?); every unit's change is tested"
        for j in stats.broken
    ]
    change, spike, next_pos = stats.change, stats.spike, stats.next_pos
    with np.errstate(invalid="ignore"):
        jump = stats.z_change > rules.jump_z
        out = stats.z_spike > rules.jump_z
        if log_scale:
            jump &= np.abs(change) >= np.log(rules.jump_ratio)
            out &= np.abs(spike) >= np.log(rules.jump_ratio)
        next_change = following(change)[0]
        # away and back: the change out of the cell undoes the change into it
        out &= np.abs(change + next_change) <= RETURN * np.fmax(np.abs(change), np.abs(next_change))
        out &= (np.sign(change) == np.sign(spike)) & (np.sign(next_change) == -np.sign(spike))
    y = stats.y
    with np.errstate(all="ignore"):  # levels in powers of ten, common path removed
        level10 = np.log10(np.where(x > 0, x, np.nan))
    level10 -= median_path(level10)[None, :]
    found: list[_Found] = []
    for i in np.nonzero(jump.any(axis=1) | out.any(axis=1))[0]:
        unit = _Unit(
            int(i),
            unit_id(wide.index[int(i)]),
            level10[i],
            reported[i],
            y[i],
            change[i],
            spike[i],
            years,
            column,
            log_scale,
            rules,
        )
        found += unit.resolve(
            set(np.nonzero(jump[i])[0]), sorted(np.nonzero(out[i])[0]), next_pos[i]
        )
    if log_scale:
        found += _cross_section(wide, x, reported, column, rules, {f.row for f in found})
    return found, notes


def unit_id(value: object) -> int | str:
    """A unit id as plain Python (numpy integers become int)."""
    if isinstance(value, np.integer | int):
        return int(value)
    return str(value)


@dataclass(frozen=True)
class _Unit:
    """One unit's series in one pass: its candidates resolved into flags."""

    row: int
    unit: int | str
    level10: np.ndarray  # log10 of the working values, common path removed (NaN if <= 0)
    reported: np.ndarray  # values as in the file
    y: np.ndarray  # transformed, common path removed
    change: np.ndarray
    spike: np.ndarray
    years: np.ndarray
    column: str
    log_scale: bool
    rules: AuditConfig

    def found(
        self, t: int, step: float, text: str, near: tuple[list[int], list[int]], cells: list[int]
    ) -> _Found:
        """A flag on cell t: a break of scale when the step is a power of ten, else a jump.
        On level scale the step in powers of ten is the median log10 of the cells `near[0]`
        at the new level less that of their neighbours `near[1]` (all must be positive).
        `cells`: the cells at the new level (undone if it is a break of scale)."""
        if self.log_scale:
            log10: float | None = step / np.log(10)
        else:
            inner, outer = self.level10[near[0]], self.level10[near[1]]
            positive = np.isfinite(inner).all() and np.isfinite(outer).all()
            log10 = float(np.median(inner) - np.median(outer)) if positive else None
        kind, power = _kind(log10, self.rules)
        shown = power or _ratio(step, self.log_scale)
        flag = Flag(
            self.unit,
            int(self.years[t]),
            self.column,
            float(self.reported[t]),
            kind,
            f"{shown} {text}",
        )
        k = int(round(log10)) if kind == "scale_break" and log10 is not None else 0
        return _Found(flag, self.row, tuple(cells) if k else (t,), k, int(self.years[t]))

    def resolve(self, jumps: set[int], spikes: list[int], next_pos: np.ndarray) -> list[_Found]:
        """Outliers (a cell away and back), episodes (a run of cells away and back: each
        cell is flagged) and level shifts (flagged where they start; an end cell alone on
        one side of the step is flagged itself)."""
        obs = [int(t) for t in np.nonzero(np.isfinite(self.y))[0]]
        years = self.years
        out: list[_Found] = []
        for t in spikes:
            after, before = int(next_pos[t]), obs[obs.index(t) - 1]
            text = f"against {years[before]} and {years[after]} (outlier)"
            out.append(self.found(t, self.spike[t], text, ([t], [before, after]), [t]))
            jumps -= {t, after}
        order = sorted(jumps)
        k = 0
        while k < len(order):
            a = order[k]
            i = obs.index(a)
            if k + 1 < len(order) and self._returns(a, order[k + 1], obs):
                b = order[k + 1]
                inside = [t for t in obs if a <= t < b]
                span = (
                    f"in {years[a]}"
                    if len(inside) == 1
                    else f"from {years[a]} to {years[inside[-1]]}"
                )
                step = (self.change[a] - self.change[b]) / 2
                j = obs.index(b)
                near = (inside, obs[max(0, i - NEAR) : i] + obs[j : j + NEAR])
                first = self.found(a, step, f"{span}, back in {years[b]}", near, inside)
                out.append(first)
                out += [first.also(t, int(years[t]), float(self.reported[t])) for t in inside[1:]]
                k += 2
                continue
            before = obs[i - 1]
            near = (obs[i : i + NEAR], obs[max(0, i - NEAR) : i])
            if i == 1:  # the first cell alone before the step: it is the odd one
                text = f"against {years[a]} (first year)"
                out.append(self.found(before, -self.change[a], text, near[::-1], [before]))
            elif i == len(obs) - 1:  # the last cell alone after the step
                text = f"against {years[before]} (last year)"
                out.append(self.found(a, self.change[a], text, near, [a]))
            else:
                text = f"from {years[a]} on (level shift)"
                out.append(self.found(a, self.change[a], text, near, obs[i:]))
            k += 1
        return out

    def _returns(self, a: int, b: int, obs: list[int]) -> bool:
        """Steps at a and b go away and back, and the cells between are the fewer."""
        ca, cb = self.change[a], self.change[b]
        inside = sum(1 for t in obs if a <= t < b)
        return bool(
            np.sign(ca) == -np.sign(cb)
            and abs(ca + cb) <= RETURN * max(abs(ca), abs(cb))
            and inside <= len(obs) - inside
        )


def _cross_section(
    wide: pd.DataFrame,
    x: np.ndarray,
    reported: np.ndarray,
    column: str,
    rules: AuditConfig,
    skip: set[int],
) -> list[_Found]:
    """Cells orders of magnitude from their year's median (a unit in other units in every
    year shows no jump), for units without a flag of their own series in this pass."""
    with np.errstate(all="ignore"):
        logs = np.log10(np.where(x > 0, x, np.nan))
        median = np.nanmedian(logs, axis=0)
        dev = logs - median[None, :]
        spread = MAD * np.nanmedian(np.abs(dev), axis=0)
        far = (np.abs(dev) >= rules.cross_orders) & (np.abs(dev) > rules.jump_z * spread[None, :])
    found = []
    for i, j in zip(*np.nonzero(far), strict=True):
        if i in skip:
            continue
        d = float(dev[i, j])
        detail = f"{d:+.1f} orders of magnitude from the year's median {10 ** median[j]:.4g}"
        unit, year = unit_id(wide.index[int(i)]), int(wide.columns[j])
        flag = Flag(unit, year, column, float(reported[i, j]), "scale_break", detail)
        power = int(np.sign(d)) * max(1, int(round(abs(d))))
        found.append(_Found(flag, int(i), (int(j),), power, year, across=True))
    return found
