"""Dask Nanny preload: workers run with the project's fixed PYTHONHASHSEED.

pyfixest orders some of its work by string hashing, so the last bits of an estimate depend on
the hash seed; `python -m analysis` runs with PYTHONHASHSEED=0 (analysis/__main__.py). Dask's
Nanny gives the worker processes it spawns PYTHONHASHSEED=6640 when the variable is unset or
0, so a worker would hash differently from the command. This preload pins the Nanny's worker
environment to the command's seed before the worker process starts:

    dask worker tcp://HOST:8786 --preload-nanny analysis.montecarlo.dask_preload

The LocalCluster of `python -m analysis montecarlo` loads it the same way, and the command
checks every worker's hashing before it sends any work (analysis.montecarlo.engine).
"""

from __future__ import annotations

from typing import Any

HASH_SEED = "0"  # as analysis/__main__.py


def dask_setup(nanny: Any) -> None:
    """Called by Dask when the Nanny starts, before it spawns the worker process."""
    nanny.pre_spawn_env["PYTHONHASHSEED"] = HASH_SEED
    nanny.env["PYTHONHASHSEED"] = HASH_SEED
