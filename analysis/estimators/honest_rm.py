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
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy.optimize import linprog

Method = Literal["conditional", "c-lf"]
METHODS: tuple[Method, ...] = ("conditional", "c-lf")

BRACKET_SES = 20.0  # initial half-width of the search bracket beyond the identified set
SCAN_POINTS = 400  # grid points of the coarse scan that locates the accepted values
MAX_WIDENINGS = 12  # doublings of the bracket while one of its ends is still accepted
_R_UNIT = 2.3283064365386963e-10  # R's Mersenne-Twister scaling of a 32-bit word to [0, 1)
_R_FIX = 0.5 * 2.328306437080797e-10  # R keeps uniforms strictly inside (0, 1)
_R_BIG = 134217728.0  # 2^27: R's inversion normals use two uniforms for 53-bit precision
_VC_TOL = 1e-9  # |1 - g'c| below this: the vertex bounds neither V_lo nor V_up
_VAR_TOL = 1e-14  # conditional variance (correlation units) treated as zero
KAPPA_SHARE = 0.1  # C-LF: first-stage size kappa = alpha / 10, as HonestDiD


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


# ---------------------------------------------------------------------------------------------
# Restriction matrices


def _first_differences(num_pre: int, num_post: int) -> NDArray[np.float64]:
    """Rows D_r delta = delta_r - delta_{r-1}, r over all periods but the first, on delta
    without its reference period (the period before the first post period, fixed at 0).

    Rows 0..num_pre-1 are the pre-period differences (the last one is 0 minus delta of the
    last pre period), rows num_pre.. the post-period ones (the first one is delta of the first
    post period minus 0).
    """
    n = num_pre + num_post
    full = np.zeros((n, n + 1))
    for r in range(n):
        full[r, r] = -1.0
        full[r, r + 1] = 1.0
    return np.delete(full, num_pre, axis=1)


