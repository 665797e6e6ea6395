"""HonestDiD's fixed-length confidence interval (FLCI) under smoothness restrictions
(Delta^SD(M), Rambachan and Roth 2023), computed as R's HonestDiD 0.2.6 computes it.

The FLCI is centred at an affine estimator l_pre'b_pre + l'b_post and has half-length
h x q(M bias(h) / h), where bias(h) is the smallest worst-case bias of an affine estimator
whose standard deviation is at most h (a second-order cone program), and q(mu) the 1 - alpha
quantile of |N(mu, 1)|. HonestDiD chooses h by a bisection on the numerical derivative of the
half-length between the lowest attainable h and the h of the minimum-bias estimator, falling
back to a grid of 100 values of h when the derivative search fails, and it takes q from 10^6
simulated normal draws (seed 0) rather than from the exact distribution. Every one of these
choices moves the interval's ends in their third or fourth digit, so each is reproduced here:
the cone program is solved by ECOS (the solver HonestDiD asks CVXR for), the lowest h in closed
form (HonestDiD solves that quadratic program numerically), R's normal draws by
analysis.estimators.r_normals, quantiles as R's type 7.

Checked against R's HonestDiD (tests/test_honest_sd.py, the cross-check's `honest_sd`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.estimators.r_normals import r_normals

Array = NDArray[np.float64]
FOLDED_SIMS = 10**6  # HonestDiD's .qfoldednormal
FOLDED_SEED = 0
GRID_POINTS = 100  # HonestDiD's numPoints


@dataclass(frozen=True)
class FLCI:
    """One fixed-length confidence interval and how it was found."""

    conf_low: float
    conf_high: float
    center: float
    half_length: float
    h: float
    search: str  # 'bisection' or 'grid' (HonestDiD's fallback)


@lru_cache(maxsize=1)
def _draws() -> Array:
    return r_normals(FOLDED_SIMS, FOLDED_SEED)


@lru_cache(maxsize=1)
def _sorted_draws() -> Array:
    return np.sort(_draws())


def folded_normal_quantile(p: float, mu: float) -> float:
    """HonestDiD's .qfoldednormal: the p-quantile (type 7) of |Z + mu| over R's draws.

    The same number as np.quantile(np.abs(draws + mu), p) to the last bit (tested), without
    its pass over the 10^6 draws: with the draws sorted once, |z + mu| is two sorted runs
    (z + mu for z >= -mu rising, -(z + mu) below it falling), so the two order statistics
    the quantile interpolates are found by a binary search over how many each run gives.
    The FLCI's search asks for about 40 quantiles per interval."""
    z = _sorted_draws()
    n = len(z)
    virtual = (n - 1) * p
    below = int(np.floor(virtual))
    if not (0 <= virtual < n - 1 and np.isfinite(mu)):  # the ends, a NaN: numpy's own rule
        return float(np.quantile(np.abs(_draws() + mu), p))
    low, high = _order_statistics(z, mu, below)
    # numpy's linear interpolation (_lerp), in its order of operations
    gamma = virtual - below
    diff = high - low
    return float(high - diff * (1 - gamma) if gamma >= 0.5 else low + diff * gamma)


def _order_statistics(z: Array, mu: float, k: int) -> tuple[float, float]:
    """The k-th and (k+1)-th smallest (from 0) of |z + mu|, z sorted ascending."""
    split = int(np.searchsorted(z, -mu, side="left"))  # z + mu < 0 exactly below it
    n_up, n_down = len(z) - split, split

    def up(i: int) -> float:  # rising: z + mu >= 0
        return float(abs(z[split + i] + mu)) if i < n_up else np.inf

    def down(i: int) -> float:  # rising: -(z + mu) > 0, from the split downwards
        return float(abs(z[split - 1 - i] + mu)) if i < n_down else np.inf

    # take i of the k + 1 smallest from `up` and k + 1 - i from `down`
    lo, hi = max(0, k + 1 - n_down), min(k + 1, n_up)
    while lo < hi:
        i = (lo + hi) // 2
        if up(i) < down(k - i):
            lo = i + 1
        else:
            hi = i
    i = lo
    kth = max(up(i - 1) if i > 0 else -np.inf, down(k - i) if k - i >= 0 else -np.inf)
    return kth, min(up(i), down(k + 1 - i))


