"""The check matrix: which estimates of a run are checked in R, and how.

Each model of `estimates.csv` is planned by the kind of its `estimator` column
(rbridge.planners): Callaway-Sant'Anna, two-stage DID, imputation, Bacon decomposition,
placebo, HonestDiD and DML each have a planner; any other pyfixest regression is checked from
its fixest formula; a model without an R mirror is listed as skipped with the reason. Facts
come from the structured columns (aggregation, control_group, base_period, subset,
reference_period) and from the specification texts, never from the model id. Key models
(FAMILIES) absent from the run are reported as skipped ('not in this run'), so the matrix
picks up exhibits as they land.

Split samples: a regression estimated on part of the panel is mirrored when its rows say
which part in the `subset` column ('high_marketization == 1', 'first_treat != 2015',
'year not in (2020, 2021, 2022)'); otherwise, when its `sample` differs from the full
panel's, it is skipped with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rbridge.spec import Unsupported

# Key model ids ({mechanism} / {moderator} expanded from the run's configuration).
FAMILIES: tuple[str, ...] = (
    "baseline_twfe",
    "baseline_twfe_controls",
    "event_study",
    "sunab",
    "did2s",
    "imputation",
    *(
        f"cs_{agg}{variant}"
        for variant in ("", "_notyet", "_universal", "_notyet_universal")
        for agg in ("simple", "dynamic", "group", "attgt", "calendar")
    ),
    *(f"cs_{agg}_{m}_cov" for m in ("dr", "reg", "ipw") for agg in ("simple", "attgt")),
    "bacon",
    "placebo",
    "honest_rm",
    "honest_rm_conditional",
    "honest_sd",
    "mechanism_{mechanism}",
    "hetero_{moderator}_interaction",
    "hetero_{moderator}_1",
    "hetero_{moderator}_0",
    "robust_no_first_cohort",
    "robust_no_municipalities",
    "robust_no_2020_2022",
    "robust_province_year_fe",
    "dml_plr",
)
WALD_TERM = "joint_pre_F"


@dataclass(frozen=True)
class Requirement:
    """A check that needs at least `version` of `package` (older: skipped with `reason`)."""

    package: str
    version: str
    reason: str


@dataclass(frozen=True)
class Check:
    """One number compared: `quantity` ('estimate', 'std_error', 'statistic', 'conf_low',
    'conf_high', 'n_obs', 'n_clusters') of the R key `r_key`. `tolerance` names the check's
    tolerance family when it is not the engine's own; `needs` a package version."""

    name: str
    quantity: str
    python_value: float
    r_key: str
    skip: str = ""  # a known reason not to compare (reported as skipped)
    tolerance: str = ""
    needs: Requirement | None = None
    scale: float = 0.0  # the value's natural scale (its row's SE for an estimate or a bound)


@dataclass(frozen=True)
class ModelPlan:
    """One model of the run and how R mirrors it; `skip` says why it is not mirrored.
    `inputs` are arrays computed in Python for R (permutations, folds)."""

    model: str
    kind: str  # a key of rbridge.engines.PREFERENCE, or 'none'
    spec: Any
    checks: tuple[Check, ...]
    skip: str = ""
    inputs: dict[str, np.ndarray] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RunFacts:
    """What planning needs besides the rows: the panel, the file name for messages, and the
    run's seed and confidence level (from manifest.json)."""

    panel: pd.DataFrame
    file: str
    seed: int | None = None
    level: float = 0.95


def full_sample(panel: pd.DataFrame, units: str = "cities") -> str:
    """The `sample` text of a full-panel estimate (as analysis.exhibit.Context.sample):
    `units` is "cities" on the study's panel and "units" on a panel of any kind."""
    n = panel["city_code"].nunique()
    return f"{n} {units}, {panel['year'].min()}-{panel['year'].max()}"


def is_full_sample(text: str, panel: pd.DataFrame) -> bool:
    """Whether a `sample` text is the whole panel's, whatever its units are called."""
    return text in (full_sample(panel, "cities"), full_sample(panel, "units"))


def expected_models(mechanisms: list[str], moderators: list[str]) -> list[str]:
    """Every key model id the matrix knows, for this configuration."""
    out: list[str] = []
    for pattern in FAMILIES:
        if "{mechanism}" in pattern:
            out += [pattern.format(mechanism=m) for m in mechanisms]
        elif "{moderator}" in pattern:
            out += [pattern.format(moderator=m) for m in moderators]
        else:
            out.append(pattern)
    return out


def one(rows: pd.DataFrame, column: str, model: str) -> str:
    """The single value of a column over a model's rows ('' when the column is absent)."""
    if column not in rows:
        return ""
    values = rows[column].astype("string").fillna("").unique()
    if len(values) != 1:
        raise Unsupported(f"model '{model}' has several {column} values: {list(values)}")
    return str(values[0])


def term_checks(
    rows: pd.DataFrame, model: str, key_prefix: str = "", tolerance: str = ""
) -> list[Check]:
    """Estimate and (finite) standard error of every term; the pre-trend Wald F of an event
    study is checked as a statistic."""
    checks = []
    terms = rows["term"].astype(str).tolist()
    estimates = rows["estimate"].astype(float).tolist()
    errors = rows["std_error"].astype(float).tolist()
    for term, est, se in zip(terms, estimates, errors, strict=True):
        key = key_prefix + term
        if term == WALD_TERM and not key_prefix:
            checks.append(Check(f"{model}/{term}/statistic", "statistic", est, key))
            continue
        scale = se if np.isfinite(se) else 0.0
        checks.append(
            Check(
                f"{model}/{term}/estimate", "estimate", est, key, tolerance=tolerance, scale=scale
            )
        )
        if np.isfinite(se):
            checks.append(
                Check(f"{model}/{term}/std_error", "std_error", se, key, tolerance=tolerance)
            )
    return checks
