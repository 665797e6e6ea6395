"""Named simulation designs for the Monte Carlo (`python -m analysis montecarlo --design NAME`).

Each design is a configuration of the documented process in analysis/simulation/dgp.py (the `DGP`
class); nothing here draws random numbers. A replication's seed replaces `DGP.seed`, so every
design is a family of panels, one per seed. The truth of each panel (`FILE.truth.json` of
`simulate`) is computed by the project's own pipeline on both potential outcomes.

- `study`: the default process of the embedded panel. Real pilot-zone timing (6 Guizhou
  cities first treated in 2015, 51 cities in 2016, 209 never treated), effects that grow with
  exposure (s(e) = 1 - 0.5^(e+1)), 1.3 times larger for Guizhou, and heterogeneous across the
  three moderators; parallel trends hold for the outcome and for tech_innovation and
  rationalization. digital_infra holds them only approximately: the broadband share is a
  logistic curve in development and time, whose slope differs between the richer pilot
  cities and the rest (the committed Monte Carlo: its 5% tests reject 11.5% of `no_effect`
  replications).
- `constant`: the same timing with one constant, homogeneous effect (no growth with exposure,
  no cohort or moderator differences). Every estimator of the study targets the same number,
  so it is the design on which they should all be unbiased with correct coverage.
- `staggered`: three cohorts of its own, a quarter of the cities each, first treated in 2012,
  2015 and 2018 (a quarter never treated), effects growing without bound with exposure
  (s(e) = (e + 1) / 4) and homogeneous across moderators. The TWFE coefficient then uses
  already-treated cities as controls whose effects are still growing, the case in which it is
  biased (Goodman-Bacon 2021; de Chaisemartin and D'Haultfoeuille 2020); the
  heterogeneity-robust estimators (Callaway-Sant'Anna, Sun-Abraham, two-stage, imputation)
  should stay unbiased.
- `no_effect`: the study's process with every effect set to zero (effect_scale 0), on the
  outcome, the mechanisms and every moderator group. Rejection rates of 5% tests are their
  size, and should be 5% up to Monte Carlo error.
- `few_treated`: no effect, and three treated cities of their own (first treated in 2015,
  drawn at random for each seed) against 263 never treated: the case in which even the
  wild cluster bootstrap fails (MacKinnon and Webb 2018: with so few treated clusters the
  restricted bootstrap under-rejects, its p-values bunch at large values), and a
  randomization test over units is the one whose size holds.
- `trend_violation`: the study's process, but the untreated resilience components of every
  ever-treated city drift apart from the others by 0.04 of their scale a year
  (`DGP.treated_trend`), in both potential outcomes, so parallel trends fail while the true
  effects are those of `study`. Pre-trend tests should reject; estimators that assume
  parallel trends are biased upwards; HonestDiD's relative-magnitudes set at Mbar = 1 should
  still cover the true effect, because a linear differential trend changes by the same amount
  every year (its post-treatment changes are no larger than its pre-treatment ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from analysis.config import Config
from analysis.errors import InputError, choices, suggest
from analysis.simulation.dgp import DGP, own_cohort_config

TREND_PER_YEAR = 0.04  # trend_violation: drift of the treated cities' untreated components


@dataclass(frozen=True)
class Design:
    """A named data-generating process: the DGP for a seed, and a one-line description."""

    name: str
    description: str
    dgp: Callable[[int], DGP]

    def config(self, cfg: Config, seed: int) -> Config:
        """The configuration that builds this design's analysis panel: the design's own
        cohort column when it has cohorts of its own, and the replication's seed."""
        out = replace(cfg, seed=seed)
        return own_cohort_config(out) if self.dgp(seed).cohorts else out


DESIGNS: dict[str, Design] = {
    d.name: d
    for d in (
        Design(
            "study",
            "the default process: pilot-zone timing, dynamic effects heterogeneous by cohort "
            "and moderator, parallel trends",
            lambda seed: DGP(seed),
        ),
        Design(
            "constant",
            "pilot-zone timing, one constant homogeneous effect",
            lambda seed: DGP(seed, effect_shape="constant", heterogeneity=False),
        ),
        Design(
            "staggered",
            "cohorts 2012, 2015, 2018 (a quarter of the cities each, a quarter never treated), "
            "effects growing linearly with exposure: TWFE is biased",
            lambda seed: DGP(
                seed,
                effect_shape="linear",
                heterogeneity=False,
                cohorts=((2012, 0.25), (2015, 0.25), (2018, 0.25)),
                cohort_effects=(1.0, 1.0, 1.0),
            ),
        ),
        Design(
            "no_effect",
            "pilot-zone timing, no effect on anything: rejection rates are sizes",
            lambda seed: DGP(seed, effect_scale=0.0),
        ),
        Design(
            "few_treated",
            "no effect, three treated cities (2015) of their own: tests with three treated "
            "clusters",
            lambda seed: DGP(seed, effect_scale=0.0, cohorts=((2015, 3.5 / 266),)),
        ),
        Design(
            "trend_violation",
            f"the study's process, untreated outcomes of the treated cities trending apart "
            f"({TREND_PER_YEAR} component scale a year): parallel trends fail",
            lambda seed: DGP(seed, treated_trend=TREND_PER_YEAR),
        ),
    )
}


def design(name: str) -> Design:
    """The design called `name`, or an InputError naming the allowed ones."""
    if name not in DESIGNS:
        raise InputError(
            f"--design: unknown design '{name}'{suggest(name, DESIGNS)}; "
            f"allowed: {choices(DESIGNS)}"
        )
    return DESIGNS[name]
