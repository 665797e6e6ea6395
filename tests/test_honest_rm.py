"""analysis.estimators.honest_rm: ARP conditional and C-LF confidence sets under Delta^RM(Mbar).

Closed forms (single pre and post period), the engine's parts against independent
computations (the test statistic against scipy's LP, the truncated-normal quantile against
scipy.stats, R's normals), properties (monotone in Mbar, scale invariance, determinism) and R's
HonestDiD 0.2.6 on the study's event study (tests/reference/honest_reference.csv, written by
rbridge/R/honest_reference.R from tests/reference/honest_input.json; see
docs/honest_rm_notes.md).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.optimize import linprog

from analysis.estimators import arp_inference
from analysis.estimators.honest_rm import (
    Method,
    RMBreakdown,
    RMConfidenceSet,
    rm_accepts,
    rm_breakdown,
    rm_confidence_set,
    rm_identified_set,
)
from analysis.estimators.r_normals import r_normals

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
INPUT = REFERENCE_DIR / "honest_input.json"
REFERENCE = REFERENCE_DIR / "honest_reference.csv"
SIDECAR = REFERENCE_DIR / "honest_reference.json"
REGENERATE = (
    "python tools/honest_input.py && R_LIBS=~/R/rbridge Rscript rbridge/R/honest_reference.R "
    "tests/reference/honest_input.json tests/reference/honest_reference.csv"
)
# R's set.seed(0); rnorm(5), as R prints them (7 significant digits)
R_RNORM_SEED0 = [1.262954, -0.3262334, 1.329799, 1.272429, 0.4146414]


@dataclass(frozen=True)
class Study:
    """The committed event study (tests/reference/honest_input.json)."""

    beta: np.ndarray
    sigma: np.ndarray
    num_pre: int
    num_post: int
    lvec: np.ndarray
    alpha: float
    mbar: tuple[float, ...]
    times: tuple[int, ...]

    def cs(self, mbar: float, method: Method, **kw: Any) -> RMConfidenceSet:
        return rm_confidence_set(
            self.beta,
            self.sigma,
            self.num_pre,
            self.num_post,
            self.lvec,
            mbar,
            self.alpha,
            method,
            **kw,
        )

    def accepts(self, theta: float, mbar: float, method: Method) -> bool:
        return rm_accepts(
            theta,
            self.beta,
            self.sigma,
            self.num_pre,
            self.num_post,
            self.lvec,
            mbar,
            self.alpha,
            method,
        )

    def breakdown(self, method: Method, **kw: Any) -> RMBreakdown:
        return rm_breakdown(
            self.beta, self.sigma, self.num_pre, self.num_post, self.lvec, self.alpha, method, **kw
        )


@pytest.fixture(scope="module")
def study() -> Study:
    data = json.loads(INPUT.read_text(encoding="utf-8"))
    return Study(
        np.array(data["betahat"]),
        np.array(data["sigma"]),
        int(data["num_pre"]),
        int(data["num_post"]),
        np.array(data["l_vec"]),
        float(data["alpha"]),
        tuple(data["mbar"]),
        tuple(data["times"]),
    )


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE, dtype={"method": str})


@pytest.fixture(scope="module")
def sidecar() -> dict[str, Any]:
    return dict(json.loads(SIDECAR.read_text(encoding="utf-8")))


def lf_single_period(kappa: float) -> float:
    """c_LF of a single post period at Mbar = 0 (or known pre-periods): the two moments are
    +-(betahat_post - theta) / se, so the statistic under the least favourable null is
    |xi_1| / se with xi = Z Sigma_y^(1/2), Sigma_y = se^2 [[1, -1], [-1, 1]], i.e.
    |z_1 - z_2| / sqrt(2), over R's 1000 draws after set.seed(0)."""
    z = r_normals(2000, 0).reshape(1000, 2)
    return float(np.quantile(np.abs(z[:, 0] - z[:, 1]) / math.sqrt(2.0), 1 - kappa))


# ---------------------------------------------------------------------------------------------
# (a) closed forms


def test_mbar0_single_period_conditional_is_the_two_sided_normal_interval() -> None:
    """Mbar = 0, one post period: tau = beta_post, the moments are +-(b - theta)/se, the other
    vertex truncates the statistic at 0, so the set is b -+ z_{1-alpha/2} se."""
    b, se = 1.0, 0.5
    cs = rm_confidence_set([0.3, b], np.diag([0.04, se**2]), 1, 1, [1.0], 0.0, 0.05, "conditional")
    z = stats.norm.ppf(0.975)
    assert cs.conf_low == pytest.approx(b - z * se, abs=cs.tol)
    assert cs.conf_high == pytest.approx(b + z * se, abs=cs.tol)
    assert (cs.id_low, cs.id_high) == pytest.approx((b, b), abs=1e-12)
    assert cs.tol == pytest.approx(1e-7 * se)


