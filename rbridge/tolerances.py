"""Tolerances of the R cross-check, in one place, each with its reason.

Every tolerance is relative: a check passes when |python - R| <= tol x max(|python|, |R|,
scale), where the scale is the row's standard error for an estimate or an interval bound (so a
coefficient near zero is judged on the scale of its noise) and 0 for a standard error or a
statistic. A check therefore means the same on an outcome of order 1e-4 (a rate) as on one of
order 100 (an index). Counts (n_obs, n_clusters) must agree exactly. The values in
`estimates.csv` carry 10 significant digits (analysis/precision.py), so no tolerance below
~1e-9 would be meaningful. R reads the analysis panel the estimators used, value for value.
Keyed by (family, quantity): the family is the R engine that produced the R value, or a
check's own family where one estimator needs another tolerance (e.g. 'HonestDiD:C-LF').
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    value: float  # relative (see the module's docstring)
    reason: str


TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("fixest", "estimate"): Tolerance(
        1e-8,
        "pyfixest and fixest solve the same least-squares problem after demeaning; on the "
        "default panel they agree to ~1e-13 relative, and fixest is called with "
        "fixef.tol = 1e-10",
    ),
    ("fixest", "std_error"): Tolerance(
        1e-5,
        "same clustered sandwich and the same ssc passed explicitly on both sides: measured "
        "1e-13 relative on the default panel and 1.5e-6 for the worst-conditioned coefficient "
        "seen (Sun-Abraham's event time -21 on the divorce panel, one cohort in one year among "
        "400 interactions); a different fixed-effect count in K (e.g. K.fixef 'full' against "
        "'nonnested') moves the SE by about 2% on the default panel, far outside this",
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
    ("did:covariates", "estimate"): Tolerance(
        1e-8,
        "with covariates (dr, reg, ipw) the project computes DRDID's estimators itself "
        "(analysis/estimators/drdid.py), the logit stopped at fastglm's iterate: measured "
        "5e-12 relative on the default panel, 7e-15 on a nearly separated cohort",
    ),
    ("did:covariates", "std_error"): Tolerance(
        1e-8, "the same influence functions as DRDID: measured 3e-12 relative"
    ),
    ("did2s", "estimate"): Tolerance(
        1e-8,
        "relative to the larger of the coefficient's SE and the outcome's standard deviation "
        "(the first stage's error scales with the outcome, not with a coefficient near zero): "
        "both sides recover the first-stage fixed effects exactly (pyfixest's lsqr at 1e-14, "
        "analysis/engines/pyfixest_adapter.py; fixest at fixef.tol 1e-10 on the outcome "
        "scaled by a power of two, rbridge/R/did.R); measured 2e-11 of the outcome's SD on "
        "the divorce panel (an outcome of order 1e-5). At pyfixest's default lsqr tolerance "
        "the gap was 5e-7 on the default panel and 2.5e-4 of the SD on the divorce panel",
    ),
    ("did2s", "std_error"): Tolerance(
        1e-6,
        "the same GMM-corrected clustered variance (Gardner 2022) from the two stages, each "
        "side summing in its own order",
    ),
    ("didimputation", "estimate"): Tolerance(
        1e-9,
        "after treatment both impute Y(0) from the same two-way fixed-effects regression on "
        "the untreated observations (fixest in didimputation); before, both run its pre-trend "
        "regression (every lead but -1; exact in the project, fixest on the outcome scaled "
        "to order one in rb_imputation); measured 1.4e-10 (default panel), 3e-10 (castle). "
        "diff-diff demeans until an absolute change of 1e-10, so on an outcome of order 1e-5 "
        "(the divorce panel's suicide rate) its post-period estimates are off by ~3e-5 of their SE",
    ),
    ("didimputation", "std_error"): Tolerance(
        1e-9,
        "the conservative clustered variance of Borusyak, Jaravel and Spiess (Theorem 3) "
        "after treatment, the pre-trend regression's clustered variance with fixest's "
        "default small-sample correction before, on both sides; measured 3e-13 (default "
        "panel), 7e-11 (castle)",
    ),
    ("bacondecomp", "estimate"): Tolerance(
        1e-8,
        "each 2x2 estimate and weight is a closed form of group means and treatment shares "
        "(exact weights on both sides); measured 1.7e-10 relative on did's mpdta, i.e. the "
        "10 significant digits estimates.csv keeps",
    ),
    ("placebo-p", "estimate"): Tolerance(
        1e-10,
        "a permutation p-value is (1 + k) / (1 + B): R must count exactly the same k of the "
        "same permutations (a single draw more moves p by 1 / (1 + B) = 1e-3); 1e-10 allows "
        "only the 10 significant digits of estimates.csv",
    ),
    ("HonestDiD:C-LF", "conf_low"): Tolerance(
        2e-4,
        "relative to the target's SE: R's ends are accepted points of HonestDiD's grid, "
        "refined (as rbridge/R/honest_reference.R) until the step is below 1e-4 SE, so inside "
        "the true ends by less than that; the project's ends are bisected to 1e-7 SE; "
        "measured <= 1e-5 SE",
    ),
    ("HonestDiD:C-LF", "estimate"): Tolerance(
        1e-5,
        "breakdown value: both sides bisect Mbar on [0, 10] to 1e-6 by the same test; "
        "measured identical",
    ),
    ("HonestDiD:FLCI", "conf_low"): Tolerance(
        1e-3,
        "relative to the target's SE: the project replays HonestDiD 0.2.6's FLCI step for "
        "step (ECOS, the derivative bisection over h, R's simulated folded-normal quantile): "
        "measured <= 1e-6 SE for M > 0. At M = 0 the interval is centred at the "
        "minimum-variance estimator, which R takes from a numerical solver (its variance 3e-8 "
        "relative above the exact one) and the project in closed form: 8e-4 SE there",
    ),
    ("HonestDiD:FLCI", "estimate"): Tolerance(
        1e-4,
        "breakdown value: both sides bisect M on [0, 10 x the grid's top] to 1e-6 of that "
        "range by whether the FLCI covers zero (either sign), reporting the bracket's upper "
        "end; the FLCIs agree to 1e-6 SE",
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
