"""Table 2: TWFE difference-in-differences of resilience on the pilot-zone dummy, city and
year fixed effects, clustered by city; without and with controls (model `baseline_twfe`). The
fits are analysis.models.twfe's."""

from __future__ import annotations

from analysis.engines import pyfixest_adapter as fx
from analysis.exhibit import Context, Output, declare
from analysis.models.twfe import fits, missing_controls
from analysis.render.tables import inference_note, regression_table

TABLE = "table2_baseline"


def run(ctx: Context) -> Output:
    """The baseline TWFE without and with the configured controls."""
    estimates = []
    for model, reg in fits(ctx).items():
        estimates += fx.rows(reg, TABLE, model, "twfe", ctx.sample, estimand="att")
    models = list(fits(ctx))
    extra = {"Controls": ["No", "Yes"], "City FE": ["Yes", "Yes"], "Year FE": ["Yes", "Yes"]}
    extra = {k: v[: len(models)] for k, v in extra.items()}
    table = regression_table(estimates, models=models, terms=["treat_post"], extra=extra)
    note = inference_note(estimates)
    if missing := missing_controls(ctx):
        note += " Column with controls not estimated: " + "; ".join(missing) + "."
    return Output(estimates=estimates, tables={TABLE: table}, notes={TABLE: note})


EXHIBIT = declare(
    run,
    "Table 2. Baseline TWFE difference-in-differences",
    tables=(TABLE,),
    models=("baseline_twfe", "baseline_twfe_controls"),
)
