"""A hand-written cross-fitting of the partially linear model, written from the formulas
(Chernozhukov et al. 2018, partialling-out score; Chiang, Kato, Ma and Sasaki 2022, one-way
cluster DML) and independent of doubleml, to check the project's DML on fixed folds.

Score psi_i = (u_i - theta v_i) v_i with u = Y - l_hat(X), v = D - m_hat(X) out of fold.
With city clusters and folds of whole cities (I_k: the cities of fold k, K folds, G cities):
    theta = sum_k |I_k|^-1 sum_{i in fold k} v_i u_i / sum_k |I_k|^-1 sum_{i in fold k} v_i^2
    J     = K^-1 sum_k |I_k|^-1 sum_{i in fold k} (-v_i^2)
    Gamma = K^-1 sum_k |I_k|^-1 sum_{c in I_k} (sum_{i in c} psi_i)^2
    se    = sqrt(Gamma / (J^2 G))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def within(frame: pd.DataFrame, by: np.ndarray) -> pd.DataFrame:
    """x - mean of x in its city + grand mean (the 'wg_approx' transformation)."""
    return frame - frame.groupby(by).transform("mean") + frame.mean()


def design_matrices(
    panel: pd.DataFrame, outcome: str, controls: list[str], fe: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """y, d, X and the city of each row, built by hand from the panel (sorted by city, year)."""
    data = panel.sort_values(["city_code", "year"]).reset_index(drop=True)
    years = sorted(data["year"].unique())[1:]
    ydum = pd.DataFrame({f"y{t}": (data["year"] == t).astype(float) for t in years})
    parts = [data[[outcome, "treat_post", *controls]].astype(float), ydum]
    if fe == "dummies":
        cities = sorted(data["city_code"].unique())[1:]
        parts.append(
            pd.DataFrame({f"c{c}": (data["city_code"] == c).astype(float) for c in cities})
        )
    frame = pd.concat(parts, axis=1)
    if fe == "within":
        frame = within(frame, data["city_code"].to_numpy())
    y = frame[outcome].to_numpy()
    d = frame["treat_post"].to_numpy()
    X = frame.drop(columns=[outcome, "treat_post"]).to_numpy()
    return y, d, X, data["city_code"].to_numpy()


def cross_fit(
    y: np.ndarray,
    d: np.ndarray,
    X: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    make_l: Callable[[], object],
    make_m: Callable[[], object],
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions of E[Y|X] and E[D|X]."""
    l_hat = np.full(len(y), np.nan)
    m_hat = np.full(len(y), np.nan)
    for train, test in folds:
        l_hat[test] = make_l().fit(X[train], y[train]).predict(X[test])  # type: ignore[attr-defined]
        m_hat[test] = make_m().fit(X[train], d[train]).predict(X[test])  # type: ignore[attr-defined]
    return l_hat, m_hat


def theta_se(
    y: np.ndarray,
    d: np.ndarray,
    l_hat: np.ndarray,
    m_hat: np.ndarray,
    city: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[float, float]:
    """The cluster-DML estimate and standard error of one repetition."""
    u, v = y - l_hat, d - m_hat
    K = len(folds)
    fold_cities = [np.unique(city[test]) for _, test in folds]
    num = sum(
        np.sum(v[test] * u[test]) / len(c) for (_, test), c in zip(folds, fold_cities, strict=True)
    )
    den = sum(
        np.sum(v[test] ** 2) / len(c) for (_, test), c in zip(folds, fold_cities, strict=True)
    )
    theta = num / den
    psi = (u - theta * v) * v
    J = (
        sum(
            np.sum(-(v[test] ** 2)) / len(c)
            for (_, test), c in zip(folds, fold_cities, strict=True)
        )
        / K
    )
    gamma = 0.0
    for c_list in fold_cities:
        gamma += sum(np.sum(psi[city == c]) ** 2 for c in c_list) / len(c_list)
    gamma /= K
    G = len(np.unique(city))
    return float(theta), float(np.sqrt(gamma / (J**2 * G)))


def manual_plr(
    y: np.ndarray,
    d: np.ndarray,
    X: np.ndarray,
    city: np.ndarray,
    reps: list[list[tuple[np.ndarray, np.ndarray]]],
    make_l: Callable[[], object],
    make_m: Callable[[], object],
) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """theta and se per repetition, and the out-of-fold predictions."""
    thetas, ses, preds = [], [], []
    for folds in reps:
        l_hat, m_hat = cross_fit(y, d, X, folds, make_l, make_m)
        t, s = theta_se(y, d, l_hat, m_hat, city, folds)
        thetas.append(t)
        ses.append(s)
        preds.append((l_hat, m_hat))
    return np.array(thetas), np.array(ses), preds


def median_rules(thetas: np.ndarray, ses: np.ndarray) -> dict[str, tuple[float, float]]:
    """DoubleML's aggregation and Chernozhukov et al.'s, written out."""
    med = float(np.median(thetas))
    upper = float(np.median(thetas + 1.96 * ses))
    adjusted = float(np.sqrt(np.median(ses**2 + (thetas - med) ** 2)))
    return {"doubleml": (med, (upper - med) / 1.96), "cddhnr": (med, adjusted)}
