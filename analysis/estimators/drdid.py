"""Two-period panel DiD with covariates, as R's DRDID computes it for each ATT(g,t) of did.

R's `did::att_gt(..., xformla = ~x, est_method = m)` hands every group-time comparison to one
of DRDID's panel estimators: `drdid_panel` ("dr": the doubly robust estimator of Sant'Anna
and Zhao 2020 with normalised weights), `reg_did_panel` ("reg": outcome regression) or
`std_ipw_did_panel` ("ipw": normalised inverse probability weighting). This module computes
those three estimators and their influence functions with R's arithmetic:

- the propensity score is a logit fitted by iteratively reweighted least squares exactly as
  `fastglm` iterates it (start from mu = (y + 0.5) / 2, stop when the relative change of the
  deviance is below 1e-8, the same step halving), so a nearly separated cohort (a handful of
  treated units a covariate almost singles out) stops at the same iterate as R;
- scores are capped at 1 - 1e-6 and, in "dr" and "ipw", control units whose score reaches the
  trimming level (DRDID's `trim.level`, 0.995) get weight zero;
- before estimating, did skips a cell (leaves it missing) when an unweighted logit of the
  cohort on the covariates gives any unit a score of 0.999 or more ("overlap condition
  violated"), or, for "dr" and "reg", when the controls' covariate cross-product is
  numerically singular (`rcond < machine epsilon`).

diff-diff, which the project uses for Callaway-Sant'Anna without covariates, computes a
different doubly robust estimator (weights not normalised, no trimming); the two agree
asymptotically, not in a finite sample. Checked against R's did 2.5.1 with DRDID 1.2.3
(tests/test_drdid.py, and the cross-check's `cs_*_cov` models).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

METHODS = ("dr", "reg", "ipw")
TRIM_LEVEL = 0.995  # DRDID's trim.level default, as did calls it
SCORE_CAP = 1 - 1e-6  # DRDID's pmin(ps.fit, 1 - 1e-6)
OVERLAP_LIMIT = 0.999  # did's overlap guard
LOGIT_TOL = 1e-8  # fastglm's default tol, as DRDID and did's overlap guard call it
LOGIT_MAXIT = 100
_EPS = np.finfo(float).eps
_THRESH = 30.0  # R's binomial link clamps eta at +-30


@dataclass(frozen=True)
class Logit:
    """A fitted logit: coefficients, fitted probabilities, iterations, convergence."""

    beta: Array
    fitted: Array
    iterations: int
    converged: bool


@dataclass(frozen=True)
class TwoByTwo:
    """One 2x2 comparison: the ATT and DRDID's influence function (one value per unit of the
    comparison, on DRDID's scale: the SE is sqrt(sum(inf^2)) / n)."""

    att: float
    inf: Array
    trimmed: int  # control units given weight zero by the trimming


def _linkinv(eta: Array) -> Array:
    """R's binomial()$linkinv (logit_linkinv in C), including its clamps."""
    with np.errstate(over="ignore"):
        tmp = np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, 1 / _EPS, np.exp(eta)))
    return np.asarray(tmp / (1 + tmp))


def _mu_eta(eta: Array) -> Array:
    """R's binomial()$mu.eta (logit_mu_eta in C)."""
    with np.errstate(over="ignore", invalid="ignore"):
        opexp = 1 + np.exp(eta)
        out = np.exp(eta) / (opexp * opexp)
    return np.asarray(np.where((eta > _THRESH) | (eta < -_THRESH), _EPS, out))


def _deviance(y: Array, mu: Array, w: Array) -> float:
    """R's binomial()$dev.resids summed (y log(y / mu) taken as 0 at y = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y != 0, y * np.log(y / mu), 0.0)
        b = np.where(1 - y != 0, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return float(np.sum(2 * w * (a + b)))


def logit(
    X: Array,
    y: Array,
    weights: Array | None = None,
    tol: float = LOGIT_TOL,
    maxit: int = LOGIT_MAXIT,
) -> Logit:
    """The logit of y on X (no intercept added) by fastglm's IRLS, step for step."""
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    mu = (w * y + 0.5) / (w + 1)
    eta = np.log(mu / (1 - mu))
    beta = np.zeros(X.shape[1])
    dev = _deviance(y, mu, w)
    converged = False
    it = 0
    for it in range(maxit):
        mu_eta = _mu_eta(eta)
        z = eta + (y - mu) / mu_eta
        sw = np.sqrt(w * mu_eta**2 / (mu * (1 - mu)))
        xw = X * sw[:, None]
        beta_prev = beta
        beta = np.linalg.solve(xw.T @ xw, xw.T @ (z * sw))
        eta = X @ beta
        mu = _linkinv(eta)
        devold, dev = dev, _deviance(y, mu, w)

        k = 0
        while np.isinf(dev) and k < maxit:
            k += 1
            beta, eta, mu = _halve(X, beta, beta_prev)
            dev = _deviance(y, mu, w)
        if it > 0 and (dev - devold) / (0.1 + abs(dev)) >= tol:
            k = 0
            while (dev - devold) / (0.1 + abs(dev)) >= -tol:
                k += 1
                if k > maxit:
                    break
                beta, eta, mu = _halve(X, beta, beta_prev)
                dev = _deviance(y, mu, w)
        if abs(dev - devold) / (0.1 + abs(dev)) < tol:
            converged = True
            break
    return Logit(beta, mu, min(it + 1, maxit), converged)


