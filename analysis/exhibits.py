"""The exhibit registry: every table and figure of the study, the code that makes it and the
files it writes. The pipeline runs the registry in order; the README's exhibit map and the
report are generated from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import Config
from analysis.estimates import Estimate
from analysis.inference import VcovSpec


@dataclass(frozen=True)
class Context:
    """What every exhibit may read: the analysis panel and the frozen configuration."""

    panel: pd.DataFrame
    cfg: Config
    truth: dict[str, Any] | None = None

    @property
    def spec(self) -> VcovSpec:
        return VcovSpec(self.cfg.inference)

    @property
    def sample(self) -> str:
        n = self.panel["city_code"].nunique()
        years = f"{self.panel['year'].min()}-{self.panel['year'].max()}"
        return f"{n} cities, {years}"


@dataclass(frozen=True)
class Output:
    """What an exhibit produced: tidy estimates, display tables and figure writers."""

    estimates: list[Estimate] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Callable[[Path], None]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exhibit:
    id: str
    title: str
    module: str
    run: Callable[[Context], Output]


def registry() -> list[Exhibit]:
    """The study's exhibits, in the order of the paper."""
    from analysis.estimators import (
        bacon,
        baseline,
        callaway_santanna,
        descriptives,
        event_study,
        honest,
        placebo,
        psm,
        robustness,
        staggered,
    )

    return [
        Exhibit(
            "descriptives",
            "Table 1. Descriptive statistics",
            descriptives.__name__,
            descriptives.run,
        ),
        Exhibit(
            "baseline",
            "Table 2. Baseline TWFE difference-in-differences",
            baseline.__name__,
            baseline.run,
        ),
        Exhibit(
            "event_study",
            "Figure 1 and Table 3. Event study",
            event_study.__name__,
            event_study.run,
        ),
        Exhibit(
            "callaway_santanna",
            "Table 4. Callaway-Sant'Anna group-time ATTs and aggregations",
            callaway_santanna.__name__,
            callaway_santanna.run,
        ),
        Exhibit(
            "event_study_estimators",
            "Table 5 and Figure 2. Sun-Abraham, two-stage and imputation event studies",
            staggered.__name__,
            staggered.run,
        ),
        Exhibit(
            "placebo",
            "Table 6 and Figure 3. Randomization inference (placebo assignments)",
            placebo.__name__,
            placebo.run,
        ),
        Exhibit(
            "twfe_diagnostics",
            "Table 7 and Figure 4. Goodman-Bacon decomposition and dCDH weights",
            bacon.__name__,
            bacon.run,
        ),
        Exhibit(
            "honest_did",
            "Table 8 and Figure 5. HonestDiD sensitivity of the event study",
            honest.__name__,
            honest.run,
        ),
        Exhibit(
            "psm_did",
            "Table 9. PSM-DID: matched cities and balance",
            psm.__name__,
            psm.run,
        ),
        Exhibit(
            "robustness",
            "Table 10. Robustness of the baseline estimate",
            robustness.__name__,
            robustness.run,
        ),
    ]
