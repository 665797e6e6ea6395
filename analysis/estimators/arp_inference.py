"""The Andrews-Roth-Pakes (2023) moment-inequality test of a value of the target under the
relative-magnitudes restriction Delta^RM(Mbar), piece by piece: the restriction matrices, the
closed-form dual vertices, the conditional test and its least-favourable hybrid. The maths is
in the docstring of analysis.estimators.honest_rm, which inverts this test into confidence
sets and breakdown values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special
from scipy.optimize import linprog

from analysis.estimators.r_normals import r_normals

Method = Literal["conditional", "c-lf"]
METHODS: tuple[Method, ...] = ("conditional", "c-lf")
_VC_TOL = 1e-9  # |1 - g'c| below this: the vertex bounds neither V_lo nor V_up
_VAR_TOL = 1e-14  # conditional variance (correlation units) treated as zero
KAPPA_SHARE = 0.1  # C-LF: first-stage size kappa = alpha / 10, as HonestDiD


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
    beta = as_vector(betahat, num_pre + num_post, "betahat")
    lv = as_vector(l_vec, num_post, "l_vec")
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
                direction * objective,
                A_ub=a_ub,
                b_ub=np.zeros(len(a_ub)),
                A_eq=eq,
                b_eq=beta[:num_pre],
                bounds=[(None, None)] * n,
                method="highs",
            )
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


def _lf_critical_value(
    cov: NDArray[np.float64],
    sd: NDArray[np.float64],
    verts: NDArray[np.float64],
    kappa: float,
    normals: NDArray[np.float64],
) -> float:
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
        return _Pieces(
            self.y0[index], self.a[index], self.corr[index], self.verts[index], self.lf_cv[index]
        )


def _build_pieces(
    beta: NDArray[np.float64],
    sigma: NDArray[np.float64],
    num_pre: int,
    num_post: int,
    lv: NDArray[np.float64],
    mbar: float,
    kappa: float | None,
    lf_sims: int,
    lf_seed: int,
) -> _Pieces:
    rays = _rm_rays(lv)
    m = 2 * num_post
    normals = r_normals(lf_sims * m, lf_seed).reshape(lf_sims, m) if kappa is not None else None
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
    q = np.where(
        log_low < math.log(0.5),
        special.ndtri_exp(np.minimum(log_low, 0.0)),
        -special.ndtri_exp(np.minimum(log_up, 0.0)),
    )
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
    crit = np.maximum(
        0.0, _truncnorm_quantile(1.0 - level, np.minimum(v_lo / sd, z), np.maximum(v_up / sd, z))
    )
    return np.asarray(first_stage | np.where(degenerate, eta > 0.0, z > crit))


# ---------------------------------------------------------------------------------------------
# Confidence set


def as_vector(x: ArrayLike, n: int, name: str) -> NDArray[np.float64]:
    v = np.asarray(x, dtype=float).reshape(-1)
    if v.shape != (n,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be {n} finite numbers")
    return v


def _check(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    num_post: int,
    l_vec: ArrayLike,
    mbar: float,
    alpha: float,
    method: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    if num_pre < 1 or num_post < 1:
        raise ValueError("need at least one pre-period and one post-period coefficient")
    n = num_pre + num_post
    beta = as_vector(betahat, n, "betahat")
    lv = as_vector(l_vec, num_post, "l_vec")
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


class RMTest:
    """The union test of Delta^RM(mbar): accepts theta iff some piece accepts it."""

    def __init__(self, pieces: _Pieces, alpha: float, hybrid: bool) -> None:
        self.pieces, self.alpha, self.hybrid = pieces, alpha, hybrid

    def accepted(self, thetas: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Acceptance by each piece (rows) at each theta (columns)."""
        return ~_rejects(self.pieces, thetas, self.alpha, self.hybrid)

    def accepts(self, theta: float) -> bool:
        return bool(self.accepted(np.array([theta])).any())

    def only(self, index: NDArray[np.intp]) -> RMTest:
        return RMTest(self.pieces.take(index), self.alpha, self.hybrid)


def make_test(
    betahat: ArrayLike,
    sigma: ArrayLike,
    num_pre: int,
    num_post: int,
    l_vec: ArrayLike,
    mbar: float,
    alpha: float,
    method: str,
    lf_sims: int,
    lf_seed: int,
) -> tuple[RMTest, NDArray[np.float64], NDArray[np.float64]]:
    beta, sig, lv = _check(betahat, sigma, num_pre, num_post, l_vec, mbar, alpha, method)
    if lf_sims < 1:
        raise ValueError("lf_sims must be at least 1")
    hybrid = method == "c-lf"
    kappa = KAPPA_SHARE * alpha if hybrid else None
    pieces = _build_pieces(beta, sig, num_pre, num_post, lv, mbar, kappa, lf_sims, lf_seed)
    return RMTest(pieces, alpha, hybrid), beta, sig
