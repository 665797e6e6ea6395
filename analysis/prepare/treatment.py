"""Treatment timing: the pilot zones' cohorts, or the user's own cohort or indicator column.

Vocabulary: `first_treat` is the first year a city is treated (0 = never treated, as in R's
`did`); `treat_post` = 1 from that year on. The conventions on which the literature
disagrees are configuration (`[treatment]` in the TOML): the year of Guizhou (2015 or 2016),
of the second batch (2016 or 2017), the Pearl River Delta as its nine cities or all of
Guangdong, and Shenyang alone or all of Liaoning.
"""

from __future__ import annotations

import pandas as pd

from analysis.config import TreatmentConfig
from analysis.errors import InputError
from analysis.prepare.cities import pilot_zones, registry

NEVER = 0


def pilot_cohorts(cfg: TreatmentConfig) -> pd.Series:
    """first_treat by admin_code for every registry unit (0 for units never in a zone)."""
    reg = registry()
    cohort = pd.Series(NEVER, index=reg["admin_code"].to_numpy(), name="first_treat")
    zones = pilot_zones()
    years = {"first": cfg.guizhou_year, "second": cfg.second_batch_year}
    for batch, year in years.items():
        codes = zones.loc[zones["batch"] == batch, "admin_code"]
        cohort[cohort.index.isin(codes)] = year
    province_scope = {
        "guangdong": ("广东省", cfg.prd_scope == "guangdong"),
        "liaoning": ("辽宁省", cfg.shenyang_scope == "liaoning"),
    }
    for province, wanted in province_scope.values():
        if wanted:
            in_prov = reg.loc[reg["province_zh"] == province, "admin_code"]
            cohort[cohort.index.isin(in_prov)] = cfg.second_batch_year
    return cohort


def cohorts_from_column(
    panel: pd.DataFrame, column: str, source: str, file: str, name: str | None = None
) -> pd.Series:
    """first_treat by city from a cohort column (year, 0/empty never) or a 0/1 indicator.

    `column` is the panel's column, `name` the user's name for it (in messages)."""
    name = name or column
    values = panel[["city_code", "year", column]].sort_values(["city_code", "year"])
    if source == "column":
        filled = values[column].fillna(NEVER)
        per_city = filled.groupby(values["city_code"]).nunique()
        bad = per_city[per_city > 1]
        if len(bad):
            raise InputError(
                f"{file}: column '{name}' (cohort) varies within city {bad.index[0]}; "
                "it must hold one first-treatment year per city (0 or empty = never treated)"
            )
        return filled.groupby(values["city_code"]).first().astype(int).rename("first_treat")
    ind = values[column]
    bad_vals = ind[~ind.isin([0, 1])]
    if len(bad_vals):
        raise InputError(
            f"{file}: column '{name}' (treatment indicator) has value {bad_vals.iloc[0]!r}; "
            "allowed: 0, 1"
        )
    steps = ind.groupby(values["city_code"]).diff()
    off = steps[steps < 0]
    if len(off):
        city, year = values.loc[off.index[0], ["city_code", "year"]].astype(int).tolist()
        raise InputError(
            f"{file}: column '{name}' switches treatment off for city {city} in {year}; "
            "a staggered design needs treatment that stays on"
        )
    treated = values[ind == 1]
    first = treated.groupby("city_code")["year"].min()
    return (
        first.reindex(values["city_code"].unique(), fill_value=NEVER)
        .astype(int)
        .rename("first_treat")
    )


def add_treatment(panel: pd.DataFrame, first_treat: pd.Series) -> pd.DataFrame:
    """Attach first_treat, treat_post and event time (rel_time, NaN for never treated)."""
    out = panel.copy()
    out["first_treat"] = out["city_code"].map(first_treat).fillna(NEVER).astype(int)
    treated = out["first_treat"] > 0
    out["treat_post"] = (treated & (out["year"] >= out["first_treat"])).astype(int)
    out["rel_time"] = (out["year"] - out["first_treat"]).where(treated)
    return out


def assignment_groups(units: pd.Index | list[int], cfg: TreatmentConfig) -> pd.Series:
    """The group with which each unit (city code) was assigned its treatment, under the
    pilot-zone list: a treated city's pilot zone (all of Guangdong in the Pearl River Delta
    zone and all of Liaoning in the Shenyang zone under the province scopes), and for the
    cities of no zone their province ('<province>, no zone'). Randomization inference at the
    level of assignment permutes these groups' cohorts
    (analysis.estimators.cohort_randomization)."""
    reg = registry().set_index("admin_code")
    zones = pilot_zones().drop_duplicates("admin_code").set_index("admin_code")["zone"]
    index = pd.Index(units)
    missing = index.difference(reg.index)
    if len(missing):
        raise InputError(
            f"[randomization] scheme = 'zones' needs every unit in the city registry; "
            f"{missing[0]} is not (use scheme = 'units')"
        )
    province = reg.loc[index, "province_zh"]
    names = reg.loc[index, "province_en"].astype(str) + ", no zone"
    group = pd.Series(names.to_numpy(), index=index, name="group")
    scopes = (
        ("广东省", "Pearl River Delta", cfg.prd_scope == "guangdong"),
        ("辽宁省", "Shenyang", cfg.shenyang_scope == "liaoning"),
    )
    for prov, zone, whole in scopes:
        if whole:
            group[(province == prov).to_numpy()] = zone
    named = index.intersection(zones.index)
    group[named] = zones[named].to_numpy()
    return group
