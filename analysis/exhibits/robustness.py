"""Table 10: robustness of the baseline TWFE coefficient (models `robust_<name>`, term
`treat_post`; `resilience ~ treat_post | city_code + year` unless stated).

| name | change |
|---|---|
| timing | Guizhou treated from 2016 and the second batch from 2017 (treatment rebuilt by analysis.prepare.treatment with a modified [treatment]) |
| no_municipalities | Beijing, Tianjin, Shanghai and Chongqing dropped |
| no_first_cohort | the first cohort (Guizhou) dropped |
| winsorized | raw components winsorized at [robustness] winsorize (pooled quantiles), entropy index rebuilt |
| equal_weights | index = mean of the min-max normalized components (equal weights) |
| pca | index = first principal component of the normalized components, rescaled to [0, 1], signed to rise with the entropy index |
| province_year_fe | province-by-year fixed effects (province from data/cities.csv) instead of year fixed effects |
| no_2020_2022 | the years of [robustness] drop_years that the panel has dropped (the model id is stable; `subset` names the years) |

Checks that need the pilot-zone assignment or the raw components say why they are skipped
(table note, and with the exhibits not run) when the data do not have them; so does the
drop_years check when none of its years is a year of the panel (it would repeat the
baseline), and when only some are, the note names those absent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.engines import pyfixest_adapter as fx
from analysis.estimates import Estimate
from analysis.exhibit import Context, Output, declare
from analysis.prepare.cities import registry
from analysis.prepare.indices import normalize
from analysis.prepare.panel import event_time
from analysis.prepare.treatment import add_treatment, pilot_cohorts
from analysis.prepare.variables import resilience_index
from analysis.render.labels import words
from analysis.render.tables import inference_note, regression_table

TABLE = "table10_robustness"
BASE = "resilience ~ treat_post | city_code + year"


@dataclass(frozen=True)
class Variant:
    """The data and formula of one check; `subset` says which rows of the analysis panel
    it keeps when it only drops rows (machine-readable, as in estimates.csv). `same_data`:
    the analysis panel's rows and values unchanged (only the formula differs), so the
    `sample` column reads as the full panel's."""

    data: pd.DataFrame
    formula: str = BASE
    subset: str = ""
    same_data: bool = False
    note: str = ""  # what the table note says about this check ('' for nothing)


Check = Callable[[Context], Variant | str]  # a variant, or why the check is skipped


def _in(column: str, values: list[int], negate: bool = False) -> str:
    listed = ", ".join(str(v) for v in sorted(values))
    return f"{column} {'not in' if negate else 'in'} ({listed})"


def _components(ctx: Context) -> tuple[pd.DataFrame, tuple[str, ...]] | str:
    """The raw components (role-named) and their directions, or why they are missing."""
    comps = ctx.cfg.components
    cols = [f"raw_{c.role}" for c in comps]
    if ctx.cfg.outcome.column or not comps or any(c not in ctx.panel.columns for c in cols):
        return "the outcome is a ready column: no raw components to rebuild the index from"
    frame = ctx.panel[cols].rename(columns=lambda c: c.removeprefix("raw_"))
    return frame, tuple(c.direction for c in comps)


def _with_outcome(ctx: Context, values: np.ndarray) -> Variant:
    return Variant(ctx.panel.assign(resilience=values))


def timing(ctx: Context) -> Variant | str:
    t = ctx.cfg.treatment
    if t.source != "pilot_zones":
        return "treatment comes from the data ([treatment] source), not the pilot-zone list"
    alt = replace(t, guizhou_year=2016, second_batch_year=2017)
    data = add_treatment(
        ctx.panel.drop(columns=["first_treat", "treat_post", "rel_time"]), pilot_cohorts(alt)
    )
    data["event_time"] = event_time(data, ctx.cfg)
    return Variant(data)


NO_REGISTRY = "the units are not Chinese cities ([panel] units = 'any'): no city registry"


def no_municipalities(ctx: Context) -> Variant | str:
    if ctx.cfg.panel.units != "cities":
        return NO_REGISTRY
    reg = registry()
    muni = reg.loc[reg["municipality"] == 1, "admin_code"]
    present = sorted(int(c) for c in set(muni) & set(ctx.panel["city_code"]))
    if not present:
        return "none of the four municipalities is in the panel: dropping them would repeat the baseline"
    keep = ~ctx.panel["city_code"].isin(muni)
    return Variant(ctx.panel[keep], subset=_in("city_code", present, negate=True))


def no_first_cohort(ctx: Context) -> Variant | str:
    if ctx.panel["first_treat"].nunique() < 3:
        return "a single treatment cohort: dropping it leaves no treated unit"
    first = int(ctx.panel.loc[ctx.panel["first_treat"] > 0, "first_treat"].min())
    return Variant(ctx.panel[ctx.panel["first_treat"] != first], subset=f"first_treat != {first}")


def winsorized(ctx: Context) -> Variant | str:
    got = _components(ctx)
    if isinstance(got, str):
        return got
    frame, _ = got
    lo, hi = ctx.cfg.robustness.winsorize
    clipped = frame.clip(frame.quantile(lo), frame.quantile(hi), axis=1)
    comps = ctx.cfg.components
    index, _ = resilience_index(clipped, comps, ctx.cfg.outcome.weights, ctx.cfg.outcome.shift)
    return _with_outcome(ctx, index)


