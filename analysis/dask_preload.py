"""Dask Nanny preload: workers run with the project's fixed PYTHONHASHSEED.

pyfixest orders some of its work by string hashing, so the last bits of an estimate depend on
the hash seed; `python -m analysis` runs with PYTHONHASHSEED=0 (analysis/__main__.py). Dask's
Nanny gives the worker processes it spawns PYTHONHASHSEED=6640 when the variable is unset or
0, so a worker would hash differently from the command. This preload pins the Nanny's worker
environment to the command's seed before the worker process starts:

    dask worker tcp://HOST:8786 --preload-nanny analysis.dask_preload

The LocalClusters of `python -m analysis run --workers K` and `montecarlo` load it the same
way, and both commands check every worker's hashing before they send any work
(analysis.cluster). `analysis.montecarlo.dask_preload` is the same preload under its first
name.

It also leaves glibc's memory trimming at glibc's default: Dask's Nanny gives its workers
MALLOC_TRIM_THRESHOLD_=65536 (memory handed back to the system after every free over 64
KiB), which made each numpy temporary of a county-sized panel a fresh mapping and the
mediation bootstrap's blocks 3.4 times slower on a worker than in the command (bench --dask).
A value set otherwise than Dask's default is kept.
"""

from __future__ import annotations

from typing import Any

HASH_SEED = "0"  # as analysis/__main__.py
DASK_TRIM_DEFAULT = "65536"  # distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_


def dask_setup(nanny: Any) -> None:
    """Called by Dask when the Nanny starts, before it spawns the worker process."""
    nanny.pre_spawn_env["PYTHONHASHSEED"] = HASH_SEED
    nanny.env["PYTHONHASHSEED"] = HASH_SEED
    if str(nanny.pre_spawn_env.get("MALLOC_TRIM_THRESHOLD_")) == DASK_TRIM_DEFAULT:
        del nanny.pre_spawn_env["MALLOC_TRIM_THRESHOLD_"]