def test_mbar0_single_period_c_lf_truncates_at_the_lf_critical_value() -> None:
    """C-LF: second stage at (alpha - kappa)/(1 - kappa) on N(0,1) truncated to [0, c_LF]."""
    alpha = 0.05
    kappa = alpha / 10
    b, se = -2.0, 0.3
    cs = rm_confidence_set([0.0, b], np.diag([1.0, se**2]), 1, 1, [1.0], 0.0, alpha, "c-lf")
    c_lf = lf_single_period(kappa)
    level = (alpha - kappa) / (1 - kappa)
    q = stats.truncnorm.ppf(1 - level, 0.0, c_lf)
    assert 2.6 < c_lf < 3.0  # the 99.5% quantile of |N(0,1)| is 2.807
    assert cs.conf_low == pytest.approx(b - q * se, abs=cs.tol)
    assert cs.conf_high == pytest.approx(b + q * se, abs=cs.tol)


@pytest.mark.parametrize("method", ["conditional", "c-lf"])
@pytest.mark.parametrize("mbar", [0.5, 2.0])
def test_known_pre_period_gives_the_truncated_one_sided_bound(method: Method, mbar: float) -> None:
    """One pre and one post period, pre coefficient b0 known (variance 0): the identified set
    is b1 -+ k se with k = Mbar |b0| / se, the binding moment's statistic is truncated below
    at -k, so the set is b1 -+ se (k + max(0, q)), q the 1 - level quantile of N(0, 1)
    truncated to [-k, inf) (conditional) or [-k, c_LF] (C-LF)."""
    b0, b1, se, alpha = 0.2, 1.0, 0.5, 0.05
    k = mbar * abs(b0) / se
    cs = rm_confidence_set([b0, b1], np.diag([0.0, se**2]), 1, 1, [1.0], mbar, alpha, method)
    if method == "conditional":
        q = stats.truncnorm.ppf(1 - alpha, -k, np.inf)
    else:
        kappa = alpha / 10
        q = stats.truncnorm.ppf(1 - (alpha - kappa) / (1 - kappa), -k, lf_single_period(kappa))
    half = se * (k + max(0.0, q))
    assert (cs.id_low, cs.id_high) == pytest.approx((b1 - k * se, b1 + k * se), abs=1e-12)
    assert cs.conf_low == pytest.approx(b1 - half, abs=cs.tol)
    assert cs.conf_high == pytest.approx(b1 + half, abs=cs.tol)


def test_long_identified_set_approaches_it_plus_one_sided_normal_quantile() -> None:
    """With the pre-period known and the identified set long relative to the standard error,
    the conditional set is the identified set widened by z_{1-alpha} se on each side."""
    se = 0.01
    cs = rm_confidence_set([0.2, 1.0], np.diag([0.0, se**2]), 1, 1, [1.0], 1.0, 0.05, "conditional")
    z = stats.norm.ppf(0.95)
    assert cs.id_high - cs.id_low == pytest.approx(0.4)
    assert cs.conf_low == pytest.approx(cs.id_low - z * se, abs=1e-9)
    assert cs.conf_high == pytest.approx(cs.id_high + z * se, abs=1e-9)


def test_identified_set_closed_form(study: Study) -> None:
    """Delta^RM at beta: post differences in [-Mbar m, Mbar m], m the largest absolute pre
    difference, so l'delta_post ranges over Mbar m sum_j |sum_{t>=j} l_t| on each side."""
    rng = np.random.default_rng(20260515)
    cases = [(study.beta, study.num_pre, study.num_post, study.lvec)]
    cases += [(rng.normal(size=7), 3, 4, rng.uniform(-1, 1, size=4)) for _ in range(5)]
    for beta, num_pre, num_post, lvec in cases:
        pre = np.diff(np.concatenate([beta[:num_pre], [0.0]]))
        m = np.abs(pre).max()
        reach = np.abs(np.cumsum(lvec[::-1])[::-1]).sum()
        point = lvec @ beta[num_pre:]
        for mbar in (0.0, 0.5, 1.7):
            low, high = rm_identified_set(beta, num_pre, num_post, lvec, mbar)
            assert low == pytest.approx(point - mbar * m * reach, abs=1e-10)
            assert high == pytest.approx(point + mbar * m * reach, abs=1e-10)


