"""Table 2: TWFE difference-in-differences of resilience on the pilot-zone dummy, city and
year fixed effects, clustered by city; without and with controls (model `baseline_twfe`)."""

from __future__ import annotations

from analysis.engines import pyfixest_adapter as fx
from analysis.exhibit import Context, Exhibit, Output
from analysis.render.tables import inference_note, regression_table

TABLE = "table2_baseline"
OUTCOME = "resilience"
FIXEF = "city_code + year"


def formulas(controls: tuple[str, ...], outcome: str = OUTCOME) -> dict[str, str]:
    """Model id -> fixest-syntax formula of the two baseline columns."""
    rhs = " + ".join(("treat_post", *controls))
    return {
        "baseline_twfe": f"{outcome} ~ treat_post | {FIXEF}",
        "baseline_twfe_controls": f"{outcome} ~ {rhs} | {FIXEF}",
    }


def fits(ctx: Context) -> dict[str, fx.Regression]:
    """The baseline regressions, fitted once per run (the PSM table repeats column 1); the
    column with controls only when every configured control is in the data."""
    forms = formulas(ctx.cfg.model.controls)
    if missing_controls(ctx):
        forms.pop("baseline_twfe_controls")
    return ctx.shared(
        "baseline", lambda: {m: fx.feols(ctx.panel, f, ctx.spec) for m, f in forms.items()}
    )


def missing_controls(ctx: Context) -> list[str]:
    """Why the column with controls cannot be estimated (empty when it can)."""
    return [ctx.why_missing(c) for c in ctx.cfg.model.controls if c not in ctx.panel.columns]


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


EXHIBIT = Exhibit(
    id="baseline",
    title="Table 2. Baseline TWFE difference-in-differences",
    module=__name__,
    run=run,
    tables=(TABLE,),
    models=("baseline_twfe", "baseline_twfe_controls"),
)
