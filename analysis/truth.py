"""Estimates beside the known truth of simulated data (`FILE.truth.json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.estimates import Estimate


def load_truth(data: Path) -> dict[str, Any] | None:
    """The truth beside a simulated panel (FILE.truth.json), or None for real data."""
    path = data.with_suffix(".truth.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def truth_of(e: Estimate, truth: dict[str, Any], window: tuple[int, int]) -> float | None:
    """The true value of an estimated quantity, where the truth defines one (binned
    event-time end points have none: they average over several event times)."""
    res = truth["resilience"]
    if e.term in ("treat_post", "ATT") and e.outcome == "resilience":
        return float(res["att"])
    if e.term.startswith("event_time::"):
        k = int(e.term.split("::")[1])
        if k in window:
            return None
        return 0.0 if k < 0 else res["by_event_time"].get(str(k))
    if e.term == "treat_post" and e.outcome in truth["mechanisms"]:
        return float(truth["mechanisms"][e.outcome]["att"])
    return None


def comparison(
    estimates: list[Estimate], truth: dict[str, Any], window: tuple[int, int]
) -> pd.DataFrame:
    """Each estimate with a defined truth: estimate, truth, error, and whether the interval covers."""
    rows = []
    for e in estimates:
        t = truth_of(e, truth, window)
        if t is None or not np.isfinite(e.std_error):
            continue
        rows.append(
            {
                "model": e.model,
                "term": e.term,
                "outcome": e.outcome,
                "estimate": e.estimate,
                "truth": t,
                "error": e.estimate - t,
                "std_error": e.std_error,
                "covered": "yes" if e.conf_low <= t <= e.conf_high else "no",
            }  # fmt: skip
        )
    return pd.DataFrame(rows)
