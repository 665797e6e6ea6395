"""Callaway and Sant'Anna (2021): ATT(g,t) and their aggregations, as R's `did::att_gt` and
`aggte()` compute them.

Without covariates the cells come from diff-diff's CallawaySantAnna (equal to R's did; its
doubly robust estimator without covariates is the 2x2 difference of mean changes); with
covariates from analysis.estimators.attgt_covariates (DRDID's panel estimators, as did calls
them: diff-diff's doubly robust estimator with covariates is another one). Aggregations:
diff-diff's simple, event-time and group ones, and analysis.estimators.cs_aggregate's
calendar aggregation and overall summaries (R aggte's `overall.att`). Inference: analytical,
from the influence functions, clustered by unit (R's `clustervars = NULL`), normal critical
values; no small-sample factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.config import CallawaySantAnnaConfig
from analysis.engines import diff_diff_adapter as dd
from analysis.errors import InputError
from analysis.estimators import cs_aggregate as agg
from analysis.estimators import drdid
from analysis.estimators.attgt_covariates import attgt_with_covariates
from analysis.estimators.last_cohort import (
    LastCohort,
    as_never_treated,
    has_never_treated,
    last_cohort,
)
from analysis.exhibit import Context

OUTCOME = "resilience"
ENGINE = "diff-diff"
ENGINE_OWN = "diff-diff+analysis.estimators.cs_aggregate"
ENGINE_COV = "analysis.estimators.drdid+cs_aggregate"
TRIM_LEVEL = drdid.TRIM_LEVEL
VCOV = "analytical:influence-function,cluster=city_code"
ESTIMAND = {
    "simple": "att",
    "dynamic": "att_by_event_time",
    "group": "att_by_cohort",
    "calendar": "att_by_year",
    "attgt": "att_by_cohort_year",
}
TERM = {"dynamic": "event_time", "group": "cohort", "calendar": "year"}


@dataclass(frozen=True)
class CSSpec:
    """One att_gt specification, in R did's vocabulary."""

    control_group: str = "nevertreated"
    base_period: str = "varying"
    method: str = "dr"
    covariates: tuple[str, ...] = ()

    @property
    def suffix(self) -> str:
        if self.covariates:
            return f"_{self.method}_cov"
        return ("_notyet" if self.control_group == "notyettreated" else "") + (
            "_universal" if self.base_period == "universal" else ""
        )

    def model(self, aggregation: str) -> str:
        return f"cs_{aggregation}{self.suffix}"

    def formula(self, aggregation: str, outcome: str = OUTCOME, boot: str = "bstrap=FALSE") -> str:
        x = "NULL" if not self.covariates else "~" + " + ".join(self.covariates)
        call = (
            f"att_gt(yname='{outcome}', tname='year', idname='city_code', gname='first_treat', "
            f"xformla={x}, control_group='{self.control_group}', base_period='{self.base_period}', "
            f"est_method='{self.method}', {boot}, clustervars=NULL)"
        )
        return call if aggregation == "attgt" else f"{call}; aggte(type='{aggregation}')"

    @property
    def label(self) -> str:
        cov = f", covariates ({self.method.upper()})" if self.covariates else ""
        return f"{self.control_group} controls, {self.base_period} base{cov}"


@dataclass(frozen=True)
class CSFit:
    """A fitted specification: the library's result (None for the covariate variants, which
    the project computes as R's did does), its cells and the data sizes."""

    spec: CSSpec
    results: Any
    cells: agg.Cells | None  # None for bootstrap fits (their cell SEs are bootstrap SEs)
    n_obs: int
    n_cities: int
    warnings: tuple[str, ...]
    missing: tuple[tuple[int, int, str], ...] = ()  # cells left missing (g, t, why)
    # Without never-treated units, the last-treated cohort as the comparison group of the
    # not-yet-treated specifications (analysis.estimators.last_cohort); None otherwise.
    comparison: LastCohort | None = None


