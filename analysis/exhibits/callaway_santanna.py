"""Table 4: Callaway-Sant'Anna (2021) group-time ATTs and their aggregations.

The fits and aggregations are analysis.models.callaway_santanna's (checked in
tests/test_callaway_santanna.py and tests/test_drdid.py against live R and committed
reference values).
Every combination of [callaway_santanna] control_groups x base_periods is estimated without
covariates (doubly robust, which without covariates is the 2x2 difference of mean changes)
and aggregated as R's `aggte()` does: simple, dynamic (event time), group, calendar. The
covariate variants (never-treated controls, varying base period) use each 2x2 comparison's
base-period covariates, one model per method (dr, reg, ipw).

Model ids (suffix `_notyet` for not-yet-treated controls, `_universal` for the universal base
period): cs_attgt (terms attgt::g:t), cs_simple (ATT), cs_dynamic (event_time::k, and
`overall` = mean over k >= 0), cs_group (cohort::g, and `overall` = cohort-share weighted),
cs_calendar (year::t, and `overall` = mean over years), cs_simple_{dr,reg,ipw}_cov (ATT), and
cs_dynamic_boot / cs_simple_boot with the seeded multiplier bootstrap (uniform band over
event times in conf_low/conf_high). The `overall` terms are R aggte's `overall.att`; they are
not called ATT because only cs_simple's estimand is the ATT over treated city-years.

Inference: analytical, from the influence functions, clustered by city (the unit: R's
`clustervars = NULL`), normal critical values; no small-sample factor.

Without never-treated cities (every city treated in the end) the not-yet-treated
specifications follow R's did: the periods before the last cohort's first treated period,
that cohort as the comparison group (analysis.estimators.last_cohort). The never-treated
specifications, and the covariate variants (never-treated controls), are not run, with the
reason (Output.not_run), and the bootstrap is of the not-yet-treated specification.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.config import Config
from analysis.estimates import Estimate, ModelInfo
from analysis.estimators import drdid
from analysis.estimators.last_cohort import (
    NEVERTREATED_WARNING,
    NO_NEVER_TREATED,
    has_never_treated,
)
from analysis.exhibit import Context, Needs, Output, declare
from analysis.models.callaway_santanna import (
    ENGINE,
    ESTIMAND,
    OUTCOME,
    TRIM_LEVEL,
    VCOV,
    CSFit,
    aggregations,
    default_fit,
    default_spec,
    fit,
    specs,
)
from analysis.render.tables import fmt

TABLE = "table4_callaway_santanna"
EVENT_TABLE = "table4b_cs_event_time"


def info(
    f: CSFit,
    model: str,
    aggregation: str,
    engine: str,
    sample: str,
    level: float,
    vcov: str = VCOV,
    ssc: str = "none",
    boot: str = "bstrap=FALSE",
) -> ModelInfo:
    """The description of one aggregation of a fitted specification."""
    s = f.spec
    return ModelInfo(
        exhibit=TABLE,
        model=model,
        estimator="callaway_santanna",
        engine=engine,
        outcome=OUTCOME,
        n_obs=f.n_obs,
        n_clusters=f.n_cities,
        vcov=vcov,
        ssc=ssc,
        formula=s.formula(aggregation, boot=boot),
        sample=sample,
        level=level,
        aggregation=aggregation,
        estimand=ESTIMAND[aggregation],
        control_group=s.control_group,
        base_period=s.base_period,
        reference_period=-1 if s.base_period == "universal" else None,
    )


def _se(se: float) -> float:
    """A standard error as reported (NaN for reference cells, whose SE is zero or missing)."""
    return float(se) if np.isfinite(se) and se > 0 else np.nan


def pscore_settings(trim_level: float) -> str:
    """The propensity-score settings of the covariate variants, recorded in `ssc`."""
    return (
        f"none; pscore: logit by IRLS (fastglm's steps, tol {drdid.LOGIT_TOL:g}), capped at "
        f"1-1e-6, control units with score >= trim.level={trim_level:g} weighted 0; cells "
        f"with a score >= {drdid.OVERLAP_LIMIT:g} left missing"
    )


def estimates(
    f: CSFit, level: float, sample: str, trim_level: float = TRIM_LEVEL
) -> list[Estimate]:
    ssc = pscore_settings(trim_level) if f.spec.covariates else "none"
    rows = []
    for (model, term), (est, se, engine) in aggregations(f).items():
        aggregation = model.removeprefix("cs_").split("_")[0]
        row = info(f, model, aggregation, engine, sample, level, ssc=ssc)
        rows.append(row.row(term, est, _se(se)))
    return rows


def missing_notes(f: CSFit) -> list[str]:
    """One note per reason of the cells left missing, naming the cells, and the simple
    aggregation that is therefore not reported."""
    by: dict[str, list[str]] = {}
    for g, t, why in f.missing:
        by.setdefault(why, []).append(f"{g}:{t}")
    notes = [
        f"{f.spec.label}: ATT(g,t) not estimated for cells {', '.join(c)} ({why}), as R's did "
        "leaves them missing"
        for why, c in by.items()
    ]
    if notes:
        notes.append(
            f"{f.spec.label}: simple ATT not reported, since it would average over missing "
            "cells (R's aggte stops there with na.rm = FALSE)"
        )
    return notes


def bootstrap_estimates(
    f: CSFit, level: float, sample: str, reps: int, weights: str, seed: int
) -> list[Estimate]:
    """Bootstrap rows: event times with the uniform band, and the simple ATT."""
    es = f.results.aggregate("event_study")
    crit = float(es.cband_crit_value)
    vcov = f"multiplier-bootstrap:{weights},reps={reps},cluster=city_code"
    ssc = f"uniform band (sup-t), critical value {crit:.6g}; seed {seed}"
    boot = f"bstrap=TRUE, biters={reps}, cband=TRUE"
    dynamic = info(f, "cs_dynamic_boot", "dynamic", ENGINE, sample, level, vcov, ssc, boot)
    rows = [
        dynamic.row(
            f"event_time::{int(r.event_time)}",
            r.att,
            _se(r.se),
            p_value=r.p_value,
            conf=(r.cband_lower, r.cband_upper),
        )
        for r in es.to_dataframe().itertuples()
        if np.isfinite(r.se)
    ]
    s = f.results.aggregate("simple").to_dataframe().iloc[0]
    simple = info(
        f,
        "cs_simple_boot",
        "simple",
        ENGINE,
        sample,
        level,
        vcov,
        f"percentile interval; seed {seed}",
        boot,
    )
    rows.append(
        simple.row(
            "ATT",
            s["att"],
            _se(s["se"]),
            p_value=s["p_value"],
            conf=(s["conf_int_lower"], s["conf_int_upper"]),
        )
    )
    return rows


def run(ctx: Context) -> Output:
    """Every [callaway_santanna] specification, its aggregations, and the bootstrap band."""
    c = ctx.cfg.callaway_santanna
    level = ctx.cfg.inference.level
    rows: list[Estimate] = []
    notes: list[str] = []
    fits = []
    lacking = []  # specifications with never-treated controls on a panel without them
    for spec in specs(c, ctx.panel.columns):
        if spec.control_group == "nevertreated" and not has_never_treated(ctx.panel):
            lacking.append(spec.label)
            continue
        f = (
            default_fit(ctx)
            if spec == default_spec(ctx.panel)
            else fit(ctx.panel, spec, c.trim_level)
        )
        fits.append(f)
        rows += estimates(f, level, ctx.sample, c.trim_level)
        notes += [f"{spec.label}: {w}" for w in f.warnings]
        notes += missing_notes(f)
    if c.bootstrap_reps > 0:
        f = fit(
            ctx.panel,
            default_spec(ctx.panel),
            bootstrap_reps=c.bootstrap_reps,
            bootstrap_weights=c.bootstrap_weights,
            seed=ctx.cfg.seed,
            alpha=1 - level,
        )
        rows += bootstrap_estimates(
            f, level, ctx.sample, c.bootstrap_reps, c.bootstrap_weights, ctx.cfg.seed
        )
    note = (
        "Callaway-Sant'Anna ATTs (diff-diff, as R did::att_gt + aggte). Standard errors from "
        "influence functions, clustered by city; normal critical values. Dynamic ATT = mean "
        "over event times >= 0; group ATT = cohort-share weighted; calendar ATT = mean over "
        "years. The group ATT's SE uses each cohort's share-estimation term (R did 2.1.2 "
        "differs in that term; see analysis/estimators/cs_aggregate.py)."
        + (" Warnings: " + " | ".join(dict.fromkeys(notes)) if notes else "")
    )
    absent = ctx.missing(c.covariates)
    if absent:
        note += " Covariate variants not estimated: " + "; ".join(absent) + "."
    note += comparison_note(fits, lacking, c.bootstrap_reps > 0)
    tables = {TABLE: summary_table(rows, fits), EVENT_TABLE: event_table(rows)}
    return Output(
        estimates=rows,
        tables=tables,
        notes={TABLE: note, EVENT_TABLE: note},
        not_run={"never-treated controls": NO_NEVER_TREATED} if lacking else {},
    )


def comparison_note(fits: list[CSFit], lacking: list[str], bootstrap: bool) -> str:
    """Without never-treated units: the rule the not-yet-treated specifications follow and
    the specifications not estimated ('' when the panel has never-treated units)."""
    rule = next((f.comparison for f in fits if f.comparison is not None), None)
    out = "" if rule is None else " " + rule.sentence()
    if lacking:
        out += (
            f" Not estimated, for want of never-treated units: {'; '.join(lacking)} (R's did "
            f"would warn '{NEVERTREATED_WARNING}' and compare with the last-treated cohort "
            "alone)."
        )
        if bootstrap:
            out += " The bootstrap band is of the not-yet-treated specification."
    return out


def _only_never_treated(cfg: Config) -> bool:
    return "notyettreated" not in cfg.callaway_santanna.control_groups


def summary_table(rows: list[Estimate], fits: list[CSFit]) -> pd.DataFrame:
    by = {(e.model, e.term): e for e in rows}
    out = []
    for f in fits:
        line: dict[str, str] = {"specification": f.spec.label}
        for name in ("simple", "dynamic", "group", "calendar"):
            e = by.get((f.spec.model(name), "ATT" if name == "simple" else "overall"))
            line[name] = "" if e is None else f"{fmt(e.estimate)} ({fmt(e.std_error)})"
        out.append(line)
    return pd.DataFrame(out)


def event_table(rows: list[Estimate]) -> pd.DataFrame:
    """Event-time coefficients (SE) by specification, and the bootstrap's uniform band."""
    models = ["cs_dynamic", "cs_dynamic_notyet", "cs_dynamic_universal", "cs_dynamic_boot"]
    by = {
        (e.model, int(e.term.split("::")[1])): e
        for e in rows
        if e.model in models and e.term.startswith("event_time::")
    }
    times = sorted({k for _, k in by})
    out = pd.DataFrame({"event_time": times})
    for m in models:
        if not any(key[0] == m for key in by):
            continue
        out[m] = [
            f"{fmt(by[m, k].estimate)} ({fmt(by[m, k].std_error)})" if (m, k) in by else ""
            for k in times
        ]
    if any(key[0] == "cs_dynamic_boot" for key in by):
        out["uniform_band"] = [
            f"[{fmt(by['cs_dynamic_boot', k].conf_low)}, {fmt(by['cs_dynamic_boot', k].conf_high)}]"
            if ("cs_dynamic_boot", k) in by
            else ""
            for k in times
        ]
    return out


EXHIBIT = declare(
    run,
    "Table 4. Callaway-Sant'Anna group-time ATTs and aggregations",
    tables=(TABLE, EVENT_TABLE),
    models=(
        "cs_simple",
        "cs_attgt",
        "cs_dynamic",
        "cs_group",
        "cs_calendar",
        "cs_*_notyet",
        "cs_*_universal",
        "cs_{simple,attgt}_{dr,reg,ipw}_cov",
        "cs_*_boot",
    ),
    needs=Needs(
        never_treated=_only_never_treated,
        never_treated_hint=(
            "[callaway_santanna] control_groups lists only 'nevertreated' (add 'notyettreated')"
        ),
    ),
)
