"""Relative-magnitudes HonestDiD confidence sets by the ARP conditional and hybrid tests.

Rambachan and Roth (2023, RESTUD) bound the violation of parallel trends ``delta`` by the
relative-magnitudes restriction Delta^RM(Mbar): every post-period first difference of ``delta``
is at most ``Mbar`` times the largest pre-period first difference, in absolute value. With the
reference period normalised to zero, ``betahat = (beta_pre, beta_post)`` estimates
``beta = delta + (0, tau)``, and the target is ``theta = l' tau``. Robust confidence sets for
``theta`` invert the moment-inequality tests of Andrews, Roth and Pakes (2023, "Inference for
linear conditional moment inequalities", RESTUD): the conditional test and its hybrid with a
least-favourable first stage ("C-LF" in R's HonestDiD). Everything here is numpy/scipy; the
module has no project imports, so the functions are checked on their own
(tests/test_honest_rm.py) and against R (tests/reference/honest_reference.csv).

The union. Delta^RM(Mbar) is the union over the pre-period difference ``s`` that is the
largest and over its sign ``±`` of the polyhedra Delta_{s,±} = {delta : |D_t delta| <=
Mbar * (±D_s delta) for every post-period difference t, |D_r delta| <= ±D_s delta for the pre
differences r}, D_t delta = delta_t - delta_{t-1}. A value of theta is rejected iff it is
rejected for every piece, so the confidence set is the union of the pieces' sets.

The moments of a piece. As HonestDiD does (its default ``postPeriodMomentsOnly``), a piece is
tested on its 2 * num_post post-period rows only, ``A delta <= 0`` with rows
``(+D_t - Mbar ±D_s)`` for t = 1..num_post and then ``(-D_t - Mbar ±D_s)``. Dropping the
pre-period rows enlarges each piece but not the union: for Mbar > 0 the union over (s, ±) of
{|D_t delta| <= Mbar ±D_s delta for all t} is exactly {max_t |D_t delta| <= Mbar max_s
|D_s delta|}, and for Mbar = 0 every piece is {D_t delta = 0}.

With ``delta = beta - (0, tau)`` and tau parametrised as ``tau = theta l / (l'l) + N u`` (N an
orthonormal basis of the complement of l, u the nuisance), the moments are
``E[y(theta)] - X u <= 0`` with ``y(theta) = A betahat - a theta``, ``a = A_post l / (l'l)``,
``X = A_post N``, ``y ~ N(mu, Sigma_y)``, ``Sigma_y = A Sigma A'``. Each row is divided by its
standard deviation, so below y, X and Sigma_y (a correlation matrix) are in those units.

The test statistic is the value of the linear program

    eta_hat = min_{eta, u} eta  s.t.  y - X u <= eta * 1,

whose dual is ``eta_hat = max_{g in F} g'y`` over the polytope F = {g >= 0, g'1 = 1, g'X = 0}.
For these moments F is spanned by num_post + 2 points in closed form (``_rm_rays``), so the
statistic and everything the test conditions on are exact maxima over a finite set, with no
solver tolerance in the test itself (tests/test_honest_rm.py checks the vertices against a
brute-force enumeration and the statistic against scipy's LP).

Conditional test (ARP's conditional test, in its dual form). Let g* be the optimal vertex,
s_g^2 = g*' Sigma_y g*, c = Sigma_y g* / s_g^2 and S = y - c g*'y. Conditional on g* being
optimal and on S, g*'y = eta_hat is normal with variance s_g^2 truncated to [V_lo, V_up], where

    V_lo = max over vertices g with g'c < 1 of g'S / (1 - g'c),
    V_up = min over vertices g with g'c > 1 of g'S / (1 - g'c).

The test rejects at level alpha iff eta_hat / s_g > max(0, q), q the 1 - alpha quantile of
N(0, 1) truncated to [V_lo / s_g, V_up / s_g] (the null's least favourable mean is 0).

Hybrid (ARP's least-favourable hybrid, HonestDiD's "C-LF"). The least-favourable critical value
c_LF is the 1 - kappa quantile of the statistic when y ~ N(0, Sigma_y): max_{g in F} g'xi. The
test rejects if eta_hat > c_LF; otherwise it runs the conditional test at level
(alpha - kappa) / (1 - kappa) with V_up replaced by min(V_up, c_LF); kappa = alpha / 10.
c_LF has no closed form; HonestDiD simulates it with 1000 draws after R's ``set.seed(0)``
(mvtnorm's eigen square root). This module makes the same draws: R's Mersenne-Twister
seeding, R's normals by inversion and the symmetric square root of Sigma_y, so c_LF is the
same number and nothing here is random. ``lf_sims`` draws more from the same stream when a
smaller simulation error matters more than agreement with R.

Confidence set and breakdown. The accept/reject function is scanned on a grid over a bracket
(the identified set widened by ``BRACKET_SES`` standard errors of l'betahat_post on each side,
widened further while its end is still accepted), then the lowest and the highest accepted
grid points are refined by bisection against their rejected neighbours until the bracket is
below ``rtol`` standard errors. As in HonestDiD, the set is reported as [lowest, highest]
accepted value, holes included. The breakdown value is the smallest Mbar whose set contains 0,
by bisection on Mbar using those endpoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.estimators.arp_inference import (
    METHODS,
    Method,
    RMTest,
    as_vector,
    make_test,
    rm_identified_set,
)

__all__ = [
    "METHODS",
    "Method",
    "RMBreakdown",
    "RMConfidenceSet",
    "rm_accepts",
    "rm_breakdown",
    "rm_confidence_set",
    "rm_identified_set",
    "rm_sensitivity",
]

BRACKET_SES = 20.0  # initial half-width of the search bracket beyond the identified set
SCAN_POINTS = 400  # grid points of the coarse scan that locates the accepted values
MAX_WIDENINGS = 12  # doublings of the bracket while one of its ends is still accepted


@dataclass(frozen=True)
class RMConfidenceSet:
    """Robust confidence set for theta = l' tau_post under Delta^RM(mbar).

    ``conf_low``/``conf_high`` are the lowest and highest accepted values of theta (NaN when
    no value is accepted), each within ``tol`` of the accept/reject boundary; ``open_low`` /
    ``open_high`` say the set still reached the end of the widest search bracket. ``id_low``
    / ``id_high`` bound the identified set at betahat.
    """

    mbar: float
    method: Method
    alpha: float
    conf_low: float
    conf_high: float
    id_low: float
    id_high: float
    tol: float
    open_low: bool = False
    open_high: bool = False


@dataclass(frozen=True)
class RMBreakdown:
    """Smallest Mbar whose confidence set contains 0 (None if none up to ``mbar_max``).

    ``value`` is the upper end of a final bisection bracket of width at most ``tol`` whose
    upper end's set contains 0 and whose lower end's set does not (0.0 when the set at
    Mbar = 0 already contains 0).
    """

    value: float | None
    method: Method
    alpha: float
    mbar_max: float
    tol: float


@dataclass(frozen=True)
class _Scan:
    """The coarse scan: the grid, acceptance by piece and grid point, open ends."""

    grid: NDArray[np.float64]
    accepted: NDArray[np.bool_]
    open_low: bool
    open_high: bool

    def ends(self) -> tuple[int, int] | None:
        """Indices of the lowest and highest accepted grid points (None: nothing accepted)."""
        hits = np.flatnonzero(self.accepted.any(axis=0))
        return None if len(hits) == 0 else (int(hits[0]), int(hits[-1]))


def _scan(test: RMTest, id_low: float, id_high: float, se: float, points: int) -> _Scan:
    """Scan [id_low - w, id_high + w], w = BRACKET_SES * se, doubling w while an end of the
    bracket is accepted (at most MAX_WIDENINGS times)."""
    width = BRACKET_SES * se
    for widening in range(MAX_WIDENINGS + 1):
        grid = np.linspace(id_low - width, id_high + width, points)
        accepted = test.accepted(grid)
        union = np.asarray(accepted.any(axis=0))
        open_low, open_high = bool(union[0]), bool(union[-1])
        if not (open_low or open_high) or widening == MAX_WIDENINGS:
            break
        width *= 2.0
    return _Scan(grid, accepted, open_low, open_high)


def _refine(test: RMTest, inside: float, outside: float, tol: float) -> float:
    """Bisection between an accepted and a rejected value down to ``tol``; the midpoint."""
    while abs(outside - inside) > tol:
        mid = 0.5 * (inside + outside)
        if test.accepts(mid):
            inside = mid
        else:
            outside = mid
    return 0.5 * (inside + outside)


def _endpoint(test: RMTest, scan: _Scan, index: int, step: int, tol: float) -> float:
    """Refine the accepted grid point ``index`` against its rejected neighbour index + step,
    testing only the pieces that accept at ``index`` (the others reject at both points)."""
    grid = scan.grid
    if index + step < 0 or index + step >= len(grid):
        return float(grid[index])  # open end
    sub = test.only(np.flatnonzero(scan.accepted[:, index]))
    return _refine(sub, float(grid[index]), float(grid[index + step]), tol)


def rm_accepts(
    theta: float,
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    num_post: int,
    l_vec: ArrayLike,
    mbar: float,
    alpha: float = 0.05,
    method: Method = "c-lf",
    *,
    lf_sims: int = 1000,
    lf_seed: int = 0,
) -> bool:
    """Whether the test of Delta^RM(mbar) at level alpha accepts ``theta`` (some piece does)."""
    test, _, _ = make_test(
        betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method, lf_sims, lf_seed
    )
    return test.accepts(float(theta))


def _setup(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    num_post: int,
    l_vec: ArrayLike,
    mbar: float,
    alpha: float,
    method: Method,
    scan_points: int,
    lf_sims: int,
    lf_seed: int,
) -> tuple[RMTest, _Scan, float, float, float]:
    """The test, its scan, the identified set and the standard error of l'betahat_post."""
    test, beta, sig = make_test(
        betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method, lf_sims, lf_seed
    )
    lv = as_vector(l_vec, num_post, "l_vec")
    se = float(np.sqrt(lv @ sig[num_pre:, num_pre:] @ lv))
    if not se > 0:
        raise ValueError("l'betahat_post has zero variance")
    if scan_points < 3:
        raise ValueError("scan_points must be at least 3")
    id_low, id_high = rm_identified_set(beta, num_pre, num_post, lv, mbar)
    return test, _scan(test, id_low, id_high, se, scan_points), id_low, id_high, se


