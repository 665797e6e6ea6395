"""The true value of every Monte Carlo estimate, from a replication's truth
(analysis.simulation.truth).

analysis.simulation.comparison.truth_of covers the study's rows (ATTs, event times inside the window,
group-time cells, mechanisms, moderator groups). The Monte Carlo adds what it leaves out,
from the same truth and the panel's cohort sizes and event-time counts, always in the way the
estimator aggregates:

- binned event-study end points: the count-weighted mean of the true effects over the event
  times in the bin (0 for the pre-period bin);
- event times of the unbinned estimators (Sun-Abraham, two-stage, imputation, the dynamic
  aggregations of Callaway-Sant'Anna and staggered DML) at every k: 0 before treatment, the
  true ATT at k after;
- Callaway-Sant'Anna's cells `attgt::g:t` (0 before g), cohorts `cohort::g`, calendar years
  `year::t`, and the `overall` summaries of the dynamic (mean over event times >= 0), group
  (cohort-size weighted mean of the cohorts' ATTs) and calendar (mean over years of the
  cohort-size weighted ATTs) aggregations;
- HonestDiD (`sensitivity` rows): the target theta = l'tau_post of Rambachan and Roth
  (2023), the mean over the event study's post-period coefficients 0..K (K the binned end
  point) of the true effects tau_k. In their notation the event study estimates
  beta = delta + (0, tau), delta being the differential path of the untreated outcomes
  normalised to zero at the reference period; theta is the causal effect, not l'beta_post,
  so under a trend violation the event study's own target is biased by l'delta_post while
  the robust set, if delta satisfies the restriction, still covers theta.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.estimates import Estimate
from analysis.simulation.comparison import truth_of

ATTGT = re.compile(r"^attgt::(\d+):(\d+)$")
# the TWFE event study bins its end points (its wild bootstrap and randomization rows too)
BINNED_MODELS = ("event_study", "event_study_wild", "ri_event_study")
RI_PREFIX = "ri_"  # randomization inference rows: the statistic is the unprefixed model's


@dataclass(frozen=True)
class PanelFacts:
    """What the aggregations weight by: cities per cohort, treated city-years by event
    time, the event window and the panel's years."""

    cohort_sizes: dict[int, int]
    event_counts: dict[int, int]
    window: tuple[int, int]
    years: tuple[int, ...]

    @staticmethod
    def of(panel: pd.DataFrame, window: tuple[int, int]) -> PanelFacts:
        per_city = panel.groupby("city_code")["first_treat"].first()
        sizes = per_city[per_city > 0].value_counts().sort_index()
        treated = panel[(panel["first_treat"] > 0) & (panel["treat_post"] == 1)]
        counts = treated["rel_time"].astype(int).value_counts().sort_index()
        return PanelFacts(
            {int(g): int(n) for g, n in zip(sizes.index, sizes.to_numpy(), strict=True)},
            {int(k): int(n) for k, n in zip(counts.index, counts.to_numpy(), strict=True)},
            window,
            tuple(int(y) for y in sorted(panel["year"].unique())),
        )


def _event(res: dict[str, Any], k: int) -> float | None:
    if k < 0:
        return 0.0
    v = res["by_event_time"].get(str(k))
    return None if v is None else float(v)


def binned_post(res: dict[str, Any], facts: PanelFacts, k: int) -> float | None:
    """True effect of the end-point bin that holds every event time >= k."""
    ks = [e for e in facts.event_counts if e >= k and str(e) in res["by_event_time"]]
    if not ks:
        return None
    w = np.array([facts.event_counts[e] for e in ks], dtype=float)
    return float(np.array([res["by_event_time"][str(e)] for e in ks]) @ w / w.sum())


def honest_target(res: dict[str, Any], facts: PanelFacts, post: list[int]) -> float | None:
    """theta = mean over the event study's post periods of the true effects (the last one the
    binned end point)."""
    high = facts.window[1]
    values = [binned_post(res, facts, k) if k == high else _event(res, k) for k in post]
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known and len(known) == len(values) else None


def _cell(res: dict[str, Any], g: int, t: int) -> float | None:
    if t < g:
        return 0.0
    v = res["by_cohort_year"].get(str(g), {}).get(str(t))
    return None if v is None else float(v)


def _year(res: dict[str, Any], facts: PanelFacts, t: int) -> float | None:
    cohorts = [g for g in facts.cohort_sizes if g <= t]
    if not cohorts:
        return None
    cells = [_cell(res, g, t) for g in cohorts]
    if any(c is None for c in cells):
        return None
    w = np.array([facts.cohort_sizes[g] for g in cohorts], dtype=float)
    return float(np.array(cells, dtype=float) @ w / w.sum())


def _overall(e: Estimate, res: dict[str, Any], facts: PanelFacts) -> float | None:
    if e.aggregation == "dynamic":
        post = [float(v) for k, v in res["by_event_time"].items() if int(k) >= 0]
        return float(np.mean(post)) if post else None
    if e.aggregation == "group":
        gs = [g for g in facts.cohort_sizes if str(g) in res["by_cohort"]]
        w = np.array([facts.cohort_sizes[g] for g in gs], dtype=float)
        return float(np.array([res["by_cohort"][str(g)] for g in gs]) @ w / w.sum())
    if e.aggregation == "calendar":
        first = min(facts.cohort_sizes)
        years = [_year(res, facts, t) for t in facts.years if t >= first]
        known = [y for y in years if y is not None]
        return float(np.mean(known)) if known and len(known) == len(years) else None
    return None


def target(
    e: Estimate, truth: dict[str, Any], facts: PanelFacts, post: list[int] | None = None
) -> float | None:
    """The true value of an estimate's quantity, or None where it has none (tests,
    associations, indirect effects) or the truth does not define it."""
    res = truth["resilience"]
    if e.estimand == "randomization_test" and e.model.startswith(RI_PREFIX):
        # the statistic of a randomization test is an estimate of the model it tests
        estimand = "att" if e.term == "ATT" else "att_by_event_time"
        e = replace(e, estimand=estimand)
    if e.estimand == "sensitivity":
        return honest_target(res, facts, post or []) if e.outcome == "resilience" else None
    if e.outcome != "resilience" or e.moderator:
        return truth_of(e, truth, facts.window)
    term = e.term
    if term.startswith("event_time::"):
        k = int(term.split("::")[1])
        if e.model in BINNED_MODELS and k == facts.window[1]:
            return binned_post(res, facts, k)
        if e.model in BINNED_MODELS and k == facts.window[0]:
            return 0.0
        return _event(res, k)
    cell = ATTGT.match(term)
    if cell:
        return _cell(res, int(cell.group(1)), int(cell.group(2)))
    if term.startswith("cohort::"):
        v = res["by_cohort"].get(term.split("::")[1])
        return None if v is None else float(v)
    if term.startswith("year::"):
        return _year(res, facts, int(term.split("::")[1]))
    if term == "overall":
        return _overall(e, res, facts)
    return truth_of(e, truth, facts.window)
