"""Stage: from the role-named raw panel to the analysis panel the estimators use.

sample filter -> treatment timing -> missing raw values -> variables -> moderators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.config import Config
from analysis.errors import InputError
from analysis.prepare.cities import study_cities
from analysis.prepare.loading import LoadInfo
from analysis.prepare.treatment import add_treatment, cohorts_from_column, pilot_cohorts
from analysis.prepare.user_variables import moderator_problem, series_variables, split_variables
from analysis.prepare.variables import MODERATOR_INPUTS, Fits, build_variables, moderators

KEYS = ("city_code", "year")
TREATMENT = ("first_treat", "treat_post", "rel_time")


@dataclass(frozen=True)
class PanelInfo:
    """What the stage did, for the log and the manifest."""

    n_cities_in_file: int
    dropped_cities: tuple[int, ...]
    interpolated_cells: int
    dropped_city_years: int
    pre_end: int
    fits: Fits = field(repr=False)
    # variable -> why it was not built (an input not mapped, a constant indicator, a
    # moderator that needs the city registry)
    unavailable: dict[str, str] = field(default_factory=dict)
    # what the loader dropped and how it read the unit keys (set by analysis.pipeline)
    load: LoadInfo | None = None
    # Per raw column: cells filled by interpolation, and cells still missing in the
    # city-years dropped as incomplete (read by the data audit).
    interpolated_by_column: dict[str, int] = field(default_factory=dict)
    dropped_by_column: dict[str, int] = field(default_factory=dict)
    # [variables] entry -> unit-years it left without a value (a lag's first period),
    # dropped from the analysis panel.
    dropped_by_variable: dict[str, int] = field(default_factory=dict)
    # moderator -> why it cannot split the units (not 0/1, not constant within units)
    moderator_problems: dict[str, str] = field(default_factory=dict)


def interpolate_missing(
    raw: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Linear interpolation within each city over years; the ends carry the nearest value.
    Returns the panel and the number of cells filled in each column."""
    out = raw.sort_values(list(KEYS)).reset_index(drop=True)
    missing = out[columns].isna()
    before = missing.sum()
    # Only the cities with a missing cell change (a series without one interpolates to
    # itself): a panel of 10^5 complete units is not split into 10^5 groups for nothing.
    gaps = out["city_code"].isin(out.loc[missing.any(axis=1), "city_code"].unique())
    if gaps.any():
        filled = (
            out.loc[gaps]
            .groupby("city_code", sort=False)[columns]
            .transform(lambda s: s.interpolate(method="linear", limit_direction="both"))
        )
        out.loc[gaps, columns] = filled
    after = out[columns].isna().sum()
    return out, {c: int(before[c] - after[c]) for c in columns}


NEVER_TREATED_EVENT_TIME = -1000


def observed_window(rel_time: pd.Series, window: tuple[int, int]) -> tuple[int, int]:
    """[model] event_window clipped to the event times the panel has (a window wider than the
    data would bin no observation into its end points)."""
    lo, hi = window
    seen = rel_time.dropna()
    if seen.empty:
        return lo, hi
    return max(lo, int(seen.min())), min(hi, int(seen.max()))


def event_time(panel: pd.DataFrame, cfg: Config) -> pd.Series:
    """Event time binned at the ends of [model] event_window (clipped to the event times
    the data have); never-treated cities get -1000, a second reference level (as in
    `i(event_time, ref = c(-1, -1000))`)."""
    lo, hi = observed_window(panel["rel_time"], cfg.model.event_window)
    binned = panel["rel_time"].clip(lo, hi)
    return binned.fillna(NEVER_TREATED_EVENT_TIME).astype("int64")


def raw_value_columns(raw: pd.DataFrame) -> list[str]:
    return [c for c in raw.columns if c not in (*KEYS, *TREATMENT, "cohort")]