@dataclass(frozen=True)
class _Problem:
    """The pieces of HonestDiD's programs that do not depend on h or M."""

    K: int  # pre-periods
    A: Array  # w' A w + b' w + c = variance of the affine estimator
    b: Array
    c: float
    target_sum: float  # sum of w, (1:numPost)' l
    constant: float  # the bias objective's constant
    R: Array  # A = R' R
    q: Array  # w'Aw + b'w = ||R w + q||^2 - ||q||^2


def _w_to_l(K: int) -> Array:
    T = np.eye(K)
    for j in range(K - 1):
        T[j + 1, j] = -1.0
    return T


def _problem(sigma: Array, num_pre: int, l_vec: Array) -> _Problem:
    K, P = num_pre, len(l_vec)
    T = _w_to_l(K)
    s_pre = sigma[:K, :K]
    s_pre_post = sigma[:K, K:]
    A = T.T @ s_pre @ T
    b = 2 * T.T @ s_pre_post @ l_vec
    c = float(l_vec @ sigma[K:, K:] @ l_vec)
    steps = np.arange(1, P + 1)
    constant = float(sum(abs(steps[:s] @ l_vec[P - s :]) for s in range(1, P + 1)) - steps @ l_vec)
    R = np.asarray(np.linalg.cholesky(A).T, dtype=float)
    q = np.asarray(np.linalg.solve(R.T, b / 2), dtype=float)
    return _Problem(K, A, b, c, float(steps @ l_vec), constant, R, q)


def _variance(pr: _Problem, w: Array) -> float:
    return float(w @ pr.A @ w + pr.b @ w + pr.c)


def _lowest_h(pr: _Problem) -> float:
    """HonestDiD's .findLowestH: the least variance of w with sum(w) fixed (closed form)."""
    ones = np.ones(pr.K)
    ainv_one = np.linalg.solve(pr.A, ones)
    ainv_b = np.linalg.solve(pr.A, pr.b)
    lam = -(2 * pr.target_sum + ones @ ainv_b) / (ones @ ainv_one)
    w = -(ainv_b + lam * ainv_one) / 2
    return float(np.sqrt(max(_variance(pr, w), 0.0)))


def _h_min_bias(pr: _Problem) -> float:
    """HonestDiD's .findHForMinimumBias: the SD of w = (0, ..., 0, sum)."""
    w = np.zeros(pr.K)
    w[-1] = pr.target_sum
    return float(np.sqrt(_variance(pr, w)))


def _bias_given_h(pr: _Problem, h: float) -> tuple[float, Array] | None:
    """HonestDiD's .findWorstCaseBiasGivenH (M = 1): min constant + sum(U) over (U, w) with
    U >= |cumsum(w)|, sum(w) fixed and variance <= h^2, by ECOS; None if infeasible."""
    import ecos
    from scipy import sparse

    K = pr.K
    r2 = h * h - pr.c + float(pr.q @ pr.q)
    if r2 < 0:
        return None
    L = np.tril(np.ones((K, K)))
    eye = np.eye(K)
    lin = np.vstack([np.hstack([-eye, L]), np.hstack([-eye, -L])])
    soc = np.vstack([np.zeros((1, 2 * K)), np.hstack([np.zeros((K, K)), -pr.R])])
    G = sparse.csc_matrix(np.vstack([lin, soc]))
    hvec = np.concatenate([np.zeros(2 * K), [np.sqrt(r2)], pr.q])
    A = sparse.csc_matrix(np.concatenate([np.zeros(K), np.ones(K)])[None, :])
    cost = np.concatenate([np.ones(K), np.zeros(K)])
    sol = ecos.solve(
        cost, G, hvec, {"l": 2 * K, "q": [K + 1]}, A, np.array([pr.target_sum]), verbose=False
    )
    if sol["info"]["exitFlag"] not in (0, 10):  # optimal, optimal but inaccurate
        return None
    x = np.asarray(sol["x"])
    return pr.constant + float(cost @ x), x[K:]


def _half_length(pr: _Problem, h: float, M: float, alpha: float) -> float:
    found = _bias_given_h(pr, h)
    if found is None:
        return np.nan
    return folded_normal_quantile(1 - alpha, M * found[0] / h) * h