def _piece_rows(
    num_pre: int, num_post: int, s: int, sign: float, mbar: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Rows of Delta_{s,sign}(mbar) as ``A delta <= 0``: (post-period rows, pre-period rows).

    Post rows: +D_t - mbar*v then -D_t - mbar*v (t over post differences, in period order),
    v = sign * D_s. Pre rows: +D_r - v and -D_r - v for r != s, and -2v (i.e. v >= 0).
    """
    diffs = _first_differences(num_pre, num_post)
    v = sign * diffs[s]
    post = diffs[num_pre:]
    post_rows = np.vstack([post - mbar * v, -post - mbar * v])
    others = np.delete(diffs[:num_pre], s, axis=0)
    pre_rows = np.vstack([others - v, -others - v, -2.0 * v[None, :]])
    return post_rows, pre_rows


# ---------------------------------------------------------------------------------------------
# Identified set (linear programs)


def rm_identified_set(
    betahat: ArrayLike, num_pre: int, num_post: int, l_vec: ArrayLike, mbar: float
) -> tuple[float, float]:
    """Identified set for theta at beta = betahat under Delta^RM(mbar).

    For each piece (s, sign) the linear programs min/max l' delta_post subject to
    delta in Delta_{s,sign}(mbar) and delta_pre = beta_pre give the piece's set
    [l'beta_post - max, l'beta_post - min]; pieces whose constraints are infeasible at beta_pre
    (s is not the largest difference with that sign) are empty. The identified set is the
    union, reported as its hull [min, max] (HonestDiD reports the same hull).
    """
    beta = _as_vector(betahat, num_pre + num_post, "betahat")
    lv = _as_vector(l_vec, num_post, "l_vec")
    if not (mbar >= 0 and math.isfinite(mbar)):
        raise ValueError("mbar must be a finite number >= 0")
    point = float(lv @ beta[num_pre:])
    n = num_pre + num_post
    objective = np.concatenate([np.zeros(num_pre), lv])
    eq = np.hstack([np.eye(num_pre), np.zeros((num_pre, num_post))])
    pre_diffs = _first_differences(num_pre, num_post)[:num_pre] @ beta
    largest = float(np.max(np.abs(pre_diffs)))
    lows, highs = [], []
    for s, sign in _pieces(num_pre):
        if sign * pre_diffs[s] < largest * (1 - 1e-9):
            continue  # infeasible: s is not the largest difference with this sign
        post_rows, pre_rows = _piece_rows(num_pre, num_post, s, sign, mbar)
        a_ub = np.vstack([post_rows, pre_rows])
        ends = []
        for direction in (1.0, -1.0):
            res = linprog(
                direction * objective, A_ub=a_ub, b_ub=np.zeros(len(a_ub)), A_eq=eq,
                b_eq=beta[:num_pre], bounds=[(None, None)] * n, method="highs",
            )  # fmt: skip
            if res.status == 2:  # infeasible: this s is not the largest difference
                break
            if res.status != 0:
                raise RuntimeError(f"identified-set LP failed: {res.message}")
            ends.append(direction * float(res.fun))
        if len(ends) == 2:
            lows.append(point - ends[1])
            highs.append(point - ends[0])
    if not lows:  # only when betahat_pre is on a numerical tie; the point is always inside
        return point, point
    return min(lows), max(highs)


# ---------------------------------------------------------------------------------------------
# The test of one piece


def _pieces(num_pre: int) -> list[tuple[int, float]]:
    return [(s, sign) for s in range(num_pre) for sign in (1.0, -1.0)]


def _rm_rays(lv: NDArray[np.float64]) -> NDArray[np.float64]:
    """Generators (rows) of the cone {w >= 0 : X'w = 0} of the post-period moments.

    The rows of a piece are (+P - Mbar v, -P - Mbar v) with P the post-period differences on
    the post-period columns (v has no post-period column), so X = [P; -P] N for every piece
    and every Mbar. With w = (w+, w-), X'w = N'P'(w+ - w-) = 0 iff P'(w+ - w-) = c l for a
    scalar c iff w+ - w- = c L, where L_t = l_t + ... + l_last solves P'L = l (P' is upper
    bidiagonal). Every such w is a non-negative combination of the pairs (e_t, e_t) (c = 0)
    and of (L+, L-) or (L-, L+) (the least w for c = 1 and c = -1; L+, L- the positive and
    negative parts of L), so these num_post + 2 rays include every extreme ray. A generator
    that is not extreme (e.g. a pair when num_post = 1) maps to a convex combination of
    vertices of F: it never exceeds the maximum and its bound on [V_lo, V_up] is implied by
    theirs, so it changes nothing.
    """
    tail = np.cumsum(lv[::-1])[::-1]
    pos, neg = np.clip(tail, 0.0, None), np.clip(-tail, 0.0, None)
    pairs = np.hstack([np.eye(len(lv)), np.eye(len(lv))])
    return np.vstack([np.concatenate([pos, neg]), np.concatenate([neg, pos]), pairs])


def _dual_vertices(rays: NDArray[np.float64], sd: NDArray[np.float64]) -> NDArray[np.float64]:
    """Vertices (rows) of F = {g >= 0, g'1 = 1, g'X~ = 0}, X~ = X / sd the scaled moments.

    g is in F iff w = g / sd is in the cone {w >= 0, X'w = 0} with w'sd = 1, so each generator
    w of the cone maps to g = w * sd / (w'sd), and these points include every vertex of F.
    """
    scaled = rays * sd[None, :]
    return np.asarray(scaled / scaled.sum(axis=1, keepdims=True))


def _r_normals(count: int, seed: int) -> NDArray[np.float64]:
    """The first ``count`` values of R's ``set.seed(seed); rnorm(count)`` (R's defaults).

    R seeds its Mersenne-Twister by scrambling the seed with 50 steps of the congruential map
    s -> 69069 s + 1 (mod 2^32) and filling 625 words with further steps (the first word is a
    position, set to 624 so that the state is twisted before the first draw); a uniform is the
    tempered 32-bit word times 2^-32, nudged off 0 and 1; a normal is qnorm of
    (floor(2^27 u1) + u2) / 2^27 from two consecutive uniforms.
    """
    state = seed & 0xFFFFFFFF
    for _ in range(50):
        state = (69069 * state + 1) & 0xFFFFFFFF
    words = np.empty(625, dtype=np.uint32)
    for j in range(625):
        state = (69069 * state + 1) & 0xFFFFFFFF
        words[j] = state
    gen = np.random.MT19937()
    gen.state = {"bit_generator": "MT19937", "state": {"key": words[1:], "pos": 624}}
    u = gen.random_raw(2 * count).astype(np.float64) * _R_UNIT
    u = np.where(u <= 0.0, _R_FIX, np.where(1.0 - u <= 0.0, 1.0 - _R_FIX, u))
    return np.asarray(special.ndtri((np.floor(_R_BIG * u[0::2]) + u[1::2]) / _R_BIG))


def _lf_critical_value(
    cov: NDArray[np.float64], sd: NDArray[np.float64], verts: NDArray[np.float64],
    kappa: float, normals: NDArray[np.float64],
) -> float:  # fmt: skip
    """1 - kappa quantile of max_{g in F} g'(xi / sd) over the draws xi ~ N(0, cov).

    The draws are mvtnorm::rmvnorm's: standard normals (``normals``, filled row by row)
    times the symmetric square root of cov (eigen decomposition, negative eigenvalues set to
    0). The quantile is R's default (type 7, linear interpolation).
    """
    evals, evecs = np.linalg.eigh(cov)
    root = (evecs * np.sqrt(np.clip(evals, 0.0, None))) @ evecs.T
    eta = ((normals @ root) / sd) @ verts.T
    return float(np.quantile(eta.max(axis=1), 1.0 - kappa))


@dataclass(frozen=True)
class _Pieces:
    """The moments of every piece (s, sign) of the union, stacked, in standard-deviation units.

    For piece p: y(theta) = y0[p] - a[p] * theta; corr[p] is the correlation matrix of y;
    verts[p] holds the vertices of F row-wise; lf_cv[p] the least-favourable critical value
    (inf for the conditional test).
    """

    y0: NDArray[np.float64]
    a: NDArray[np.float64]
    corr: NDArray[np.float64]
    verts: NDArray[np.float64]
    lf_cv: NDArray[np.float64]

    def take(self, index: NDArray[np.intp]) -> _Pieces:
        return _Pieces(self.y0[index], self.a[index], self.corr[index], self.verts[index],
                       self.lf_cv[index])  # fmt: skip


def _build_pieces(
    beta: NDArray[np.float64], sigma: NDArray[np.float64], num_pre: int, num_post: int,
    lv: NDArray[np.float64], mbar: float, kappa: float | None, lf_sims: int, lf_seed: int,
) -> _Pieces:  # fmt: skip
    rays = _rm_rays(lv)
    m = 2 * num_post
    normals = _r_normals(lf_sims * m, lf_seed).reshape(lf_sims, m) if kappa is not None else None
    y0, a, corr, verts, lf_cv = [], [], [], [], []
    for s, sign in _pieces(num_pre):
        rows, _ = _piece_rows(num_pre, num_post, s, sign, mbar)
        post = rows[:, num_pre:]
        cov = rows @ sigma @ rows.T
        cov = 0.5 * (cov + cov.T)
        sd = np.sqrt(np.diag(cov))
        if not np.all(sd > 0):
            raise ValueError("a moment has zero variance under sigma")
        v = _dual_vertices(rays, sd)
        y0.append((rows @ beta) / sd)
        a.append((post @ lv) / (lv @ lv) / sd)
        corr.append(cov / np.outer(sd, sd))
        verts.append(v)
        lf_cv.append(
            math.inf if normals is None else _lf_critical_value(cov, sd, v, kappa or 0.0, normals)
        )
    return _Pieces(np.array(y0), np.array(a), np.array(corr), np.array(verts), np.array(lf_cv))


def _truncnorm_quantile(
    p: float, lo: NDArray[np.float64], hi: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Quantile p of N(0, 1) truncated to [lo, hi], accurate in both tails.

    Phi(q) = (1 - p) Phi(lo) + p Phi(hi) and 1 - Phi(q) = (1 - p)(1 - Phi(lo)) + p(1 - Phi(hi))
    are sums of positive terms; the one below 1/2 is inverted in logs.
    """
    lp, l1p = math.log(p), math.log1p(-p)
    with np.errstate(divide="ignore"):
        log_low = np.logaddexp(l1p + special.log_ndtr(lo), lp + special.log_ndtr(hi))
        log_up = np.logaddexp(l1p + special.log_ndtr(-lo), lp + special.log_ndtr(-hi))
    q = np.where(log_low < math.log(0.5), special.ndtri_exp(np.minimum(log_low, 0.0)),
                 -special.ndtri_exp(np.minimum(log_up, 0.0)))  # fmt: skip
    return np.asarray(np.clip(q, lo, hi))


def _conditioning(
    pc: _Pieces, thetas: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """eta_hat, s_g^2 = g*' corr g* and the truncation bounds V_lo, V_up of every piece (rows)
    at every theta (columns), all in the moments' standard-deviation units."""
    y = pc.y0[:, None, :] - thetas[None, :, None] * pc.a[:, None, :]
    vals = np.einsum("pnm,pkm->pnk", y, pc.verts)  # g'y for every vertex g
    best = np.argmax(vals, axis=2)
    eta = np.take_along_axis(vals, best[..., None], axis=2)[..., 0]
    g = np.take_along_axis(pc.verts[:, None], best[..., None, None], axis=2)[:, :, 0]
    cg = np.einsum("pnm,pml->pnl", g, pc.corr)
    var = np.einsum("pnm,pnm->pn", g, cg)
    safe = np.where(var > _VAR_TOL, var, 1.0)
    gc = np.einsum("pnm,pkm->pnk", cg / safe[..., None], pc.verts)  # g'c for every vertex g
    gs = vals - gc * eta[..., None]  # g'S
    den = 1.0 - gc
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = gs / den
    v_lo = np.max(np.where(den > _VC_TOL, ratio, -np.inf), axis=2)
    v_up = np.min(np.where(den < -_VC_TOL, ratio, np.inf), axis=2)
    return eta, var, v_lo, v_up


def _rejects(
    pc: _Pieces, thetas: NDArray[np.float64], alpha: float, hybrid: bool
) -> NDArray[np.bool_]:
    """The conditional or hybrid test of every piece (rows) at every theta (columns).

    A statistic with zero conditional variance (g*'y is then not random) rejects iff > 0.
    """
    eta, var, v_lo, v_up = _conditioning(pc, thetas)
    level = alpha
    first_stage = np.zeros(eta.shape, dtype=bool)
    if hybrid:
        kappa = KAPPA_SHARE * alpha
        level = (alpha - kappa) / (1.0 - kappa)
        first_stage = eta > pc.lf_cv[:, None]
        v_up = np.minimum(v_up, pc.lf_cv[:, None])
    degenerate = var <= _VAR_TOL
    sd = np.sqrt(np.where(degenerate, 1.0, var))
    z = eta / sd
    # V_lo <= eta_hat <= V_up holds exactly; min/max only absorb rounding
    crit = np.maximum(0.0, _truncnorm_quantile(1.0 - level, np.minimum(v_lo / sd, z),
                                               np.maximum(v_up / sd, z)))  # fmt: skip
    return np.asarray(first_stage | np.where(degenerate, eta > 0.0, z > crit))


# ---------------------------------------------------------------------------------------------
# Confidence set


def _as_vector(x: ArrayLike, n: int, name: str) -> NDArray[np.float64]:
    v = np.asarray(x, dtype=float).reshape(-1)
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be {n} finite numbers")
    return v


def _check(
    betahat: ArrayLike, sigma: ArrayLike, num_pre: int, num_post: int, l_vec: ArrayLike,
    mbar: float, alpha: float, method: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:  # fmt: skip
    if num_pre < 1 or num_post < 1:
        raise ValueError("need at least one pre-period and one post-period coefficient")
    n = num_pre + num_post
    beta = _as_vector(betahat, n, "betahat")
    lv = _as_vector(l_vec, num_post, "l_vec")
    sig = np.asarray(sigma, dtype=float)
    if sig.shape != (n, n) or not np.all(np.isfinite(sig)):
        raise ValueError(f"sigma must be a finite {n} x {n} matrix")
    if not np.allclose(sig, sig.T, rtol=1e-8, atol=1e-14 * float(np.abs(sig).max())):
        raise ValueError("sigma must be symmetric")
    if not np.any(lv != 0):
        raise ValueError("l_vec must not be zero")
    if not (mbar >= 0 and math.isfinite(mbar)):
        raise ValueError("mbar must be a finite number >= 0")
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie in (0, 1)")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    return beta, 0.5 * (sig + sig.T), lv


class _RMTest:
    """The union test of Delta^RM(mbar): accepts theta iff some piece accepts it."""

    def __init__(self, pieces: _Pieces, alpha: float, hybrid: bool) -> None:
        self.pieces, self.alpha, self.hybrid = pieces, alpha, hybrid

    def accepted(self, thetas: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Acceptance by each piece (rows) at each theta (columns)."""
        return ~_rejects(self.pieces, thetas, self.alpha, self.hybrid)

    def accepts(self, theta: float) -> bool:
        return bool(self.accepted(np.array([theta])).any())

    def only(self, index: NDArray[np.intp]) -> _RMTest:
        return _RMTest(self.pieces.take(index), self.alpha, self.hybrid)


def _make_test(
    betahat: ArrayLike, sigma: ArrayLike, num_pre: int, num_post: int, l_vec: ArrayLike,
    mbar: float, alpha: float, method: str, lf_sims: int, lf_seed: int,
) -> tuple[_RMTest, NDArray[np.float64], NDArray[np.float64]]:  # fmt: skip
    beta, sig, lv = _check(betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method)
    if lf_sims < 1:
        raise ValueError("lf_sims must be at least 1")
    hybrid = method == "c-lf"
    kappa = KAPPA_SHARE * alpha if hybrid else None
    pieces = _build_pieces(beta, sig, num_pre, num_post, lv, mbar, kappa,
                           lf_sims, lf_seed)  # fmt: skip
    return _RMTest(pieces, alpha, hybrid), beta, sig


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


def _scan(test: _RMTest, id_low: float, id_high: float, se: float, points: int) -> _Scan:
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


def _refine(test: _RMTest, inside: float, outside: float, tol: float) -> float:
    """Bisection between an accepted and a rejected value down to ``tol``; the midpoint."""
    while abs(outside - inside) > tol:
        mid = 0.5 * (inside + outside)
        if test.accepts(mid):
            inside = mid
        else:
            outside = mid
    return 0.5 * (inside + outside)


def _endpoint(test: _RMTest, scan: _Scan, index: int, step: int, tol: float) -> float:
    """Refine the accepted grid point ``index`` against its rejected neighbour index + step,
    testing only the pieces that accept at ``index`` (the others reject at both points)."""
    grid = scan.grid
    if index + step < 0 or index + step >= len(grid):
        return float(grid[index])  # open end
    sub = test.only(np.flatnonzero(scan.accepted[:, index]))
    return _refine(sub, float(grid[index]), float(grid[index + step]), tol)


def rm_accepts(
    theta: float, betahat: ArrayLike, sigma: ArrayLike, num_pre: int, num_post: int,
    l_vec: ArrayLike, mbar: float, alpha: float = 0.05, method: Method = "c-lf",
    *, lf_sims: int = 1000, lf_seed: int = 0,
) -> bool:  # fmt: skip
    """Whether the test of Delta^RM(mbar) at level alpha accepts ``theta`` (some piece does)."""
    test, _, _ = _make_test(betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method,
                            lf_sims, lf_seed)  # fmt: skip
    return test.accepts(float(theta))


def _setup(
    betahat: ArrayLike, sigma: ArrayLike, num_pre: int, num_post: int, l_vec: ArrayLike,
    mbar: float, alpha: float, method: Method, scan_points: int, lf_sims: int, lf_seed: int,
) -> tuple[_RMTest, _Scan, float, float, float]:  # fmt: skip
    """The test, its scan, the identified set and the standard error of l'betahat_post."""
    test, beta, sig = _make_test(betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method,
                                 lf_sims, lf_seed)  # fmt: skip
    lv = _as_vector(l_vec, num_post, "l_vec")
    se = float(np.sqrt(lv @ sig[num_pre:, num_pre:] @ lv))
    if not se > 0:
        raise ValueError("l'betahat_post has zero variance")
    if scan_points < 3:
        raise ValueError("scan_points must be at least 3")
    id_low, id_high = rm_identified_set(beta, num_pre, num_post, lv, mbar)
    return test, _scan(test, id_low, id_high, se, scan_points), id_low, id_high, se


def rm_confidence_set(
    betahat: ArrayLike, sigma: ArrayLike, num_pre: int, num_post: int, l_vec: ArrayLike,
    mbar: float, alpha: float = 0.05, method: Method = "c-lf",
    *, rtol: float = 1e-7, scan_points: int = SCAN_POINTS, lf_sims: int = 1000,
    lf_seed: int = 0,
) -> RMConfidenceSet:  # fmt: skip
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
        betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method, scan_points, lf_sims,
        lf_seed,
    )  # fmt: skip
    tol = rtol * se
    ends = scan.ends()
    if ends is None:
        return RMConfidenceSet(mbar, method, alpha, math.nan, math.nan, id_low, id_high, tol)
    low = _endpoint(test, scan, ends[0], -1, tol)
    high = _endpoint(test, scan, ends[1], 1, tol)
    return RMConfidenceSet(mbar, method, alpha, low, high, id_low, id_high, tol, scan.open_low,
                           scan.open_high)  # fmt: skip


def rm_sensitivity(
    betahat: ArrayLike, sigma: ArrayLike, num_pre: int, num_post: int, l_vec: ArrayLike,
    mbars: tuple[float, ...] | list[float], alpha: float = 0.05, method: Method = "c-lf",
    *, rtol: float = 1e-7, lf_sims: int = 1000, lf_seed: int = 0,
) -> list[RMConfidenceSet]:  # fmt: skip
    """``rm_confidence_set`` over a grid of Mbar values."""
    return [
        rm_confidence_set(betahat, sigma, num_pre, num_post, l_vec, float(m), alpha, method,
                          rtol=rtol, lf_sims=lf_sims, lf_seed=lf_seed)
        for m in mbars
    ]  # fmt: skip


def _covers(test: _RMTest, scan: _Scan, value: float) -> bool:
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
    betahat: ArrayLike, sigma: ArrayLike, num_pre: int, num_post: int, l_vec: ArrayLike,
    alpha: float = 0.05, method: Method = "c-lf",
    *, mbar_max: float = 10.0, tol: float = 1e-6, scan_points: int = SCAN_POINTS,
    lf_sims: int = 1000, lf_seed: int = 0,
) -> RMBreakdown:  # fmt: skip
    """Smallest Mbar in [0, mbar_max] at which the confidence set [conf_low, conf_high]
    contains 0, by bisection on Mbar to ``tol``.

    Each step decides conf_low <= 0 <= conf_high for the set rm_confidence_set reports with
    the same scan, exactly rather than through the endpoints' bisection tolerance (see
    ``_covers``). Assumes, as any bisection must, that the set contains 0 for every Mbar above
    the breakdown value; None if it does not contain 0 at ``mbar_max``.
    """

    def covers(mbar: float) -> bool:
        test, scan, *_ = _setup(betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method,
                                scan_points, lf_sims, lf_seed)  # fmt: skip
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
