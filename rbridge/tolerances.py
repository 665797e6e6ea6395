"""Tolerances of the R cross-check, in one place, each with its reason.

A check passes when |python_value - r_value| <= tolerance (absolute). The values in
`estimates.csv` carry 10 significant digits (analysis/precision.py), so no tolerance below
~1e-10 relative would be meaningful; the estimates here are of order 0.01-1. R reads the
analysis panel the estimators used, value for value (the pipeline rounds it before estimating).
Keyed by (engine, quantity); the engine is the R code that produced the R value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    value: float
    reason: str


TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("fixest", "estimate"): Tolerance(
        1e-8,
        "pyfixest and fixest solve the same least-squares problem after demeaning; on the "
        "default panel they agree to ~1e-13, and fixest is called with fixef.tol = 1e-10",
    ),
    ("fixest", "std_error"): Tolerance(
        1e-6,
        "same clustered sandwich and the same ssc passed explicitly on both sides; a "
        "different fixed-effect count in K (e.g. K.fixef 'full' against 'nonnested') moves "
        "the SE by ~1e-4 on the default panel, far outside this",
    ),
    ("fixest", "statistic"): Tolerance(
        1e-6,
        "joint Wald F of the pre-period terms, recomputed from fixest's coefficients and "
        "vcov; F is of order 1, so 1e-6 is a relative error of the SE tolerance's size",
    ),
    ("base-r", "estimate"): Tolerance(
        1e-8,
        "base R lm() with factor fixed effects is the exact dummy-variable regression; the "
        "within estimator equals it (Frisch-Waugh-Lovell) up to rounding",
    ),
    ("base-r", "std_error"): Tolerance(
        1e-8,
        "sandwich::vcovCL without adjustment times the ssc factors computed explicitly in "
        "rbridge/R/bridge.R reproduces the clustered SE exactly, so rounding is all that is left",
    ),
    ("base-r", "statistic"): Tolerance(
        1e-6, "as for fixest: a Wald F from R's coefficients and vcov"
    ),
    ("did", "estimate"): Tolerance(
        1e-8,
        "ATT(g,t) without covariates is a difference of group means in both implementations; "
        "the aggregations are fixed weighted averages of them",
    ),
    ("did", "std_error"): Tolerance(
        1e-6,
        "analytical influence-function SEs (did: bstrap = FALSE); implementations may "
        "differ in the order of summation only",
    ),
}

# Counts must agree exactly: a different n_obs means a different sample (e.g. singletons).
COUNT_TOLERANCE = Tolerance(0.0, "counts are integers: a different sample is a failure")


def tolerance(engine: str, quantity: str) -> Tolerance:
    """The tolerance of a quantity checked by an engine."""
    if quantity in ("n_obs", "n_clusters"):
        return COUNT_TOLERANCE
    return TOLERANCES[(engine, quantity)]
