"""Table 1: descriptive statistics of the analysis panel (outcome, treatment, controls,
mechanisms, moderators)."""

from __future__ import annotations

import pandas as pd

from analysis.exhibit import Context, Needs, Output, declare
from analysis.render.labels import label

TABLE = "table1_descriptives"


def run(ctx: Context) -> Output:
    """Count, mean, SD, min and max of every variable of the analysis panel's model."""
    m = ctx.cfg.model
    names = [
        "resilience",
        "treat_post",
        *m.controls,
        *m.mechanisms,
        "digital_economy",
        "marketization",
    ]
    names = [n for n in dict.fromkeys(names) if n in ctx.panel.columns]
    data = ctx.panel[names]
    table = pd.DataFrame(
        {
            "variable": names,
            "label": [label(n) for n in names],
            "n": [int(data[n].count()) for n in names],
            "mean": data.mean().to_numpy(),
            "sd": data.std().to_numpy(),
            "min": data.min().to_numpy(),
            "max": data.max().to_numpy(),
        }
    )
    return Output(tables={TABLE: table})


EXHIBIT = declare(
    run,
    "Table 1. Descriptive statistics",
    tables=(TABLE,),
    needs=Needs(variables=("resilience",), contrast=False),
)
