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
from analysis.config.schema import CONTROL_NAMES, MECHANISM_NAMES
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
# The raw inputs each variable is built from: a variable whose inputs are not all mapped is
# not built, and the exhibits that need it are not run (with this as the reason).
INPUTS: dict[str, tuple[str, ...]] = {
    "ln_gdp_pc": ("gdp", "population"),
    "urbanization": ("urban_population", "population"),
    "fiscal": ("fiscal_expenditure", "gdp"),
    "finance": ("loans", "gdp"),
    "fdi_share": ("fdi", "gdp"),
    "human_capital": ("college_students", "population"),
    "tech_innovation": ("invention_patents", "population"),
    "digital_infra": ("broadband_subscribers", "mobile_subscribers", "population"),
    "rationalization": tuple(f"{k}_{s}" for k in ("va", "emp") for s in SECTORS),
    "digital_economy": (
        "digital_employment_share",
        "telecom_revenue",
        "digital_finance",
        "population",
    ),
    "marketization": ("marketization",),
}
assert set(CONTROLS) == set(CONTROL_NAMES) and set(MECHANISM_NAMES) <= set(INPUTS)


def missing_inputs(variable: str, columns: pd.Index | list[str]) -> tuple[str, ...]:
    """The inputs of `variable` that are not columns of the role-named raw panel."""
    return tuple(i for i in INPUTS[variable] if i not in columns)


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


def _unavailable(inputs: tuple[str, ...]) -> str:
    names = ", ".join(f"'{i}'" for i in inputs)
    return f"needs input {names}, not mapped in [inputs]"


def build_variables(
    raw: pd.DataFrame,
    components: tuple[Component, ...],
    weights: str = "pooled",
    shift: float = 1e-4,
    fits: Fits | None = None,
) -> tuple[pd.DataFrame, Fits, dict[str, str]]:
    """Outcome, controls, mechanisms and the moderators' inputs of every city-year of a
    complete role-named panel, and variable -> why it is not built (an input not mapped, or
    an input of an entropy index that does not vary).

    With no `components` the resilience index is not built (the outcome is a ready column).
    """
    out = pd.DataFrame(index=raw.index)
    unavailable: dict[str, str] = {}
    res_fits: dict[str, EntropyFit] = {}
    if components:  # without components the outcome is a ready column of the user's
        out["resilience"], res_fits = resilience_index(
            raw, components, weights, shift, None if fits is None else fits.resilience
        )
    absent = {name: missing_inputs(name, raw.columns) for name in INPUTS}
    for name, reason in absent.items():
        if reason:
            unavailable[name] = _unavailable(reason)
    for name, make in CONTROLS.items():
        if name not in unavailable:
            out[name] = make(raw)
    if "tech_innovation" not in unavailable:
        out["tech_innovation"] = np.log1p(raw["invention_patents"] / raw["population"])
    infra_fit = econ_fit = None
    if "digital_infra" not in unavailable:
        frame = _digital_infra_inputs(raw)
        if (constant := _constant(frame)) is not None:
            unavailable["digital_infra"] = constant
        else:
            out["digital_infra"], infra_fit = _index(
                frame, None if fits is None else fits.digital_infra, shift
            )
    if "rationalization" not in unavailable:
        va = raw[[f"va_{s}" for s in SECTORS]].to_numpy()
        emp = raw[[f"emp_{s}" for s in SECTORS]].to_numpy()
        out["rationalization"] = -theil(va, emp)
    if "digital_economy" not in unavailable:
        frame = _digital_economy_inputs(raw)
        if (constant := _constant(frame)) is not None:
            unavailable["digital_economy"] = constant
        else:
            out["digital_economy"], econ_fit = digital_economy_index(
                raw, None if fits is None else fits.digital_economy, shift
            )
    if "marketization" not in unavailable:
        out["marketization"] = raw["marketization"]
    fitted = Fits(resilience=res_fits, digital_infra=infra_fit, digital_economy=econ_fit)
    return out, fitted, unavailable


def _constant(frame: pd.DataFrame) -> str | None:
    """Why an entropy index of `frame` cannot be built (a constant indicator), or None."""
    for column in frame.columns:
        if frame[column].nunique() < 2:
            return f"its indicator '{column}' is constant, so min-max normalization is undefined"
    return None


MODERATOR_INPUTS = {
    "high_marketization": "marketization",
    "high_digital_economy": "digital_economy",
}


def moderators(panel: pd.DataFrame, pre_end: int) -> pd.DataFrame:
    """Time-invariant moderators per city from years before `pre_end` (pre-treatment): the
    pre-period means of marketization and the digital-economy index, and 1 above the
    median city's mean (for the variables the panel has; NaN for a city without
    pre-period values)."""
    pre = panel[panel["year"] < pre_end]
    out = pd.DataFrame(index=pd.Index(sorted(panel["city_code"].unique()), name="city_code"))
    present = {m: v for m, v in MODERATOR_INPUTS.items() if v in panel.columns}
    means = {v: pre.groupby("city_code")[v].mean().reindex(out.index) for v in present.values()}
    for variable, mean in means.items():
        out[f"{variable}_pre"] = mean
    for moderator, variable in present.items():
        mean = means[variable]
        flag = (mean > mean.median()).astype(int)
        out[moderator] = flag if mean.notna().all() else flag.where(mean.notna())
    return out
