"""Estimates beside the known truth of simulated data (`FILE.truth.json`)."""

from __future__ import annotations

import json
import re
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


# Estimands with no counterpart in the truth (associations, direct and indirect effects,
# tests, decompositions and sensitivity sets).
NO_TRUTH = (
    "association",
    "direct_effect",
    "indirect_effect",
    "randomization_test",
    "decomposition",
    "sensitivity",
)
GT_TERM = re.compile(r"^gt::(\d+)::(\d+)$")
SUBSET = re.compile(r"^(\w+) == (\d+)$")


def _hetero_truth(e: Estimate, truth: dict[str, Any]) -> float | None:
    """Models about a moderator: a split sample's ATT (subset `<mod> == g`), the difference
    of the two groups' ATTs (term `treat_post:<mod>`), and beside it group 0's ATT."""
    t = truth.get("heterogeneity", {}).get(e.moderator)
    if t is None:
        return None
    if e.term == f"treat_post:{e.moderator}":
        return float(t["difference"])
    if e.term != "treat_post":
        return None
    split = SUBSET.match(e.subset)
    if split and split.group(1) == e.moderator:
        return float(t[f"att_{split.group(2)}"])
    return float(t["att_0"]) if not e.subset else None


def truth_of(e: Estimate, truth: dict[str, Any], window: tuple[int, int]) -> float | None:
    """The true value of an estimated quantity, where the truth defines one (binned
    event-time end points have none: they average over several event times)."""
    res = truth["resilience"]
    if e.estimand in NO_TRUTH:
        return None
    if e.moderator:
        return _hetero_truth(e, truth)
    gt = GT_TERM.match(e.term)
    if gt and e.outcome == "resilience":
        g, t = gt.groups()
        return 0.0 if int(t) < int(g) else res["by_cohort_year"].get(g, {}).get(t)
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
            }
        )
    return pd.DataFrame(rows)
