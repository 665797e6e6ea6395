"""Table 6b: randomization inference at the level at which treatment was assigned, for
Callaway-Sant'Anna (default specification: never-treated controls, varying base period, no
covariates; each cell ATT(g,t), the simple ATT, each event time of the dynamic aggregation
and its `overall`) and the TWFE event study (each coefficient).

The permutation scheme is [randomization] scheme: "zones" permutes the cohort years of whole
assignment groups (the pilot zones, and the cities of no zone by province:
analysis.prepare.treatment.assignment_groups), keeping the number of groups per cohort;
"units" permutes the units' cohorts; "auto" is zones with the pilot-zone treatment, units
otherwise. [randomization] permutations draws, seeded from [run] seed; [randomization]
statistic: the t statistic (default; its SE recomputed for every permutation, which keeps the
test's size when zones differ in size) or the estimate. Every permutation's statistics come
from closed forms, no refit (analysis.estimators.cohort_randomization), on the units observed
in every year. Models `ri_cs_simple`, `ri_cs_dynamic`, `ri_cs_attgt`, `ri_event_study`:
`estimate` the
estimate, `statistic` the permuted statistic's actual value, `p_value` its randomization
p-value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.estimates import Estimate, ModelInfo
from analysis.estimators import cohort_randomization as cr
from analysis.exhibit import Context, Needs, Output, declare
from analysis.inference import t_inference
from analysis.models import wild
from analysis.models.callaway_santanna import CSSpec, aggregations, default_fit
from analysis.models.twfe import event_study, recorded_formula
from analysis.prepare.treatment import assignment_groups

TABLE = "table6b_cohort_randomization"
OUTCOME = "resilience"
ENGINE = "analysis.estimators.cohort_randomization"
MODELS = {
    "cs_simple": "ri_cs_simple",
    "cs_dynamic": "ri_cs_dynamic",
    "cs_attgt": "ri_cs_attgt",
    "event_study": "ri_event_study",
}
LABELS = {
    "cs_simple": "Callaway-Sant'Anna, simple",
    "cs_dynamic": "Callaway-Sant'Anna, dynamic",
    "cs_attgt": "Callaway-Sant'Anna, ATT(g,t)",
    "event_study": "TWFE event study",
}


def scheme(ctx: Context) -> str:
    """The permutation scheme of this run ("zones" or "units")."""
    s = ctx.cfg.randomization.scheme
    if s != "auto":
        return s
    pilot = ctx.cfg.treatment.source == "pilot_zones" and ctx.cfg.panel.units == "cities"
    return "zones" if pilot else "units"


def groups(ctx: Context) -> pd.Series:
    """Each unit's assignment group."""
    units = pd.Index(np.sort(ctx.panel["city_code"].unique()))
    if scheme(ctx) == "zones":
        return assignment_groups(units, ctx.cfg.treatment)
    return pd.Series(units.astype(str), index=units)


def _analytical(ctx: Context) -> dict[tuple[str, str], float]:
    """The analytical p-values of the same statistics (Table 4's and Table 3's)."""
    out = {}
    for (model, term), (est, se, _) in aggregations(default_fit(ctx)).items():
        if model in ("cs_simple", "cs_dynamic", "cs_attgt"):
            out[(model, term)] = t_inference(est, se, np.inf, ctx.level).p_value
    reg, _ = event_study(ctx)
    for term in reg.coef.index:
        est, se = float(reg.coef[term]), float(reg.se[term])
        out[("event_study", term)] = t_inference(est, se, reg.df, ctx.level).p_value
    return out


