"""Table 7 and Figure 4: diagnostics of the TWFE coefficient under staggered adoption.

- Goodman-Bacon (2021) decomposition (model `bacon`; diff-diff's `BaconDecomposition`, exact
  weights): the TWFE coefficient as a weighted average of 2x2 DIDs (each cohort against the
  never treated, earlier against later cohorts before the later one is treated, later
  against earlier after the earlier one is treated). Terms `2x2::<treated>_vs_<control>`
  (estimate) and `weight::<treated>_vs_<control>`, and `weighted_sum` (equals the TWFE
  coefficient on a balanced panel; tested to 1e-10).
- de Chaisemartin-D'Haultfoeuille (2020) weights (model `dcdh_weights`; diff-diff's
  `twowayfeweights`): the TWFE coefficient as a weighted sum of the treated cells'
  effects; terms `n_treated_cells`, `n_negative`, `sum_negative`, `beta_fe` and `sigma_fe`
  (the smallest SD of cell effects under which the true ATT could have the opposite sign).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.estimates import Estimate
from analysis.exhibits import Context, Output

EXHIBIT = "table7_twfe_diagnostics"
FIGURE = "figure4_bacon"
OUTCOME = "resilience"
FORMULA = "resilience ~ treat_post | city_code + year"


def bacon_table(panel: pd.DataFrame, outcome: str = OUTCOME) -> tuple[pd.DataFrame, float]:
    """The 2x2 comparisons (treated, control, type, estimate, weight) and the TWFE
    coefficient diff-diff computes beside them."""
    import diff_diff as dd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        res = dd.BaconDecomposition(weights="exact").fit(
            panel[["city_code", "year", "first_treat", outcome]], outcome=outcome,
            unit="city_code", time="year", first_treat="first_treat",
        )  # fmt: skip
    df = res.to_dataframe()
    table = pd.DataFrame({
        "treated": df["treated_group"].astype(str),
        "control": df["control_group"].astype(str).str.replace("never_treated", "never"),
        "type": df["comparison_type"].astype(str),
        "estimate": df["estimate"].astype(float),
        "weight": df["weight"].astype(float),
        "n_treated": df["n_treated"].astype(int),
        "n_control": df["n_control"].astype(int),
    })  # fmt: skip
    return table, float(res.twfe_estimate)


def dcdh_weights(panel: pd.DataFrame, outcome: str = OUTCOME) -> tuple[pd.DataFrame, float, float]:
    """Weights of the treated cells (city_code, year, weight), beta_fe and sigma_fe."""
    import diff_diff as dd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        res = dd.twowayfeweights(panel[["city_code", "year", "treat_post", outcome]],
                                 outcome=outcome, unit="city_code", time="year",
                                 treatment="treat_post")  # fmt: skip
    w = res.weights.merge(panel[["city_code", "year", "treat_post"]], on=["city_code", "year"])
    treated = w[w["treat_post"] == 1][["city_code", "year", "weight"]].reset_index(drop=True)
    return treated, float(res.beta_fe), float(res.sigma_fe)


def _row(
    model: str, term: str, value: float, panel: pd.DataFrame, sample: str, engine: str
) -> Estimate:
    return Estimate(
        exhibit=EXHIBIT, model=model, estimator=model, engine=engine, outcome=OUTCOME, term=term,
        estimate=float(value), std_error=np.nan, statistic=np.nan, p_value=np.nan,
        conf_low=np.nan, conf_high=np.nan, df=np.nan, n_obs=len(panel),
        n_clusters=int(panel["city_code"].nunique()), vcov="none (decomposition)", ssc="none",
        formula=FORMULA, fixef="city_code + year", sample=sample,
    )  # fmt: skip


def run(ctx: Context) -> Output:
    from analysis.figures_did import bacon_figure

    table, twfe = bacon_table(ctx.panel)
    weights, beta_fe, sigma_fe = dcdh_weights(ctx.panel)
    rows = []
    for treated, control, est, weight in zip(table["treated"], table["control"],
                                             table["estimate"], table["weight"], strict=True):  # fmt: skip
        key = f"{treated}_vs_{control}"
        rows.append(_row("bacon", f"2x2::{key}", est, ctx.panel, ctx.sample, "diff-diff"))
        rows.append(_row("bacon", f"weight::{key}", weight, ctx.panel, ctx.sample, "diff-diff"))
    weighted = float(table["estimate"].to_numpy() @ table["weight"].to_numpy())
    rows.append(_row("bacon", "weighted_sum", weighted, ctx.panel, ctx.sample, "diff-diff"))
    neg = weights["weight"] < 0
    dcdh = {
        "n_treated_cells": float(len(weights)),
        "n_negative": float(neg.sum()),
        "sum_negative": float(weights.loc[neg, "weight"].sum()),
        "beta_fe": beta_fe,
        "sigma_fe": sigma_fe,
    }
    rows += [
        _row("dcdh_weights", k, v, ctx.panel, ctx.sample, "diff-diff") for k, v in dcdh.items()
    ]
    total = pd.DataFrame([{"treated": "all", "control": "", "type": "TWFE = weighted sum",
                           "estimate": weighted, "weight": float(table["weight"].sum()),
                           "n_treated": 0, "n_control": 0, "weighted": weighted}])  # fmt: skip
    shown = pd.concat([table.assign(weighted=table["estimate"] * table["weight"]), total],
                      ignore_index=True)  # fmt: skip
    weights_table = pd.DataFrame({
        "statistic": ["Treated city-years", "with negative weight", "Sum of negative weights",
                      "TWFE coefficient (beta_fe)", "sigma_fe (dCDH robustness measure)"],
        "value": [str(len(weights)), str(int(neg.sum())), f"{dcdh['sum_negative']:.4f}",
                  f"{beta_fe:.4f}", f"{sigma_fe:.4f}"],
    })  # fmt: skip
    note = (
        f"Goodman-Bacon decomposition of the TWFE coefficient {twfe:.4f} (weighted sum of the "
        f"2x2 estimates {weighted:.4f}). de Chaisemartin-D'Haultfoeuille: {int(neg.sum())} of "
        f"{len(weights)} treated city-years get a negative weight."
    )
    writer: Callable[[Path], None] = lambda path: bacon_figure(table, twfe, note, path)  # noqa: E731
    return Output(estimates=rows,
                  tables={EXHIBIT: shown, "table7b_dcdh_weights": weights_table},
                  figures={FIGURE: writer},
                  notes={EXHIBIT: note, "table7b_dcdh_weights": note})  # fmt: skip