# ---------------------------------------------------------------------------------------------
# The engine's parts against independent computations


def test_r_normals_are_rs_draws(sidecar: dict[str, Any]) -> None:
    z = r_normals(12000, 0)
    assert z[:5] == pytest.approx(R_RNORM_SEED0, abs=5e-7)
    recorded = sidecar["rnorm_seed0"]
    for index, value in zip(recorded["index"], recorded["value"], strict=True):
        assert z[int(index) - 1] == pytest.approx(float(value), rel=1e-14, abs=1e-15)


def test_lf_critical_values_are_rs(study: Study, sidecar: dict[str, Any]) -> None:
    """HonestDiD simulates c_LF (1000 draws after set.seed(0)); the engine makes the same
    draws, so each piece's c_LF agrees to the precision of R's per-draw LPs (lpSolveAPI's
    optima differ from the exact vertex maxima by up to ~1e-8; measured: <= 9.3e-9)."""
    kappa = study.alpha / 10
    by_mbar: dict[float, list[dict[str, Any]]] = {}
    for row in sidecar["lf_cv"]:
        by_mbar.setdefault(float(row["mbar"]), []).append(row)
    assert set(by_mbar) == set(study.mbar)
    for mbar, rows in by_mbar.items():
        pieces = arp_inference._build_pieces(
            study.beta, study.sigma, study.num_pre, study.num_post, study.lvec, mbar, kappa, 1000, 0
        )
        order = arp_inference._pieces(study.num_pre)
        for row in rows:
            index = order.index(
                (study.num_pre - 1 + int(row["s"]), 1.0 if row["max_positive"] else -1.0)
            )
            assert pieces.lf_cv[index] == pytest.approx(float(row["lf_cv"]), abs=2e-8)


def lp_statistic(y: np.ndarray, x: np.ndarray) -> float:
    """min eta s.t. y - x u <= eta (scipy's HiGHS)."""
    m, k = x.shape
    res = linprog(
        np.r_[1.0, np.zeros(k)],
        A_ub=-np.column_stack([np.ones(m), x]),
        b_ub=-y,
        bounds=[(None, None)] * (k + 1),
        method="highs",
    )
    assert res.status == 0
    return float(res.fun)


def enumerated_vertices(x: np.ndarray) -> np.ndarray:
    """Vertices of {g >= 0, g'1 = 1, g'x = 0} by brute force: the basic solutions
    g_B = W_B'^{-1} e_1, W = [1, U] (U an orthonormal basis of x's columns), over every set B
    of rank(W) rows, kept when >= 0; rows sorted, duplicates dropped."""
    m = x.shape[0]
    u, sv, _ = np.linalg.svd(x, full_matrices=False)
    w = np.column_stack([np.ones(m), u[:, : int(np.sum(sv > sv[0] * 1e-10))]])
    p = w.shape[1]
    found = []
    for rows in itertools.combinations(range(m), p):
        wb = w[list(rows)].T
        if abs(np.linalg.det(wb)) < 1e-12:
            continue
        g = np.linalg.solve(wb, np.eye(p)[0])
        if np.all(g >= -1e-10):
            full = np.zeros(m)
            full[list(rows)] = g
            found.append(np.round(full, 10) + 0.0)
    return np.unique(np.array(found), axis=0)


def post_design(lvec: np.ndarray) -> np.ndarray:
    """X = [P; -P] N: the post-period rows of every piece on the nuisance directions."""
    num_post = len(lvec)
    rows, _ = arp_inference._piece_rows(2, num_post, 0, 1.0, 0.7)
    _, _, vt = np.linalg.svd(lvec[None, :])
    return np.asarray(rows[:, 2:] @ vt[1:].T)


def test_closed_form_vertices_are_all_vertices() -> None:
    """The num_post + 2 points of _rm_rays lie in F and include every vertex that a
    brute-force enumeration of bases finds, for any weights l (positive, mixed signs, zeros,
    one period) and moment scales."""
    rng = np.random.default_rng(3)
    weights = [np.ones(1), np.full(6, 1 / 6), np.array([0.5, -0.2, 0.0, 1.0]), rng.normal(size=5)]
    weights.append(np.array([-1.0, 1.0, 0.0]))  # L = (0, 1, 0): a pair is not a vertex
    for lvec in weights:
        sd = rng.uniform(0.5, 2.0, size=2 * len(lvec))
        x = post_design(lvec) / sd[:, None] if len(lvec) > 1 else np.zeros((2, 1))
        closed = arp_inference._dual_vertices(arp_inference._rm_rays(lvec), sd)
        assert len(closed) == len(lvec) + 2
        assert np.all(closed >= 0) and np.allclose(closed.sum(axis=1), 1.0)
        assert np.allclose(closed @ x, 0.0, atol=1e-12)
        for vertex in enumerated_vertices(x):
            assert np.abs(closed - vertex).max(axis=1).min() < 1e-9, (lvec, vertex)


