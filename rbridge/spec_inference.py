"""Specifications of the inference exhibits, read from what their rows record:

- the placebo (randomization inference): the TWFE formula, `vcov` 'randomization:permute
  <cohort> across cities,B=<B>' and `ssc` '...; seed <seed>': the permutations are drawn again
  in Python exactly as the exhibit draws them (rbridge.inputs) and handed to R;
- HonestDiD sensitivity: estimator 'honest_did:<method>' (C-LF, Conditional, FLCI), the
  event study's formula, vcov and ssc before the first ';' of those texts, 'coefficients
  normalised to <k>' and 'target = mean of post coefficients 0..<m>' in the formula, the
  grid in the terms (`Mbar::<v>`, `M::<v>`) and whether a `breakdown` row is there;
- the DML partially linear model: the outcome, controls and fixed-effect handling in the
  formula ('y ~ d + g(x1, ..., i(year)); within <unit>' or '... i(year), i(<unit>))'),
  folds and repetitions in `ssc` ('...;folds=<k> by <unit>;n_rep=<r>;...').
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.estimators import honest_sd
from rbridge.spec import (
    INT,
    NAME,
    RegressionSpec,
    Unsupported,
    _name,
    parse_formula,
    parse_ssc,
    parse_vcov,
)

HONEST_METHODS = {"C-LF": "Mbar", "Conditional": "Mbar", "FLCI": "M"}
# The project's tie guard in the permutation p-value (analysis.estimators.randomization):
# |b_perm| >= |b| - 1e-15 counts as at least as extreme.
PLACEBO_TIE = 1e-15


@dataclass(frozen=True)
class PlaceboSpec:
    """The coefficient of `treatment` in `outcome ~ treatment | unit + time` under `n_perm`
    random reassignments of the units' cohorts (seeded with `seed`)."""

    outcome: str
    treatment: str
    unit: str
    time: str
    cohort: str
    n_perm: int
    seed: int
    tie: float = PLACEBO_TIE

    def columns(self) -> list[str]:
        return [self.outcome, self.treatment, self.unit, self.time, self.cohort]


def parse_placebo(formula: str, vcov: str, ssc: str) -> PlaceboSpec:
    f = parse_formula(formula)
    if len(f.regressors) != 1 or f.interactions or f.event or f.sunab or len(f.fixef) != 2:
        raise Unsupported(f"'{formula}' is not 'y ~ d | unit + time'")
    m = re.fullmatch(
        rf"randomization:permute ({NAME.pattern}) across (?:cities|units),B=(\d+)", vcov
    )
    if m is None:
        raise Unsupported(
            f"vcov '{vcov}' is not 'randomization:permute <cohort> across cities (or units),"
            "B=<permutations>'"
        )
    seed = re.search(r"\bseed (\d+)\b", ssc)
    if seed is None:
        raise Unsupported(f"ssc '{ssc}' does not state the seed of the permutations")
    unit, time = (_name(x, "the fixed effects") for x in f.fixef)
    return PlaceboSpec(
        f.outcome, f.regressors[0], unit, time, m.group(1), int(m.group(2)), int(seed.group(1))
    )


@dataclass(frozen=True)
class HonestSpec:
    """HonestDiD's robust sets for the mean of the post-period coefficients 0..post_max of
    an event study, normalised to `honest_ref`, over `grid` (terms `keys`)."""

    event: RegressionSpec
    method: str
    keys: tuple[str, ...]
    grid: tuple[float, ...]
    alpha: float
    honest_ref: int
    post_max: int
    breakdown: bool
    breakdown_max: float = 10.0  # the search range of the breakdown value, as the project's
    breakdown_tol: float = 1e-6  # (analysis.models.honest, analysis.estimators.honest_sd)

    def columns(self) -> list[str]:
        return self.event.columns()


