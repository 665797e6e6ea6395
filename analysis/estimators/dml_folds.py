"""Seeds and cross-fitting folds of the DML: a generator per named task derived from the
run's seed, folds dealt over cities (every city's years in one fold, optionally balanced
within strata such as treatment cohorts), and the row and cluster folds in doubleml's
layout."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np


def child_rng(seed: int, *labels: str) -> np.random.Generator:
    """A generator for one named task, derived from the run's seed (independent of the
    order in which tasks run or which other tasks are switched on)."""
    return np.random.default_rng([seed, *(zlib.crc32(label.encode()) for label in labels)])


def child_seed(seed: int, *labels: str) -> int:
    return int(child_rng(seed, *labels).integers(2**31 - 1))


@dataclass(frozen=True)
class Splits:
    """Cross-fitting folds of every repetition: rows (train, test) and cities (train, test)."""

    smpls: list[list[tuple[np.ndarray, np.ndarray]]]
    smpls_cluster: list[list[tuple[list[np.ndarray], list[np.ndarray]]]]

    @property
    def n_rep(self) -> int:
        return len(self.smpls)

    @property
    def n_folds(self) -> int:
        return len(self.smpls[0])


def city_folds(
    cities: np.ndarray,
    n_folds: int,
    n_rep: int,
    rng: np.random.Generator,
    strata: np.ndarray | None = None,
) -> np.ndarray:
    """Fold of each city (n_rep x n_cities). Within each stratum (all cities, or e.g. each
    treatment cohort) a random permutation is dealt round-robin from a random starting
    fold, so fold sizes differ by at most one city per stratum."""
    strata = np.zeros(len(cities), dtype=int) if strata is None else np.asarray(strata)
    out = np.empty((n_rep, len(cities)), dtype=int)
    for r in range(n_rep):
        for s in np.unique(strata):
            idx = np.flatnonzero(strata == s)
            start = int(rng.integers(n_folds)) if len(np.unique(strata)) > 1 else 0
            out[r, rng.permutation(idx)] = (start + np.arange(len(idx))) % n_folds
    return out


def grouped_splits(groups: np.ndarray, cities: np.ndarray, folds: np.ndarray) -> Splits:
    """Row folds from a city fold assignment: every city's rows sit in one fold. Cities
    without rows are left out of the cluster partition."""
    pos = np.searchsorted(cities, groups)
    if np.any(pos >= len(cities)) or not np.array_equal(
        cities[np.minimum(pos, len(cities) - 1)], groups
    ):
        raise ValueError("a row's city is missing from the fold assignment")
    present = np.zeros(len(cities), dtype=bool)
    present[pos] = True
    smpls, smpls_cluster = [], []
    for assignment in folds:
        row_fold = assignment[pos]
        k_max = int(assignment.max()) + 1
        smpls.append(
            [(np.flatnonzero(row_fold != k), np.flatnonzero(row_fold == k)) for k in range(k_max)]
        )
        smpls_cluster.append(
            [
                ([cities[present & (assignment != k)]], [cities[present & (assignment == k)]])
                for k in range(k_max)
            ]
        )
    return Splits(smpls, smpls_cluster)
