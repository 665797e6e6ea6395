"""Table 9: PSM-DID, propensity-score matching of cities followed by the baseline TWFE.

Steps 1-4 are analysis.estimators.matching:

1. Covariates: each city's mean of the [model] controls over the years before the first
   cohort year (pre-treatment for every city).
2. Propensity score of ever being treated: logit on those means (unpenalized maximum
   likelihood, scikit-learn's LogisticRegression with C = inf).
3. Matching on the logit of the score: each treated city gets its [psm] neighbours nearest
   never-treated cities within a caliper of [psm] caliper standard deviations of the logit
   score; with replacement a control may serve several treated cities, without it treated
   cities are matched greedily from the highest score down. Treated cities without a
   control inside the caliper are dropped (reported).
4. Balance: standardized differences (treated minus control mean over the pooled SD of the
   unmatched sample, the same denominator before and after), controls weighted by how often
   they are matched.
5. TWFE (model `psm_twfe`, term `treat_post`): `resilience ~ treat_post | city_code + year`
   on all city-years of the matched treated and control cities (each city once).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from analysis.engines import pyfixest_adapter as fx
from analysis.estimators.matching import Matching, balance, psm
from analysis.exhibit import Context, Needs, Output, declare
from analysis.models import twfe
from analysis.render.labels import label
from analysis.render.tables import inference_note, regression_table

TABLE = "table9_psm_did"
BALANCE_TABLE = "table9b_psm_balance"


def run(ctx: Context) -> Output:
    """Matching, balance, and the baseline TWFE on the matched cities beside the full sample."""
    controls = ctx.cfg.model.controls
    m = psm(ctx.panel, controls, ctx.cfg.psm)
    cities = sorted({a for a, _ in m.pairs} | {c for _, c in m.pairs})
    sample = ctx.panel[ctx.panel["city_code"].isin(cities)]
    formula = twfe.formulas(controls)["baseline_twfe"]
    reg = fx.feols(sample, formula, ctx.spec)
    n_t = len({a for a, _ in m.pairs})
    desc = (
        f"PSM-matched: {n_t} treated + {len(m.control_weights)} control units "
        f"(logit score on {' + '.join(controls)})"
    )
    estimates = fx.rows(reg, TABLE, "psm_twfe", "psm_twfe", desc, ["treat_post"], estimand="att")
    full = twfe.fits(ctx)["baseline_twfe"]
    estimates_full = fx.rows(full, TABLE, "baseline_twfe", "twfe", ctx.sample, ["treat_post"])
    table = regression_table(
        estimates_full + estimates,
        models=["baseline_twfe", "psm_twfe"],
        terms=["treat_post"],
        extra={"Sample": ["All cities", "Matched cities"]},
    )
    p = ctx.cfg.psm
    note = (
        f"Logit propensity score on pre-{int(ctx.panel.loc[ctx.panel['first_treat'] > 0, 'first_treat'].min())} "
        f"city means of the controls; {p.neighbours}-nearest-neighbour matching on the logit "
        f"score {'with' if p.replacement else 'without'} replacement, caliper {p.caliper} SD "
        f"({m.caliper:.4f}); {len(m.unmatched)} treated cities unmatched. Column (1) repeats "
        "the baseline on all cities. " + inference_note(estimates)
    )
    return Output(
        estimates=estimates,
        tables={TABLE: table, BALANCE_TABLE: balance_table(m, controls, ctx.label)},
        notes={TABLE: note, BALANCE_TABLE: note},
    )


def balance_table(
    m: Matching, controls: tuple[str, ...], shown: Callable[[str], str] = str
) -> pd.DataFrame:
    """The balance table with the variables' labels (`shown`: a user column's header)."""
    out = balance(m, controls)
    names = {v: label(shown(v)) for v in controls} | {"score": "logit propensity score"}
    return out.assign(variable=out["variable"].map(names))


EXHIBIT = declare(
    run,
    "Table 9. PSM-DID: matched cities and balance",
    tables=(TABLE, BALANCE_TABLE),
    models=("psm_twfe",),
    needs=Needs(controls=True, some_controls=True, never_treated=True),
)
