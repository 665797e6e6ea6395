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
    # Provenance for manifest.json (hyper-parameters, seeds, timings): never written to a
    # table, so it may hold run-dependent values such as seconds.
    manifest: dict[str, Any] = field(default_factory=dict)


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
    from analysis.estimators import (
        bacon,
        baseline,
        callaway_santanna,
        descriptives,
        dml,
        dml_did,
        event_study,
        heterogeneity,
        honest,
        mechanisms,
        placebo,
        psm,
        robustness,
        staggered,
    )

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
        Exhibit(
            "callaway_santanna", "Table 4. Callaway-Sant'Anna group-time ATTs and aggregations",
            callaway_santanna.__name__, callaway_santanna.run,
            tables=("table4_callaway_santanna", "table4b_cs_event_time"),
            models=("cs_simple", "cs_attgt", "cs_dynamic", "cs_group", "cs_calendar", "cs_*_notyet",
                    "cs_*_universal", "cs_simple_{dr,reg,ipw}_cov", "cs_*_boot"),
        ),
        Exhibit(
            "event_study_estimators", "Table 5 and Figure 2. Sun-Abraham, two-stage and imputation event studies",
            staggered.__name__, staggered.run,
            tables=("table5_event_study_estimators",), figures=("figure2_event_study_estimators",),
            models=("sunab", "did2s", "imputation"),
        ),
        Exhibit(
            "placebo", "Table 6 and Figure 3. Randomization inference (placebo assignments)",
            placebo.__name__, placebo.run,
            tables=("table6_placebo",), figures=("figure3_placebo",), models=("placebo",),
        ),
        Exhibit(
            "twfe_diagnostics", "Table 7 and Figure 4. Goodman-Bacon decomposition and dCDH weights",
            bacon.__name__, bacon.run,
            tables=("table7_twfe_diagnostics", "table7b_dcdh_weights"), figures=("figure4_bacon",),
            models=("bacon", "dcdh_weights"),
        ),
        Exhibit(
            "honest_did", "Table 8 and Figure 5. HonestDiD sensitivity of the event study",
            honest.__name__, honest.run,
            tables=("table8_honest_did",), figures=("figure5_honest_did",), models=("honest_rm", "honest_sd"),
        ),
        Exhibit(
            "psm_did", "Table 9. PSM-DID: matched cities and balance", psm.__name__, psm.run,
            tables=("table9_psm_did", "table9b_psm_balance"), models=("psm_twfe",),
        ),
        Exhibit(
            "robustness", "Table 10. Robustness of the baseline estimate", robustness.__name__, robustness.run,
            tables=("table10_robustness",), models=("robust_<name>",),
        ),
        Exhibit(
            "dml_plr", "Table 11 and Figure 6. Double machine learning: partially linear model",
            dml.__name__, dml.run,
            tables=(dml.EXHIBIT,), figures=("figure_dml_plr",),
            models=("dml_plr", "dml_plr_<learner>_<fe>_<k>folds", "<model>_cddhnr_median"),
        ),
        Exhibit(
            "dml_did", "Table 12 and Figure 7. Staggered DML: group-time ATTs with machine-learned nuisances",
            dml_did.__name__, dml_did.run,
            tables=(dml_did.EXHIBIT,), figures=("figure_dml_did_dynamic",),
            models=("dml_did_simple", "dml_did_dynamic", "dml_did_gt"),
        ),
        Exhibit(
            "mechanisms", "Table 13. Mechanisms: the pilot zones' effect on each channel",
            mechanisms.__name__, mechanisms.run,
            tables=(mechanisms.EXHIBIT,),
            models=("mechanism_<m>", "dml_mechanism_<m>", "mechanism_link_<m>", "mechanism_direct_<m>",
                    "mechanism_indirect_<m>"),
        ),
        Exhibit(
            "heterogeneity", "Table 14 and Figure 8. Heterogeneity by region, marketization and digital economy",
            heterogeneity.__name__, heterogeneity.run,
            tables=(heterogeneity.EXHIBIT,), figures=("figure_heterogeneity_forest",),
            models=("hetero_<mod>_1", "hetero_<mod>_0", "hetero_<mod>_interaction", "dml_hetero_<mod>_1",
                    "dml_hetero_<mod>_0", "dml_hetero_<mod>_difference"),
        ),
    ]  # fmt: skip
