"""Table 5 and Figure 2: heterogeneity-robust event studies beside the TWFE event study.

- Sun-Abraham (2021) interaction-weighted estimator (model `sunab`): cohort x relative-time
  dummies ([model] reference_period omitted; never-treated cities are the control), city and
  year fixed effects, by the project's feols with the configured vcov and small-sample
  correction, aggregated as fixest's `sunab()` (analysis.estimators.event_time). Without
  never-treated cities the last-treated cohort is the control cohort on the years before it
  is treated (Sun and Abraham's own choice; analysis.estimators.last_cohort); its rows carry
  that restriction in `subset`, and fixest's sunab() on those rows reads the cohort, never
  treated there, as its reference.
- Gardner (2022) two-stage DID (model `did2s`): pyfixest's `did2s` (first stage: city and
  year fixed effects on untreated city-years; second stage: the residualized outcome on
  relative-time dummies without the reference period, or on treat_post for `ATT`), with the
  GMM-corrected clustered variance pyfixest implements (its only option; recorded in `ssc`).
  City-years whose year or city has no untreated observation (the years from the last
  cohort's first treated year on, without never-treated cities) have no first-stage fixed
  effect and are left out, as R's did2s leaves them out.
- Borusyak-Jaravel-Spiess (2024) imputation (model `imputation`): diff-diff's ImputationDiD
  with the conservative clustered variance of their Theorem 3 (per city). Its post-period
  effects are not relative to a reference period; its pre-period coefficients are those of
  the pre-trend regression R's didimputation runs (the outcome on every lead but -1 with city
  and year effects on the untreated city-years, clustered by city; their rows record that
  vcov), relative to -1 whatever the configuration, as the table note says.

Relative times are not binned here (every observed relative time has its own coefficient).
Each estimator's normalization is stated in the note, since they need not agree.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.engines import diff_diff_adapter as dd
from analysis.engines import pyfixest_adapter as fx
from analysis.estimates import Estimate, ModelInfo
from analysis.estimators.event_time import EventCoefs, interaction_weighted, sunab_cells
from analysis.estimators.last_cohort import LastCohort, as_never_treated, last_cohort
from analysis.exhibit import Context, Needs, Output, declare
from analysis.inference import VcovSpec
from analysis.models import callaway_santanna, twfe
from analysis.render.figures_did import event_estimators_figure
from analysis.render.tables import fmt

TABLE = "table5_event_study_estimators"
FIGURE = "figure2_event_study_estimators"
OUTCOME = "resilience"
IMPUTATION_REF = -1  # diff-diff's ImputationDiD pre-trend reference (not configurable)


def sunab(
    panel: pd.DataFrame, spec: VcovSpec, ref: int, outcome: str = OUTCOME
) -> tuple[EventCoefs, fx.Regression]:
    """Sun-Abraham interaction-weighted event study and ATT (weights: observation counts);
    without never-treated units, the last-treated cohort is the control on the years before
    it is treated."""
    data, cols = sunab_cells(as_never_treated(panel, last_cohort(panel)), ref)
    reg = fx.feols(data, f"{outcome} ~ {' + '.join(cols)} | city_code + year", spec)
    cells = list(cols.values())
    counts = np.array(
        [int(((data["first_treat"] == g) & (data["rel_time"] == k)).sum()) for g, k in cells],
        dtype=float,
    )
    b = reg.coef[list(cols)].to_numpy()
    v = reg.vcov.loc[list(cols), list(cols)].to_numpy()
    return interaction_weighted(b, v, cells, counts, reg.df), reg


def sunab_formula(ref: int, outcome: str = OUTCOME) -> str:
    """The model in fixest syntax (fixest's default ref.p is -1, written only when it differs)."""
    extra = "" if ref == -1 else f", ref.p = {ref}"
    return f"{outcome} ~ sunab(first_treat, year{extra}) | city_code + year"


def _restriction(rule: LastCohort | None) -> str:
    """The rows Sun-Abraham keeps without never-treated units, as a `subset`."""
    if rule is None:
        return ""
    return f"year not in ({', '.join(str(y) for y in rule.dropped_years)})"


def infos(ctx: Context, reg: fx.Regression) -> dict[str, ModelInfo]:
    """The three models' descriptions (formulas in the syntax of the R package that mirrors
    each: fixest's sunab, did2s, didimputation)."""
    ref = ctx.reference_period
    rule = last_cohort(ctx.panel)
    base = ModelInfo(
        exhibit=TABLE,
        model="sunab",
        estimator="sun_abraham",
        engine="pyfixest",
        outcome=OUTCOME,
        n_obs=len(ctx.panel),
        n_clusters=int(ctx.panel["city_code"].nunique()),
        vcov=reg.spec.label,
        ssc=reg.spec.ssc_label,  # aggregation: shares fixed, delta method
        formula=sunab_formula(ref),
        fixef="city_code + year",
        sample=ctx.sample,
        df=reg.df,
        estimand="att_by_event_time",
        control_group="nevertreated",
        reference_period=ref,
        level=ctx.level,
    )
    return {
        "sunab": base
        if rule is None
        else replace(
            base,
            n_obs=reg.n_obs,
            n_clusters=reg.n_clusters,
            sample=f"{ctx.sample}; years before {rule.cohort} (last cohort as control)",
            subset=_restriction(rule),
            control_group="lasttreated",
        ),
        "did2s": replace(
            base,
            model="did2s",
            estimator="gardner_two_stage",
            df=np.inf,
            vcov="GMM-corrected CRV1:city_code",
            ssc="pyfixest did2s (no ssc option)",
            # What is estimated, in R did2s's convention: the never treated stay in the
            # second stage (rel_time = Inf, a reference level), and the ATT has its own
            # second stage on the treatment dummy.
            formula="did2s(yname='resilience', first_stage=~0 | city_code + year, "
            f"second_stage=~i(rel_time, ref=c({ref}, Inf)), treatment='treat_post', "
            "cluster_var='city_code'); rel_time = Inf where first_treat == 0; "
            "ATT: second_stage=~treat_post",
            control_group="notyettreated",
        ),
        "imputation": replace(
            base,
            model="imputation",
            estimator="borusyak_jaravel_spiess",
            engine=dd.ENGINE,
            df=np.inf,
            vcov="analytical:conservative-Theorem3,cluster=city_code",
            ssc="none",
            formula="did_imputation(yname='resilience', gname='first_treat', tname='year', "
            "idname='city_code', pretrends=TRUE)",
            control_group="notyettreated",
            reference_period=IMPUTATION_REF,
        ),
    }


# Imputation's pre-period coefficients come from its pre-trend regression (on the untreated
# city-years, clustered by city; analysis.engines.diff_diff_adapter.imputation), not from the
# imputation's variance: their rows say so.
PRETREND_SSC = "K.adj=TRUE;K.fixef=nonnested;G.adj=TRUE;G.df=min;t.df=min;fixef.rm=none"


def pretrend_info(described: ModelInfo) -> ModelInfo:
    return replace(
        described,
        engine="pyfixest",
        vcov="CRV1:city_code (pre-trend regression on untreated city-years)",
        ssc=PRETREND_SSC,
        df=float(described.n_clusters - 1),
    )


def rows(described: ModelInfo, c: EventCoefs) -> list[Estimate]:
    """Event-time rows and the overall ATT of one estimator."""
    pre = pretrend_info(described) if described.model == "imputation" else described
    out = [
        (pre if k < 0 else described).row(f"event_time::{k}", e, s)
        for k, e, s in zip(c.times, c.estimate, c.std_error, strict=True)
    ]
    return [*out, described.row("ATT", c.att, c.att_se)]


def run(ctx: Context) -> Output:
    """Sun-Abraham, two-stage and imputation event studies beside the TWFE and CS ones."""
    ref, window, level = ctx.reference_period, ctx.event_window, ctx.level
    sa, reg = sunab(ctx.panel, ctx.spec, ref)
    d2 = fx.did2s(ctx.panel, OUTCOME, ref)
    imp = dd.imputation(ctx.panel, OUTCOME)
    described = infos(ctx, reg)
    coefs = {"sunab": sa, "did2s": d2, "imputation": imp}
    estimates = [e for model, c in coefs.items() for e in rows(described[model], c)]
    twfe_table = twfe.coefficient_table(twfe.event_study(ctx)[0], window, ref, level)
    series = {
        "TWFE event study (binned)": twfe_table[["event_time", "estimate", "std_error"]],
        "Callaway-Sant'Anna": callaway_santanna.dynamic_coefs(ctx),
        "Sun-Abraham": sa.frame(),
        "Imputation / two-stage": imp.frame(),
    }
    table = pd.DataFrame(
        {"event_time": sorted({int(k) for s in series.values() for k in s["event_time"]})}
    )
    for name, s in series.items():
        cells = {
            int(k): f"{fmt(e)} ({fmt(se)})"
            for k, e, se in zip(
                s["event_time"],
                s["estimate"].astype(float),
                s["std_error"].astype(float),
                strict=True,
            )
            if np.isfinite(e)  # not identified (e.g. a lead collinear with the effects)
        }
        table[name] = [cells.get(int(k), "") for k in table["event_time"]]
    att = {e.model: e for e in estimates if e.term == "ATT"}
    critical = float(stats.norm.ppf(0.5 + level / 2))
    note = (
        "Relative times not binned except in the TWFE column (end points at the event window). "
        f"{normalization(ref)} Overall ATT: Sun-Abraham "
        f"{att['sunab'].estimate:.4f} ({att['sunab'].std_error:.4f}), two-stage "
        f"{att['did2s'].estimate:.4f} ({att['did2s'].std_error:.4f}), imputation "
        f"{att['imputation'].estimate:.4f} ({att['imputation'].std_error:.4f}). Intervals in "
        f"the figure: estimate +/- {critical:.2f} SE ({int(level * 100)}%, normal)."
        + without_never_treated(ctx.panel)
    )

    def writer(path: Path) -> None:
        event_estimators_figure(series, note, path, critical)

    return Output(
        estimates=estimates, tables={TABLE: table}, figures={FIGURE: writer}, notes={TABLE: note}
    )


def without_never_treated(panel: pd.DataFrame) -> str:
    """How each estimator compares without never-treated units ('' when there are some)."""
    rule = last_cohort(panel)
    if rule is None:
        return ""
    years = rule.dropped_years
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else f"{years[0]}"
    return (
        f" No never-treated units: Sun-Abraham compares with the last-treated cohort "
        f"({rule.cohort}, {rule.size}) on the years before {rule.cohort} (Sun and "
        "Abraham 2021; fixest's sunab() on those rows does the same); Callaway-Sant'Anna "
        "with the not-yet-treated units, as R's did does (the periods from "
        f"{rule.cohort} on dropped); two-stage and imputation with the untreated "
        f"city-years, of which {span} have none, so effects there are not identified (R's "
        "did2s leaves those city-years out, didimputation reports them as NaN)."
    )


def normalization(ref: int) -> str:
    """What each column is relative to (they need not agree)."""
    if ref == IMPUTATION_REF:
        return f"Reference period {ref}."
    return (
        f"Reference period {ref} for TWFE, Sun-Abraham and two-stage; Callaway-Sant'Anna "
        "compares each period with the one before it before treatment (varying base) and with "
        f"g-1 after; imputation's pre-period coefficients are relative to {IMPUTATION_REF} "
        "(diff-diff's convention) and its post-period effects to the imputed untreated outcome."
    )


EXHIBIT = declare(
    run,
    "Table 5 and Figure 2. Sun-Abraham, two-stage and imputation event studies",
    tables=(TABLE,),
    figures=(FIGURE,),
    models=("sunab", "did2s", "imputation"),
    needs=Needs(),
)
