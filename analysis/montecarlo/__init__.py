"""Monte Carlo evidence for the study's estimators (`python -m analysis montecarlo`): designs
in analysis/simulation/designs.py; one replication in `replicate`; the estimators in `estimators`; their
true values in `targets`; Dask execution in `engine`; the chunk store in `store`; statistics in
`summary`; the files in `outputs`, `figures` and `report`; the command in `run`."""
