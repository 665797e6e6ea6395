"""One tidy schema for every estimate: `estimates.csv`, tables, figures, the report, the truth
comparison and the R cross-check all read it.

A model is described once (`ModelInfo`: what every row of the model shares, from its id to its
inference settings and structured facts such as the control group), and its rows are made by
`ModelInfo.row`, the only place an `Estimate` is built. A new column of `estimates.csv` is a
new field of `ModelInfo` (or of `Estimate` for a per-term quantity) and nothing else. The
engine adapters in `analysis.engines` translate a library's results into rows; see
docs/ARCHITECTURE.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import pandas as pd

from analysis.inference import t_inference

NORMAL_DF = math.inf  # degrees of freedom of normal-based inference
NAN = math.nan

# The stable leading columns of estimates.csv, which other tools read (README, "What a run
# writes"); the structured columns that follow come from ModelInfo's fields.
STABLE = (
    "exhibit", "model", "estimator", "engine", "outcome", "term", "estimate", "std_error",
    "statistic", "p_value", "conf_low", "conf_high", "df", "n_obs", "n_clusters", "vcov",
    "ssc", "formula", "fixef", "sample", "subset",
)  # fmt: skip


# The vocabulary of the `estimand` column.
ESTIMANDS = {
    "att": "average effect on the treated (overall)",
    "att_by_event_time": "effects by years since treatment (and their overall ATT term)",
    "att_by_cohort": "effects by treatment cohort",
    "att_by_year": "effects by calendar year",
    "att_by_cohort_year": "group-time effects ATT(g,t)",
    "att_difference": "difference of effects between groups (and the reference group's ATT)",
    "direct_effect": "the treatment's coefficient with a channel held fixed",
    "association": "a channel's coefficient in the outcome regression (not causal)",
    "indirect_effect": "product of coefficients a x b through a channel",
    "randomization_test": "permutation distribution of a coefficient under the sharp null",
    "decomposition": "weights and components of the TWFE coefficient",
    "sensitivity": "robust confidence sets under violations of parallel trends",
}


@dataclass(frozen=True, kw_only=True)
class ModelInfo:
    """What every row of one model shares: its identity, engine, specification, sample,
    counts and inference settings, and the structured facts readers need (so that no reader
    parses them out of a model id)."""

    exhibit: str
    model: str
    estimator: str
    engine: str
    outcome: str
    n_obs: int
    n_clusters: int
    vcov: str
    ssc: str
    formula: str
    fixef: str = ""
    sample: str = ""
    # Machine-readable sample restriction, e.g. "high_marketization == 1" (empty: the panel).
    subset: str = ""
    df: float = NORMAL_DF
    # What the model's estimates target (ESTIMANDS), so readers such as the truth comparison
    # need not infer it from the model id.
    estimand: str = ""
    # Callaway-Sant'Anna style facts ("" where they do not apply): the aggregation of
    # group-time effects, the control group and the base period, in R did's vocabulary.
    aggregation: str = ""
    control_group: str = ""
    base_period: str = ""
    # The event time normalised to zero (None where no period is omitted).
    reference_period: int | None = None
    # The heterogeneity moderator a split or interaction model is about.
    moderator: str = ""
    # The confidence level of conf_low/conf_high (the configuration's; not a column).
    level: float = field(default=0.95, metadata={"column": False})

    def row(
        self,
        term: str,
        estimate: float,
        std_error: float = NAN,
        *,
        p_value: float | None = None,
        conf: tuple[float, float] | None = None,
        statistic: float | None = None,
    ) -> Estimate:
        """One row: the t (or normal, df = inf) test and interval at `level` from the
        estimate and SE, unless an engine supplies its own p-value, interval or statistic."""
        inf = t_inference(estimate, std_error, self.df, self.level)
        low, high = conf if conf is not None else (inf.conf_low, inf.conf_high)
        shared = {f.name: getattr(self, f.name) for f in fields(ModelInfo)}
        return Estimate(
            **shared,
            term=term,
            estimate=float(estimate),
            std_error=float(std_error),
            statistic=float(inf.statistic if statistic is None else statistic),
            p_value=float(inf.p_value if p_value is None else p_value),
            conf_low=float(low),
            conf_high=float(high),
        )


@dataclass(frozen=True, kw_only=True)
class Estimate(ModelInfo):
    """One estimated quantity with the model and inference settings that produced it."""

    term: str
    estimate: float
    std_error: float
    statistic: float
    p_value: float
    conf_low: float
    conf_high: float


COLUMNS = STABLE + tuple(
    f.name for f in fields(Estimate) if f.metadata.get("column", True) and f.name not in STABLE
)
assert set(STABLE) <= {f.name for f in fields(Estimate)}


def check(e: Estimate) -> None:
    """A row's structured facts are in their vocabularies (called by Exhibit.check)."""
    if e.estimand and e.estimand not in ESTIMANDS:
        raise RuntimeError(
            f"model {e.model}: estimand '{e.estimand}' is not one of {list(ESTIMANDS)}"
        )


def to_frame(estimates: list[Estimate]) -> pd.DataFrame:
    """Estimates as a table in the stable column order."""
    frame = pd.DataFrame(
        [[getattr(e, c) for c in COLUMNS] for e in estimates], columns=list(COLUMNS)
    )
    frame["reference_period"] = frame["reference_period"].astype("Int64")
    return frame
