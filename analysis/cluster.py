"""Dask for the commands that use it (`run --workers K | --scheduler ADDRESS` and
`montecarlo`): a `LocalCluster` of one-thread worker processes, or an existing cluster, with
the checks that make a worker's results the client's.

What would make a worker's numbers differ is checked before any work is sent: every worker
must run the same code on the same data (a fingerprint of analysis/ and data/) and hash
strings as the client does (pyfixest orders some of its work by string hashing; Dask's Nanny
would give its workers PYTHONHASHSEED=6640, so workers load the Nanny preload
analysis.dask_preload, which pins the command's seed). Workers run with one BLAS / OpenMP
thread (BLAS_ENV), as the local pool does.

`DaskPool` is the cross-fitting pool of a run on Dask (analysis.estimators.crossfit.Pool):
each distinct feature matrix, target and set of folds is sent once (as a task that returns
it, so that the scheduler can make it again if the worker holding it is lost: scattered data
would be lost for good), every job is submitted with its learner and references to them, and
the predictions are gathered in the order of the jobs, so a run's estimates are the same
bytes whatever the number of workers, and also when a worker dies mid-run.

`DaskBlocks` runs the blocks of a bootstrap (analysis.estimators.blocks) on the same cluster,
the arrays they share sent once in the same way.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import joblib
import numpy as np

from analysis.config import REPO_ROOT
from analysis.errors import InputError
from analysis.estimators.blocks import one_thread
from analysis.estimators.crossfit import Job, predict

BLAS_ENV = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
PRELOAD = "analysis.dask_preload"
HASH_PROBE = "analysis.montecarlo: string hashing"


@functools.cache
def code_fingerprint() -> str:
    """sha256 over the package's source and the data the simulation reads: a worker must run
    the same code on the same data as the client for the results to be the same. Computed
    once per process (the code it imported), so editing files during a run changes nothing."""
    h = hashlib.sha256()
    files = sorted((REPO_ROOT / "analysis").rglob("*.py")) + sorted(
        p for p in (REPO_ROOT / "data").glob("*") if p.suffix in (".csv", ".toml")
    )
    for p in files:
        h.update(str(p.relative_to(REPO_ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def worker_facts() -> dict[str, Any]:
    """What must agree between the client and every worker (and is recorded): the string
    hashing of the process (equal hashes of a fixed string: the same PYTHONHASHSEED), and the
    code and data it runs."""
    return {
        "hash_seed": os.environ.get("PYTHONHASHSEED"),
        "hash_probe": hash(HASH_PROBE),
        "code": code_fingerprint(),
    }


@dataclass(frozen=True)
class Cluster:
    """Where the heavy work ran, for the manifest."""

    kind: str  # "serial" / "local pool" (no Dask), "local" (LocalCluster) or "scheduler"
    workers: int
    address: str = ""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "address": self.address}


def mismatch(address: str, theirs: dict[str, Any], mine: dict[str, Any]) -> str | None:
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


def check_workers(client: Any) -> int:
    """Every worker runs the client's code and data and hashes strings as the client does;
    returns the number of workers."""
    mine = worker_facts()
    facts: dict[str, dict[str, Any]] = client.run(worker_facts)
    if not facts:
        raise InputError("the Dask cluster has no workers")
    for address, theirs in sorted(facts.items()):
        problem = mismatch(address, theirs, mine)
        if problem:
            raise InputError(problem)
    return len(facts)


@contextmanager
def quiet_dask() -> Iterator[None]:
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


def local_cluster(workers: int) -> Any:
    """A LocalCluster of `workers` one-thread processes started through the Nanny preload
    (a context manager)."""
    from distributed import LocalCluster

    os.environ.update(BLAS_ENV)  # inherited by the worker processes before they import numpy
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
        env=dict(BLAS_ENV),
        preload_nanny=[PRELOAD],
    )


@contextmanager
def connect(workers: int | None, scheduler: str | None) -> Iterator[tuple[Any, Cluster]]:
    """A checked Dask client and its description: of the cluster at `scheduler`, or of a
    LocalCluster of `workers` one-thread processes (closed on exit). No client (None) when
    neither is given or `workers` is 0."""
    if scheduler:
        import dask
        from distributed import Client

        # How long to keep trying: Dask's own setting (distributed.comm.timeouts.connect,
        # e.g. DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=60s for a scheduler still starting).
        timeout = dask.config.get("distributed.comm.timeouts.connect")
        with quiet_dask():
            try:
                client = Client(scheduler, timeout=timeout)
            except OSError as exc:
                raise InputError(
                    f"--scheduler {scheduler}: cannot connect within {timeout} ({exc})"
                ) from None
            try:
                n = check_workers(client)
                yield client, Cluster("scheduler", n, scheduler)
            finally:
                client.close()
        return
    if not workers:
        yield None, Cluster("serial", 0)
        return
    if workers < 0:
        raise InputError(f"--workers {workers}: must be 0 (no Dask) or more")
    from distributed import Client

    with quiet_dask(), local_cluster(workers) as local, Client(local) as client:
        check_workers(client)
        yield client, Cluster("local", workers)


def _hold(value: Any) -> Any:
    """A shared array as the result of a task (runs on a worker)."""
    return value


def _predict_with(job: Job, x: np.ndarray, y: np.ndarray, folds: Any) -> tuple[np.ndarray, float]:
    """A job whose arrays were sent apart from it (runs on a worker)."""
    return predict(replace(job, x=x, y=y, folds=folds))


class _DaskBatches:
    """What the cluster's two kinds of batch share: arrays sent once as tasks that return
    them (if the worker holding one is lost, the scheduler, which keeps the task, runs it
    again on another; scattered data would be lost for good), task keys of this object only,
    and the results gathered in the order of the tasks."""

    kind = ""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.batches = 0
        self.tag = uuid.uuid4().hex[:8]  # task keys of this pool only

    def _run(
        self,
        shared: Sequence[Any],
        tasks: Sequence[tuple[Any, tuple[Any, ...], list[int], tuple[Any, ...]]],
    ) -> list[Any]:
        """Each task (fn, leading, indices into `shared`, trailing) as fn(*leading,
        *shared[indices], *trailing); the results in order."""
        self.batches += 1
        name = f"{self.tag}-{self.batches}"
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
            sent = [
                self.client.submit(_hold, value, key=f"{self.kind}-data-{name}-{j}", pure=False)
                for j, value in enumerate(shared)
            ]
            futures = [
                self.client.submit(
                    fn,
                    *leading,
                    *(sent[k] for k in which),
                    *trailing,
                    key=f"{self.kind}-{name}-{i}",
                    pure=False,
                    retries=2,
                )
                for i, (fn, leading, which, trailing) in enumerate(tasks)
            ]
        try:
            results: list[Any] = self.client.gather(futures)
        finally:
            self.client.cancel([*futures, *sent])
        return results


class DaskPool(_DaskBatches):
    """Cross-fitting jobs on a Dask cluster (analysis.estimators.crossfit.Pool)."""

    kind = "crossfit"

    def __call__(self, jobs: Sequence[Job]) -> list[tuple[np.ndarray, float]]:
        # Arrays shared by several jobs (a specification's features; a nuisance's target and
        # a repetition's folds, the same objects for every learner) are sent once.
        index: dict[tuple[str, int | str], int] = {}
        shared: list[Any] = []
        tasks = []
        for job in jobs:
            keys: tuple[tuple[str, int | str], ...] = (
                ("x", job.x_key or str(joblib.hash(job.x))),
                ("y", id(job.y)),
                ("folds", id(job.folds)),
            )
            for key, value in zip(keys, (job.x, job.y, tuple(job.folds)), strict=True):
                if key not in index:
                    index[key] = len(shared)
                    shared.append(value)
            light = replace(job, x=np.empty((0, job.x.shape[1])), y=np.empty(0), folds=[])
            tasks.append((_predict_with, (light,), [index[k] for k in keys], ()))
        return self._run(shared, tasks)


class DaskBlocks(_DaskBatches):
    """Blocks of one computation on a Dask cluster (analysis.estimators.blocks.Blocks)."""

    kind = "blocks"

    def __call__(
        self, fn: Any, shared: tuple[Any, ...], blocks: Sequence[tuple[Any, ...]]
    ) -> list[Any]:
        every = list(range(len(shared)))
        return self._run(shared, [(one_thread, (fn,), every, block) for block in blocks])
