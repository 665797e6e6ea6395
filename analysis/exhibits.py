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
    def simulated(self) -> bool:
        """True on simulated data (a truth file came with it): outputs must say so."""
        return self.truth is not None

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
    """A table/figure family of the study: the code that makes it and the files it writes."""

    id: str
    title: str
    module: str
    run: Callable[[Context], Output]
    tables: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    def check(self, out: Output) -> None:
        """The exhibit wrote exactly what it declares (so the README map cannot drift)."""
        if set(out.tables) != set(self.tables) or set(out.figures) != set(self.figures):
            raise RuntimeError(
                f"exhibit {self.id} declares tables {self.tables} and figures {self.figures} "
                f"but produced {tuple(out.tables)} and {tuple(out.figures)}"
            )


def markdown_map() -> str:
    """The README's exhibit map: exhibit, output files, model ids, code."""
    rows = ["| exhibit | output files | model ids in estimates.csv | code |", "|---|---|---|---|"]
    for ex in registry():
        files = [f"`tables/{t}.*`" for t in ex.tables] + [f"`figures/{f}.png`" for f in ex.figures]
        models = ", ".join(f"`{m}`" for m in ex.models) or "-"
        rows.append(
            f"| {ex.title} | {'<br>'.join(files)} | {models} | `{ex.module.replace('.', '/')}.py` |"
        )
    return "\n".join(rows) + "\n"


def registry() -> list[Exhibit]:
    """The study's exhibits, in the order of the paper."""
    from analysis.estimators import baseline, descriptives, event_study

    return [
        Exhibit(
            "descriptives", "Table 1. Descriptive statistics", descriptives.__name__, descriptives.run,
            tables=("table1_descriptives",),
        ),
        Exhibit(
            "baseline", "Table 2. Baseline TWFE difference-in-differences", baseline.__name__, baseline.run,
            tables=("table2_baseline",), models=("baseline_twfe", "baseline_twfe_controls"),
        ),
        Exhibit(
            "event_study", "Figure 1 and Table 3. Event study", event_study.__name__, event_study.run,
            tables=("table3_event_study",), figures=("figure1_event_study",), models=("event_study",),
        ),
    ]  # fmt: skip
