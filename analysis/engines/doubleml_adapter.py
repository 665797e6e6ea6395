"""doubleml: rows of the partially linear model (one learner's repeated cross-fits,
aggregated over repetitions by a stated rule) and of the staggered DID (DoubleMLDIDMulti).

The models themselves are built and fitted in analysis.engines.doubleml_plr and dml_did
(folds drawn by the project, learners seeded by the project, constructors called through
analysis.engines.options.call); this module only describes them and makes their rows."""

from __future__ import annotations

from analysis.config import Config
from analysis.engines.doubleml_did import OUTCOME, DIDResult
from analysis.engines.doubleml_plr import AGGREGATIONS, FIXEF, VCOV, PLRRun, formula, ssc
from analysis.estimates import NORMAL_DF, Estimate, ModelInfo
from analysis.estimators.learners import size_note

ENGINE = "doubleml"


def plr_rows(
    run: PLRRun,
    learner: str,
    exhibit: str,
    model: str,
    sample: str,
    level: float,
    rules: tuple[str, ...] = ("doubleml_median",),
    subset: str = "",
    moderator: str = "",
    estimand: str = "att",
) -> list[Estimate]:
    """Rows of one learner's fit: one per aggregation rule (the first under `model`, the
    others under `model_<rule>`), normal-based inference."""
    fit = run.fits[learner]
    rows = []
    for i, rule in enumerate(rules):
        agg = AGGREGATIONS[rule](fit.coefs, fit.ses)
        described = ModelInfo(
            exhibit=exhibit,
            model=model if i == 0 else f"{model}_{rule}",
            estimator=f"dml_plr:{learner}",
            engine=ENGINE,
            outcome=run.outcome,
            n_obs=fit.n_obs,
            n_clusters=fit.n_clusters,
            vcov=VCOV,
            ssc=ssc(run.n_folds, run.n_rep, rule, size_note((learner,), fit.n_obs)),
            formula=formula(run.outcome, run.controls, run.fe),
            fixef=FIXEF[run.fe],
            sample=sample,
            subset=subset,
            df=NORMAL_DF,
            moderator=moderator,
            estimand=estimand,
            level=level,
        )
        rows.append(described.row("treat_post", agg.estimate, agg.std_error))
    return rows


# doubleml's names of the control groups -> R did's (the vocabulary of estimates.csv)
CONTROL_GROUP = {"never_treated": "nevertreated", "not_yet_treated": "notyettreated"}
ESTIMAND = {"simple": "att", "dynamic": "att_by_event_time", "attgt": "att_by_cohort_year"}


def did_info(
    res: DIDResult, cfg: Config, model: str, aggregation: str, exhibit: str, sample: str
) -> ModelInfo:
    """The description of one aggregation of the staggered DML (normal inference)."""
    d = cfg.dml
    return ModelInfo(
        exhibit=exhibit,
        model=model,
        estimator=f"dml_did:{d.did_learner}",
        engine=ENGINE,
        outcome=OUTCOME,
        n_obs=res.n_obs,
        n_clusters=res.n_cities,
        vcov="analytical:influence-function,cluster=city_code",
        ssc=f"none;normal;folds={d.n_folds} by city_code within cohort;n_rep={d.did_n_rep};"
        "agg=doubleml_median"
        + (f";{note}" if (note := size_note((d.did_learner,), res.n_obs)) else ""),
        formula=f"ATT(g,t) ~ DR-DID(y = {OUTCOME}, x = {' + '.join(cfg.model.controls)} at base "
        f"period); control = {d.did_control_group}; base period varying",
        sample=sample,
        df=NORMAL_DF,
        aggregation=aggregation,
        estimand=ESTIMAND[aggregation],
        control_group=CONTROL_GROUP[d.did_control_group],
        base_period="varying",
        level=cfg.inference.level,
    )