def build_panel(
    raw: pd.DataFrame, cfg: Config, file: str, fits: Fits | None = None
) -> tuple[pd.DataFrame, PanelInfo]:
    """The analysis panel: keys, treatment, outcome, controls, mechanisms, moderators."""
    in_file = raw["city_code"].unique()
    keep = ~raw["year"].isin(cfg.sample.drop_years)
    cities = study_cities(cfg.sample) if cfg.panel.units == "cities" else None
    if cities is not None:
        keep &= raw["city_code"].isin(cities["admin_code"])
        dropped = tuple(sorted(set(in_file) - set(cities["admin_code"])))
    else:
        dropped = ()
    data = raw[keep].copy()
    if data.empty:
        raise InputError(
            f"{file}: no unit-year left after the sample filters ([sample] cities = "
            f"'{cfg.sample.cities}', exclude_provinces, drop_years)"
        )
    if cfg.treatment.source == "pilot_zones":
        first_treat = pilot_cohorts(cfg.treatment)
    else:
        first_treat = cohorts_from_column(
            data, "cohort", cfg.treatment.source, file, cfg.treatment.cohort_column
        )
    data = add_treatment(data.drop(columns=["cohort"], errors="ignore"), first_treat)
    values = raw_value_columns(data)
    filled = dict.fromkeys(values, 0)
    if cfg.panel.missing == "interpolate":
        data, filled = interpolate_missing(data, values)
    incomplete = data[values].isna().any(axis=1)
    still = data.loc[incomplete, values].isna().sum()
    dropped_cells = {c: int(still[c]) for c in values}
    data = data[~incomplete].reset_index(drop=True)
    if data.empty:
        raise InputError(f"{file}: no complete city-year left after handling missing values")
    _check_domain(data, cfg, file)
    _check_variation(data, cfg, file)
    components = () if cfg.outcome.column else cfg.components
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked just below
        variables, fitted, unavailable = build_variables(
            data, components, cfg.outcome.weights, cfg.outcome.shift, fits
        )
    if cfg.outcome.column:
        variables.insert(0, "resilience", data["resilience"].to_numpy())
    own, why = series_variables(data, variables, cfg, file)
    unavailable.update(why)
    variables = pd.concat([variables, own], axis=1)
    gaps = own.isna()
    dropped_by_variable = {str(c): int(n) for c, n in gaps.sum().items() if n}
    if dropped_by_variable:
        keep_rows = ~gaps.any(axis=1).to_numpy()
        data, variables = data[keep_rows].reset_index(drop=True), variables[keep_rows]
        variables = variables.reset_index(drop=True)
        if data.empty:
            raise InputError(
                f"{file}: no unit-year left: [variables] "
                f"{', '.join(dropped_by_variable)} leave every unit-year without a value"
            )
    _check_finite(variables, data, file)
    panel = pd.concat(
        [data[[*KEYS, *TREATMENT]], variables, data[values].add_prefix("raw_")], axis=1
    )
    treated_years = panel.loc[panel["first_treat"] > 0, "first_treat"]
    pre_end = int(treated_years.min()) if len(treated_years) else cfg.panel.last_year + 1
    mods = moderators(panel, pre_end)
    for moderator, variable in MODERATOR_INPUTS.items():
        if variable in unavailable:
            unavailable[moderator] = f"is built from {variable}, which {unavailable[variable]}"
    if cities is not None:
        region = cities.set_index("admin_code")["region"]
        mods["east_coastal"] = (region.reindex(mods.index) == "east").astype(int)
    else:
        unavailable["east_coastal"] = "needs the city registry ([panel] units = 'cities')"
    splits, why = split_variables(panel, cfg, pre_end, file)
    unavailable.update(why)
    mods = mods.join(splits)
    panel = panel.merge(mods, left_on="city_code", right_index=True, how="left")
    moderator_problems: dict[str, str] = {}
    for name in cfg.model.moderators:
        if name in panel.columns and name not in unavailable:
            problem = moderator_problem(panel, name, cfg.label(name))
            if problem is not None:
                moderator_problems[name] = problem
    panel.insert(list(panel.columns).index("rel_time") + 1, "event_time", event_time(panel, cfg))
    info = PanelInfo(
        n_cities_in_file=len(in_file),
        dropped_cities=dropped,
        interpolated_cells=sum(filled.values()),
        dropped_city_years=int(incomplete.sum()),
        pre_end=pre_end,
        fits=fitted,
        unavailable=unavailable,
        interpolated_by_column=filled,
        dropped_by_column=dropped_cells,
        dropped_by_variable=dropped_by_variable,
        moderator_problems=moderator_problems,
    )
    return panel.sort_values(list(KEYS)).reset_index(drop=True), info


# Raw inputs whose values must be positive (levels that enter logs and ratios) or non-negative.
POSITIVE = (
    "gdp",
    "population",
    "va_primary",
    "va_secondary",
    "va_tertiary",
    "emp_primary",
    "emp_secondary",
    "emp_tertiary",
)
NON_NEGATIVE = (
    "urban_population",
    "fiscal_expenditure",
    "loans",
    "fdi",
    "college_students",
    "invention_patents",
    "broadband_subscribers",
    "mobile_subscribers",
    "telecom_revenue",
    "digital_employment_share",
)


def _user_column(role: str, cfg: Config) -> str:
    comps = {c.role: c.column for c in cfg.components}
    return cfg.inputs.get(role) or comps.get(role) or cfg.user_columns.get(role) or role


def _first_bad(data: pd.DataFrame, mask: pd.Series) -> tuple[int, int]:
    i = mask.to_numpy().nonzero()[0][0]
    return int(data["city_code"].iloc[i]), int(data["year"].iloc[i])


def _check_domain(data: pd.DataFrame, cfg: Config, file: str) -> None:
    """Values outside their domain stop the run instead of becoming NaN or inf downstream."""
    for role in raw_value_columns(data):
        col = data[role]
        if not np.isfinite(col).all():
            city, year = _first_bad(data, ~np.isfinite(col))
            raise InputError(
                f"{file}: column '{_user_column(role, cfg)}' ({role}) is not finite for city {city} in {year}"
            )
        rule = "positive" if role in POSITIVE else "non-negative" if role in NON_NEGATIVE else None
        bad = (col <= 0) if rule == "positive" else (col < 0) if rule else None
        if bad is not None and bad.any():
            city, year = _first_bad(data, bad)
            value = col[bad].iloc[0]
            raise InputError(
                f"{file}: column '{_user_column(role, cfg)}' ({role}) has value {value:g} for city {city} "
                f"in {year}; it must be {rule}"
            )


def _check_finite(variables: pd.DataFrame, data: pd.DataFrame, file: str) -> None:
    """Variables built from extreme but valid inputs may still overflow: name the first."""
    values = variables.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise InputError(
            f"{file}: variable '{variables.columns[j]}' is not finite for city "
            f"{int(data['city_code'].iloc[i])} in {int(data['year'].iloc[i])}; check that city's raw values"
        )


def _check_variation(data: pd.DataFrame, cfg: Config, file: str) -> None:
    if cfg.outcome.column:
        return
    for c in cfg.components:
        if data[c.role].nunique() < 2:
            raise InputError(
                f"{file}: column '{c.column}' ({c.role}) is constant; an entropy-weight index "
                "needs variation in every component (drop it from [components])"
            )
