"""The simulated default data: the data-generating process (dgp: `python -m analysis
simulate`), its true effects (truth), the named designs of the Monte Carlo (designs), and
estimates set beside the truth (comparison)."""