def run(ctx: Context) -> Output:
    """Randomization p-values of the CS aggregations and the event-study coefficients."""
    how = scheme(ctx)
    grid, dropped = cr.balanced_grid(ctx.panel, OUTCOME, groups(ctx))
    n_perm = ctx.cfg.randomization.permutations
    window, ref = ctx.event_window, ctx.reference_period
    statistic = ctx.cfg.randomization.statistic
    res = cr.randomization_inference(
        grid, n_perm, np.random.default_rng(ctx.cfg.seed), window, ref, dropped, statistic
    )
    cohorts = pd.Series(grid.group_cohorts()).value_counts().sort_index()
    per_cohort = ", ".join(f"{n} in {g}" if g else f"{n} never treated" for g, n in cohorts.items())
    what = (
        f"cohort years of {res.n_groups} assignment groups (pilot zones; each province's cities "
        f"of no zone as one group) permuted"
        if how == "zones"
        else f"cohorts of {res.n_groups} units permuted"
    )
    vcov = f"randomization:{how} ({what}; {per_cohort}),B={n_perm}"
    permuted = (
        "t = estimate / SE (SE recomputed for each permutation: influence function for "
        "Callaway-Sant'Anna, clustered by unit without small-sample factor for the event study)"
        if statistic == "t"
        else "the estimate"
    )
    ssc = (
        f"statistic permuted: {permuted}; p = (1 + #|stat_perm| >= |stat|) / (1 + B); "
        f"seed {ctx.cfg.seed}"
    )
    sample = f"{len(grid.units)} units observed every year, {grid.years[0]}-{grid.years[-1]}"
    spec = CSSpec()
    formulas = {
        "cs_simple": spec.formula("simple"),
        "cs_dynamic": spec.formula("dynamic"),
        "cs_attgt": spec.formula("attgt"),
        "event_study": recorded_formula(ref),
    }
    infos = {
        family: ModelInfo(
            exhibit=TABLE,
            model=MODELS[family],
            estimator="cohort_randomization",
            engine=ENGINE,
            outcome=OUTCOME,
            n_obs=int(grid.y.size),
            n_clusters=res.n_groups,
            vcov=vcov,
            ssc=ssc,
            formula=formulas[family],
            fixef="city_code + year" if family == "event_study" else "",
            sample=sample,
            df=np.nan,
            level=ctx.level,
            estimand="randomization_test",
            aggregation=family.removeprefix("cs_") if family != "event_study" else "",
            control_group="nevertreated" if family != "event_study" else "",
            base_period="varying" if family != "event_study" else "",
            reference_period=ref if family == "event_study" else None,
        )
        for family in MODELS
    }
    analytical = _analytical(ctx)
    estimates: list[Estimate] = []
    table = []
    for key, estimate in res.estimate.items():
        family, term = key
        p, stat = res.p(key), res.actual[key]
        estimates.append(
            infos[family].row(term, estimate, p_value=p, conf=(np.nan, np.nan), statistic=stat)
        )
        table.append(
            {
                "estimator": LABELS[family],
                "term": term,
                "estimate": estimate,
                "statistic": stat,
                "analytical_p": analytical.get(key, np.nan),
                "randomization_p": p,
            }
        )
    note = (
        f"Randomization inference at the level of assignment: {what} ({per_cohort}), "
        f"{n_perm} permutations (seed {ctx.cfg.seed}); the number of groups per cohort and "
        f"the cohort years are kept. Statistic permuted: {permuted}. p = (1 + #|stat_perm| >= "
        "|stat|) / (1 + B), exact under the sharp null of no effect. The p-value of a "
        "statistic identified by one group alone (e.g. an event time only the first cohort "
        "reaches) is roughly the rank of that group among the "
        f"{res.n_groups}, so it rarely falls below about 1 / {res.n_groups}. Analytical "
        "p-values: Table 4 (influence function, normal) and Table 3 (clustered, t)."
    )
    if dropped:
        note += f" {dropped} units not observed in every year are left out."
    note += wild.few_treated_note(
        ctx, "the randomization p-values for Callaway-Sant'Anna", "the randomization p-values"
    )
    return Output(estimates=estimates, tables={TABLE: pd.DataFrame(table)}, notes={TABLE: note})


EXHIBIT = declare(
    run,
    "Table 6b. Randomization inference at the level of assignment (zones and cohort years)",
    tables=(TABLE,),
    models=tuple(MODELS.values()),
    needs=Needs(never_treated=True),
)