def rm_confidence_set(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    num_post: int,
    l_vec: ArrayLike,
    mbar: float,
    alpha: float = 0.05,
    method: Method = "c-lf",
    *,
    rtol: float = 1e-7,
    scan_points: int = SCAN_POINTS,
    lf_sims: int = 1000,
    lf_seed: int = 0,
) -> RMConfidenceSet:
    """Confidence set for theta = l' tau_post under Delta^RM(mbar), as HonestDiD's
    createSensitivityResults_relativeMagnitudes computes it (method "conditional" is its
    "Conditional", "c-lf" its "C-LF").

    betahat: the num_pre pre-period coefficients (earliest first, reference period omitted)
    then the num_post post-period ones; sigma: their covariance. The endpoints are found by a
    scan of ``scan_points`` values over the bracket [id_low - w, id_high + w], w =
    BRACKET_SES standard errors of l'betahat_post (w doubled while an end is accepted), then
    bisection until the boundary is bracketed to ``rtol`` standard errors. ``lf_sims`` and
    ``lf_seed`` set the least-favourable simulation (HonestDiD: 1000 draws, seed 0).
    """
    test, scan, id_low, id_high, se = _setup(
        betahat,
        sigma,
        num_pre,
        num_post,
        l_vec,
        mbar,
        alpha,
        method,
        scan_points,
        lf_sims,
        lf_seed,
    )
    tol = rtol * se
    ends = scan.ends()
    if ends is None:
        return RMConfidenceSet(mbar, method, alpha, math.nan, math.nan, id_low, id_high, tol)
    low = _endpoint(test, scan, ends[0], -1, tol)
    high = _endpoint(test, scan, ends[1], 1, tol)
    return RMConfidenceSet(
        mbar, method, alpha, low, high, id_low, id_high, tol, scan.open_low, scan.open_high
    )