def test_vertex_maximum_is_the_lp_statistic(study: Study) -> None:
    """eta_hat = max over the dual vertices = the primal LP's value on the study's moments,
    so V_lo and V_up, computed from the same vertices, are exact."""
    rng = np.random.default_rng(7)
    rows, _ = arp_inference._piece_rows(study.num_pre, study.num_post, 1, -1.0, 1.3)
    sd = np.sqrt(np.diag(rows @ study.sigma @ rows.T))
    verts = arp_inference._dual_vertices(arp_inference._rm_rays(study.lvec), sd)
    assert np.all(verts >= 0) and np.allclose(verts.sum(axis=1), 1.0)
    x = post_design(study.lvec) / sd[:, None]
    assert np.allclose(verts @ x, 0.0, atol=1e-12)
    for _ in range(50):
        y = rng.normal(size=len(sd)) * 3
        assert (verts @ y).max() == pytest.approx(lp_statistic(y, x), abs=1e-9)


def test_truncated_normal_quantile() -> None:
    lo = np.array([-np.inf, -1.0, 0.0, 2.0, -3.0, -40.0, 5.0])
    hi = np.array([np.inf, 1.5, np.inf, 4.0, -2.0, -38.0, np.inf])
    for p in (0.05, 0.5, 0.955):
        got = arp_inference._truncnorm_quantile(p, lo, hi)
        assert got == pytest.approx(stats.truncnorm.ppf(p, lo, hi), rel=1e-9)
    # far in the upper tail: q is about lo - log(1 - p) / lo
    far = arp_inference._truncnorm_quantile(0.95, np.array([30.0]), np.array([np.inf]))[0]
    assert far == pytest.approx(30.0 - math.log(0.05) / 30.0, rel=1e-4)
    assert 30.0 < far < 30.2


# ---------------------------------------------------------------------------------------------
# (b) monotone in Mbar, (e) invariance, determinism


@pytest.mark.parametrize("method", ["conditional", "c-lf"])
def test_sets_grow_with_mbar(study: Study, method: Method) -> None:
    sets = [study.cs(float(m), method) for m in np.linspace(0, 2, 9)]
    lows = np.array([s.conf_low for s in sets])
    highs = np.array([s.conf_high for s in sets])
    assert np.all(np.diff(lows) < 0) and np.all(np.diff(highs) > 0)
    for s in sets:
        assert s.conf_low < s.id_low <= s.id_high < s.conf_high
        assert not (s.open_low or s.open_high)


@pytest.mark.parametrize("c", [1e-3, 7.3])
def test_scaling_betahat_and_sigma_root_scales_the_endpoints(study: Study, c: float) -> None:
    scaled = replace(study, beta=c * study.beta, sigma=c**2 * study.sigma)
    methods: tuple[Method, ...] = ("conditional", "c-lf")
    for method in methods:
        for mbar in (0.0, 1.0):
            base, big = study.cs(mbar, method), scaled.cs(mbar, method)
            assert big.tol == pytest.approx(c * base.tol)
            assert big.conf_low == pytest.approx(c * base.conf_low, abs=c * base.tol)
            assert big.conf_high == pytest.approx(c * base.conf_high, abs=c * base.tol)
            assert big.id_low == pytest.approx(c * base.id_low, rel=1e-12)
    b0 = study.breakdown("c-lf", mbar_max=3.0)
    b1 = scaled.breakdown("c-lf", mbar_max=3.0)
    assert b0.value is not None and b1.value is not None
    assert b1.value == pytest.approx(b0.value, abs=b0.tol)


def test_deterministic(study: Study) -> None:
    first = study.cs(1.5, "c-lf")
    assert study.cs(1.5, "c-lf") == first


def test_set_is_where_the_test_accepts(study: Study) -> None:
    cs = study.cs(1.0, "c-lf")
    for end, outward in ((cs.conf_low, -1.0), (cs.conf_high, 1.0)):
        assert study.accepts(end - outward * cs.tol, 1.0, "c-lf")
        assert not study.accepts(end + outward * cs.tol, 1.0, "c-lf")


