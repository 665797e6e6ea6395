"""Wild cluster bootstrap for coefficients of a regression with unit and year fixed effects:
the restricted (WCR, null imposed) or unrestricted (WCU) bootstrap-t of Cameron, Gelbach and
Miller (2008), computed as Roodman, MacKinnon, Nielsen and Webb (2019) compute it, with
p-values and confidence intervals by test inversion.

Notation: X~ and y~ are the regressors and outcome with the fixed effects D (unit and year
dummies) partialled out, A = (X~'X~)^-1, and the tested coefficient j has the row weights
w = X~ a_j (a_j = A's row j), so that beta_j = w'y. Under H0: beta_j = r the restricted
residual is u(r) = u_y - r u_x (u_y, u_x: y~ and x~_j residualised on the other regressors),
affine in r. A draw v (one weight per cluster) makes y* = fit + u o v; its coefficient and
clustered variance are, per cluster g,

    beta*_j - r = sum_g c_g v_g,           c_g = sum_{i in g} w_i u_i,
    score*_g    = c_g v_g - sum_h H[g, h] v_h,
    H[g, h]     = w_g' (P u_h)_g,          P the hat matrix of the full dummy regression,

with V* = ssc x sum_g score*_g^2. P = P_units + L G+ L' + X~ A X~' (L the year dummies after
removing unit means, G = L'L); w and u sum to zero within each unit, so the unit part drops
out and H = Wt G+ Ut' + Q A S' with small matrices of cluster sums: Wt and Ut (clusters x
years) of w and u, Q and S (clusters x regressors) of w o x~ and u o x~. H has rank at most
years + regressors, so a draw costs O(G (T + k)), not O(G^2), and 9,999 draws of a 266-city
panel take milliseconds. Everything is affine in r, so for every draw the numerator is
N_y - r N_x and the variance ssc (A_b - 2 r B_b + r^2 C_b): one pass over the draws gives the
p-value at any r, and the interval is found by bisection.

Conventions are fwildclusterboot's (0.13, `boottest`), against which the tests hold this
module: the original statistic is the draw v = 1 of the same algebra; the p-value is
#{|t| < |t*_b|} / B (strict, the B draws only; ties
to 1e-9 relative are ties); Rademacher weights are enumerated (all 2^G
sign vectors, B = 2^G) when 2^G <= B; Webb's six-point weights otherwise on request.
Units must be nested in clusters (the study clusters by city, its unit)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from analysis.estimators.randomization import PINV_RTOL, PanelIndex, demean

WEIGHTS = ("rademacher", "webb")
WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
DRAW_CELLS = 2**21  # clusters x draws held at once (memory does not grow with B)
BISECTIONS = 200  # interval end points: bisection to the float resolution of the bracket
# A draw whose |t*| equals |t| to this relative precision is a tie and not counted: the
# draws v = 1 and v = -1 (always among enumerated draws) give |t*| = |t| exactly in exact
# arithmetic, but a matrix product may round a column differently from another.
TIE = 1e-9


def choose_weights(requested: str, n_clusters: int, reps: int) -> str:
    """The weights a run uses: `requested`, or for "auto" Rademacher unless it has fewer
    distinct |t*| values than draws (2^(G-1) < B, i.e. G <= 14 for B = 9,999), then Webb's
    six-point weights (6^G distinct draws; Webb 2023, MacKinnon and Webb 2018)."""
    if requested != "auto":
        return requested
    return "webb" if 2 ** (n_clusters - 1) < reps else "rademacher"


@dataclass(frozen=True)
class Draws:
    """Bootstrap weights, one per cluster and draw, made block by block on demand (memory
    does not grow with G x B): `enumerated`, every Rademacher sign vector; otherwise drawn
    from `np.random.default_rng(seed)`, in blocks of a size fixed by G, so every pass (every
    coefficient of a run) sees the same draws."""

    weights: str
    n_clusters: int
    reps: int
    enumerated: bool
    seed: int | None = None

    def block_size(self) -> int:
        return max(1, DRAW_CELLS // max(self.n_clusters, 1))

    def blocks(self) -> Iterator[np.ndarray]:
        """The draws as clusters x draws blocks, in order."""
        g, step = self.n_clusters, self.block_size()
        if self.enumerated:
            shifts = np.arange(g)[:, None]
            for start in range(0, self.reps, step):
                codes = np.arange(start, min(start + step, self.reps))[None, :] >> shifts
                yield 1.0 - 2.0 * (codes & 1)
            return
        rng = np.random.default_rng(self.seed)
        for start in range(0, self.reps, step):
            n = min(step, self.reps - start)
            if self.weights == "rademacher":
                v = 2.0 * rng.integers(0, 2, size=(n, g)) - 1.0
            else:
                v = WEBB[rng.integers(0, 6, size=(n, g))]
            yield np.ascontiguousarray(v.T)

    @property
    def v(self) -> np.ndarray:
        """All draws, clusters x draws (for tests and small G)."""
        return np.hstack(list(self.blocks()))


def draw(weights: str, n_clusters: int, reps: int, seed: int | None) -> Draws:
    """B draws of one weight per cluster, seeded. Rademacher with 2^G <= B: all 2^G sign
    vectors (exact, and identical to fwildclusterboot's), B = 2^G."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights {weights!r}; allowed: {', '.join(WEIGHTS)}")
    if weights == "rademacher" and 2**n_clusters <= reps:
        return Draws(weights, n_clusters, 2**n_clusters, True)
    return Draws(weights, n_clusters, reps, False, seed)


def _with_original(draws: Draws) -> Iterator[np.ndarray]:
    """The draws' blocks, the first one preceded by the original sample (v = 1)."""
    first = True
    for block in draws.blocks():
        if first:
            block = np.column_stack([np.ones(draws.n_clusters), block])
            first = False
        yield block


def _cluster_sums(values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Sums of the rows of `values` (1-d or 2-d) by code."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n)
    out = np.zeros((n, values.shape[1]))
    np.add.at(out, codes, values)
    return out


@dataclass(frozen=True)
class Design:
    """A regression with unit and year fixed effects, partialled out: outcome, regressors,
    their names, the cluster and year of each row, and the year Gram matrix G+."""

    y: np.ndarray  # N, with the fixed effects removed (scaled: see `scale`)
    x: np.ndarray  # N x k, with the fixed effects removed
    names: tuple[str, ...]
    cluster: np.ndarray  # codes 0..G-1
    year: np.ndarray  # codes 0..T-1
    n_clusters: int
    n_years: int
    gram_pinv: np.ndarray  # T x T
    scale: float  # y was multiplied by it (a power of two; estimates are scaled back)

    @cached_property
    def xtx_inv(self) -> np.ndarray:
        return np.linalg.inv(self.x.T @ self.x)

    @cached_property
    def beta(self) -> np.ndarray:
        return self.xtx_inv @ (self.x.T @ self.y)

    def column(self, term: str) -> int:
        return self.names.index(term)


def design(
    y: np.ndarray,
    x: np.ndarray,
    names: list[str] | tuple[str, ...],
    unit: np.ndarray,
    year: np.ndarray,
    cluster: np.ndarray,
) -> Design:
    """The design of `y ~ x | unit + year` with errors clustered by `cluster` (in which the
    units must be nested)."""
    unit_codes, _ = pd.factorize(pd.Series(unit), sort=True)
    year_codes, years = pd.factorize(pd.Series(year), sort=True)
    cluster_codes, _ = pd.factorize(pd.Series(cluster), sort=True)
    n_units, n_years = int(unit_codes.max()) + 1, len(years)
    per_unit = pd.Series(cluster_codes).groupby(unit_codes).nunique()
    if (per_unit > 1).any():
        raise ValueError("the wild cluster bootstrap needs units nested in clusters")
    idx = PanelIndex(unit_codes, year_codes, np.asarray(years, float), n_units, n_years)
    y = np.asarray(y, dtype=float)
    sd = float(np.std(y))
    # alternating projections stop on an absolute change: bring y to order one (exact)
    scale = float(2.0 ** -np.round(np.log2(sd))) if np.isfinite(sd) and sd > 0 else 1.0
    both = demean(np.column_stack([y * scale, np.asarray(x, dtype=float)]), idx)
    cell = unit_codes * n_years + year_codes
    count = np.bincount(cell, minlength=n_units * n_years).reshape(n_units, n_years)
    count = count.astype(float)
    gram = np.diag(count.sum(axis=0)) - (count / count.sum(axis=1)[:, None]).T @ count
    return Design(
        y=both[:, 0],
        x=both[:, 1:],
        names=tuple(names),
        cluster=cluster_codes.astype(np.intp),
        year=year_codes.astype(np.intp),
        n_clusters=int(cluster_codes.max()) + 1,
        n_years=n_years,
        gram_pinv=np.linalg.pinv(gram, rcond=PINV_RTOL, hermitian=True),
        scale=scale,
    )


def _residualise(d: Design, v: np.ndarray, keep: list[int]) -> np.ndarray:
    """v (N or N x m) minus its projection on the regressors `keep`."""
    if not keep:
        return v
    other = d.x[:, keep]
    coef, *_ = np.linalg.lstsq(other, v, rcond=None)
    return v - other @ coef


@dataclass(frozen=True)
class _Pieces:
    """What one residual vector u contributes, for the row weights w of one coefficient:
    c (clusters), and the low-rank factors of H v = left @ (right' v)."""

    c: np.ndarray
    left: np.ndarray  # G x (T + k)
    right: np.ndarray  # G x (T + k)


def _pieces(d: Design, w: np.ndarray, u: np.ndarray) -> _Pieces:
    g, t = d.n_clusters, d.n_years
    cell = d.cluster * t + d.year
    wt = np.bincount(cell, weights=w, minlength=g * t).reshape(g, t)
    ut = np.bincount(cell, weights=u, minlength=g * t).reshape(g, t)
    q = _cluster_sums(w[:, None] * d.x, d.cluster, g)
    s = _cluster_sums(u[:, None] * d.x, d.cluster, g)
    return _Pieces(
        c=np.bincount(d.cluster, weights=w * u, minlength=g),
        left=np.hstack([wt @ d.gram_pinv, q @ d.xtx_inv]),
        right=np.hstack([ut, s]),
    )


@dataclass(frozen=True)
class Moments:
    """Per draw (column 0 the original, v = 1): numerator N_y - r N_x and variance
    ssc (A - 2 r B + r^2 C) of the bootstrap coefficient minus r."""

    n_y: np.ndarray
    n_x: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


def _moments(py: _Pieces, px: _Pieces, draws: Draws) -> Moments:
    """Moments of the original sample and every draw, block by block."""
    parts: list[tuple[np.ndarray, ...]] = []
    for block in _with_original(draws):
        zy = py.c[:, None] * block - py.left @ (py.right.T @ block)
        zx = px.c[:, None] * block - px.left @ (px.right.T @ block)
        parts.append(
            (
                py.c @ block,
                px.c @ block,
                np.einsum("gb,gb->b", zy, zy),
                np.einsum("gb,gb->b", zy, zx),
                np.einsum("gb,gb->b", zx, zx),
            )
        )
    n_y, n_x, a, b, c = (np.concatenate(p) for p in zip(*parts, strict=True))
    return Moments(n_y, n_x, a, b, c)


@dataclass(frozen=True)
class WildTest:
    """The bootstrap test of one coefficient: estimate, the analytical t it is compared
    with, the bootstrap p-value of H0: beta = 0 and the interval by test inversion."""

    term: str
    estimate: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float
    reps: int
    weights: str
    enumerated: bool
    restricted: bool


@dataclass(frozen=True)
class Inversion:
    """The p-value as a function of the hypothesised value r."""

    m: Moments
    ssc: float
    restricted: bool
    estimate: float  # scaled

    def t(self, r: float) -> tuple[float, np.ndarray]:
        """The original statistic and the draws' at r."""
        m = self.m
        if self.restricted:
            numer = m.n_y - r * m.n_x
            var = self.ssc * (m.a - 2 * r * m.b + r * r * m.c)
            with np.errstate(invalid="ignore", divide="ignore"):
                t = numer / np.sqrt(var)
            return float(t[0]), t[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = m.n_y / np.sqrt(self.ssc * m.a)
        return float((self.estimate - r) / np.sqrt(self.ssc * m.a[0])), t[1:]

    def p(self, r: float) -> float:
        t0, tb = self.t(r)
        return float(np.mean(np.abs(tb) - abs(t0) > TIE * abs(t0)))

    def end(self, inside: float, outside: float, alpha: float) -> float:
        """The crossing of p = alpha between a value inside the interval and one outside."""
        for _ in range(BISECTIONS):
            mid = 0.5 * (inside + outside)
            if mid in (inside, outside):
                break
            if self.p(mid) > alpha:
                inside = mid
            else:
                outside = mid
        return 0.5 * (inside + outside)

    def interval(self, se: float, alpha: float) -> tuple[float, float]:
        """The values r with p(r) > alpha, from the estimate outwards: the first of
        estimate +/- se 2^(j/2), j = 0, 1, ..., with p < alpha on each side (as
        fwildclusterboot starts), then bisection to the crossing."""
        out = []
        for sign in (-1.0, 1.0):
            outside = np.nan
            for j in range(101):
                cand = self.estimate + sign * se * 2.0 ** (j / 2)
                if self.p(cand) < alpha:
                    outside = cand
                    break
            if not np.isfinite(outside) or not self.p(self.estimate) > alpha:
                out.append(np.nan)
                continue
            out.append(self.end(self.estimate, outside, alpha))
        return out[0], out[1]


def _weights_of(d: Design, j: int) -> np.ndarray:
    return d.x @ d.xtx_inv[j]


def inversion(
    d: Design, term: str, draws: Draws, *, restricted: bool = True, ssc: float = 1.0
) -> Inversion:
    """The bootstrap statistics of coefficient `term` as functions of the hypothesised r."""
    j = d.column(term)
    others = [i for i in range(d.x.shape[1]) if i != j]
    w = _weights_of(d, j)
    if restricted:
        u_y = _residualise(d, d.y, others)
        u_x = _residualise(d, d.x[:, j], others)
    else:
        u_y, u_x = d.y - d.x @ d.beta, np.zeros_like(d.y)
    m = _moments(_pieces(d, w, u_y), _pieces(d, w, u_x), draws)
    return Inversion(m, ssc, restricted, float(d.beta[j]))


def bootstrap_test(
    d: Design,
    term: str,
    draws: Draws,
    *,
    restricted: bool = True,
    level: float = 0.95,
    ssc: float = 1.0,
) -> WildTest:
    """The wild cluster bootstrap test of H0: beta_term = 0 and its interval at `level`
    (estimates and bounds in the outcome's units)."""
    inv = inversion(d, term, draws, restricted=restricted, ssc=ssc)
    se = float(np.sqrt(ssc * inv.m.a[0]))  # the clustered SE (v = 1: unrestricted residuals)
    low, high = inv.interval(se, 1 - level)
    return WildTest(
        term=term,
        estimate=inv.estimate / d.scale,
        statistic=inv.estimate / se,
        p_value=inv.p(0.0),
        conf_low=low / d.scale,
        conf_high=high / d.scale,
        reps=draws.reps,
        weights=draws.weights,
        enumerated=draws.enumerated,
        restricted=restricted,
    )


@dataclass(frozen=True)
class WildWald:
    """The bootstrap joint test that the coefficients `terms` are all zero: the Wald F
    (clustered variance, the statistic of the analytical test) and its bootstrap p-value."""

    terms: tuple[str, ...]
    statistic: float
    p_value: float
    reps: int
    weights: str
    enumerated: bool


def wald(d: Design, terms: list[str], draws: Draws, *, ssc: float = 1.0) -> WildWald:
    """Restricted wild cluster bootstrap of the Wald test of H0: beta_terms = 0 (every
    restriction imposed on the bootstrap's data); p = #{W < W*_b} / B."""
    cols = [d.column(t) for t in terms]
    others = [i for i in range(d.x.shape[1]) if i not in cols]
    u = _residualise(d, d.y, others)
    pieces = [_pieces(d, _weights_of(d, j), u) for j in cols]
    stats = []
    for block in _with_original(draws):
        numer = np.stack([p.c @ block for p in pieces])  # q x b
        z = np.stack([p.c[:, None] * block - p.left @ (p.right.T @ block) for p in pieces])
        var = ssc * np.einsum("jgb,lgb->bjl", z, z)
        try:
            sol = np.linalg.solve(var, numer.T[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            # a draw whose bootstrap variance is singular (few clusters, several
            # restrictions): the pseudo-inverse, as a Wald statistic on its range
            sol = np.einsum("bjl,bl->bj", np.linalg.pinv(var, hermitian=True), numer.T)
        stats.append(np.einsum("bj,bj->b", numer.T, sol) / len(cols))
    w = np.concatenate(stats)
    return WildWald(
        terms=tuple(terms),
        statistic=float(w[0]),
        p_value=float(np.mean(w[1:] - w[0] > TIE * abs(w[0]))),
        reps=draws.reps,
        weights=draws.weights,
        enumerated=draws.enumerated,
    )
