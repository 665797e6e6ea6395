"""Outcomes brought to order one before a library fits them.

Several libraries stop an iteration on an absolute change (pyfixest's and fixest's demeaning,
diff-diff's imputation): on an outcome of order 1e-5 (a rate) they stop after a few digits.
Least squares and the estimators built on it are linear in the outcome, so the fit runs on
the outcome multiplied by a power of two that brings its standard deviation into [0.5, 1),
and estimates and standard errors are divided by it again: a power of two changes no bit of
a product, so on an outcome already of order one the arithmetic is the library's own."""

from __future__ import annotations

import numpy as np
import pandas as pd


def unit_scale(values: pd.Series | np.ndarray) -> float:
    """The power of two that brings the values' standard deviation into [0.5, 1) (1 when
    they have none)."""
    sd = float(pd.Series(np.asarray(values, dtype=float)).std())
    if not np.isfinite(sd) or sd <= 0:
        return 1.0
    return float(2.0 ** -(np.floor(np.log2(sd)) + 1))
