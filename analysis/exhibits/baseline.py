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
    """The two baseline regressions, fitted once per run (the PSM table repeats column 1)."""
    forms = formulas(ctx.cfg.model.controls)
    return ctx.shared(
        "baseline", lambda: {m: fx.feols(ctx.panel, f, ctx.spec) for m, f in forms.items()}
    )


def run(ctx: Context) -> Output:
    """The baseline TWFE without and with the configured controls."""
    estimates = []
    for model, reg in fits(ctx).items():
        estimates += fx.rows(reg, TABLE, model, "twfe", ctx.sample, estimand="att")
    models = list(formulas(ctx.cfg.model.controls))
    extra = {"Controls": ["No", "Yes"], "City FE": ["Yes", "Yes"], "Year FE": ["Yes", "Yes"]}
    table = regression_table(estimates, models=models, terms=["treat_post"], extra=extra)
    return Output(
        estimates=estimates, tables={TABLE: table}, notes={TABLE: inference_note(estimates)}
    )


EXHIBIT = Exhibit(
    id="baseline",
    title="Table 2. Baseline TWFE difference-in-differences",
    module=__name__,
    run=run,
    tables=(TABLE,),
    models=("baseline_twfe", "baseline_twfe_controls"),
)