def rm_sensitivity(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    num_post: int,
    l_vec: ArrayLike,
    mbars: tuple[float, ...] | list[float],
    alpha: float = 0.05,
    method: Method = "c-lf",
    *,
    rtol: float = 1e-7,
    lf_sims: int = 1000,
    lf_seed: int = 0,
) -> list[RMConfidenceSet]:
    """``rm_confidence_set`` over a grid of Mbar values."""
    return [
        rm_confidence_set(
            betahat,
            sigma,
            num_pre,
            num_post,
            l_vec,
            float(m),
            alpha,
            method,
            rtol=rtol,
            lf_sims=lf_sims,
            lf_seed=lf_seed,
        )
        for m in mbars
    ]


def _covers(test: RMTest, scan: _Scan, value: float) -> bool:
    """Whether conf_low <= value <= conf_high for the set rm_confidence_set reports, decided
    without the bisection: an end beyond ``value`` on the grid settles it, and otherwise the
    boundary lies in the grid cell around ``value``, on the side of value that the test of
    value itself (by the pieces that accept at the cell's accepted end) says."""
    ends = scan.ends()
    if ends is None:
        return False
    grid = scan.grid

    def reaches(index: int, step: int) -> bool:
        if (grid[index] - value) * step >= 0:
            return True  # an accepted grid point at or beyond value
        nxt = index + step
        if nxt < 0 or nxt >= len(grid) or (grid[nxt] - value) * step < 0:
            return False  # the boundary lies before value
        return test.only(np.flatnonzero(scan.accepted[:, index])).accepts(value)

    return reaches(ends[0], -1) and reaches(ends[1], 1)