def test_breakdown_edges(study: Study) -> None:
    assert study.breakdown("c-lf", mbar_max=0.5).value is None
    shifted = study.beta.copy()
    post = shifted[study.num_pre :]
    post -= study.lvec @ post / study.lvec.sum()  # target estimate 0
    assert replace(study, beta=shifted).breakdown("conditional").value == 0.0


def test_bad_input(study: Study) -> None:
    with pytest.raises(ValueError, match="method"):
        study.cs(1.0, "flci")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mbar"):
        study.cs(-1.0, "c-lf")
    with pytest.raises(ValueError, match="betahat"):
        replace(study, beta=study.beta[:-1]).cs(1.0, "c-lf")
    with pytest.raises(ValueError, match="sigma"):
        replace(study, sigma=study.sigma[:-1]).cs(1.0, "c-lf")
    with pytest.raises(ValueError, match="alpha"):
        replace(study, alpha=1.5).cs(1.0, "c-lf")


# ---------------------------------------------------------------------------------------------
# (c), (d) against R's HonestDiD 0.2.6


def test_reference_is_for_the_committed_input(study: Study, sidecar: dict[str, Any]) -> None:
    assert sidecar["input_sha256"] == hashlib.sha256(INPUT.read_bytes()).hexdigest(), REGENERATE
    assert sidecar["packages"]["HonestDiD"] == "0.2.6"
    read = sidecar["input_as_read"]
    assert np.array_equal(np.array(read["betahat"], dtype=float), study.beta)
    assert np.array_equal(np.array(read["sigma"], dtype=float), study.sigma.reshape(-1))
    assert np.array_equal(np.array(read["l_vec"], dtype=float), study.lvec)


@pytest.mark.slow
def test_input_is_the_current_event_study(tmp_path: Path) -> None:
    """honest_input.json holds the event study the project estimates today (else regenerate):
    tools/honest_input.py writes it again under the precision policy, byte for byte or (a
    value on a rounding boundary of its 10th digit) within the policy's tolerance."""
    from tests._regen import assert_regenerates, tool

    again = tmp_path / "honest_input.json"
    again.write_text(tool("honest_input").build(), encoding="utf-8")
    assert_regenerates(INPUT, again)


def reference_rows(reference: pd.DataFrame, kind: str, method: str) -> list[dict[str, float]]:
    rows = reference[(reference["kind"] == kind) & (reference["method"] == method)]
    cols = ["parameter", "conf_low", "conf_high", "resolution"]
    return [{c: float(r[c]) for c in cols} for r in rows.to_dict("records")]


def test_identified_sets_match_r(study: Study, reference: pd.DataFrame) -> None:
    rows = reference_rows(reference, "identified_set", "identified")
    assert [r["parameter"] for r in rows] == list(study.mbar)
    for r in rows:
        low, high = rm_identified_set(
            study.beta, study.num_pre, study.num_post, study.lvec, r["parameter"]
        )
        assert (low, high) == pytest.approx((r["conf_low"], r["conf_high"]), abs=1e-12)


# R's refined ends are accepted grid values of a final grid with step `resolution` (<= 1e-6):
# each lies inside the true end by at most that step. The engine's ends are within 1e-7 SE
# (6e-10 here) of the boundary. SLACK absorbs the rest: R decides with lpSolve/GLPK and a
# bisection for V_lo/V_up to 1e-6 in statistic units, which moves a boundary by ~1e-9.
SLACK = 2e-8
R_METHOD: dict[str, Method] = {"C-LF": "c-lf", "Conditional": "conditional"}


@pytest.mark.parametrize("r_method", ["C-LF", "Conditional"])
def test_relative_magnitude_sets_match_r(
    study: Study, reference: pd.DataFrame, r_method: str
) -> None:
    rows = reference_rows(reference, "set", r_method)
    assert [r["parameter"] for r in rows] == list(study.mbar)
    for r in rows:
        cs = study.cs(r["parameter"], R_METHOD[r_method])
        step = r["resolution"]
        assert step <= 1e-6
        assert -SLACK <= r["conf_low"] - cs.conf_low <= step + SLACK, (r, cs)
        assert -SLACK <= cs.conf_high - r["conf_high"] <= step + SLACK, (r, cs)


@pytest.mark.parametrize("r_method", ["C-LF", "Conditional"])
def test_breakdown_matches_r(study: Study, reference: pd.DataFrame, r_method: str) -> None:
    """R bisects on Mbar to `resolution` (1e-6) and reports the upper end of its bracket."""
    (r,) = reference_rows(reference, "breakdown", r_method)
    got = study.breakdown(R_METHOD[r_method])
    assert got.value is not None
    assert abs(got.value - r["parameter"]) <= r["resolution"] + got.tol
