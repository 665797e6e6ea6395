"""Table: mechanisms. For each channel (technological innovation, digital infrastructure,
industrial structure rationalization):

- the pilot zones' effect on the channel, TWFE (`mechanism_<m>`, term `treat_post`) and DML
  (`dml_mechanism_<m>`, [dml] aux_learner, the default fixed-effect handling and folds):
  the main evidence, following Jiang Ting (2022, China Industrial Economics) on mediation
  analysis in Chinese economics: a causal effect of the policy on a channel that plausibly
  moves the outcome;
- the channel's link to resilience, TWFE of resilience on the channel with the controls
  (`mechanism_link_<m>`, term `<m>`): descriptive, since the channel is not assigned;
- the indirect effect a x b (a: effect on the channel; b: the channel's coefficient in the
  resilience regression that also holds treat_post, `mechanism_direct_<m>`), model
  `mechanism_indirect_<m>`, term `indirect`, with a seeded cluster bootstrap over cities
  (percentile interval). It is causal only under sequential ignorability (stated in the note).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.engines import pyfixest_adapter as fx
from analysis.engines.doubleml_adapter import plr_rows
from analysis.estimates import Estimate, ModelInfo
from analysis.estimators.blocks import BLOCKS_KEY, LocalBlocks
from analysis.estimators.crossfit import SHARED_KEY, NuisanceCache
from analysis.estimators.dml_folds import child_rng
from analysis.estimators.mediation import DEMEAN_TOL, Indirect, bootstrap_indirect
from analysis.exhibit import Context, Needs, Output, declare
from analysis.models import wild
from analysis.models.dml import Spec, run_plrs
from analysis.models.twfe import FIXEF, OUTCOME, mechanism_formulas
from analysis.render.labels import label

TABLE = "table13_mechanisms"


def _indirect_row(
    ind: Indirect, mechanism: str, base: Estimate, reps: int, ctx: Context
) -> Estimate:
    described = ModelInfo(
        exhibit=TABLE,
        model=f"mechanism_indirect_{mechanism}",
        estimator="product_of_coefficients",
        engine="numpy+pyfixest.demean",
        outcome=OUTCOME,
        n_obs=base.n_obs,
        n_clusters=base.n_clusters,
        vcov=f"bootstrap:cluster=city_code,B={reps},percentile",
        ssc="none",
        formula=f"a[{mechanism} ~ treat_post + controls | {FIXEF}] x "
        f"b[{OUTCOME} ~ treat_post + {mechanism} + controls | {FIXEF}]",
        fixef=FIXEF,
        sample=ctx.sample,
        df=np.nan,
        level=ctx.level,
        estimand="indirect_effect",
    )
    return described.row(
        "indirect",
        ind.estimate,
        ind.std_error,
        p_value=np.nan,
        statistic=np.nan,
        conf=(ind.conf_low, ind.conf_high),
    )


def note(cfg_level: float, reps: int, aux: str) -> str:
    return (
        "Main evidence: the pilot zones' effect on each channel (TWFE with city and year fixed "
        f"effects and the controls, clustered by city; DML with the {aux} learner, "
        "within-city handling as in the DML table). The link column regresses resilience on "
        "the channel with the controls and fixed effects: an association, not an effect, "
        "because the channel is not assigned. Direct: the pilot's coefficient when the "
        "channel is held in the regression. Indirect a x b is causal only under sequential "
        "ignorability: (i) the pilot is as good as random given the fixed effects and "
        "controls (parallel trends), and (ii) the channel is as good as random given the "
        "pilot, fixed effects and controls - no unobserved confounder of channel and "
        "resilience and no other channel affected by the pilot that also moves this one - "
        "with linear, constant effects. Its interval is the percentile interval of a "
        f"cluster bootstrap over cities ({reps} resamples, seeded), at level "
        f"{cfg_level:.2f}. Following Jiang Ting (2022), read the indirect effect as "
        "illustrative, not as a test of the mechanism."
    )


def _cell(e: Estimate | None) -> tuple[float, float, float]:
    return (np.nan, np.nan, np.nan) if e is None else (e.estimate, e.std_error, e.p_value)


def run(ctx: Context) -> Output:
    """Per channel: the pilots' effect on it (TWFE, DML), its link to resilience, the direct
    and the indirect effect with its bootstrap interval."""
    cfg, controls, level = ctx.cfg, ctx.cfg.model.controls, ctx.cfg.inference.level
    d = cfg.dml
    estimates: list[Estimate] = []
    rows = []
    mechanisms = ctx.available(cfg.model.mechanisms)
    specs = [Spec(ctx.panel, m, controls, d.fe, d.n_folds, (d.aux_learner,)) for m in mechanisms]
    cache = ctx.shared(SHARED_KEY, NuisanceCache)
    plrs = dict(zip(mechanisms, run_plrs(specs, d, cfg.seed, cache=cache), strict=True))
    for m in mechanisms:
        forms = mechanism_formulas(m, controls)
        regs = {model: fx.feols(ctx.panel, f, ctx.spec) for model, f in forms.items()}
        terms = {
            f"mechanism_{m}": (["treat_post"], "att"),
            f"mechanism_link_{m}": ([m], "association"),
            f"mechanism_direct_{m}": (["treat_post", m], "direct_effect"),
        }
        effect, link, direct = (
            fx.rows(regs[model], TABLE, model, "twfe", ctx.sample, keep, estimand=estimand)
            for model, (keep, estimand) in terms.items()
        )
        dml_row = plr_rows(plrs[m], d.aux_learner, TABLE, f"dml_mechanism_{m}", ctx.sample, level)
        ind = bootstrap_indirect(
            ctx.panel,
            m,
            controls,
            d.bootstrap_reps,
            child_rng(cfg.seed, "indirect-bootstrap", m),
            level,
            ctx.shared(BLOCKS_KEY, LocalBlocks),
        )
        indirect = _indirect_row(ind, m, effect[0], d.bootstrap_reps, ctx)
        reg = regs[f"mechanism_{m}"]
        base = fx.info(reg, TABLE, f"mechanism_{m}", "twfe", ctx.sample, estimand="att")
        boot = wild.coefficient_rows(
            ctx, reg, ctx.panel, wild.regressors(reg.formula), base, ["treat_post"]
        )
        estimates += [*effect, *dml_row, *link, *direct, indirect, *boot]
        cells = {
            "effect_twfe": _cell(effect[0]),
            "effect_dml": _cell(dml_row[0]),
            "link_twfe": _cell(link[0]),
            "direct_twfe": _cell(direct[0]),
        }
        row: dict[str, object] = {"mechanism": label(ctx.label(m))}
        for name, (est, se, p) in cells.items():
            row.update({name: est, f"{name}_se": se, f"{name}_p": p})
        row.update(
            {"indirect": ind.estimate, "indirect_low": ind.conf_low, "indirect_high": ind.conf_high}
        )
        row["effect_twfe_wild_p"] = boot[0].p_value
        rows.append(row)
    text = note(level, d.bootstrap_reps, d.aux_learner)
    if rows:
        text += f" effect_twfe_wild_p: wild cluster bootstrap ({boot[0].vcov}; {boot[0].ssc})."
    absent = ctx.missing(cfg.model.mechanisms)
    if absent:
        text += " Not estimated: " + "; ".join(absent) + "."
    return Output(
        estimates=estimates,
        tables={TABLE: pd.DataFrame(rows)},
        notes={TABLE: text},
        manifest={
            "bootstrap": {
                "reps": d.bootstrap_reps,
                "resampling": "cities with replacement",
                "seed": "child_rng(seed, 'indirect-bootstrap', mechanism)",
                "demean_tol": DEMEAN_TOL,
            }
        },
    )


EXHIBIT = declare(
    run,
    "Table 13. Mechanisms: the pilot zones' effect on each channel",
    tables=(TABLE,),
    models=(
        "mechanism_<m>",
        "dml_mechanism_<m>",
        "mechanism_link_<m>",
        "mechanism_direct_<m>",
        "mechanism_indirect_<m>",
        "mechanism_<m>_wild",
    ),
    needs=Needs(controls=True, lists=("mechanisms",)),
)
