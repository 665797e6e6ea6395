"""Table and figure: heterogeneity of the pilot zones' effect by eastern coastal region,
marketization and digital economy.

Splits (time-invariant, fixed before the pilots so the policy cannot move them; built in
analysis.prepare.variables.moderators and analysis.prepare.panel.build_panel):
- east_coastal: 1 for cities of the NBS eastern region (Beijing, Tianjin, Hebei, Shanghai,
  Jiangsu, Zhejiang, Fujian, Shandong, Guangdong, Hainan);
- high_marketization: 1 if the city's mean marketization index over the years before the
  first pilot year is above the median city's;
- high_digital_economy: the same with the entropy-weight digital-economy index.

Per moderator: TWFE on each split sample (`hetero_<mod>_1`, `hetero_<mod>_0`, term
`treat_post`); TWFE with the interaction on the full sample (`hetero_<mod>_interaction`,
`resilience ~ treat_post + treat_post:<mod> + controls | city_code + year`, whose term
`treat_post:<mod>` tests that the effects differ); DML on each split sample
(`dml_hetero_<mod>_1`, `_0`) and the difference of the two (`dml_hetero_<mod>_difference`,
term `treat_post:<mod>`: independent samples of cities, so its variance is the sum).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.engines import pyfixest_adapter as fx
from analysis.engines.doubleml_adapter import plr_rows
from analysis.estimates import NORMAL_DF, Estimate
from analysis.estimators.crossfit import SHARED_KEY, NuisanceCache
from analysis.exhibit import Context, Needs, Output, declare
from analysis.models import wild
from analysis.models.dml import Spec, run_plrs
from analysis.prepare.specification import definition
from analysis.render.figures_dml import forest_figure
from analysis.render.labels import label

TABLE = "table14_heterogeneity"
FIGURE = "figure8_heterogeneity_forest"
OUTCOME = "resilience"
FIXEF = "city_code + year"
GROUPS = {1: "yes", 0: "no"}


def formulas(mod: str, controls: tuple[str, ...]) -> dict[str, str]:
    x = " + ".join(controls)
    return {
        "split": f"{OUTCOME} ~ treat_post + {x} | {FIXEF}",
        "interaction": f"{OUTCOME} ~ treat_post + treat_post:{mod} + {x} | {FIXEF}",
    }


def difference_row(one: Estimate, zero: Estimate, mod: str, level: float) -> Estimate:
    """Difference of two estimates from disjoint sets of cities (independent)."""
    described = replace(
        one,
        model=f"dml_hetero_{mod}_difference",
        df=NORMAL_DF,
        n_obs=one.n_obs + zero.n_obs,
        n_clusters=one.n_clusters + zero.n_clusters,
        vcov=one.vcov + ";difference of independent samples",
        formula=f"[{one.formula}] | {mod}=1 minus {mod}=0",
        subset="",
        moderator=mod,
        estimand="att_difference",
        level=level,
    )
    est = one.estimate - zero.estimate
    return described.row(f"treat_post:{mod}", est, float(np.hypot(one.std_error, zero.std_error)))


def _treated_in(panel: pd.DataFrame) -> bool:
    return bool(panel["treat_post"].max() > 0) and bool(panel["treat_post"].min() == 0)


def run(ctx: Context) -> Output:
    """Per moderator: split-sample TWFE and DML, the interaction, the DML difference."""
    cfg, controls, level = ctx.cfg, ctx.cfg.model.controls, ctx.cfg.inference.level
    d = cfg.dml
    estimates: list[Estimate] = []
    table, forest = [], []
    moderators, skipped = ctx.listed("moderators")
    subs = {(mod, g): ctx.panel[ctx.panel[mod] == g] for mod in moderators for g in (1, 0)}
    splits = [key for key, sub in subs.items() if _treated_in(sub)]
    specs = [
        Spec(
            subs[mod, g],
            OUTCOME,
            controls,
            d.fe,
            d.n_folds,
            (d.aux_learner,),
            ("hetero", mod, str(g)),
        )
        for mod, g in splits
    ]
    cache = ctx.shared(SHARED_KEY, NuisanceCache)
    plrs = dict(zip(splits, run_plrs(specs, d, cfg.seed, cache=cache), strict=True))
    for mod in moderators:
        forms = formulas(mod, controls)
        split: dict[str, dict[int, Estimate]] = {"TWFE": {}, "DML": {}}
        for g in (1, 0):
            sub = subs[mod, g]
            if (mod, g) not in plrs:
                skipped.append(f"{mod} = {g} (no treated or no untreated city-years)")
                continue
            n = sub["city_code"].nunique()
            sample = f"{ctx.sample}; {ctx.label(mod)} = {g} ({n} {ctx.units})"
            subset = f"{mod} == {g}"
            reg = fx.feols(sub, forms["split"], ctx.spec)
            twfe = fx.rows(
                reg,
                TABLE,
                f"hetero_{mod}_{g}",
                "twfe",
                sample,
                ["treat_post"],
                subset=subset,
                moderator=mod,
                estimand="att",
            )
            dml_rows = plr_rows(
                plrs[mod, g],
                d.aux_learner,
                TABLE,
                f"dml_hetero_{mod}_{g}",
                sample,
                level,
                subset=subset,
                moderator=mod,
            )
            split["TWFE"][g], split["DML"][g] = twfe[0], dml_rows[0]
            estimates += [*twfe, *dml_rows]
        inter_reg = fx.feols(ctx.panel, forms["interaction"], ctx.spec)
        inter = fx.rows(
            inter_reg,
            TABLE,
            f"hetero_{mod}_interaction",
            "twfe",
            ctx.sample,
            ["treat_post", f"treat_post:{mod}"],
            moderator=mod,
            estimand="att_difference",
        )
        base = fx.info(
            inter_reg,
            TABLE,
            f"hetero_{mod}_interaction",
            "twfe",
            ctx.sample,
            moderator=mod,
            estimand="att_difference",
        )
        term = f"treat_post:{mod}"
        data = ctx.panel.assign(**{term: ctx.panel["treat_post"] * ctx.panel[mod]})
        boot = wild.coefficient_rows(ctx, inter_reg, data, list(inter_reg.coef.index), base, [term])
        estimates += [*inter, *boot]
        diff = None
        if len(split["DML"]) == 2:
            diff = difference_row(split["DML"][1], split["DML"][0], mod, level)
            estimates.append(diff)
        for g in (1, 0):
            for method, rows in split.items():
                if g in rows:
                    e = rows[g]
                    forest.append(
                        {
                            "moderator": label(ctx.label(mod)),
                            "group": GROUPS[g],
                            "method": method,
                            "estimate": e.estimate,
                            "conf_low": e.conf_low,
                            "conf_high": e.conf_high,
                        }
                    )
        row: dict[str, object] = {"moderator": label(ctx.label(mod))}
        cells = {
            "twfe_1": split["TWFE"].get(1),
            "twfe_0": split["TWFE"].get(0),
            "twfe_interaction": inter[1],
            "dml_1": split["DML"].get(1),
            "dml_0": split["DML"].get(0),
            "dml_difference": diff,
        }
        for name, cell in cells.items():
            row.update(
                {
                    name: np.nan if cell is None else cell.estimate,
                    f"{name}_se": np.nan if cell is None else cell.std_error,
                }
            )
        row["interaction_p"] = inter[1].p_value
        row["interaction_wild_p"] = boot[0].p_value
        row["dml_difference_p"] = np.nan if diff is None else diff.p_value
        row["cities_1"] = int(ctx.panel.loc[ctx.panel[mod] == 1, "city_code"].nunique())
        row["cities_0"] = int(ctx.panel.loc[ctx.panel[mod] == 0, "city_code"].nunique())
        table.append(row)
    text = note(ctx, skipped)
    forest_frame = pd.DataFrame(forest)
    title = "Heterogeneity: subgroup effects"
    level = int(round(100 * ctx.cfg.inference.level))
    figure_note = (
        f"Split-sample estimates with {level}% intervals (TWFE: t with G-1 df, clustered by city; "
        f"DML: normal, cluster DML). Groups fixed before the pilots; tests of the differences "
        f"in {TABLE}."
    )
    return Output(
        estimates=estimates,
        tables={TABLE: pd.DataFrame(table)},
        figures={FIGURE: lambda path: forest_figure(forest_frame, figure_note, path, title)},
        notes={TABLE: text},
    )


def note(ctx: Context, skipped: list[str]) -> str:
    treated = ctx.panel.loc[ctx.panel["first_treat"] > 0, "first_treat"]
    pre_end = int(treated.min()) if len(treated) else ctx.cfg.panel.last_year + 1
    d = ctx.cfg.dml
    used = ctx.listed("moderators")[0]
    defined = "; ".join(f"{ctx.label(m)}: {definition(ctx.cfg, m)}" for m in used)
    text = (
        f"Split samples by moderator (1 = yes, 0 = no). {defined}. Pre-treatment means are "
        f"over {int(ctx.panel['year'].min())}-{pre_end - 1}, before the first treated year "
        "(fixed per unit). TWFE with unit and year "
        "fixed effects and the controls, clustered by unit; interaction: the full-sample TWFE "
        "coefficient of treat_post:<moderator> (the test that the effects differ; "
        "interaction_wild_p: its wild cluster bootstrap p-value, restricted, as in Table 2). DML: "
        f"partially linear model on each split sample ({d.aux_learner}, {d.fe}, {d.n_folds} "
        f"folds by city, {d.n_rep} repetitions); DML difference: split-sample estimates "
        "subtracted, SEs added in quadrature (disjoint sets of cities)."
    )
    if skipped:
        text += " Not estimated: " + "; ".join(skipped) + "."
    return text


EXHIBIT = declare(
    run,
    "Table 14 and Figure 8. Heterogeneity by region, marketization and digital economy",
    tables=(TABLE,),
    figures=(FIGURE,),
    models=(
        "hetero_<mod>_1",
        "hetero_<mod>_0",
        "hetero_<mod>_interaction",
        "hetero_<mod>_interaction_wild",
        "dml_hetero_<mod>_1",
        "dml_hetero_<mod>_0",
        "dml_hetero_<mod>_difference",
    ),
    needs=Needs(controls=True, lists=("moderators",)),
)
