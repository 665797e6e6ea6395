"""The truth of a simulated panel (analysis/simulation/dgp.py), written beside it as
FILE.truth.json: the project's own pipeline applied to the observed panel and to the
untreated potential outcomes (the same interpolation and variable construction, entropy
weights fitted on the observed data), and the mean difference over treated post-treatment
city-years, overall and by cohort, event time, cohort-year, mechanism and moderator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.config import Config
from analysis.prepare.panel import build_panel

MECHANISMS = ("tech_innovation", "digital_infra", "rationalization")


def _mean_by(diff: pd.Series, keys: pd.Series) -> dict[str, float]:
    means = diff.groupby(keys.to_numpy()).mean()
    return {
        str(int(k)): float(v) for k, v in zip(means.index.to_numpy(), means.to_numpy(), strict=True)
    }


def _effects(diff: pd.Series, panel: pd.DataFrame) -> dict[str, object]:
    post = panel["treat_post"] == 1
    d, p = diff[post], panel[post]
    return {
        "att": float(d.mean()),
        "by_cohort": _mean_by(d, p["first_treat"]),
        "by_event_time": _mean_by(d, p["rel_time"]),
        "by_cohort_year": {
            str(int(g)): _mean_by(d[p["first_treat"] == g], p.loc[p["first_treat"] == g, "year"])
            for g in sorted(p["first_treat"].unique())
        },
    }


def true_effects(
    observed: pd.DataFrame, untreated: pd.DataFrame, cfg: Config, dgp: dict[str, object]
) -> dict[str, object]:
    """True effects: the project's own pipeline on both potential outcomes, weights fixed
    from the observed data; ATTs average over treated post-treatment city-years."""
    obs, info = build_panel(observed, cfg, "simulated panel")
    cf, _ = build_panel(untreated, cfg, "simulated panel", fits=info.fits)
    if not obs[["city_code", "year"]].equals(cf[["city_code", "year"]]):
        raise RuntimeError("potential-outcome panels are not aligned")
    out: dict[str, object] = {
        "note": "SIMULATED DATA: true effects of the data-generating process in analysis/simulation/dgp.py",
        "dgp": dgp,
        "outcome": "resilience",
        "resilience": _effects(obs["resilience"] - cf["resilience"], obs),
        "mechanisms": {m: _effects(obs[m] - cf[m], obs) for m in MECHANISMS},
        "index_weights": dict(
            zip(
                info.fits.resilience["pooled"].columns,
                info.fits.resilience["pooled"].weights,
                strict=True,
            )
        )
        if "pooled" in info.fits.resilience
        else {},
    }
    diff = obs["resilience"] - cf["resilience"]
    post = obs["treat_post"] == 1
    hetero = {}
    for mod in ("east_coastal", "high_marketization", "high_digital_economy"):
        groups = diff[post].groupby(obs.loc[post, mod].to_numpy()).mean()
        hetero[mod] = {
            "att_1": float(groups.get(1, np.nan)),
            "att_0": float(groups.get(0, np.nan)),
            "difference": float(groups.get(1, np.nan) - groups.get(0, np.nan)),
        }
    out["heterogeneity"] = hetero
    return out
