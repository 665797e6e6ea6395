"""Table 2: TWFE difference-in-differences of resilience on the pilot-zone dummy, city and
year fixed effects, clustered by city; without and with controls (model `baseline_twfe`). The
fits are analysis.models.twfe's; the wild cluster bootstrap rows (`<model>_wild`)
analysis.models.wild's."""

from __future__ import annotations

from analysis.engines import pyfixest_adapter as fx
from analysis.exhibit import Context, Output, declare
from analysis.models import wild
from analysis.models.twfe import fits, missing_controls
from analysis.render.tables import inference_note, regression_table

TABLE = "table2_baseline"


def run(ctx: Context) -> Output:
    """The baseline TWFE without and with the configured controls."""
    estimates, boot = [], []
    for model, reg in fits(ctx).items():
        estimates += fx.rows(reg, TABLE, model, "twfe", ctx.sample, estimand="att")
        base = fx.info(reg, TABLE, model, "twfe", ctx.sample, estimand="att")
        columns = wild.regressors(reg.formula)
        boot += wild.coefficient_rows(ctx, reg, ctx.panel, columns, base, ["treat_post"])
    models = list(fits(ctx))
    extra = {"Controls": ["No", "Yes"], "City FE": ["Yes", "Yes"], "Year FE": ["Yes", "Yes"]}
    extra = {k: v[: len(models)] for k, v in extra.items()}
    extra["Wild bootstrap p"] = [f"{e.p_value:.4f}" for e in boot]
    extra["Wild bootstrap CI"] = [f"[{e.conf_low:.4f}, {e.conf_high:.4f}]" for e in boot]
    table = regression_table(estimates, models=models, terms=["treat_post"], extra=extra)
    note = inference_note(estimates) + f" Wild bootstrap: {boot[0].ssc} ({boot[0].vcov})."
    note += wild.few_treated_note(
        ctx, "the wild bootstrap p-values", "the randomization p-value of Table 6 (placebo)"
    )
    if missing := missing_controls(ctx):
        note += " Column with controls not estimated: " + "; ".join(missing) + "."
    return Output(estimates=estimates + boot, tables={TABLE: table}, notes={TABLE: note})


EXHIBIT = declare(
    run,
    "Table 2. Baseline TWFE difference-in-differences",
    tables=(TABLE,),
    models=(
        "baseline_twfe",
        "baseline_twfe_controls",
        "baseline_twfe_wild",
        "baseline_twfe_controls_wild",
    ),
)
