"""Replications per minute of the Monte Carlo, in this process and on a 2-worker LocalCluster,
and the parallel efficiency (rate with k workers / (k x serial rate)); printed by
`python -m analysis bench`. Both sides run the same replications of the same design with the
same estimators, after a warm-up replication on every process (imports, compiled kernels)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from analysis.config import load_config
from analysis.montecarlo.engine import cluster, run_all
from analysis.montecarlo.estimators import DEFAULT
from analysis.montecarlo.replicate import Chunk
from analysis.montecarlo.settings import MCSettings

WARM_UP = ("baseline", "event_study")


@dataclass(frozen=True)
class Throughput:
    reps: int
    workers: int
    serial_seconds: float
    parallel_seconds: float

    @property
    def serial_rate(self) -> float:
        return 60 * self.reps / self.serial_seconds

    @property
    def parallel_rate(self) -> float:
        return 60 * self.reps / self.parallel_seconds

    @property
    def efficiency(self) -> float:
        return self.parallel_rate / (self.workers * self.serial_rate)


def measure(
    reps: int = 4, workers: int = 2, design: str = "study", estimators: tuple[str, ...] = DEFAULT
) -> Throughput:
    """Time `reps` replications serially and on `workers` LocalCluster workers (one chunk per
    replication, so the workers share them out)."""
    cfg = load_config()
    settings = MCSettings()

    def chunks(first: int, n: int, which: tuple[str, ...]) -> list[Chunk]:
        return [
            Chunk(design, r, r + 1, cfg.seed, which, settings, cfg) for r in range(first, first + n)
        ]

    seconds = []
    for n_workers in (0, workers):
        with cluster(n_workers, None) as (runner, _):
            run_all(runner, chunks(1000, max(n_workers, 1), WARM_UP), lambda _: None)
            t0 = time.perf_counter()
            run_all(runner, chunks(0, reps, estimators), lambda _: None)
            seconds.append(time.perf_counter() - t0)
    return Throughput(reps, workers, seconds[0], seconds[1])
