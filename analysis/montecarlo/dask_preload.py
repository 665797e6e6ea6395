"""The Dask Nanny preload under its first name (`--preload-nanny
analysis.montecarlo.dask_preload`): the same as analysis.dask_preload."""

from analysis.dask_preload import HASH_SEED, dask_setup

__all__ = ["HASH_SEED", "dask_setup"]