def rm_breakdown(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    num_post: int,
    l_vec: ArrayLike,
    alpha: float = 0.05,
    method: Method = "c-lf",
    *,
    mbar_max: float = 10.0,
    tol: float = 1e-6,
    scan_points: int = SCAN_POINTS,
    lf_sims: int = 1000,
    lf_seed: int = 0,
) -> RMBreakdown:
    """Smallest Mbar in [0, mbar_max] at which the confidence set [conf_low, conf_high]
    contains 0, by bisection on Mbar to ``tol``.

    Each step decides conf_low <= 0 <= conf_high for the set rm_confidence_set reports with
    the same scan, exactly rather than through the endpoints' bisection tolerance (see
    ``_covers``). Assumes, as any bisection must, that the set contains 0 for every Mbar above
    the breakdown value; None if it does not contain 0 at ``mbar_max``.
    """

    def covers(mbar: float) -> bool:
        test, scan, *_ = _setup(
            betahat,
            sigma,
            num_pre,
            num_post,
            l_vec,
            mbar,
            alpha,
            method,
            scan_points,
            lf_sims,
            lf_seed,
        )
        return _covers(test, scan, 0.0)

    if covers(0.0):
        return RMBreakdown(0.0, method, alpha, mbar_max, tol)
    if not covers(mbar_max):
        return RMBreakdown(None, method, alpha, mbar_max, tol)
    lo, hi = 0.0, mbar_max
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if covers(mid):
            hi = mid
        else:
            lo = mid
    return RMBreakdown(hi, method, alpha, mbar_max, tol)
