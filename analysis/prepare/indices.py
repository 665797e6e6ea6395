"""Composite indices: pure numerical functions, tested against hand-computed values.

Entropy-weight index (the resilience index and the digital-economy index)
-------------------------------------------------------------------------
For indicators j = 1..m observed on n city-years i:

1. Min-max normalization with direction: x'_ij = (x_ij - min_j) / (max_j - min_j) for a
   positive indicator, (max_j - x_ij) / (max_j - min_j) for a negative one; x' is in [0, 1].
2. Shares, after a small shift s (default 1e-4) that keeps log(0) away:
   p_ij = (x'_ij + s) / sum_i (x'_ij + s).
3. Entropy e_j = -(1 / ln n) sum_i p_ij ln p_ij; divergence d_j = 1 - e_j.
4. Weights w_j = d_j / sum_j d_j.
5. Index_i = sum_j w_j x'_ij (on the unshifted normalized values), in [0, 1].

"pooled" takes min, max and weights over the whole panel (comparable across years);
"per_year" takes them year by year.

Theil index of industrial structure (rationalization)
-----------------------------------------------------
With value added Y_k and employment L_k of the three sectors k and totals Y, L:
TL = sum_k (Y_k / Y) ln[(Y_k / L_k) / (Y / L)]. TL = 0 when every sector's labour
productivity equals the economy's (output shares equal employment shares); larger TL is a
less rational structure. The study's `rationalization` variable is -TL, so that a higher
value is a more rational structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class EntropyFit:
    """What the entropy method learned from the data: kept to apply to other data."""

    columns: tuple[str, ...]
    directions: tuple[str, ...]
    minimum: tuple[float, ...]
    maximum: tuple[float, ...]
    weights: tuple[float, ...]
    entropy: tuple[float, ...]


def normalize(
    x: np.ndarray, directions: tuple[str, ...], lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Min-max normalize columns of `x` with direction; constant columns are an error."""
    span = hi - lo
    if np.any(span <= 0):
        raise ValueError("an indicator is constant: min-max normalization is undefined")
    pos = (x - lo) / span
    sign = np.array([d == "+" for d in directions])
    return np.where(sign, pos, 1.0 - pos)


def entropy_fit(
    frame: pd.DataFrame, directions: tuple[str, ...], shift: float = 1e-4
) -> EntropyFit:
    """Learn min, max and entropy weights of the columns of `frame` (no missing values)."""
    x = frame.to_numpy(dtype=float)
    if np.isnan(x).any():
        raise ValueError("entropy weights need complete data")
    n = x.shape[0]
    if n < 2:
        raise ValueError("entropy weights need at least two observations")
    lo, hi = x.min(axis=0), x.max(axis=0)
    z = normalize(x, directions, lo, hi) + shift
    p = z / z.sum(axis=0)
    e = -(p * np.log(p)).sum(axis=0) / np.log(n)
    d = 1.0 - e
    w = d / d.sum()
    return EntropyFit(
        columns=tuple(frame.columns),
        directions=tuple(directions),
        minimum=tuple(lo.tolist()),
        maximum=tuple(hi.tolist()),
        weights=tuple(w.tolist()),
        entropy=tuple(e.tolist()),
    )


def entropy_apply(fit: EntropyFit, frame: pd.DataFrame) -> np.ndarray:
    """The index of `frame` under a fitted normalization and weights (linear in the data)."""
    x = frame[list(fit.columns)].to_numpy(dtype=float)
    z = normalize(x, fit.directions, np.array(fit.minimum), np.array(fit.maximum))
    return z @ np.array(fit.weights)


def entropy_index(
    frame: pd.DataFrame,
    directions: tuple[str, ...],
    by: pd.Series | None = None,
    shift: float = 1e-4,
) -> tuple[np.ndarray, dict[str, EntropyFit]]:
    """The entropy-weight index of the rows of `frame`, pooled or by the groups in `by`."""
    if by is None:
        fit = entropy_fit(frame, directions, shift)
        return entropy_apply(fit, frame), {"pooled": fit}
    out = np.empty(len(frame))
    fits: dict[str, EntropyFit] = {}
    for key, idx in frame.groupby(by.to_numpy(), sort=True).indices.items():
        part = frame.iloc[idx]
        fit = entropy_fit(part, directions, shift)
        out[idx] = entropy_apply(fit, part)
        fits[str(key)] = fit
    return out, fits


def theil(value_added: np.ndarray, employment: np.ndarray) -> np.ndarray:
    """Theil index of structural deviation, row by row, over sector columns."""
    va = np.asarray(value_added, dtype=float)
    emp = np.asarray(employment, dtype=float)
    if np.any(va <= 0) or np.any(emp <= 0):
        raise ValueError("the Theil index needs positive value added and employment")
    y, lab = va.sum(axis=1, keepdims=True), emp.sum(axis=1, keepdims=True)
    share = va / y
    return (share * np.log((va / emp) / (y / lab))).sum(axis=1)