def _bisection(pr: _Problem, a: float, b: float, M: float, alpha: float) -> float:
    """HonestDiD's .findOptimalCIDerivativeBisection, step for step (NaN when it fails)."""

    def f(h: float) -> float:
        return _half_length(pr, h, M, alpha)

    failtol = np.finfo(float).eps ** 0.5
    dif = min((b - a) / GRID_POINTS, abs(b) * np.finfo(float).eps ** (1 / 3))
    fa, fb = f(a), f(b)
    fpa = (f(a + dif) - fa) / dif
    fpb = (f(b - dif) - fb) / -dif
    maxiter = 10 * np.ceil(np.log(abs(b - a) / dif) / np.log(2))
    if fpa > fpb or np.isnan(fa) or np.isnan(fb):
        return np.nan
    if fpb < 0:
        return b
    if fpa > 0:
        return a
    it, failed = 1, False
    while not failed and abs(b - a) > dif:
        it += 1
        x = (a + b) / 2
        fpx = (f(x + dif) - f(x - dif)) / (2 * dif)
        failed = bool(fpx > fpb + failtol or fpx + failtol < fpa or it > maxiter)
        if fpx > 0:
            b = x
        else:
            a = x
    return np.nan if failed else (a + b) / 2


def flci(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    l_vec: ArrayLike,
    M: float,
    alpha: float = 0.05,
) -> FLCI:
    """The FLCI of l'b_post under Delta^SD(M) (HonestDiD's findOptimalFLCI), computed on
    the outcome rescaled by a power of two (see `target_scale`) and scaled back."""
    lv = np.asarray(l_vec, dtype=float)
    c = target_scale(sigma, num_pre, lv)
    beta = np.asarray(betahat, dtype=float) * c
    sig = np.asarray(sigma, dtype=float) * c * c
    M = M * c
    pr = _problem(sig, num_pre, lv)
    h0, h_min = _h_min_bias(pr), _lowest_h(pr)
    hstar = _bisection(pr, h_min, h0, M, alpha)
    if np.isfinite(hstar):
        found = _bias_given_h(pr, hstar)
        if found is None:
            raise RuntimeError(f"FLCI: the bias program is infeasible at h = {hstar}")
        bias, w = found
        half = folded_normal_quantile(1 - alpha, M * bias / hstar) * hstar
        search = "bisection"
    else:
        best: tuple[float, float, Array] | None = None
        for h in np.linspace(h_min, h0, GRID_POINTS):
            got = _bias_given_h(pr, float(h))
            if got is None or not h > 0:
                continue
            length = folded_normal_quantile(1 - alpha, M * got[0] / h) * h
            if best is None or length < best[0]:
                best = (length, float(h), got[1])
        if best is None:
            raise RuntimeError("FLCI: no h on HonestDiD's grid gives a feasible bias program")
        half, hstar, w = best
        search = "grid"
    center = float(_w_to_l(num_pre) @ w @ beta[:num_pre] + lv @ beta[num_pre:]) / c
    half, hstar = half / c, hstar / c
    return FLCI(center - half, center + half, center, half, float(hstar), search)


def target_scale(sigma: ArrayLike, num_pre: int, l_vec: ArrayLike) -> float:
    """The power of two closest to 1 / SE(l'b_post). The cone programs' tolerances are
    absolute (ECOS: 1e-8), so an outcome of order 1e-5 would be solved to no digit at all;
    the FLCI is equivariant in the outcome's scale (b -> c b, Sigma -> c^2 Sigma, M -> c M
    gives c FLCI), and a power of two changes no bit of the arithmetic. The R mirror
    (rbridge/R/inference.R) rescales by the same factor: HonestDiD fails outright on such an
    outcome otherwise."""
    sig = np.asarray(sigma, dtype=float)
    lv = np.asarray(l_vec, dtype=float)
    se = float(np.sqrt(lv @ sig[num_pre:, num_pre:] @ lv))
    if not np.isfinite(se) or se <= 0:
        return 1.0
    return float(2.0 ** round(-np.log2(se)))


