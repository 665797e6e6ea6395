"""Table 2: TWFE difference-in-differences of resilience on the pilot-zone dummy, city and
year fixed effects, clustered by city; without and with controls (model `baseline_twfe`)."""

from __future__ import annotations

from analysis.estimates import feols, from_regression
from analysis.exhibits import Context, Output
from analysis.tables import inference_note, regression_table

OUTCOME = "resilience"
FIXEF = "city_code + year"


def formulas(controls: tuple[str, ...], outcome: str = OUTCOME) -> dict[str, str]:
    """Model id -> fixest-syntax formula of the two baseline columns."""
    rhs = " + ".join(("treat_post", *controls))
    return {
        "baseline_twfe": f"{outcome} ~ treat_post | {FIXEF}",
        "baseline_twfe_controls": f"{outcome} ~ {rhs} | {FIXEF}",
    }


def run(ctx: Context) -> Output:
    estimates = []
    for model, formula in formulas(ctx.cfg.model.controls).items():
        reg = feols(ctx.panel, formula, ctx.spec)
        estimates += from_regression(reg, "table2_baseline", model, "twfe", ctx.sample)
    table = regression_table(
        estimates, models=list(formulas(ctx.cfg.model.controls)), terms=["treat_post"],
        extra={"Controls": ["No", "Yes"], "City FE": ["Yes", "Yes"], "Year FE": ["Yes", "Yes"]},
    )  # fmt: skip
    return Output(
        estimates=estimates,
        tables={"table2_baseline": table},
        notes={"table2_baseline": inference_note(estimates)},
    )
