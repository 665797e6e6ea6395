"""The Monte Carlo configuration: what each replication runs, kept cheap on purpose and stated
in every output (manifest.json, the report, the summary table's note).

A replication runs the study's own estimators with the study's configuration
(data/study.toml: specification, inference settings, DML folds) except for these settings,
which bound its cost:

- Callaway-Sant'Anna: the never-treated and not-yet-treated control groups with the varying
  base period, no covariate variants, no multiplier bootstrap (analytical standard errors).
- Placebo: `placebo_permutations` cohort permutations (study: 1,000).
- Wild cluster bootstrap: `wild_reps` draws (study: 9,999); randomization inference at the
  level of assignment: `ri_permutations` permutations (study: 9,999).
- HonestDiD: relative magnitudes at Mbar = 1 only, computed two ways (the ARP C-LF set and
  diff-diff's identified set widened by the critical value); no smoothness grid, no
  breakdown values.
- DML: one sample split (`n_rep` 1, `did_n_rep` 1; study: 10) and, by default (`dml =
  "cheap"`), Lasso for the partially linear model `dml_plr`, OLS / logistic ("linear")
  nuisances for the mechanisms, the heterogeneity splits and the staggered DML. `dml =
  "configured"` uses the configuration's learners instead (study: short-stacking, Lasso,
  Lasso), at many times the cost.
- Mechanisms: the effect on each channel only (TWFE and DML); the bootstrap of the indirect
  effect (which has no true value) is not run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from analysis.config import Config
from analysis.errors import InputError, choices

DML_MODES = ("cheap", "configured")
CHEAP = {"learner": "lasso", "aux_learner": "linear", "did_learner": "linear"}


@dataclass(frozen=True)
class MCSettings:
    """The settings that differ from the study's configuration (see the module docstring)."""

    placebo_permutations: int = 199
    wild_reps: int = 999
    ri_permutations: int = 999
    dml: str = "cheap"
    dml_n_rep: int = 1
    honest_mbar: float = 1.0

    def __post_init__(self) -> None:
        if self.dml not in DML_MODES:
            raise InputError(f"--dml: '{self.dml}' is not allowed; allowed: {choices(DML_MODES)}")
        if self.placebo_permutations < 19:
            raise InputError(
                f"placebo permutations = {self.placebo_permutations}: at least 19 are needed "
                "for a 5% permutation test"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mc_config(cfg: Config, settings: MCSettings) -> Config:
    """The study's configuration with the Monte Carlo settings applied."""
    d = cfg.dml
    if settings.dml == "cheap":
        learners: dict[str, Any] = {**CHEAP, "learners": (CHEAP["learner"],)}
    else:
        learners = {
            "learner": d.learner,
            "aux_learner": d.aux_learner,
            "did_learner": d.did_learner,
            "learners": d.learners if d.learner == "stack" else (d.learner,),
        }
    dml = replace(
        d,
        **learners,
        fe_handling=(d.fe,),
        robustness_folds=(),
        n_rep=settings.dml_n_rep,
        did_n_rep=settings.dml_n_rep,
        n_jobs=1,
    )
    cs = replace(
        cfg.callaway_santanna,
        control_groups=("nevertreated", "notyettreated"),
        base_periods=("varying",),
        covariates=(),
        bootstrap_reps=0,
    )
    return replace(
        cfg,
        dml=dml,
        callaway_santanna=cs,
        placebo=replace(cfg.placebo, permutations=settings.placebo_permutations),
        wild_bootstrap=replace(cfg.wild_bootstrap, reps=settings.wild_reps),
        randomization=replace(cfg.randomization, permutations=settings.ri_permutations),
        honest_did=replace(cfg.honest_did, mbar=(settings.honest_mbar,), m=()),
    )


def describe(cfg: Config, settings: MCSettings) -> str:
    """One paragraph stating the Monte Carlo configuration (for notes and the report)."""
    d = mc_config(cfg, settings).dml
    return (
        "Monte Carlo configuration (analysis/montecarlo/settings.py): the study's specification "
        "and inference settings, with Callaway-Sant'Anna never-treated and not-yet-treated "
        "controls (varying base period, analytical SEs, no bootstrap); "
        f"{settings.placebo_permutations} placebo permutations; wild cluster bootstrap with "
        f"{settings.wild_reps} draws; {settings.ri_permutations} permutations of the zones' "
        "cohorts; HonestDiD relative magnitudes "
        f"at Mbar = {settings.honest_mbar:g} only (ARP C-LF set and the naive set); DML with "
        f"{d.n_folds} folds by city and {d.n_rep} sample split, learners: partially linear "
        f"{d.learner}, mechanisms and heterogeneity {d.aux_learner}, staggered DML "
        f"{d.did_learner} (--dml {settings.dml}); no bootstrap of the indirect effects."
    )
