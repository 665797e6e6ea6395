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
"""

from __future__ import annotations

from typing import Any

HASH_SEED = "0"  # as analysis/__main__.py


def dask_setup(nanny: Any) -> None:
    """Called by Dask when the Nanny starts, before it spawns the worker process."""
    nanny.pre_spawn_env["PYTHONHASHSEED"] = HASH_SEED
    nanny.env["PYTHONHASHSEED"] = HASH_SEED
