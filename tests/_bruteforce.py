"""A brute-force reference for fixed-effects regressions: OLS with explicit dummy variables
and a cluster-robust sandwich written out from its textbook formula. Independent of
pyfixest: it shares no code with the project's estimators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class DummyOLS:
    coef: pd.Series
    vcov: pd.DataFrame
    n_obs: int
    n_clusters: int
    k_full: int


def dummy_ols(
    data: pd.DataFrame,
    y: str,
    x: list[str],
    fe: list[str],
    cluster: str,
    k_for_ssc: str = "nonnested",
) -> DummyOLS:
    """OLS of y on x plus one dummy per level of each FE (first level of later FEs dropped).

    Clustered vcov: V = c (X'X)^-1 (sum_g X_g'u_g u_g'X_g) (X'X)^-1 with
    c = G/(G-1) * (N-1)/(N-K). K counts the coefficients of x plus the FE dummies, except that
    under 'nonnested' the dummies of a FE nested in the cluster variable are replaced by one
    (they are absorbed by the clusters but an intercept remains), as fixest and pyfixest
    define it; 'full' counts all FE dummies.
    """
    blocks = [data[x].to_numpy(float)]
    nested_levels = 0
    for i, f in enumerate(fe):
        d = pd.get_dummies(data[f], drop_first=i > 0).to_numpy(float)
        blocks.append(d)
        if data.groupby(f)[cluster].nunique().max() == 1:
            nested_levels += d.shape[1] - (1 if i == 0 else 0)
    X = np.hstack(blocks)
    Y = data[y].to_numpy(float)
    XtX_inv = np.linalg.inv(X.T @ X)
    beta = XtX_inv @ X.T @ Y
    u = Y - X @ beta
    groups = data[cluster].to_numpy()
    meat = np.zeros((X.shape[1], X.shape[1]))
    for g in np.unique(groups):
        s = X[groups == g].T @ u[groups == g]
        meat += np.outer(s, s)
    n, k_full = X.shape
    G = len(np.unique(groups))
    k = k_full - nested_levels if k_for_ssc == "nonnested" else k_full
    c = G / (G - 1) * (n - 1) / (n - k)
    V = c * XtX_inv @ meat @ XtX_inv
    p = len(x)
    return DummyOLS(
        coef=pd.Series(beta[:p], index=x),
        vcov=pd.DataFrame(V[:p, :p], index=x, columns=x),
        n_obs=n,
        n_clusters=G,
        k_full=k_full,
    )
