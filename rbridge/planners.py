"""One planner per kind of model: the specification R runs and the checks, from the rows of
one model of `estimates.csv`. The kind comes from the `estimator` column (ESTIMATOR_KINDS);
any other pyfixest regression is planned from its fixest formula."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from analysis.estimators.drdid import TRIM_LEVEL as R_TRIM_LEVEL
from rbridge.inputs import dml_reference, placebo_draws
from rbridge.matrix import (
    Check,
    ModelPlan,
    Requirement,
    RunFacts,
    expected_models,
    is_full_sample,
    one,
    term_checks,
)
from rbridge.spec import (
    RegressionSpec,
    Unsupported,
    check_columns,
    parse_formula,
    parse_ssc,
    parse_subset,
    parse_vcov,
)
from rbridge.spec_did import bacon_spec, parse_did, parse_did2s, parse_imputation
from rbridge.spec_inference import parse_dml, parse_honest, parse_placebo

ESTIMATOR_KINDS = {
    "callaway_santanna": "did",
    "gardner_two_stage": "did2s",
    "borusyak_jaravel_spiess": "imputation",
    "bacon": "bacon",
    "randomization_inference": "placebo",
    "honest_did": "honest",
    "dml_plr": "dml",
}
# Estimators with no R mirror here, and why.
NO_MIRROR = {
    "dcdh_weights": "R's TwoWayFEWeights (de Chaisemartin-D'Haultfoeuille weights) is not among "
    "the R packages built and validated for the bridge",
    "dml_did": "R's DoubleML 1.0.2 has no difference-in-differences model",
    "product_of_coefficients": "a percentile bootstrap of a product of two coefficients; both "
    "regressions are checked (mechanism_<m>, mechanism_direct_<m>)",
    "cohort_randomization": "randomization inference over permuted pilot zones and cohort "
    "years; its closed forms are tested against refits of each permuted panel "
    "(tests/test_cohort_randomization.py), and the statistics at the observed assignment are "
    "cs_attgt, cs_simple, cs_dynamic and event_study, checked in R",
    "wild_cluster_bootstrap": "fwildclusterboot draws its weights with dqrng, which Python "
    "cannot replay; parity with enumerated draws (equal p-values) and over seeds is tested "
    "against tests/reference/wild_reference.csv (rbridge/R/wild_reference.R)",
}
# did < 2.5 computes the overall SE of the group aggregation with the wrong cohort index.
GROUP_OVERALL_SE = Requirement(
    "did",
    "2.5",
    "R did before 2.5 indexes the wrong cohort in the overall SE of aggte(type = 'group') "
    "(did 2.1.2 gives 0.006237593244 on the default run, did 2.5.1 the project's "
    "0.006276360384); the estimate is checked",
)
BOOTSTRAP_SE = (
    "a multiplier-bootstrap SE: R's and the project's random draws differ; the estimate is "
    "checked (the point estimates do not depend on the bootstrap)"
)
DML_REFERENCE = "dml_plr"  # the stable id of the default DML specification (the contract)
DML_LEARNER = (
    "learner '{learner}' (scikit-learn) has no deterministic R counterpart; DoubleML's "
    "partially linear model is checked with OLS learners on the folds of dml_plr "
    "(checks dml_plr[linear]/...)"
)


def _full_panel(rows: pd.DataFrame, model: str, facts: RunFacts) -> None:
    if one(rows, "subset", model) or not is_full_sample(one(rows, "sample", model), facts.panel):
        raise Unsupported(f"sample '{one(rows, 'sample', model)}' is not the full panel")


def plan_regression(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
    spec = RegressionSpec(
        formula=parse_formula(one(rows, "formula", model)),
        vcov=parse_vcov(one(rows, "vcov", model)),
        ssc=parse_ssc(one(rows, "ssc", model)),
    )
    subset_text = one(rows, "subset", model)
    if subset_text:
        spec = replace(spec, subset=parse_subset(subset_text))
    elif not is_full_sample(one(rows, "sample", model), facts.panel):
        raise Unsupported(
            f"sample '{one(rows, 'sample', model)}' is not the full panel and the rows carry "
            "no machine-readable subset (an estimates.csv column 'subset', e.g. "
            "'high_marketization == 1'): its data are not in analysis_panel.csv"
        )
    check_columns(spec.columns(), facts.panel, facts.file, model)
    checks = term_checks(rows, model)
    checks.append(Check(f"{model}/n_obs", "n_obs", float(rows["n_obs"].iloc[0]), ""))
    if spec.vcov.type == "CRV1":
        n_clusters = float(rows["n_clusters"].iloc[0])
        checks.append(Check(f"{model}/n_clusters", "n_clusters", n_clusters, ""))
    return [ModelPlan(model, "regression", spec, tuple(checks))]


def _r_trim_level(ssc: str) -> bool:
    """Whether a covariate variant used DRDID's own trimming level (R's did passes no other)."""
    found = re.search(r"trim\.level=([0-9.eE+-]+)", ssc)
    return found is None or float(found.group(1)) == R_TRIM_LEVEL


def plan_did(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
    _full_panel(rows, model, facts)
    parsed = parse_did(
        one(rows, "formula", model),
        one(rows, "aggregation", model),
        one(rows, "control_group", model),
        one(rows, "base_period", model),
    )
    spec, agg = parsed.spec, parsed.aggregation
    check_columns(spec.columns(), facts.panel, facts.file, model)
    family = "did:covariates" if spec.covariates else ""
    if spec.covariates and not _r_trim_level(one(rows, "ssc", model)):
        raise Unsupported(
            "the covariate variants were estimated with a trim.level other than DRDID's 0.995, "
            "which R's did cannot be told ([callaway_santanna] trim_level)"
        )
    checks = []
    for c in term_checks(rows, model, key_prefix=f"{agg}/", tolerance=family):
        if c.quantity == "std_error" and parsed.bootstrap:
            c = replace(c, skip=BOOTSTRAP_SE)
        elif c.quantity == "std_error" and c.r_key == "group/overall":
            c = replace(c, needs=GROUP_OVERALL_SE)
        checks.append(c)
    return [ModelPlan(model, "did", spec, tuple(checks))]


def _plan_event(kind: str, parse: Callable[[str], object]) -> Callable[..., list[ModelPlan]]:
    def planner(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
        _full_panel(rows, model, facts)
        spec = parse(one(rows, "formula", model))
        check_columns(spec.columns(), facts.panel, facts.file, model)  # type: ignore[attr-defined]
        checks = term_checks(rows, model)
        if kind == "did2s":  # an iterative first stage: its error scales with the outcome
            outcome = spec.outcome  # type: ignore[attr-defined]
            sd = float(facts.panel[outcome].astype(float).std())
            checks = [replace(c, scale=max(c.scale, sd)) for c in checks]
        return [ModelPlan(model, kind, spec, tuple(checks))]

    return planner


def plan_bacon(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
    _full_panel(rows, model, facts)
    spec = bacon_spec(parse_formula(one(rows, "formula", model)))
    check_columns(spec.columns(), facts.panel, facts.file, model)
    return [ModelPlan(model, "bacon", spec, tuple(term_checks(rows, model)))]


def plan_placebo(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
    _full_panel(rows, model, facts)
    spec = parse_placebo(
        one(rows, "formula", model), one(rows, "vcov", model), one(rows, "ssc", model)
    )
    check_columns(spec.columns(), facts.panel, facts.file, model)
    checks = [
        replace(c, tolerance="placebo-p") if c.r_key == "p_value" else c
        for c in term_checks(rows, model)
    ]
    return [
        ModelPlan(model, "placebo", spec, tuple(checks), inputs=placebo_draws(facts.panel, spec))
    ]


def plan_honest(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
    _full_panel(rows, model, facts)
    terms = rows["term"].astype(str).tolist()
    spec = parse_honest(
        one(rows, "estimator", model),
        one(rows, "formula", model),
        one(rows, "vcov", model),
        one(rows, "ssc", model),
        terms,
        facts.level,
    )
    check_columns(spec.columns(), facts.panel, facts.file, model)
    family = f"HonestDiD:{spec.method}"
    target = (float(rows["estimate"].iloc[0]), float(rows["std_error"].iloc[0]))
    checks = [
        Check(f"{model}/target/{q}", q, value, "target", tolerance="fixest", scale=scale)
        for q, value, scale in zip(("estimate", "std_error"), target, (target[1], 0.0), strict=True)
    ]
    numbers = rows[["estimate", "conf_low", "conf_high"]].astype(float).to_numpy()
    for term, (estimate, low, high) in zip(terms, numbers, strict=True):
        if term == "breakdown":
            checks.append(
                Check(
                    f"{model}/breakdown/estimate",
                    "estimate",
                    float(estimate),
                    "breakdown",
                    tolerance=family,
                )
            )
            continue
        for q, value in (("conf_low", low), ("conf_high", high)):
            checks.append(
                Check(
                    f"{model}/{term}/{q}", q, float(value), term, tolerance=family, scale=target[1]
                )
            )
    return [ModelPlan(model, "honest", spec, tuple(checks))]


def plan_dml(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
    learner = one(rows, "estimator", model).partition(":")[2]
    skipped = ModelPlan(model, "none", None, (), skip=DML_LEARNER.format(learner=learner))
    if model != DML_REFERENCE:
        return [skipped]
    _full_panel(rows, model, facts)
    spec = parse_dml(one(rows, "formula", model), one(rows, "ssc", model), facts.seed)
    if spec.treatment != "treat_post" or spec.unit != "city_code":
        raise Unsupported("the project's DML folds are drawn over city_code for treat_post")
    check_columns(spec.columns(), facts.panel, facts.file, model)
    ref = dml_reference(facts.panel, spec)
    name = f"{model}[linear]"
    checks = [Check(f"{name}/{spec.treatment}/estimate", "estimate", ref.median, spec.treatment)]
    for r, (b, se) in enumerate(zip(ref.coefs, ref.ses, strict=True), start=1):
        checks.append(Check(f"{name}/rep::{r}/estimate", "estimate", float(b), f"rep::{r}"))
        checks.append(Check(f"{name}/rep::{r}/std_error", "std_error", float(se), f"rep::{r}"))
    inputs = {"cities": ref.cities, "folds": ref.folds}
    return [skipped, ModelPlan(name, "dml", spec, tuple(checks), inputs=inputs)]


PLANNERS: dict[str, Callable[[str, pd.DataFrame, RunFacts], list[ModelPlan]]] = {
    "regression": plan_regression,
    "did": plan_did,
    "did2s": _plan_event("did2s", parse_did2s),
    "imputation": _plan_event("imputation", parse_imputation),
    "bacon": plan_bacon,
    "placebo": plan_placebo,
    "honest": plan_honest,
    "dml": plan_dml,
}


def kind_of(rows: pd.DataFrame) -> tuple[str, str]:
    """The kind of a model's rows, or 'none' and why it has no R mirror."""
    estimators = set(rows["estimator"].astype(str)) if "estimator" in rows else set()
    bases = {e.partition(":")[0] for e in estimators}
    kinds = {ESTIMATOR_KINDS[b] for b in bases if b in ESTIMATOR_KINDS}
    if len(kinds) > 1:
        return "none", f"no R mirror: estimators {sorted(estimators)} of one model"
    if kinds:
        return kinds.pop(), ""
    for base in bases:
        if base in NO_MIRROR:
            return "none", f"no R mirror: {NO_MIRROR[base]}"
    engines = set(rows["engine"].astype(str))
    if engines == {"pyfixest"}:
        return "regression", ""
    return (
        "none",
        f"no R mirror: estimated by {', '.join(sorted(engines))}, not a pyfixest regression",
    )


def plan_model(model: str, rows: pd.DataFrame, facts: RunFacts) -> list[ModelPlan]:
    """The plans of one model (the DML reference adds a second, check-only plan)."""
    kind, reason = kind_of(rows)
    if kind == "none":
        return [ModelPlan(model, "none", None, (), skip=reason)]
    try:
        return PLANNERS[kind](model, rows, facts)
    except Unsupported as exc:
        return [ModelPlan(model, "none", None, (), skip=f"no R mirror: {exc}")]


def plan(
    estimates: pd.DataFrame,
    panel: pd.DataFrame,
    mechanisms: list[str],
    moderators: list[str],
    file: str,
    seed: int | None = None,
    level: float = 0.95,
) -> list[ModelPlan]:
    """The check matrix of a run: the plans of each model, in the order of estimates.csv,
    then the key models absent from the run."""
    facts = RunFacts(panel, file, seed, level)
    plans: list[ModelPlan] = []
    for model, rows in estimates.groupby("model", sort=False):
        plans += plan_model(str(model), rows, facts)
    present = set(estimates["model"].astype(str))
    for model in expected_models(mechanisms, moderators):
        if model not in present:
            plans.append(ModelPlan(model, "none", None, (), skip="not in this run"))
    return plans