def identified_set(
    betahat: ArrayLike, num_pre: int, l_vec: ArrayLike, M: float
) -> tuple[float, float]:
    """HonestDiD's .compute_IDset_DeltaSD: the bounds on l'tau_post given the pre-period
    coefficients and |second differences| <= M (the reference period entering as 0), two
    linear programs (HiGHS here, GLPK in R: an LP's optimum is exact up to rounding)."""
    from scipy.optimize import linprog

    beta = np.asarray(betahat, dtype=float)
    lv = np.asarray(l_vec, dtype=float)
    K, P = num_pre, len(lv)
    # HiGHS's tolerances are absolute too: solve in units of the largest coefficient (a power
    # of two) and scale back
    c = float(2.0 ** round(-np.log2(max(np.max(np.abs(beta)), M, np.finfo(float).tiny))))
    beta, M = beta * c, M * c
    full = np.zeros((K + P - 1, K + P + 1))
    for r in range(K + P - 1):
        full[r, r : r + 3] = (1.0, -2.0, 1.0)
    A_sd = np.delete(full, K, axis=1)
    A_ub = np.vstack([A_sd, -A_sd])
    b_ub = np.full(A_ub.shape[0], M)
    A_eq = np.hstack([np.eye(K), np.zeros((K, P))])
    cost = np.concatenate([np.zeros(K), lv])
    bounds = [(None, None)] * (K + P)
    lo = linprog(cost, A_ub, b_ub, A_eq, beta[:K], bounds=bounds, method="highs")
    hi = linprog(-cost, A_ub, b_ub, A_eq, beta[:K], bounds=bounds, method="highs")
    point = float(lv @ beta[K:])
    if not (lo.success and hi.success):
        return point / c, point / c
    return (point - float(-hi.fun)) / c, (point - float(lo.fun)) / c


@dataclass(frozen=True)
class Breakdown:
    """The smallest M whose FLCI covers zero, or None when even `upper` does not."""

    value: float | None
    upper: float
    tol: float

    @property
    def estimate(self) -> float:
        """As estimates.csv holds it: NaN when the range holds no breakdown."""
        return np.nan if self.value is None else float(self.value)

    def text(self) -> str:
        """As a reader should see it: the value, or '> upper' (never a number that reads
        like a finding when the search range holds no breakdown)."""
        return f"> {self.upper:g}" if self.value is None else f"{self.value:.4g}"


def breakdown(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    l_vec: ArrayLike,
    alpha: float,
    upper: float,
    tol: float,
) -> Breakdown:
    """Smallest M in [0, upper] at which the FLCI contains 0, whatever the sign of the
    effect: 0 if it does at M = 0, None if it does not at `upper`, else a bisection to `tol`
    reporting the upper end of the last bracket (the R mirror, rbridge/R/inference.R, runs the
    same search). Assumes, as any bisection must, that once covered zero stays covered."""

    def covers(m: float) -> bool:
        r = flci(betahat, sigma, num_pre, l_vec, m, alpha)
        return r.conf_low <= 0 <= r.conf_high

    if covers(0.0):
        return Breakdown(0.0, upper, tol)
    if not covers(upper):
        return Breakdown(None, upper, tol)
    lo, hi = 0.0, upper
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if covers(mid):
            hi = mid
        else:
            lo = mid
    return Breakdown(hi, upper, tol)


def default_m_grid(
    betahat: ArrayLike, sigma: ArrayLike, num_pre: int, points: int = 10
) -> tuple[float, ...]:
    """HonestDiD's default M grid (createSensitivityResults with Mvec = NULL): 10 values from
    0 to the largest pre-period second difference plus its one-sided 95% margin
    (DeltaSD_upperBound_Mpre), or to the first coefficient's SE with one pre-period."""
    from scipy.stats import norm

    beta = np.asarray(betahat, dtype=float)
    sig = np.asarray(sigma, dtype=float)
    if num_pre == 1:
        top = float(np.sqrt(sig[0, 0]))
    else:
        full = np.zeros((num_pre - 1, num_pre + 1))
        for r in range(num_pre - 1):
            full[r, r : r + 3] = (1.0, -2.0, 1.0)
        A = np.delete(full, num_pre, axis=1)
        A = np.vstack([A, -A])
        diffs = A @ beta[:num_pre]
        se = np.sqrt(np.diag(A @ sig[:num_pre, :num_pre] @ A.T))
        top = float(np.max(diffs + norm.ppf(0.95) * se))
    # 10 significant digits: the grid is written into estimates.csv's terms and the R mirror
    # recomputes the sets at exactly the written values
    return tuple(float(f"{v:.10g}") for v in np.linspace(0, top, points))


BREAKDOWN_RANGE = 10.0  # the breakdown search runs to this multiple of the grid's top
BREAKDOWN_RTOL = 1e-6  # and stops at this share of that range


def breakdown_range(grid: tuple[float, ...]) -> tuple[float, float]:
    """The search range's top and the bisection's tolerance for a smoothness grid, shared by
    the project and its R mirror: scaled to the grid, so to the outcome's units."""
    upper = BREAKDOWN_RANGE * max(max(grid), np.finfo(float).tiny)
    return upper, upper * BREAKDOWN_RTOL