def _halve(X: Array, beta: Array, previous: Array) -> tuple[Array, Array, Array]:
    """fastglm's step halving: halfway back to the previous coefficients."""
    beta = 0.5 * (beta + previous)
    eta = X @ beta
    return beta, eta, _linkinv(eta)


def overlap_fails(X: Array, D: Array) -> bool:
    """did's overlap guard: an unweighted logit gives some unit a score >= 0.999."""
    return bool(np.max(logit(X, D).fitted) >= OVERLAP_LIMIT)


def singular_controls(X: Array, D: Array) -> bool:
    """did's regression guard: rcond of the controls' X'X below machine epsilon."""
    xc = X[D == 0]
    gram = xc.T @ xc
    if not np.all(np.isfinite(gram)) or xc.shape[0] == 0:
        return True
    # R's rcond() estimates the 1-norm reciprocal condition number; the exact one is close
    # enough for a guard at machine epsilon.
    return bool(1 / np.linalg.cond(gram, 1) < _EPS)


def _wls(X: Array, y: Array) -> Array:
    return np.asarray(np.linalg.lstsq(X, y, rcond=None)[0], dtype=float)


def _scores(X: Array, D: Array, trim_level: float) -> tuple[Array, Array, Array, int]:
    """Capped scores, the trimming indicator and the logit's asymptotic linear
    representation (score times n times the inverse information), as DRDID computes them."""
    n = len(D)
    ps = np.minimum(logit(X, D).fitted, SCORE_CAP)
    keep = np.where(D == 1, ps < 1.01, ps < trim_level).astype(float)
    W = ps * (1 - ps)
    hessian = np.linalg.inv(X.T @ (W[:, None] * X)) * n
    alr_ps = ((D - ps)[:, None] * X) @ hessian
    return ps, keep, alr_ps, int(np.sum((D == 0) & (keep == 0)))


def _alr_ols(X: Array, D: Array, dy: Array, fitted: Array) -> Array:
    """Asymptotic linear representation of the controls' outcome regression."""
    n = len(D)
    c = 1 - D
    xpx = (c[:, None] * X).T @ X / n
    return np.asarray(((c * (dy - fitted))[:, None] * X) @ np.linalg.inv(xpx))


def drdid_panel(dy: Array, D: Array, X: Array, trim_level: float = TRIM_LEVEL) -> TwoByTwo:
    """DRDID's `drdid_panel` (unit weights): the locally efficient doubly robust ATT."""
    ps, keep, alr_ps, trimmed = _scores(X, D, trim_level)
    fit = X @ _wls(X[D == 0], dy[D == 0])
    w_t = keep * D
    w_c = keep * ps * (1 - D) / (1 - ps)
    resid = dy - fit
    eta_t = np.mean(w_t * resid) / np.mean(w_t)
    eta_c = np.mean(w_c * resid) / np.mean(w_c)
    alr_ols = _alr_ols(X, D, dy, fit)
    inf_t = (w_t * resid - w_t * eta_t - alr_ols @ np.mean(w_t[:, None] * X, axis=0)) / np.mean(w_t)
    m2 = np.mean((w_c * (resid - eta_c))[:, None] * X, axis=0)
    m3 = np.mean(w_c[:, None] * X, axis=0)
    inf_c = (w_c * resid - w_c * eta_c + alr_ps @ m2 - alr_ols @ m3) / np.mean(w_c)
    return TwoByTwo(float(eta_t - eta_c), inf_t - inf_c, trimmed)


def reg_did_panel(dy: Array, D: Array, X: Array, trim_level: float = TRIM_LEVEL) -> TwoByTwo:
    """DRDID's `reg_did_panel` (unit weights): the outcome-regression ATT (no scores, so
    `trim_level` is unused; the signature matches the others)."""
    fit = X @ _wls(X[D == 0], dy[D == 0])
    eta_t = np.mean(D * dy) / np.mean(D)
    eta_c = np.mean(D * fit) / np.mean(D)
    alr_ols = _alr_ols(X, D, dy, fit)
    inf_t = (D * dy - D * eta_t) / np.mean(D)
    inf_c = (D * fit - D * eta_c + alr_ols @ np.mean(D[:, None] * X, axis=0)) / np.mean(D)
    return TwoByTwo(float(eta_t - eta_c), inf_t - inf_c, 0)


def std_ipw_did_panel(dy: Array, D: Array, X: Array, trim_level: float = TRIM_LEVEL) -> TwoByTwo:
    """DRDID's `std_ipw_did_panel` (unit weights): the normalised IPW ATT."""
    ps, keep, alr_ps, trimmed = _scores(X, D, trim_level)
    w_t = keep * D
    w_c = keep * ps * (1 - D) / (1 - ps)
    eta_t = np.mean(w_t * dy) / np.mean(w_t)
    eta_c = np.mean(w_c * dy) / np.mean(w_c)
    inf_t = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    m2 = np.mean((w_c * (dy - eta_c))[:, None] * X, axis=0)
    inf_c = (w_c * dy - w_c * eta_c + alr_ps @ m2) / np.mean(w_c)
    return TwoByTwo(float(eta_t - eta_c), inf_t - inf_c, trimmed)


ESTIMATORS = {"dr": drdid_panel, "reg": reg_did_panel, "ipw": std_ipw_did_panel}
