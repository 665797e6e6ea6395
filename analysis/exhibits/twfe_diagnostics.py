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

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.engines import diff_diff_adapter as dd
from analysis.estimates import ModelInfo
from analysis.exhibit import Context, Output, declare
from analysis.render.figures_did import bacon_figure

TABLE = "table7_twfe_diagnostics"
WEIGHTS_TABLE = "table7b_dcdh_weights"
FIGURE = "figure4_bacon"
OUTCOME = "resilience"
FORMULA = "resilience ~ treat_post | city_code + year"


def bacon_table(panel: pd.DataFrame, outcome: str = OUTCOME) -> tuple[pd.DataFrame, float]:
    """The 2x2 comparisons (treated, control, type, estimate, weight) and the TWFE
    coefficient diff-diff computes beside them."""
    df, twfe = dd.bacon(panel, outcome)
    table = pd.DataFrame(
        {
            "treated": df["treated_group"].astype(str),
            "control": df["control_group"].astype(str).str.replace("never_treated", "never"),
            "type": df["comparison_type"].astype(str),
            "estimate": df["estimate"].astype(float),
            "weight": df["weight"].astype(float),
            "n_treated": df["n_treated"].astype(int),
            "n_control": df["n_control"].astype(int),
        }
    )
    return table, twfe


def dcdh_weights(panel: pd.DataFrame, outcome: str = OUTCOME) -> tuple[pd.DataFrame, float, float]:
    """Weights of the treated cells (city_code, year, weight), beta_fe and sigma_fe."""
    weights, beta_fe, sigma_fe = dd.dcdh_weights(panel, outcome)
    w = weights.merge(panel[["city_code", "year", "treat_post"]], on=["city_code", "year"])
    treated = w[w["treat_post"] == 1][["city_code", "year", "weight"]].reset_index(drop=True)
    return treated, beta_fe, sigma_fe


def info(ctx: Context, model: str) -> ModelInfo:
    """A decomposition: no inference, every row a number of the decomposition."""
    return ModelInfo(
        exhibit=TABLE,
        model=model,
        estimator=model,
        engine=dd.ENGINE,
        outcome=OUTCOME,
        n_obs=len(ctx.panel),
        n_clusters=int(ctx.panel["city_code"].nunique()),
        vcov="none (decomposition)",
        ssc="none",
        formula=FORMULA,
        fixef="city_code + year",
        sample=ctx.sample,
        df=float("nan"),
        level=ctx.level,
        estimand="decomposition",
    )


def run(ctx: Context) -> Output:
    """The Goodman-Bacon decomposition and the dCDH weights of the baseline TWFE."""
    table, twfe = bacon_table(ctx.panel)
    weights, beta_fe, sigma_fe = dcdh_weights(ctx.panel)
    rows = []
    bacon = info(ctx, "bacon")
    for treated, control, est, weight in zip(
        table["treated"], table["control"], table["estimate"], table["weight"], strict=True
    ):
        key = f"{treated}_vs_{control}"
        rows += [bacon.row(f"2x2::{key}", est), bacon.row(f"weight::{key}", weight)]
    weighted = float(table["estimate"].to_numpy() @ table["weight"].to_numpy())
    rows.append(bacon.row("weighted_sum", weighted))
    neg = weights["weight"] < 0
    dcdh = {
        "n_treated_cells": float(len(weights)),
        "n_negative": float(neg.sum()),
        "sum_negative": float(weights.loc[neg, "weight"].sum()),
        "beta_fe": beta_fe,
        "sigma_fe": sigma_fe,
    }
    dcdh_info = info(ctx, "dcdh_weights")
    rows += [dcdh_info.row(k, v) for k, v in dcdh.items()]
    total = pd.DataFrame(
        [
            {
                "treated": "all",
                "control": "",
                "type": "TWFE = weighted sum",
                "estimate": weighted,
                "weight": float(table["weight"].sum()),
                "n_treated": 0,
                "n_control": 0,
                "weighted": weighted,
            }
        ]
    )
    shown = pd.concat(
        [table.assign(weighted=table["estimate"] * table["weight"]), total], ignore_index=True
    )
    weights_table = pd.DataFrame(
        {
            "statistic": [
                "Treated city-years",
                "with negative weight",
                "Sum of negative weights",
                "TWFE coefficient (beta_fe)",
                "sigma_fe (dCDH robustness measure)",
            ],
            "value": [
                str(len(weights)),
                str(int(neg.sum())),
                f"{dcdh['sum_negative']:.4f}",
                f"{beta_fe:.4f}",
                f"{sigma_fe:.4f}",
            ],
        }
    )
    note = (
        f"Goodman-Bacon decomposition of the TWFE coefficient {twfe:.4f} (weighted sum of the "
        f"2x2 estimates {weighted:.4f}). de Chaisemartin-D'Haultfoeuille: {int(neg.sum())} of "
        f"{len(weights)} treated city-years get a negative weight."
    )
    writer: Callable[[Path], None] = lambda path: bacon_figure(table, twfe, note, path)  # noqa: E731
    return Output(
        estimates=rows,
        tables={TABLE: shown, WEIGHTS_TABLE: weights_table},
        figures={FIGURE: writer},
        notes={TABLE: note, WEIGHTS_TABLE: note},
    )


EXHIBIT = declare(
    run,
    "Table 7 and Figure 4. Goodman-Bacon decomposition and dCDH weights",
    tables=(TABLE, WEIGHTS_TABLE),
    figures=(FIGURE,),
    models=("bacon", "dcdh_weights"),
)
