"""Table 7 and Figure 4: diagnostics of the TWFE coefficient under staggered adoption.

- Goodman-Bacon (2021) decomposition (model `bacon`; exact weights): the TWFE coefficient as
  a weighted average of 2x2 DIDs (each cohort against the never treated, earlier against
  later cohorts before the later one is treated, later against earlier after the earlier
  one is treated). Terms `2x2::<treated>_vs_<control>` (estimate) and
  `weight::<treated>_vs_<control>`, and `weighted_sum` (equals the TWFE coefficient on a
  balanced panel; tested to 1e-10).
- de Chaisemartin-D'Haultfoeuille (2020) weights (model `dcdh_weights`): the TWFE coefficient
  as a weighted sum of the treated cells' effects; terms `n_treated_cells`, `n_negative`,
  `sum_negative`, `beta_fe` and `sigma_fe` (the smallest SD of cell effects under which the
  true ATT could have the opposite sign).

Both are computed by analysis/estimators/twfe_weights.py from cohort x period sums and the
exact two-way residual of the treatment, linear in the rows: diff-diff's numbers (tested)
without its dense dummy design, which needs 33 GiB on a panel of 560,520 rows and 7,785 units.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.estimates import ModelInfo
from analysis.estimators import twfe_weights as tw
from analysis.exhibit import Context, Output, declare
from analysis.render.figures_did import bacon_figure

TABLE = "table7_twfe_diagnostics"
WEIGHTS_TABLE = "table7b_dcdh_weights"
FIGURE = "figure4_bacon"
OUTCOME = "resilience"
ENGINE = "analysis.estimators.twfe_weights"
FORMULA = "resilience ~ treat_post | city_code + year"


def bacon_table(panel: pd.DataFrame, outcome: str = OUTCOME) -> tuple[pd.DataFrame, float]:
    """The 2x2 comparisons (treated, control, type, estimate, weight, n_treated, n_control)
    and the TWFE coefficient they decompose."""
    res = tw.bacon(panel, outcome)
    df = res.comparisons
    table = pd.DataFrame(
        {
            "treated": df["treated_group"].astype(str),
            "control": df["control_group"].astype(str).str.replace(tw.NEVER, "never"),
            "type": df["comparison_type"].astype(str),
            "estimate": df["estimate"].astype(float),
            "weight": df["weight"].astype(float),
            "n_treated": df["n_treated"].astype(int),
            "n_control": df["n_control"].astype(int),
        }
    )
    return table, res.twfe


def dcdh_weights(panel: pd.DataFrame, outcome: str = OUTCOME) -> tuple[pd.DataFrame, float, float]:
    """Weights of the treated cells (city_code, year, weight; by city and year), beta_fe and
    sigma_fe."""
    keys = panel[["city_code", "year"]]
    if keys.duplicated().any():  # the analysis panel has one row per unit and period
        raise RuntimeError("dCDH weights: the panel repeats a (city_code, year) cell")
    res = tw.dcdh(panel[outcome], panel["treat_post"], panel["city_code"], panel["year"])
    order = np.lexsort((panel["year"].to_numpy(), panel["city_code"].to_numpy()))
    treated = order[panel["treat_post"].to_numpy()[order] == 1]
    out = keys.iloc[treated].reset_index(drop=True).assign(weight=res.weights[treated])
    return out, res.beta_fe, res.sigma_fe


def info(ctx: Context, model: str) -> ModelInfo:
    """A decomposition: no inference, every row a number of the decomposition."""
    return ModelInfo(
        exhibit=TABLE,
        model=model,
        estimator=model,
        engine=ENGINE,
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