def parse_honest(
    estimator: str, formula: str, vcov: str, ssc: str, terms: list[str], level: float
) -> HonestSpec:
    method = estimator.partition(":")[2]
    if method not in HONEST_METHODS:
        raise Unsupported(
            f"estimator '{estimator}' does not name a method HonestDiD mirrors "
            f"(honest_did:{' | honest_did:'.join(HONEST_METHODS)})"
        )
    parts = [p.strip() for p in formula.split(";")]
    event = RegressionSpec(
        parse_formula(parts[0]), parse_vcov(vcov.split(";")[0].strip()), parse_ssc(ssc)
    )
    if event.formula.event is None or not event.formula.event.ref:
        raise Unsupported(f"'{parts[0]}' is not an i(event_time, ref = ...) event study")
    honest_ref = event.formula.event.ref[0]
    post_max = None
    for part in parts[1:]:
        if m := re.fullmatch(rf"coefficients normalised to ({INT.pattern})", part):
            honest_ref = int(m.group(1))
        elif m := re.fullmatch(r"target = mean of post coefficients 0\.\.(\d+)", part):
            post_max = int(m.group(1))
        else:
            raise Unsupported(f"'{part}' in the formula of a HonestDiD row is not mirrored")
    if post_max is None:
        raise Unsupported("the formula does not state 'target = mean of post coefficients 0..m'")
    prefix = HONEST_METHODS[method] + "::"
    keys = tuple(t for t in terms if t.startswith(prefix))
    unknown = [t for t in terms if t not in keys and t != "breakdown"]
    if unknown:
        raise Unsupported(f"terms {unknown} are not {prefix}<value> or breakdown")
    grid = tuple(float(k.removeprefix(prefix)) for k in keys)
    upper, tol = honest_sd.breakdown_range(grid) if method == "FLCI" else (10.0, 1e-6)
    return HonestSpec(
        event,
        method,
        keys,
        grid,
        round(1 - level, 12),
        honest_ref,
        post_max,
        "breakdown" in terms,
        upper,
        tol,
    )


@dataclass(frozen=True)
class DmlSpec:
    """The partially linear model `outcome ~ treatment + g(controls, year dummies)` with the
    unit's fixed effects by the within transformation or by dummies, cross-fitted on
    `n_folds` folds of units repeated `n_rep` times (folds drawn from `seed`)."""

    outcome: str
    treatment: str
    controls: tuple[str, ...]
    fe: str
    unit: str
    n_folds: int
    n_rep: int
    seed: int
    time: str = "year"

    def columns(self) -> list[str]:
        return [self.outcome, self.treatment, *self.controls, self.unit, self.time]


def parse_dml(formula: str, ssc: str, seed: int | None) -> DmlSpec:
    m = re.fullmatch(
        rf"({NAME.pattern}) ~ ({NAME.pattern}) \+ g\((.*)\)(?:; within ({NAME.pattern}))?",
        formula,
    )
    if m is None:
        raise Unsupported(f"'{formula}' is not 'y ~ d + g(x..., i(year))[; within <unit>]'")
    args = [a.strip() for a in m.group(3).split(",")]
    within = m.group(4)
    years = [a for a in args if re.fullmatch(r"i\(\w+\)", a)]
    controls = tuple(_name(a, "g()") for a in args if a not in years)
    if within:
        fe, unit, expected = "within", within, ["i(year)"]
    else:
        fe = "dummies"
        unit = years[-1][2:-1] if len(years) == 2 else ""
        expected = ["i(year)", f"i({unit})"]
    if years != expected:
        raise Unsupported(
            f"'{formula}': the fixed effects are not year dummies with the "
            "unit within-transformed or as dummies"
        )
    folds = re.search(rf"folds=(\d+) by {unit};n_rep=(\d+)", ssc)
    if folds is None:
        raise Unsupported(f"ssc '{ssc}' does not state 'folds=<k> by {unit};n_rep=<r>'")
    if seed is None:
        raise Unsupported("the run's seed is unknown (no manifest.json): the folds cannot be drawn")
    return DmlSpec(
        _name(m.group(1), "the outcome"),
        _name(m.group(2), "the treatment"),
        controls,
        fe,
        unit,
        int(folds.group(1)),
        int(folds.group(2)),
        seed,
    )
