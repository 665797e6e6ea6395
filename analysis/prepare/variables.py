"""From raw yearbook inputs to the study's variables: outcome, controls, mechanisms, moderators.

Every variable is a pure function of the role-named raw panel. Variables built with fitted
quantities (the entropy weights of the resilience and digital-economy indices, the medians
that split the moderators) return what they fitted, so the same construction can be applied
to other data: `simulate` uses this to compute the true effect on the index from both
potential outcomes with the weights fixed from the observed data.

Units of the raw inputs (as in the China City Statistical Yearbook): gdp, value added, loans,
fiscal expenditure, fdi and telecom revenue in 100 million yuan; population, urban
population, college students, employment and subscribers in 10,000 persons (households).

| variable | definition |
|---|---|
| resilience | entropy-weight index of the [components] (see analysis.prepare.indices) |
| ln_gdp_pc | ln(gdp * 1e4 / population): log GDP per person, yuan |
| urbanization | urban_population / population |
| fiscal | fiscal_expenditure / gdp |
| finance | loans / gdp |
| fdi_share | fdi / gdp |
| human_capital | college_students / population * 100: students per 100 residents |
| tech_innovation | ln(1 + invention_patents / population): patents per 10,000 residents |
| digital_infra | entropy-weight index of broadband and mobile subscribers per resident |
| rationalization | -Theil index of the three sectors' value added and employment |
| digital_economy | entropy-weight index of digital_employment_share, telecom revenue per resident, digital_finance |
| marketization_pre, digital_economy_pre | a city's mean before the first pilot year |
| east_coastal | 1 for the NBS eastern region (the coastal provinces and Beijing) |
| high_marketization, high_digital_economy | 1 above the median of the pre-period mean |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.config import Component
from analysis.prepare.indices import EntropyFit, entropy_apply, entropy_fit, entropy_index, theil


def _ratio(num: str, den: str, scale: float = 1.0) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda d: d[num] / d[den] * scale


CONTROLS: dict[str, Callable[[pd.DataFrame], Any]] = {
    "ln_gdp_pc": lambda d: np.log(d["gdp"] * 1e4 / d["population"]),
    "urbanization": _ratio("urban_population", "population"),
    "fiscal": _ratio("fiscal_expenditure", "gdp"),
    "finance": _ratio("loans", "gdp"),
    "fdi_share": _ratio("fdi", "gdp"),
    "human_capital": _ratio("college_students", "population", 100.0),
}

SECTORS = ("primary", "secondary", "tertiary")


@dataclass(frozen=True)
class Fits:
    """Quantities fitted on the observed data, reusable on counterfactual data."""

    resilience: dict[str, EntropyFit] = field(default_factory=dict)
    digital_infra: EntropyFit | None = None
    digital_economy: EntropyFit | None = None


def _digital_infra_inputs(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "broadband_pc": raw["broadband_subscribers"] / raw["population"],
            "mobile_pc": raw["mobile_subscribers"] / raw["population"],
        },
        index=raw.index,
    )


def _digital_economy_inputs(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "digital_employment_share": raw["digital_employment_share"],
            "telecom_pc": raw["telecom_revenue"] / raw["population"],
            "digital_finance": raw["digital_finance"],
        },
        index=raw.index,
    )


def _index(
    frame: pd.DataFrame, fit: EntropyFit | None, shift: float
) -> tuple[np.ndarray, EntropyFit]:
    if fit is None:
        fit = entropy_fit(frame, ("+",) * frame.shape[1], shift)
    return entropy_apply(fit, frame), fit


def digital_economy_index(
    raw: pd.DataFrame, fit: EntropyFit | None = None, shift: float = 1e-4
) -> tuple[np.ndarray, EntropyFit]:
    """The entropy-weight digital-economy index (pooled weights unless `fit` is given)."""
    return _index(_digital_economy_inputs(raw), fit, shift)


def resilience_index(
    raw: pd.DataFrame,
    components: tuple[Component, ...],
    weights: str,
    shift: float,
    fits: dict[str, EntropyFit] | None = None,
) -> tuple[np.ndarray, dict[str, EntropyFit]]:
    """The entropy-weight resilience index; `fits` reuses weights fitted elsewhere."""
    frame = raw[[c.role for c in components]]
    directions = tuple(c.direction for c in components)
    if fits is None:
        by = raw["year"] if weights == "per_year" else None
        return entropy_index(frame, directions, by=by, shift=shift)
    if weights == "pooled":
        return entropy_apply(fits["pooled"], frame), fits
    out = np.empty(len(frame))
    for year, idx in frame.groupby(raw["year"].to_numpy()).indices.items():
        out[idx] = entropy_apply(fits[str(year)], frame.iloc[idx])
    return out, fits


def build_variables(
    raw: pd.DataFrame,
    components: tuple[Component, ...],
    weights: str = "pooled",
    shift: float = 1e-4,
    fits: Fits | None = None,
) -> tuple[pd.DataFrame, Fits]:
    """Outcome, controls and mechanisms of every city-year of a complete role-named panel.

    With no `components` the resilience index is not built (the outcome is a ready column).
    """
    out = pd.DataFrame(index=raw.index)
    res_fits: dict[str, EntropyFit] = {}
    if components:  # without components the outcome is a ready column of the user's
        out["resilience"], res_fits = resilience_index(
            raw, components, weights, shift, None if fits is None else fits.resilience
        )
    for name, make in CONTROLS.items():
        out[name] = make(raw)
    out["tech_innovation"] = np.log1p(raw["invention_patents"] / raw["population"])
    out["digital_infra"], infra_fit = _index(
        _digital_infra_inputs(raw), None if fits is None else fits.digital_infra, shift
    )
    va = raw[[f"va_{s}" for s in SECTORS]].to_numpy()
    emp = raw[[f"emp_{s}" for s in SECTORS]].to_numpy()
    out["rationalization"] = -theil(va, emp)
    out["digital_economy"], econ_fit = digital_economy_index(
        raw, None if fits is None else fits.digital_economy, shift
    )
    out["marketization"] = raw["marketization"]
    return out, Fits(resilience=res_fits, digital_infra=infra_fit, digital_economy=econ_fit)


def moderators(panel: pd.DataFrame, pre_end: int) -> pd.DataFrame:
    """Time-invariant moderators per city from years before `pre_end` (pre-treatment)."""
    pre = panel[panel["year"] < pre_end]
    means = pre.groupby("city_code")[["marketization", "digital_economy"]].mean()
    out = pd.DataFrame(index=means.index)
    out["marketization_pre"] = means["marketization"]
    out["digital_economy_pre"] = means["digital_economy"]
    out["high_marketization"] = (means["marketization"] > means["marketization"].median()).astype(
        int
    )
    out["high_digital_economy"] = (
        means["digital_economy"] > means["digital_economy"].median()
    ).astype(int)
    return out
