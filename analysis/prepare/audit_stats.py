"""Robust statistics of a column's unit series, for the data audit's rules (analysis.prepare.
audit documents them): each cell's change and departure from its neighbours, as robust z
against the unit's own spread (never less than the column's), with the change common to
all units removed."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import AuditConfig

MAD = 1.4826  # the median absolute deviation times this estimates a normal SD
MIN_UNITS = 5  # fewer units in a year pair: no common change is removed
MIN_CHANGES = 4  # fewer changes in a unit's series: its own volatility is not estimated


def _robust(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Values centred on each unit's median; each unit's robust SD (NaN with fewer than
    MIN_CHANGES values) and the column's."""
    with warnings.catch_warnings():  # all-NaN rows: NaN medians, as intended
        warnings.simplefilter("ignore", RuntimeWarning)
        centred = values - np.nanmedian(values, axis=1, keepdims=True)
        unit = MAD * np.nanmedian(np.abs(centred), axis=1)
    unit[np.sum(np.isfinite(values), axis=1) < MIN_CHANGES] = np.nan
    dev = np.abs(centred[np.isfinite(centred)])
    column = MAD * float(np.median(dev)) if dev.size else np.nan
    if not column > 0 and dev.size:  # piecewise-constant column: the typical non-zero change
        nonzero = dev[dev > 0]
        column = MAD * float(np.median(nonzero)) if nonzero.size else np.nan
    return centred, unit, column


def _common_path(
    y: np.ndarray, rules: AuditConfig, log_scale: bool
) -> tuple[np.ndarray, list[int]]:
    """The cumulated median change across units by year (removed so that common growth is
    no jump), without the year-pairs whose common change is itself a jump (a whole year in
    other units stays visible in every unit). Returns the path and those positions."""
    d = y[:, 1:] - y[:, :-1]
    both = np.isfinite(d)
    m = _median_changes(d)
    centred, _, scale = _robust(np.where(both, d - m, np.nan))
    typical = float(np.median(m)) if m.size else 0.0
    broken = []
    if np.isfinite(scale):
        off = np.abs(m - typical)
        big = off > rules.jump_z * scale
        if log_scale:
            big &= off >= np.log(rules.jump_ratio)
        broken = [int(j) + 1 for j in np.nonzero(big)[0]]
        m[big] = typical
    return np.concatenate([[0.0], np.cumsum(m)]), broken


def _median_changes(d: np.ndarray) -> np.ndarray:
    """The median change across units of each year pair (0 with fewer than MIN_UNITS)."""
    m = np.zeros(d.shape[1])
    for j in range(d.shape[1]):
        both = np.isfinite(d[:, j])
        if both.sum() >= MIN_UNITS:
            m[j] = np.median(d[both, j])
    return m


def median_path(y: np.ndarray) -> np.ndarray:
    """The cumulated median change across units, year by year."""
    return np.concatenate([[0.0], np.cumsum(_median_changes(y[:, 1:] - y[:, :-1]))])


def previous(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every cell: the previous observed value in its row and its position (NaN and -1
    when there is none)."""
    n, t = y.shape
    seen = np.where(np.isfinite(y), np.arange(t)[None, :], -1)
    last = np.maximum.accumulate(seen, axis=1)  # last observed position up to each cell
    pos = np.concatenate([np.full((n, 1), -1), last[:, :-1]], axis=1)
    value = np.where(pos >= 0, np.take_along_axis(y, np.maximum(pos, 0), axis=1), np.nan)
    return value, pos


def following(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every cell: the next observed value in its row and its position (NaN and -1)."""
    t = y.shape[1]
    value, pos = previous(y[:, ::-1])
    return value[:, ::-1], np.where(pos >= 0, t - 1 - pos, -1)[:, ::-1]


@dataclass(frozen=True)
class Stats:
    """A column's series statistics: the transformed values with the common path removed,
    the change into each cell and the cell's departure from its neighbours' mean, each as
    robust z (against the unit's own spread, never less than the column's)."""

    y: np.ndarray
    change: np.ndarray
    spike: np.ndarray
    z_change: np.ndarray
    z_spike: np.ndarray
    next_pos: np.ndarray  # position of each cell's next observed cell (-1: none)
    broken: list[int]  # years (positions) whose common change is itself a jump


def statistics(x: np.ndarray, log_scale: bool, rules: AuditConfig) -> Stats | None:
    """The statistics of units x years values `x` (logs on log scale); None when the
    column has no change to measure."""
    with np.errstate(all="ignore"):
        y = np.log(x) if log_scale else x.copy()
    y[~np.isfinite(y)] = np.nan
    path, broken = _common_path(y, rules, log_scale)
    y = y - path[None, :]
    prev, _ = previous(y)
    nxt, next_pos = following(y)
    change = y - prev  # into this cell from the previous observed one
    spike = y - (prev + nxt) / 2
    c_change, u_change, s_change = _robust(change)
    c_spike, u_spike, s_spike = _robust(spike)
    if not np.isfinite(s_change):
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        z_change = np.abs(c_change) / np.fmax(u_change, s_change)[:, None]
        z_spike = np.abs(c_spike) / np.fmax(u_spike, s_spike)[:, None]
    return Stats(y, change, spike, z_change, z_spike, next_pos, broken)


def departures(wide: pd.DataFrame, log_scale: bool, rules: AuditConfig) -> pd.DataFrame:
    """How far each cell departs from its own unit's series, as a robust z: against the
    mean of its neighbours (inner cells), or the change into it (last) or out of it (first).
    NaN where the series is too short to tell. Read by the repeated-value rule."""
    x = wide.to_numpy(dtype=float)
    out = np.full(x.shape, np.nan)
    stats = statistics(x, log_scale, rules) if x.shape[1] >= 3 and x.shape[0] else None
    if stats is not None:
        out = stats.z_spike.copy()
        last = np.isfinite(stats.y) & ~np.isfinite(following(stats.y)[0])
        out[last] = stats.z_change[last]
        first = np.isfinite(stats.y) & ~np.isfinite(previous(stats.y)[0])
        out_of_first = np.where(stats.next_pos >= 0, stats.next_pos, 0)
        leaving = np.take_along_axis(stats.z_change, out_of_first, axis=1)
        out[first] = np.where(stats.next_pos >= 0, leaving, np.nan)[first]
    return pd.DataFrame(out, index=wide.index, columns=wide.columns)
