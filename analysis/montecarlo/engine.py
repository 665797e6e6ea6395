"""Where the chunks run: in this process (`--workers 0`), on a Dask `LocalCluster` (processes,
one thread each; the default, as many workers as cores), or on an existing Dask cluster
(`--scheduler tcp://HOST:8786`), which is how a user spreads thousands of replications over
many machines.

Results do not depend on where a chunk ran: a chunk's rows are a function of its replication
numbers and settings only (analysis.montecarlo.replicate), each worker runs one replication
at a time with one BLAS thread, and the client writes each chunk's file when it arrives.
What would break that is checked before any work is sent and again on every result
(analysis.cluster, shared with `run --workers`): every worker must run the same code on the
same data and hash strings as the client does (the workers load the Nanny preload
analysis.dask_preload, which pins the command's seed).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from analysis.cluster import Cluster, connect, mismatch, worker_facts
from analysis.errors import InputError
from analysis.montecarlo.replicate import Chunk, ChunkResult, run_chunk
from analysis.progress import progress

log = logging.getLogger("analysis")


Runner = Callable[[list[Chunk]], Iterator[ChunkResult]]


def _serial(chunks: list[Chunk]) -> Iterator[ChunkResult]:
    for chunk in chunks:
        yield run_chunk(chunk)


def _dask(client: Any) -> Runner:
    from distributed import as_completed

    mine = worker_facts()

    def run(chunks: list[Chunk]) -> Iterator[ChunkResult]:
        futures = [
            client.submit(run_chunk, c, key=f"mc-{c.design}-{c.start}-{c.stop}", pure=False)
            for c in chunks
        ]
        for future in as_completed(futures):
            result: ChunkResult = future.result()
            future.release()  # nothing accumulates on the workers or here
            problem = mismatch(f"pid {result.worker['pid']}", result.worker, mine)
            if problem:  # a worker that joined after the check
                raise InputError(problem)
            yield result

    return run


@contextmanager
def cluster(workers: int | None, scheduler: str | None) -> Iterator[tuple[Runner, Cluster]]:
    """A runner of chunks and its description; a LocalCluster (one worker per core unless
    `workers` says otherwise; 0: no Dask) is closed on exit."""
    n = (os.cpu_count() or 1) if workers is None and not scheduler else workers
    with connect(n, scheduler) as (client, info):
        yield (_serial if client is None else _dask(client)), info


def run_all(runner: Runner, chunks: list[Chunk], on_result: Callable[[ChunkResult], None]) -> None:
    """Run the chunks, handing each result over as it completes (progress bar on a terminal)."""
    reps = sum(c.stop - c.start for c in chunks)
    desc = f"Monte Carlo ({reps} replications)"
    for result in progress(runner(chunks), desc, total=len(chunks)):
        on_result(result)
