"""pyfixest 0.60's GMM-corrected variance of Gardner's two-stage DID in linear time, for the
duration of a `linear_time()` block.

pyfixest's `_did2s_vcov` builds the first stage's design as a dense matrix, rows x (units +
periods) (860 MB at 40,000 rows and 2,667 units; 85 GB at 400,000), and then finds each
cluster's rows by comparing the whole cluster column with its value (clusters x rows): 13 of
the 15 s of the event-study-estimators exhibit at 40,000 rows. Its variance is

    V = X2'X1 (X10'X10)^-1,  W_g = X2_g'u2_g - V X10_g'u1_g,
    vcov = sum_g A^-1 W_g W_g' A^-1,  A = X2'X2,

with X1 the unit and period dummies, X10 the same with the treated rows set to zero, X2 the
second stage's regressors and u1, u2 the two stages' residuals. Here (X10'X10) B = X1'X2 is
solved by eliminating the unit block (diagonal: each unit's untreated rows) and solving the
periods' Schur complement (periods x periods), so V X10_g'u1_g is a sum over the cluster's
untreated rows of u1_i (B[unit_i] + B[period_i]); every cluster's W_g comes from one grouped
sum. No dummy matrix, no per-cluster scan; the second stage's design is still pyfixest's own
model matrix (its columns, order and full-rank handling).

The replacement handles the case the project calls (first stage `~ 0 | unit + period`, no
weights, one cluster variable, a non-singular first-stage system); anything else, or another
pyfixest version than `VERIFIED`, runs the library's own function.
tests/test_did2s_linear_time.py holds it to pyfixest's on balanced and unbalanced panels.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

VERIFIED = "0.60.0"
# A Schur complement whose smallest eigenvalue is below this share of its largest is treated
# as singular: the library's own function then runs (and reports it as it does).
SINGULAR_RTOL = 1e-12


def _library() -> Any:
    return importlib.import_module("pyfixest.did.did2s")._did2s_vcov


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    codes, levels = pd.factorize(values, sort=True)
    return codes.astype(np.intp), len(levels)


def _second_stage(data: pd.DataFrame, yname: str, second_stage: str) -> np.ndarray:
    """X2 exactly as pyfixest's `_did2s_vcov` builds it (its model matrix, intercept dropped)."""
    from pyfixest.estimation.formula import model_matrix
    from pyfixest.estimation.formula.parse import Formula

    fml = Formula(_second_stage=f"{yname} ~ {second_stage.replace('~', '').strip()}")
    mm = model_matrix.create_model_matrix(
        formula=fml,
        data=data,
        weights=None,
        drop_singletons=False,
        ensure_full_rank=True,
        drop_intercept=True,
    )
    return np.asarray(mm.independent.to_numpy(), dtype=float)


def _first_stage_fe(first_stage: str) -> tuple[str, str] | None:
    """(unit, period) of a first stage `~ 0 | unit + period`, else None."""
    x, _, fe = first_stage.replace(" ", "").partition("|")
    names = fe.split("+")
    if x not in ("~0", "~1") or len(names) != 2 or not all(names):
        return None
    return names[0], names[1]


def vcov(
    data: pd.DataFrame,
    yname: str,
    first_stage: str,
    second_stage: str,
    treatment: str,
    first_u: np.ndarray,
    second_u: np.ndarray,
    cluster: str,
    weights: str | None = None,
) -> tuple[np.ndarray, int]:
    """pyfixest's `_did2s_vcov` (same signature and result), in linear time where it can."""
    args = (data, yname, first_stage, second_stage, treatment, first_u, second_u, cluster)
    fe = _first_stage_fe(first_stage)
    if weights is not None or fe is None or len(second_u) != len(data):
        return _library()(*args, weights=weights)
    unit, n_units = _codes(data[fe[0]])
    period, n_periods = _codes(data[fe[1]])
    untreated = ~data[treatment].to_numpy(dtype=bool)
    x2 = _second_stage(data, yname, second_stage)
    k = x2.shape[1]

    # X1'X2 and the blocks of X10'X10 (the first period's dummy dropped, as pyfixest does)
    r_u = np.column_stack([np.bincount(unit, weights=c, minlength=n_units) for c in x2.T])
    r_t = np.column_stack([np.bincount(period, weights=c, minlength=n_periods) for c in x2.T])
    d_u = np.bincount(unit[untreated], minlength=n_units).astype(float)
    d_t = np.bincount(period[untreated], minlength=n_periods).astype(float)
    if (d_u == 0).any() or (d_t[1:] == 0).any():  # X10'X10 singular
        return _library()(*args, weights=weights)
    cells = sp.csr_matrix(  # untreated rows per unit and period (but the first)
        (np.ones(int(untreated.sum())), (unit[untreated], period[untreated])),
        shape=(n_units, n_periods),
    )[:, 1:]
    scaled = sp.diags(1.0 / d_u) @ cells  # D_u^-1 C
    schur = np.diag(d_t[1:]) - (cells.T @ scaled).toarray()
    eig = np.linalg.eigvalsh(schur) if len(schur) else np.ones(1)
    if eig.min() <= SINGULAR_RTOL * eig.max():
        return _library()(*args, weights=weights)
    b_t = np.zeros((n_periods, k))
    b_t[1:] = np.linalg.solve(schur, r_t[1:] - scaled.T @ r_u)
    b_u = (r_u - cells @ b_t[1:]) / d_u[:, None]

    # W_g = sum over the cluster's rows of x2_i u2_i - [untreated] u1_i (B[unit_i] + B[t_i])
    u1 = np.asarray(first_u, dtype=float)
    u2 = np.asarray(second_u, dtype=float)
    per_row = x2 * u2[:, None] - (untreated * u1)[:, None] * (b_u[unit] + b_t[period])
    cl = pd.factorize(data[cluster])[0]
    n_clusters = int(cl.max()) + 1
    w = np.column_stack([np.bincount(cl, weights=col, minlength=n_clusters) for col in per_row.T])
    score = np.linalg.solve(x2.T @ x2, w.T)  # k x G
    return score @ score.T, int(data[cluster].nunique())


@contextmanager
def linear_time() -> Iterator[None]:
    """Within the block, pyfixest's `did2s` computes its variance by `vcov` (pyfixest
    `VERIFIED` only); the library's function is restored after the block, also on an error."""
    import pyfixest

    estimation: Any = importlib.import_module("pyfixest.did.estimation")
    if pyfixest.__version__ != VERIFIED:
        yield
        return
    original = estimation._did2s_vcov
    estimation._did2s_vcov = vcov
    try:
        yield
    finally:
        estimation._did2s_vcov = original
