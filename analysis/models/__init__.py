"""The model layer: the study's fits as functions of a panel and a specification that return
result objects, below the exhibits (which turn results into tables, figures and rows).

- `twfe`: the baseline TWFE and the TWFE event study (pyfixest), the pre-trend Wald test;
- `callaway_santanna`: ATT(g,t) and their aggregations (diff-diff without covariates, DRDID's
  estimators with them);
- `honest`: HonestDiD's robust sets of an event study (relative magnitudes, smoothness).

Exhibits, the Monte Carlo, bench and notebooks import these; nothing here imports an exhibit.
"""
