"""Independent blocks of one computation (the draws of a bootstrap), run where the run's
cross-fitting runs: in this process, in the local pool of [dml] n_jobs processes, or on the
run's Dask cluster (analysis.cluster.DaskBlocks). A block is `fn(*shared, *block)`; `shared`
holds the large arrays every block reads (sent to a process once), the results come back in
the order of the blocks. Every block runs with one BLAS / OpenMP thread, as the exhibits do
here (analysis.exhibit.MAIN_THREADS), so a result is the same bytes wherever it ran.

The run puts its runner in the exhibit context under BLOCKS_KEY (analysis.pipeline);
an estimator called without one runs its blocks here, one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

T = TypeVar("T")
BLOCKS_KEY = "blocks"


class Blocks(Protocol):
    def __call__(
        self, fn: Callable[..., T], shared: tuple[Any, ...], blocks: Sequence[tuple[Any, ...]]
    ) -> list[T]: ...


def one_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` with one BLAS / OpenMP thread (runs in a pool's process)."""
    with threadpool_limits(1):
        return fn(*args)


@dataclass(frozen=True)
class LocalBlocks:
    """This process (n_jobs 1) or a joblib pool of n_jobs processes."""

    n_jobs: int = 1

    def __call__(
        self, fn: Callable[..., T], shared: tuple[Any, ...], blocks: Sequence[tuple[Any, ...]]
    ) -> list[T]:
        if self.n_jobs > 1 and len(blocks) > 1:
            run = Parallel(n_jobs=self.n_jobs)
            return list(run(delayed(one_thread)(fn, *shared, *b) for b in blocks))
        return [one_thread(fn, *shared, *b) for b in blocks]
