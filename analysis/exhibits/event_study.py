"""Figure 1 and Table 3: event study with relative-time dummies ([model] reference_period
omitted, end points of [model] event_window binned), city and year fixed effects, clustered by
city; and the joint Wald test that all pre-treatment coefficients are zero (F with G-1
denominator degrees of freedom). The fit is analysis.models.twfe's; the wild cluster
bootstrap of each coefficient and of the joint test (model `event_study_wild`)
analysis.models.wild's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from analysis.engines import pyfixest_adapter as fx
from analysis.exhibit import Context, Output, declare
from analysis.models import wild
from analysis.models.twfe import (
    WALD_TERM,
    coefficient_table,
    event_design,
    event_study,
    pretrend_test,
    term,
)
from analysis.render.figures import event_study_figure

TABLE = "table3_event_study"
FIGURE = "figure1_event_study"
MODEL = "event_study"


def run(ctx: Context) -> Output:
    """The event-study coefficients, the joint pre-trend test, Table 3 and Figure 1."""
    window, ref, level = ctx.event_window, ctx.reference_period, ctx.level
    reg, times = event_study(ctx)
    described = fx.info(
        reg,
        TABLE,
        MODEL,
        "twfe_event_study",
        ctx.sample,
        reference_period=ref,
        estimand="att_by_event_time",
    )
    estimates = [described.row(t, float(reg.coef[t]), float(reg.se[t])) for t in reg.coef.index]
    pre = [term(k) for k in times if k < ref]
    f, p, q = pretrend_test(reg, pre)
    wald = replace(described, estimator="wald_pretrend")
    estimates.append(wald.row(WALD_TERM, f, p_value=p, conf=(np.nan, np.nan), statistic=f))
    data, times, columns = event_design(ctx)
    # the dummies the fit kept (one may be collinear with the fixed effects, e.g. without
    # never-treated units), in the fit's order
    kept = dict(zip((term(k) for k in times), columns, strict=True))
    columns = [kept[t] for t in reg.coef.index]
    boot = wild.coefficient_rows(ctx, reg, data, columns, described)
    boot.append(wild.wald_row(ctx, reg, data, columns, wald, pre, WALD_TERM, f))
    coefs = coefficient_table(reg, window, ref, level)
    by_term = {e.term: e for e in boot}
    for col in ("p_value", "conf_low", "conf_high"):
        coefs[f"wild_{col}"] = [
            getattr(by_term[term(k)], col) if term(k) in by_term else np.nan
            for k in coefs["event_time"]
        ]
    critical = float(stats.t.ppf(0.5 + level / 2, reg.df))
    note = (
        ctx.window_note()
        + (
            f"Joint test of the {q} pre-treatment coefficients: F = {f:.3f}, p = {p:.4f} "
            f"(df {q}, {reg.df:.0f}). Reference period {ref}; end points binned at "
            f"{window[0]} and {window[1]}; {int(level * 100)}% intervals use "
            f"t({reg.df:.0f}) critical value {critical:.3f}. wild_* columns: {boot[0].ssc} "
            f"({boot[0].vcov}); joint pre-trend test by the same bootstrap: p = "
            f"{boot[-1].p_value:.4f}."
        )
        + wild.few_treated_note(
            ctx,
            "the wild_* columns and the bootstrap pre-trend test",
            "the randomization p-values of Table 6b",
        )
    )
    return Output(
        estimates=estimates + boot,
        tables={TABLE: coefs},
        figures={FIGURE: lambda path: event_study_figure(coefs, note, path, title="Event study")},
        notes={TABLE: note},
    )


EXHIBIT = declare(
    run,
    "Figure 1 and Table 3. Event study",
    tables=(TABLE,),
    figures=(FIGURE,),
    models=(MODEL, MODEL + wild.SUFFIX),
)
