"""Where the chunks run: in this process (`--workers 0`), on a Dask `LocalCluster` (processes,
one thread each; the default, as many workers as cores), or on an existing Dask cluster
(`--scheduler tcp://HOST:8786`), which is how a user spreads thousands of replications over
many machines.

Results do not depend on where a chunk ran: a chunk's rows are a function of its replication
numbers and settings only (analysis.montecarlo.replicate), each worker runs one replication
at a time with one BLAS thread, and the client writes each chunk's file when it arrives.
What would break that is checked before any work is sent and again on every result: every
worker must run the same code on the same data (a fingerprint of analysis/ and data/) and hash
strings as the client does (pyfixest's internal order depends on string hashing; Dask's Nanny
would give its workers PYTHONHASHSEED=6640, so the workers load
analysis.montecarlo.dask_preload, which pins the command's seed).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from analysis.errors import InputError
from analysis.montecarlo.replicate import BLAS_ENV, Chunk, ChunkResult, run_chunk, worker_facts
from analysis.progress import progress

log = logging.getLogger("analysis")


@dataclass(frozen=True)
class Cluster:
    """How the chunks are run, for the manifest."""

    kind: str  # "serial", "local" or "scheduler"
    workers: int
    address: str = ""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "address": self.address}


Runner = Callable[[list[Chunk]], Iterator[ChunkResult]]


def _serial(chunks: list[Chunk]) -> Iterator[ChunkResult]:
    for chunk in chunks:
        yield run_chunk(chunk)


PRELOAD = "analysis.montecarlo.dask_preload"


def _mismatch(address: str, theirs: dict[str, Any], mine: dict[str, Any]) -> str | None:
    """Why a worker's results could differ from this process's, or None."""
    if theirs["hash_probe"] != mine["hash_probe"]:
        return (
            f"Dask worker {address} hashes strings differently from this process "
            f"(PYTHONHASHSEED {theirs['hash_seed']!r} there, {mine['hash_seed']!r} here): start "
            f"the workers with `dask worker ADDRESS --preload-nanny {PRELOAD}` (or "
            "PYTHONHASHSEED=0 and --no-nanny), and run this command as `python -m analysis`"
        )
    if theirs["code"] != mine["code"]:
        return (
            f"Dask worker {address} runs other code or data than this checkout (fingerprint "
            f"{theirs['code'][:12]} there, {mine['code'][:12]} here): install the same version"
        )
    return None


def _check_workers(client: Any) -> int:
    """Every worker runs the client's code and data and hashes strings as the client does."""
    mine = worker_facts()
    facts: dict[str, dict[str, Any]] = client.run(worker_facts)
    if not facts:
        raise InputError("the Dask cluster has no workers")
    for address, theirs in sorted(facts.items()):
        problem = _mismatch(address, theirs, mine)
        if problem:
            raise InputError(problem)
    return len(facts)


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
            problem = _mismatch(f"pid {result.worker['pid']}", result.worker, mine)
            if problem:  # a worker that joined after the check
                raise InputError(problem)
            yield result

    return run


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own log messages (start-up, shutdown) stay off the terminal."""
    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "bokeh")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


@contextmanager
def cluster(workers: int | None, scheduler: str | None) -> Iterator[tuple[Runner, Cluster]]:
    """A runner of chunks and its description; the LocalCluster is closed on exit."""
    if scheduler:
        from distributed import Client

        with _quiet_dask():
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise InputError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
            try:
                n = _check_workers(client)
                yield _dask(client), Cluster("scheduler", n, scheduler)
            finally:
                client.close()
        return
    n = (os.cpu_count() or 1) if workers is None else workers
    if n == 0:
        yield _serial, Cluster("serial", 0)
        return
    from distributed import Client, LocalCluster

    os.environ.update(BLAS_ENV)  # inherited by the worker processes before they import numpy
    with (
        _quiet_dask(),
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
            env=dict(BLAS_ENV),
            preload_nanny=[PRELOAD],
        ) as local,
        Client(local) as client,
    ):
        _check_workers(client)
        yield _dask(client), Cluster("local", n)


def run_all(runner: Runner, chunks: list[Chunk], on_result: Callable[[ChunkResult], None]) -> None:
    """Run the chunks, handing each result over as it completes (progress bar on a terminal)."""
    reps = sum(c.stop - c.start for c in chunks)
    desc = f"Monte Carlo ({reps} replications)"
    for result in progress(runner(chunks), desc, total=len(chunks)):
        on_result(result)
