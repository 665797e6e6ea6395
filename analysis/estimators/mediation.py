"""The indirect effect a x b of a treatment through a channel, with a cluster bootstrap.

a: the treatment's coefficient in the channel's TWFE regression; b: the channel's
coefficient in the outcome's TWFE regression that also holds the treatment. Both with city
and year fixed effects (two-way demeaning by alternating projections, pyfixest's demean) and
the controls. The bootstrap resamples cities with replacement; a drawn city keeps all its
years and enters as a new cluster each time it is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyfixest.estimation import demean

from analysis.estimators.blocks import Blocks, LocalBlocks

OUTCOME = "resilience"
DEMEAN_TOL = 1e-10


@dataclass(frozen=True)
class Indirect:
    """a x b and its cluster-bootstrap distribution."""

    a: float
    b: float
    estimate: float
    draws: np.ndarray
    std_error: float
    conf_low: float
    conf_high: float


def indirect_ab(
    values: np.ndarray, city: np.ndarray, year: np.ndarray, n_controls: int
) -> tuple[float, float]:
    """a and b by two-way demeaning (alternating projections) and least squares.
    `values` columns: channel, outcome, treat_post, controls."""
    codes = np.column_stack(
        [np.unique(city, return_inverse=True)[1], np.unique(year, return_inverse=True)[1]]
    ).astype(np.uint64)
    dm, converged = demean(
        np.ascontiguousarray(values, dtype=np.float64), codes, np.ones(len(values)), tol=DEMEAN_TOL
    )
    if not converged:
        raise RuntimeError("two-way demeaning did not converge")
    m, y, d, x = dm[:, 0], dm[:, 1], dm[:, 2], dm[:, 3 : 3 + n_controls]
    a = np.linalg.lstsq(np.column_stack([d, x]), m, rcond=None)[0][0]
    b = np.linalg.lstsq(np.column_stack([d, m, x]), y, rcond=None)[0][1]
    return float(a), float(b)


def _resample_rows(bounds: np.ndarray, pick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the drawn cities, city after city (city c holds rows bounds[c] to
    bounds[c+1]-1), and each row's new cluster: its draw's position."""
    lengths = bounds[pick + 1] - bounds[pick]
    draw = np.repeat(np.arange(len(pick)), lengths)
    first_of_draw = np.cumsum(lengths) - lengths
    rows = bounds[pick][draw] + np.arange(int(lengths.sum())) - first_of_draw[draw]
    return rows, draw


BLOCK = 25  # draws per block: fixed, so that the blocks (not the numbers) depend on reps


def _indirect_block(
    values: np.ndarray,
    bounds: np.ndarray,
    year: np.ndarray,
    n_controls: int,
    bit_generator: type[np.random.BitGenerator],
    state: dict[str, Any],
    size: int,
) -> np.ndarray:
    """a x b on `size` resamples drawn from a generator restored to `state`."""
    gen = bit_generator()
    gen.state = state
    rng = np.random.Generator(gen)
    n_cities = len(bounds) - 1
    out = np.empty(size)
    for r in range(size):
        pick = rng.integers(0, n_cities, n_cities)
        rows, new_city = _resample_rows(bounds, pick)
        ar, br = indirect_ab(values[rows], new_city, year[rows], n_controls)
        out[r] = ar * br
    return out


def bootstrap_indirect(
    panel: pd.DataFrame,
    mechanism: str,
    controls: tuple[str, ...],
    reps: int,
    rng: np.random.Generator,
    level: float,
    blocks: Blocks | None = None,
) -> Indirect:
    """Resample cities with replacement (a drawn city keeps all its years and enters as a
    new cluster each time it is drawn); a x b on every resample; percentile interval.

    The draws come from `rng` one after another, as in a loop over them; they are evaluated
    in blocks of BLOCK draws (`blocks`: the run's processes or Dask workers, else here), each
    block starting from the generator's state where its first draw begins, so the numbers do
    not depend on where the blocks ran."""
    cols = [mechanism, OUTCOME, "treat_post", *controls]
    data = panel[["city_code", "year", *cols]].dropna().sort_values(["city_code", "year"])
    values = data[cols].to_numpy(dtype=float)
    city, year = data["city_code"].to_numpy(), data["year"].to_numpy()
    a, b = indirect_ab(values, city, year, len(controls))
    starts = np.flatnonzero(np.r_[True, city[1:] != city[:-1]])
    bounds = np.r_[starts, len(city)]
    n_cities = len(starts)
    plan = []
    for first in range(0, reps, BLOCK):
        size = min(BLOCK, reps - first)
        plan.append((type(rng.bit_generator), rng.bit_generator.state, size))
        for _ in range(size):  # move the generator past the block's draws
            rng.integers(0, n_cities, n_cities)
    runner = blocks or LocalBlocks()
    shared = (values, bounds, year, len(controls))
    results = runner(_indirect_block, shared, plan)
    draws = np.concatenate(results) if results else np.empty(0)
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return Indirect(a, b, a * b, draws, float(np.std(draws, ddof=1)), float(low), float(high))
