"""Figure 3 and Table 6: randomization inference for the baseline TWFE coefficient.

The cities' treatment cohorts are reassigned at random ([placebo] permutations times, seeded
from [run] seed): a permutation of the city -> first_treat vector, so the number of cities in
each cohort and the cohort years are kept. For every permutation the TWFE coefficient of
`resilience ~ treat_post | city_code + year` is recomputed, all at once
(analysis.estimators.randomization). The p-value (model `placebo`, term `p_value`) is
two-sided, (1 + #{|b_perm| >= |b|}) / (1 + B), which is exact under the sharp null of no
effect.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.estimates import ModelInfo
from analysis.estimators.randomization import randomization_test
from analysis.exhibit import Context, Output, declare
from analysis.render.figures_did import placebo_figure

TABLE = "table6_placebo"
FIGURE = "figure3_placebo"
OUTCOME = "resilience"


def run(ctx: Context) -> Output:
    """The permutation distribution of the baseline TWFE coefficient and its p-value."""
    n_perm = ctx.cfg.placebo.permutations
    res = randomization_test(ctx.panel, n_perm, np.random.default_rng(ctx.cfg.seed))
    n_cities = int(ctx.panel["city_code"].nunique())
    described = ModelInfo(
        exhibit=TABLE,
        model="placebo",
        estimator="randomization_inference",
        engine="analysis.estimators.randomization",
        outcome=OUTCOME,
        n_obs=len(ctx.panel),
        n_clusters=n_cities,
        vcov=f"randomization:permute first_treat across {ctx.units},B={n_perm}",
        ssc=f"p = (1 + #|b_perm| >= |b|) / (1 + B); seed {ctx.cfg.seed}",
        formula="resilience ~ treat_post | city_code + year",
        fixef="city_code + year",
        sample=ctx.sample,
        df=np.nan,
        level=ctx.level,
        estimand="randomization_test",
    )
    estimates = [
        described.row("p_value", res.p_value, p_value=res.p_value),
        *(
            described.row(term, value)
            for term, value in (
                ("actual_coefficient", res.actual),
                ("placebo_mean", res.mean),
                ("placebo_sd", res.sd),
            )
        ),
    ]
    q = np.quantile(res.draws, [0.025, 0.975])
    table = pd.DataFrame(
        {
            "statistic": [
                "Actual TWFE coefficient",
                "Permutation p-value (two-sided)",
                "Placebo mean",
                "Placebo SD",
                "Placebo 2.5% quantile",
                "Placebo 97.5% quantile",
                "Permutations",
            ],
            "value": [
                f"{res.actual:.4f}",
                f"{res.p_value:.4f}",
                f"{res.mean:.4f}",
                f"{res.sd:.4f}",
                f"{q[0]:.4f}",
                f"{q[1]:.4f}",
                str(n_perm),
            ],
        }
    )
    note = (
        f"Treatment cohorts reassigned across the {n_cities} cities {n_perm} times (cohort "
        f"sizes and years kept; seed {ctx.cfg.seed}); TWFE with city and year fixed effects, "
        "no controls."
    )
    writer: Callable[[Path], None] = lambda path: placebo_figure(  # noqa: E731
        res.draws, res.actual, res.p_value, note, path
    )
    return Output(
        estimates=estimates, tables={TABLE: table}, figures={FIGURE: writer}, notes={TABLE: note}
    )


EXHIBIT = declare(
    run,
    "Table 6 and Figure 3. Randomization inference (placebo assignments)",
    tables=(TABLE,),
    figures=(FIGURE,),
    models=("placebo",),
)
