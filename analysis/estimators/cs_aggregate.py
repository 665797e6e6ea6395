"""Aggregations of Callaway-Sant'Anna ATT(g,t) with their influence functions.

diff-diff estimates ATT(g,t) and aggregates them as "simple", "event_study" and "group", but
has no calendar-time aggregation and no overall summary of the event-time and group
aggregations (R's `aggte()` reports both as `overall.att`). This module does those from the
cells' per-city influence functions, with the same two building blocks R's `did` uses:

- a cohort-share weighted average over a set of cells k with cohorts g_k,
  A = sum_k p_k a_k / sum_k p_k, p_k = share of cities in cohort g_k, whose influence
  function adds the estimation error of the shares ("wif"):
  psi_A = sum_k (p_k / S) psi_k + (1/n) sum_k a_k [ (1{G=g_k} - p_k) / S
          - (sum_j (1{G=g_j} - p_j)) p_k / S^2 ],  S = sum_k p_k;
- an equally weighted mean of aggregates (weights fixed, no wif).

Influence functions are on diff-diff's scale: per city, so that SE = sqrt(sum_i psi_i^2)
(R's `did` scales them by n and takes sqrt(mean(IF^2) / n): the same number). The tests
check these functions against diff-diff's own simple/event-study/group aggregations and
against R's `aggte(type = "calendar")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Cells:
    """ATT(g,t) cells with per-city influence functions (columns = cells)."""

    groups: np.ndarray  # cohort of each cell
    times: np.ndarray  # calendar period of each cell
    att: np.ndarray
    se: np.ndarray  # as reported by the estimator (NaN for reference cells)
    psi: np.ndarray  # n_cities x n_cells
    unit_cohort: np.ndarray  # cohort of each city (0 = never treated)


@dataclass(frozen=True)
class Aggregate:
    """One aggregated effect and its influence function."""

    estimate: float
    psi: np.ndarray

    @property
    def se(self) -> float:
        return float(np.sqrt(np.sum(self.psi**2)))


def cells_from_diff_diff(results: Any) -> Cells:
    """The cells and influence functions of a fitted diff-diff CallawaySantAnna result.

    diff-diff keeps the per-cell influence functions in its aggregation kit (not a public
    attribute in 3.13); the reconstruction is checked against every cell's reported SE, so a
    change of that layout fails here rather than giving wrong numbers."""
    kit = results._aggregation_kit
    book, influence = kit.bookkeeping, kit.influence
    units = np.asarray(book["all_units"])
    cohorts = np.asarray(book["unit_cohorts"], dtype=float)
    keys = sorted(results.group_time_effects)
    psi = np.zeros((len(units), len(keys)))
    att, se = np.empty(len(keys)), np.empty(len(keys))
    for j, key in enumerate(keys):
        cell = results.group_time_effects[key]
        att[j], se[j] = cell["effect"], cell["se"]
        info = influence.get(key)
        if info is None:
            continue
        np.add.at(psi[:, j], np.asarray(info["treated_idx"]), np.asarray(info["treated_inf"]))
        np.add.at(psi[:, j], np.asarray(info["control_idx"]), np.asarray(info["control_inf"]))
    implied = np.sqrt((psi**2).sum(axis=0))
    ok = ~np.isfinite(se) | np.isclose(implied, se, rtol=1e-9, atol=1e-14)
    if not ok.all():
        raise RuntimeError(
            "diff-diff's influence functions do not reproduce its ATT(g,t) standard errors; "
            "the diff-diff version is not the one this module was written for (3.13)"
        )
    cohorts = np.where(np.isfinite(cohorts), cohorts, 0.0)
    return Cells(
        groups=np.array([k[0] for k in keys], dtype=float),
        times=np.array([k[1] for k in keys], dtype=float),
        att=att,
        se=se,
        psi=psi,
        unit_cohort=cohorts,
    )


def share_weighted(cells: Cells, which: np.ndarray) -> Aggregate:
    """Cohort-share weighted average of the cells in `which` (boolean or index), with the
    estimation error of the shares in its influence function."""
    idx = np.flatnonzero(which) if np.asarray(which).dtype == bool else np.asarray(which)
    n = cells.psi.shape[0]
    member = cells.unit_cohort[:, None] == cells.groups[idx][None, :]  # n x K
    p = member.mean(axis=0)
    s = p.sum()
    a = cells.att[idx]
    dev = member - p  # 1{G_i = g_k} - p_k
    wif = dev / s - dev.sum(axis=1, keepdims=True) * p[None, :] / s**2
    psi = cells.psi[:, idx] @ (p / s) + (wif @ a) / n
    return Aggregate(float(p @ a / s), psi)


def mean_of(parts: list[Aggregate]) -> Aggregate:
    """Equally weighted mean of aggregates (weights fixed: no share-estimation term)."""
    est = float(np.mean([x.estimate for x in parts]))
    psi = np.mean(np.column_stack([x.psi for x in parts]), axis=1)
    return Aggregate(est, psi)


def cell(cells: Cells, j: int) -> Aggregate:
    return Aggregate(float(cells.att[j]), cells.psi[:, j])


def post(cells: Cells) -> np.ndarray:
    """Cells on or after treatment (t >= g)."""
    return cells.times >= cells.groups


def simple(cells: Cells) -> Aggregate:
    """Overall ATT: share-weighted average of all post-treatment cells."""
    return share_weighted(cells, post(cells))


def dynamic(cells: Cells) -> tuple[dict[int, Aggregate], Aggregate]:
    """Event-time aggregation (every event time with a cell) and its overall summary, the
    mean over event times >= 0. Reference cells (NaN SE, universal base) are kept."""
    e = (cells.times - cells.groups).astype(int)
    by = {int(k): share_weighted(cells, e == k) for k in np.unique(e)}
    return by, mean_of([a for k, a in by.items() if k >= 0])


def group(cells: Cells, r_did_wif: bool = False) -> tuple[dict[int, Aggregate], Aggregate]:
    """Cohort aggregation (mean of a cohort's post cells) and its share-weighted overall.

    `r_did_wif=True` reproduces R did 2.1.2's overall SE, whose share-estimation term takes
    the cohort of the first cells of the ATT(g,t) list instead of each cohort in turn (its
    `wif(keepers = 1:length(glist), pg = pgg, ..., group = group)`); with two or more cohorts
    that term is then not mean-zero. The default uses each cohort, as the formula intends."""
    p = post(cells)
    glist = np.unique(cells.groups)
    by = {
        int(g): mean_of([cell(cells, int(j)) for j in np.flatnonzero(p & (cells.groups == g))])
        for g in glist
    }
    summary = Cells(
        groups=glist.astype(float),
        times=glist.astype(float),
        att=np.array([by[int(g)].estimate for g in glist]),
        se=np.array([by[int(g)].se for g in glist]),
        psi=np.column_stack([by[int(g)].psi for g in glist]),
        unit_cohort=cells.unit_cohort,
    )
    overall = share_weighted(summary, np.ones(len(glist), dtype=bool))
    if not r_did_wif:
        return by, overall
    n = len(cells.unit_cohort)
    p = np.array([(cells.unit_cohort == g).mean() for g in glist])
    member = cells.unit_cohort[:, None] == cells.groups[: len(glist)][None, :]
    dev = member - p
    wif = dev / p.sum() - dev.sum(axis=1, keepdims=True) * p[None, :] / p.sum() ** 2
    psi = summary.psi @ (p / p.sum()) + (wif @ summary.att) / n
    return by, Aggregate(overall.estimate, psi)


def calendar(cells: Cells) -> tuple[dict[int, Aggregate], Aggregate]:
    """Calendar-time aggregation: for each year t from the first cohort on, the
    share-weighted average of the cohorts treated by t; overall = mean over years."""
    p = post(cells)
    years = np.unique(cells.times[cells.times >= cells.groups.min()])
    by = {int(t): share_weighted(cells, p & (cells.times == t)) for t in years}
    return by, mean_of(list(by.values()))
