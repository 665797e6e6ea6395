"""HonestDiD's robust confidence sets of an event study (Rambachan and Roth 2023), as R's
HonestDiD 0.2.6 computes them, for the mean of the post-treatment coefficients: relative
magnitudes by the Andrews-Roth-Pakes test inversion (analysis.estimators.honest_rm),
smoothness by the fixed-length interval (analysis.estimators.honest_sd), each with its
breakdown value. The input is one EventStudyFit (coefficients, covariance, event times,
reference period), normalised to -1 as the restrictions are stated."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.estimators import honest_rm, honest_sd
from analysis.estimators.event_time import EventStudyFit

HONEST_REF = -1  # the restrictions are stated for coefficients normalised to t = -1
BREAKDOWN_TOL = 1e-6  # Mbar bisection tolerance (the endpoints themselves: 1e-7 relative)
RM_BREAKDOWN_MAX = 10.0  # honest_rm.rm_breakdown's search range of Mbar


def relative_magnitudes(
    fit: EventStudyFit, method: honest_rm.Method, grid: tuple[float, ...], alpha: float
) -> tuple[pd.DataFrame, honest_sd.Breakdown]:
    """The Andrews-Roth-Pakes sets over the Mbar grid and the breakdown value."""
    lvec, _, _ = fit.target()
    num_pre = int(np.sum(~fit.post))
    num_post = len(fit.times) - num_pre
    args = (fit.coef, fit.vcov, num_pre, num_post, lvec)
    sets = honest_rm.rm_sensitivity(*args, list(grid), alpha, method)
    frame = pd.DataFrame(
        {
            "parameter": [s.mbar for s in sets],
            "conf_low": [s.conf_low for s in sets],
            "conf_high": [s.conf_high for s in sets],
            "bound_low": [s.id_low for s in sets],
            "bound_high": [s.id_high for s in sets],
        }
    )
    found = honest_rm.rm_breakdown(*args, alpha, method, tol=BREAKDOWN_TOL)
    value = None if found.value is None else float(found.value)
    return frame, honest_sd.Breakdown(value, RM_BREAKDOWN_MAX, BREAKDOWN_TOL)


def m_grid(fit: EventStudyFit, configured: tuple[float, ...] | None) -> tuple[float, ...]:
    """The smoothness grid: the configured one, or HonestDiD's default ("auto")."""
    if configured is not None:
        return configured
    return honest_sd.default_m_grid(fit.coef, fit.vcov, int(np.sum(~fit.post)))


def smoothness(
    fit: EventStudyFit, grid: tuple[float, ...], alpha: float
) -> tuple[pd.DataFrame, honest_sd.Breakdown]:
    """The FLCI over the M grid (as R's HonestDiD computes it) and its breakdown value."""
    lvec, _, _ = fit.target()
    num_pre = int(np.sum(~fit.post))
    rows = []
    for m in grid:
        r = honest_sd.flci(fit.coef, fit.vcov, num_pre, lvec, m, alpha)
        lo, hi = honest_sd.identified_set(fit.coef, num_pre, lvec, m)
        rows.append((m, r.conf_low, r.conf_high, lo, hi))
    frame = pd.DataFrame(
        rows, columns=["parameter", "conf_low", "conf_high", "bound_low", "bound_high"]
    )
    upper, tol = honest_sd.breakdown_range(grid)
    found = honest_sd.breakdown(fit.coef, fit.vcov, num_pre, lvec, alpha, upper, tol)
    return frame, found