def fit(
    panel: pd.DataFrame,
    spec: CSSpec,
    trim_level: float = TRIM_LEVEL,
    outcome: str = OUTCOME,
    bootstrap_reps: int = 0,
    bootstrap_weights: str = "rademacher",
    seed: int | None = None,
    alpha: float = 0.05,
) -> CSFit:
    """ATT(g,t) of one specification, every option passed explicitly. Without covariates
    diff-diff computes them; with covariates analysis.estimators.attgt_covariates does, with
    DRDID's estimators (diff-diff's doubly robust estimator is another one). Not-yet-treated
    controls on a panel without never-treated units follow R's did: the periods before the
    last cohort's first treated period, that cohort as the comparison group
    (analysis.estimators.last_cohort)."""
    missing = [c for c in (outcome, *spec.covariates) if c not in panel.columns]
    if missing:
        raise InputError(
            f"[callaway_santanna] covariates: column '{missing[0]}' is not in the analysis "
            f"panel; allowed: {', '.join(repr(c) for c in panel.columns[:60])}"
        )
    data = panel[["city_code", "year", "first_treat", outcome, *spec.covariates]]
    rule = last_cohort(data) if spec.control_group == "notyettreated" else None
    data = as_never_treated(data, rule)
    if spec.covariates:
        cov = attgt_with_covariates(
            data,
            outcome,
            spec.covariates,
            spec.method,
            spec.control_group,
            spec.base_period,
            trim_level,
        )
        notes = [f"{n} control units trimmed in cell {g}:{t}" for (g, t), n in cov.trimmed.items()]
        if cov.dropped_units:
            notes.append(
                f"{cov.dropped_units} units left out, as R's did leaves them out: not observed "
                "with the outcome and covariates in every year, or treated from the first year"
            )
        return CSFit(
            spec,
            None,
            cov.cells,
            cov.n_obs,
            cov.n_units,
            tuple(notes),
            tuple((g, t, why) for (g, t), why in sorted(cov.missing.items())),
            rule,
        )
    res = dd.callaway_santanna(
        data,
        outcome,
        control_group=spec.control_group,
        base_period=spec.base_period,
        method=spec.method,
        bootstrap_reps=bootstrap_reps,
        bootstrap_weights=bootstrap_weights,
        seed=seed,
        alpha=alpha,
    )
    cells = agg.cells_from_diff_diff(res.results) if bootstrap_reps == 0 else None
    return CSFit(
        spec,
        res.results,
        cells,
        len(data),
        int(data["city_code"].nunique()),
        res.warnings,
        comparison=rule,
    )


def default_spec(panel: pd.DataFrame) -> CSSpec:
    """The specification Table 4's bootstrap and Figure 2 show: never-treated controls,
    varying base period, no covariates; without never-treated units, not-yet-treated
    controls."""
    return CSSpec() if has_never_treated(panel) else CSSpec("notyettreated")


def default_fit(ctx: Context) -> CSFit:
    """The default specification (default_spec), fitted once per run: Table 4 and Figure 2
    read it."""
    return ctx.shared("callaway_santanna", lambda: fit(ctx.panel, default_spec(ctx.panel)))


def aggregations(f: CSFit) -> dict[tuple[str, str], tuple[float, float, str]]:
    """(model, term) -> (estimate, SE, engine) for every aggregation of a fit."""
    s, res, cells = f.spec, f.results, f.cells
    out: dict[tuple[str, str], tuple[float, float, str]] = {}
    if s.covariates:
        assert cells is not None
        for j in np.flatnonzero(np.isfinite(cells.att)):
            term = f"attgt::{int(cells.groups[j])}:{int(cells.times[j])}"
            out[(s.model("attgt"), term)] = (cells.att[j], cells.se[j], ENGINE_COV)
        if not f.missing:  # R's aggte refuses missing cells (na.rm = FALSE)
            simple = agg.simple(cells)
            out[(s.model("simple"), "ATT")] = (simple.estimate, simple.se, ENGINE_COV)
        return out
    for (g, t), v in sorted(res.group_time_effects.items()):
        out[(s.model("attgt"), f"attgt::{int(g)}:{int(t)}")] = (v["effect"], v["se"], ENGINE)
    simple = res.aggregate("simple").to_dataframe().iloc[0]
    out[(s.model("simple"), "ATT")] = (float(simple["att"]), float(simple["se"]), ENGINE)
    if cells is None:
        return out
    for row in res.aggregate("event_study").to_dataframe().itertuples():
        out[(s.model("dynamic"), f"event_time::{int(row.event_time)}")] = (
            float(row.att),
            float(row.se),
            ENGINE,
        )
    for row in res.aggregate("group").to_dataframe().itertuples():
        out[(s.model("group"), f"cohort::{int(row.label)}")] = (
            float(row.att),
            float(row.se),
            ENGINE,
        )
    for name, fn in (("dynamic", agg.dynamic), ("group", agg.group), ("calendar", agg.calendar)):
        by, overall = fn(cells)
        out[(s.model(name), "overall")] = (overall.estimate, overall.se, ENGINE_OWN)
        if name == "calendar":
            for k, a in by.items():
                out[(s.model(name), f"year::{k}")] = (a.estimate, a.se, ENGINE_OWN)
    return out


def specs(cfg: CallawaySantAnnaConfig, columns: pd.Index | None = None) -> list[CSSpec]:
    """The specifications of [callaway_santanna], unconditional first; the covariate
    variants only when every covariate is a column of the panel (when `columns` is given)."""
    out = [CSSpec(c, b) for c in cfg.control_groups for b in cfg.base_periods]
    have = columns is None or all(c in columns for c in cfg.covariates)
    if cfg.covariates and have:
        out += [CSSpec("nevertreated", "varying", m, cfg.covariates) for m in cfg.covariate_methods]
    return out


def dynamic_coefs(ctx: Context) -> pd.DataFrame:
    """Event-time coefficients of the default specification (for Figure 2)."""
    df = default_fit(ctx).results.aggregate("event_study").to_dataframe()
    return pd.DataFrame(
        {"event_time": df["event_time"].astype(int), "estimate": df["att"], "std_error": df["se"]}
    )
