"""The check matrix: which estimates of a run are checked in R, and how.

Families of key models are declared once (FAMILIES). A family present in `estimates.csv`
is checked term by term; one absent is reported as skipped ('not in this run'), so the
matrix picks up the DID suite, mechanism and heterogeneity models as they land. Any other
pyfixest regression (engine 'pyfixest', e.g. a robustness regression) is checked from its
fixest formula too; models with no R mirror (e.g. DML) are listed as skipped with the reason.

Split samples: a regression estimated on part of the panel is mirrored only when its rows
say which part, in an optional `subset` column of estimates.csv ('high_marketization == 1');
otherwise, when its `sample` text differs from the full panel's, it is skipped with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rbridge.spec import (
    DidSpec,
    RegressionSpec,
    Unsupported,
    check_columns,
    parse_formula,
    parse_ssc,
    parse_subset,
    parse_vcov,
)

# model id (with {mechanism} / {moderator} expanded from the run's configuration) -> kind
FAMILIES: tuple[tuple[str, str], ...] = (
    ("baseline_twfe", "regression"),
    ("baseline_twfe_controls", "regression"),
    ("event_study", "regression"),
    ("sunab", "regression"),
    *(
        (f"cs_{agg}{variant}", "did")
        for variant in ("", "_notyet", "_universal", "_notyet_universal")
        for agg in ("simple", "dynamic", "group", "attgt")
    ),
    ("mechanism_{mechanism}", "regression"),
    ("hetero_{moderator}_interaction", "regression"),
    ("hetero_{moderator}_1", "regression"),
    ("hetero_{moderator}_0", "regression"),
)
# Known defect of R did 2.1.2, so that check is reported as skipped with the reason: the overall
# SE of the group aggregation indexes the cohorts of the first cells instead of each cohort
# (the project reports the correct SE; tests/test_callaway_santanna.py reproduces R's).
GROUP_OVERALL_SE = (
    "R did 2.1.2 indexes the wrong cohort in the overall SE of aggte(type = 'group'); the "
    "project reports the correct SE (see the note of table4_callaway_santanna); the estimate is checked"
)


def did_kind(model: str) -> str:
    """did's aggregation behind a Callaway-Sant'Anna model id: cs_<kind>[_notyet][_universal]."""
    return model.removeprefix("cs_").split("_")[0]


def did_spec(model: str, outcome: str) -> DidSpec:
    """The att_gt settings a model id names: not-yet-treated controls, universal base period."""
    return DidSpec(
        outcome=outcome,
        control_group="notyettreated" if "_notyet" in model else "nevertreated",
        base_period="universal" if "_universal" in model else "varying",
    )


WALD_TERM = "joint_pre_F"


@dataclass(frozen=True)
class Check:
    """One number compared: `quantity` of `term` ('estimate', 'std_error', 'statistic',
    'n_obs', 'n_clusters'); the R side looks it up under `r_key`."""

    name: str
    quantity: str
    python_value: float
    r_key: str
    skip: str = ""  # a known reason not to compare (reported as skipped)


@dataclass(frozen=True)
class ModelPlan:
    """One model of the run and how R mirrors it; `skip` says why it is not mirrored."""

    model: str
    kind: str  # 'regression' | 'did' | 'none'
    spec: RegressionSpec | DidSpec | None
    checks: tuple[Check, ...]
    skip: str = ""


def full_sample(panel: pd.DataFrame) -> str:
    """The `sample` text of a full-panel estimate (as analysis.exhibits.Context.sample)."""
    n = panel["city_code"].nunique()
    return f"{n} cities, {panel['year'].min()}-{panel['year'].max()}"


def expected_models(mechanisms: list[str], moderators: list[str]) -> dict[str, str]:
    """Model id -> kind of every key model the matrix knows, for this configuration."""
    out: dict[str, str] = {}
    for pattern, kind in FAMILIES:
        if "{mechanism}" in pattern:
            out.update({pattern.format(mechanism=m): kind for m in mechanisms})
        elif "{moderator}" in pattern:
            out.update({pattern.format(moderator=m): kind for m in moderators})
        else:
            out[pattern] = kind
    return out


def _one(rows: pd.DataFrame, column: str, model: str) -> str:
    values = rows[column].astype("string").fillna("").unique()
    if len(values) != 1:
        raise Unsupported(f"model '{model}' has several {column} values: {list(values)}")
    return str(values[0])


def _regression_spec(
    rows: pd.DataFrame, model: str, panel: pd.DataFrame, file: str
) -> RegressionSpec:
    spec = RegressionSpec(
        formula=parse_formula(_one(rows, "formula", model)),
        vcov=parse_vcov(_one(rows, "vcov", model)),
        ssc=parse_ssc(_one(rows, "ssc", model)),
    )
    subset_text = _one(rows, "subset", model) if "subset" in rows else ""
    if subset_text:
        spec = RegressionSpec(spec.formula, spec.vcov, spec.ssc, parse_subset(subset_text))
    elif _one(rows, "sample", model) != full_sample(panel):
        raise Unsupported(
            f"sample '{_one(rows, 'sample', model)}' is not the full panel and the rows carry "
            "no machine-readable subset (an estimates.csv column 'subset', e.g. "
            "'high_marketization == 1')"
        )
    check_columns(spec.columns(), panel, file, model)
    return spec


def _term_checks(rows: pd.DataFrame, model: str, key_prefix: str = "") -> list[Check]:
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
        checks.append(Check(f"{model}/{term}/estimate", "estimate", est, key))
        if np.isfinite(se):
            checks.append(Check(f"{model}/{term}/std_error", "std_error", se, key))
    return checks


def _regression_checks(rows: pd.DataFrame, model: str, spec: RegressionSpec) -> list[Check]:
    checks = _term_checks(rows, model)
    checks.append(Check(f"{model}/n_obs", "n_obs", float(rows["n_obs"].iloc[0]), ""))
    if spec.vcov.type == "CRV1":
        n_clusters = float(rows["n_clusters"].iloc[0])
        checks.append(Check(f"{model}/n_clusters", "n_clusters", n_clusters, ""))
    return checks


def _did_checks(rows: pd.DataFrame, model: str) -> list[Check]:
    kind = did_kind(model)
    checks = _term_checks(rows, model, key_prefix=f"{kind}/")
    if kind == "group":
        checks = [
            replace(c, skip=GROUP_OVERALL_SE)
            if c.r_key == "group/overall" and c.quantity == "std_error"
            else c
            for c in checks
        ]
    return checks


def plan(
    estimates: pd.DataFrame,
    panel: pd.DataFrame,
    mechanisms: list[str],
    moderators: list[str],
    file: str,
) -> list[ModelPlan]:
    """The check matrix of a run: one plan per model, in the order of estimates.csv, then
    the key models absent from the run."""
    expected = expected_models(mechanisms, moderators)
    plans = []
    for model, rows in estimates.groupby("model", sort=False):
        model = str(model)
        kind = expected.get(model, "regression")
        engines = set(rows["engine"].astype(str))
        if model not in expected and engines != {"pyfixest"}:
            reason = (
                f"no R mirror: estimated by {', '.join(sorted(engines))}, not a pyfixest regression"
            )
            plans.append(ModelPlan(model, "none", None, (), skip=reason))
            continue
        try:
            if kind == "did":
                outcome = _one(rows, "outcome", model)
                spec: RegressionSpec | DidSpec = did_spec(model, outcome)
                check_columns(spec.columns(), panel, file, model)
                plans.append(ModelPlan(model, kind, spec, tuple(_did_checks(rows, model))))
            else:
                reg = _regression_spec(rows, model, panel, file)
                plans.append(
                    ModelPlan(model, kind, reg, tuple(_regression_checks(rows, model, reg)))
                )
        except Unsupported as exc:
            reason = str(exc) if model in expected else f"no R mirror: {exc}"
            plans.append(ModelPlan(model, "none", None, (), skip=reason))
    present = set(estimates["model"].astype(str))
    for model, kind in expected.items():
        if model not in present:
            plans.append(ModelPlan(model, kind, None, (), skip="not in this run"))
    return plans