def _normalized(ctx: Context) -> np.ndarray | str:
    got = _components(ctx)
    if isinstance(got, str):
        return got
    frame, directions = got
    x = frame.to_numpy(dtype=float)
    return normalize(x, directions, x.min(axis=0), x.max(axis=0))


def equal_weights(ctx: Context) -> Variant | str:
    z = _normalized(ctx)
    return z if isinstance(z, str) else _with_outcome(ctx, z.mean(axis=1))


def first_principal_component(z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Scores on the first principal component of the standardized columns of z, min-max
    scaled to [0, 1] and signed to correlate positively with `reference`."""
    s = (z - z.mean(axis=0)) / z.std(axis=0)
    _, _, vt = np.linalg.svd(s, full_matrices=False)
    score = s @ vt[0]
    if np.corrcoef(score, reference)[0, 1] < 0:
        score = -score
    return (score - score.min()) / (score.max() - score.min())


def pca(ctx: Context) -> Variant | str:
    z = _normalized(ctx)
    if isinstance(z, str):
        return z
    return _with_outcome(ctx, first_principal_component(z, ctx.panel["resilience"].to_numpy()))


def province_year_fe(ctx: Context) -> Variant | str:
    if ctx.cfg.panel.units != "cities":
        return NO_REGISTRY
    province = registry().set_index("admin_code")["province_en"]
    data = ctx.panel.assign(province=ctx.panel["city_code"].map(province))
    return Variant(data, "resilience ~ treat_post | city_code + province^year", same_data=True)


def drop_years(ctx: Context) -> tuple[list[int], list[int]]:
    """The years of [robustness] drop_years the panel has, and those it has not."""
    years = set(ctx.panel["year"].astype(int))
    asked = sorted({int(y) for y in ctx.cfg.robustness.drop_years})
    return [y for y in asked if y in years], [y for y in asked if y not in years]


def no_2020_2022(ctx: Context) -> Variant | str:
    dropped, absent = drop_years(ctx)
    years = ctx.panel["year"].astype(int)
    span = f"{years.min()}-{years.max()}"
    if not dropped:
        if not absent:
            return "[robustness] drop_years is empty"
        return (
            f"none of [robustness] drop_years ({_list(absent)}) is a year of the panel "
            f"({span}): dropping them would repeat the baseline"
        )
    keep = ~years.isin(dropped)
    if not keep.any():
        return f"[robustness] drop_years ({_list(dropped)}) leaves no year of the panel"
    note = (
        f"{_list(absent)} of [robustness] drop_years not in the panel ({span}): only "
        f"{_list(dropped)} dropped"
        if absent
        else ""
    )
    return Variant(ctx.panel[keep], subset=_in("year", dropped, negate=True), note=note)


def _list(years: list[int]) -> str:
    return ", ".join(str(y) for y in years)


CHECKS: dict[str, tuple[str, Check]] = {
    "timing": ("Guizhou 2016, second batch 2017", timing),
    "no_municipalities": ("Without the four municipalities", no_municipalities),
    "no_first_cohort": ("Without the first cohort (Guizhou)", no_first_cohort),
    "winsorized": ("Components winsorized, index rebuilt", winsorized),
    "equal_weights": ("Equal-weight index", equal_weights),
    "pca": ("First principal component index", pca),
    "province_year_fe": ("Province-by-year fixed effects", province_year_fe),
    "no_2020_2022": ("Without the dropped years", no_2020_2022),
}


def run(ctx: Context) -> Output:
    """The baseline TWFE under every check of CHECKS that the data allow."""
    estimates: list[Estimate] = []
    models, labels, skipped, said = [], [], [], []
    not_run: dict[str, str] = {}
    for name, (title, check) in CHECKS.items():
        got = check(ctx)
        if isinstance(got, str):
            skipped.append(f"{name}: skipped ({got})")
            not_run[f"robust_{name}"] = got
            continue
        if got.note:
            said.append(f"{name}: {got.note}")
        data = got.data
        reg = fx.feols(data, got.formula, ctx.spec)
        n, years = data["city_code"].nunique(), f"{data['year'].min()}-{data['year'].max()}"
        sample = f"{n} {ctx.units}, {years}" + ("" if got.same_data else f"; {words(title)}")
        estimates += fx.rows(
            reg,
            TABLE,
            f"robust_{name}",
            "twfe",
            sample,
            ["treat_post"],
            subset=got.subset,
            estimand="att",
        )
        models.append(f"robust_{name}")
        labels.append(title)
    table = regression_table(estimates, models, ["treat_post"], extra={"Check": labels})
    lo, hi = ctx.cfg.robustness.winsorize
    dropped = drop_years(ctx)[0] if "robust_no_2020_2022" in models else []
    note = (
        f"TWFE with city and year fixed effects unless stated; winsorizing at {lo:g}/{hi:g}"
        + (f"; dropped years {dropped}" if dropped else "")
        + ". The PCA index is rescaled to [0, 1]; its coefficient is on that scale."
        + ("" if not said else " " + "; ".join(said) + ".")
        + ("" if not skipped else " " + "; ".join(skipped) + ".")
        + " "
        + inference_note(estimates)
    )
    return Output(estimates=estimates, tables={TABLE: table}, notes={TABLE: note}, not_run=not_run)


EXHIBIT = declare(
    run, "Table 10. Robustness of the baseline estimate", tables=(TABLE,), models=("robust_<name>",)
)
