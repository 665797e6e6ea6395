"""Tolerances of the R cross-check, in one place, each with its reason.

A check passes when |python_value - r_value| <= tolerance (absolute). The values in
`estimates.csv` carry 10 significant digits (analysis/precision.py), so no tolerance below
~1e-10 relative would be meaningful; the estimates here are of order 0.01-1. R reads the
analysis panel the estimators used, value for value (the pipeline rounds it before estimating).
Keyed by (family, quantity): the family is the R engine that produced the R value, or a
check's own family where one estimator needs another tolerance (e.g. 'did:dr-covariates',
'HonestDiD:C-LF'). Measured differences are on the default run (SIMULATED DATA).
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
    ("did:dr-covariates", "estimate"): Tolerance(
        1e-4,
        "doubly robust ATT(g,t) with covariates: diff-diff 3.13 divides the weighted control "
        "term by the number of treated units, DRDID (R did's est_method = 'dr') by the sum of "
        "the control units' propensity weights (Sant'Anna and Zhao 2020's normalised "
        "weights); the two agree asymptotically, not exactly: measured 3.0e-5 on ATT(g,t), "
        "1.9e-6 on the simple ATT, whereas reg and ipw agree to 1e-10",
    ),
    ("did:dr-covariates", "std_error"): Tolerance(
        5e-5,
        "the influence functions of the two normalisations (see the estimate): measured "
        "1.4e-5 on ATT(g,t), 7.2e-6 on the simple ATT",
    ),
    ("did2s", "estimate"): Tolerance(
        1e-6,
        "pyfixest 0.60's did2s recovers the first-stage fixed effects with an approximate "
        "solver (scipy lsqr, atol = btol = 1e-6); R's did2s solves them exactly: measured "
        "5.7e-7 at event_time::7 (the one cohort observed 7 years after), 6.5e-8 elsewhere "
        "(with a 1e-14 lsqr tolerance the gap is 2e-13)",
    ),
    ("did2s", "std_error"): Tolerance(
        1e-8,
        "the same GMM-corrected clustered variance (Gardner 2022) from the two stages; the "
        "approximate first stage moves it by at most 2e-10",
    ),
    ("didimputation", "estimate"): Tolerance(
        1e-9,
        "both impute Y(0) from the same two-way fixed-effects regression on the untreated "
        "observations (fixest in didimputation); measured 1e-11",
    ),
    ("didimputation", "std_error"): Tolerance(
        1e-9,
        "the conservative clustered variance of Borusyak, Jaravel and Spiess (Theorem 3) on "
        "both sides; measured 1e-11",
    ),
    ("bacondecomp", "estimate"): Tolerance(
        1e-10,
        "each 2x2 estimate and weight is a closed form of group means and treatment shares "
        "(exact weights on both sides); measured 3e-13",
    ),
    ("placebo-p", "estimate"): Tolerance(
        1e-10,
        "a permutation p-value is (1 + k) / (1 + B): R must count exactly the same k of the "
        "same permutations (a single draw more moves p by 1 / (1 + B) = 1e-3); 1e-10 allows "
        "only the 10 significant digits of estimates.csv",
    ),
    ("HonestDiD:C-LF", "conf_low"): Tolerance(
        2e-6,
        "R's ends are accepted points of HonestDiD's grid, refined (as rbridge/R/"
        "honest_reference.R) until the step is below 1e-6, so inside the true ends by less "
        "than 1e-6; the project's ends are bisected to 1e-7 SE (6e-10); measured <= 7.7e-8",
    ),
    ("HonestDiD:C-LF", "estimate"): Tolerance(
        2e-6,
        "breakdown value: both sides bisect Mbar on [0, 10] to 1e-6; measured identical",
    ),
    ("HonestDiD:FLCI", "conf_low"): Tolerance(
        5e-5,
        "fixed-length confidence intervals: diff-diff 3.13 and HonestDiD 0.2.6 optimise the "
        "affine estimator's half-length differently; their ends differ by 2e-5 to 3.4e-5 on "
        "the default run (not a grid: both are optimisations)",
    ),
    ("HonestDiD:FLCI", "estimate"): Tolerance(
        1e-4,
        "breakdown value: diff-diff bisects M on [0, 10] to 1e-4 and reports the midpoint; "
        "R finds the root of HonestDiD's lower end to 1e-6 (uniroot); the FLCI gap (3.4e-5 "
        "at the ends, a slope of ~9 in M) moves the crossing by ~4e-6",
    ),
    ("DoubleML", "estimate"): Tolerance(
        1e-8,
        "OLS nuisances (sklearn LinearRegression, mlr3 regr.lm) on the same folds and the "
        "same partialling-out score: the same numbers up to rounding (measured 1e-16)",
    ),
    ("DoubleML", "std_error"): Tolerance(
        1e-8,
        "the same one-way cluster variance (Chiang et al. 2022) with the same folds per "
        "cluster on both sides; measured 4e-17",
    ),
}
# The two ends of a set share a tolerance, and Conditional is refined as C-LF.
for _method in ("C-LF", "Conditional", "FLCI"):
    _family = f"HonestDiD:{_method}"
    _source = "HonestDiD:C-LF" if _method == "Conditional" else _family
    TOLERANCES[(_family, "conf_high")] = TOLERANCES[(_source, "conf_low")]
    TOLERANCES[(_family, "conf_low")] = TOLERANCES[(_source, "conf_low")]
    TOLERANCES[(_family, "estimate")] = TOLERANCES[(_source, "estimate")]

# Counts must agree exactly: a different n_obs means a different sample (e.g. singletons).
COUNT_TOLERANCE = Tolerance(0.0, "counts are integers: a different sample is a failure")


def tolerance(family: str, quantity: str) -> Tolerance:
    """The tolerance of a quantity checked by an engine (or a check's own family)."""
    if quantity in ("n_obs", "n_clusters"):
        return COUNT_TOLERANCE
    return TOLERANCES[(family, quantity)]
