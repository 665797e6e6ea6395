"""The exhibit interface: what an exhibit reads (`Context`), what it returns (`Output`) and
how it is declared (`Exhibit`). This module imports no exhibit; each exhibit module declares
its own `EXHIBIT` and analysis.catalogue lists them in the study's order (see
docs/ARCHITECTURE.md, "Adding an exhibit")."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.config import Config
from analysis.estimates import Estimate
from analysis.estimates import check as check_estimate
from analysis.estimators.last_cohort import NO_NEVER_TREATED, has_never_treated
from analysis.inference import VcovSpec
from analysis.prepare.panel import PanelInfo, observed_window

T = TypeVar("T")
# BLAS / OpenMP threads of the main process while an exhibit runs: its own linear algebra is
# small (the study's regressions, HonestDiD's optimizer, the mediation bootstrap) and the
# cores belong to the DML pool ([dml] n_jobs processes, one thread each), which a second
# BLAS thread here would compete with (README, Benchmark).
MAIN_THREADS = 1


@dataclass(frozen=True)
class Context:
    """What every exhibit may read: the analysis panel, the frozen configuration, the truth
    of simulated data, and fits shared by several exhibits (computed once per run, on first
    use, through `shared`). `raw` is the role-named raw panel as loaded (before the sample
    filters and missing values are handled) and `prepared` what the preparation did (counts
    per column): the data audit reads them."""

    panel: pd.DataFrame
    cfg: Config
    truth: dict[str, Any] | None = None
    # variable -> why the data could not give it (analysis.prepare.panel.PanelInfo)
    unavailable: dict[str, str] = field(default_factory=dict)
    raw: pd.DataFrame | None = None
    prepared: PanelInfo | None = None
    _shared: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def spec(self) -> VcovSpec:
        return VcovSpec(self.cfg.inference)

    @cached_property
    def sample(self) -> str:
        n = self.panel["city_code"].nunique()
        years = f"{self.panel['year'].min()}-{self.panel['year'].max()}"
        return f"{n} {self.units}, {years}"

    @property
    def units(self) -> str:
        """What the units are called: the study's cities, or units of any kind."""
        return "cities" if self.cfg.panel.units == "cities" else "units"

    @property
    def level(self) -> float:
        return self.cfg.inference.level

    @property
    def reference_period(self) -> int:
        return self.cfg.model.reference_period

    @cached_property
    def event_window(self) -> tuple[int, int]:
        """[model] event_window clipped to the event times the panel has."""
        return observed_window(self.panel["rel_time"], self.cfg.model.event_window)

    def window_note(self) -> str:
        """A sentence when the configured event window was clipped to the data ('' if not)."""
        if self.event_window == tuple(self.cfg.model.event_window):
            return ""
        lo, hi = self.cfg.model.event_window
        return (
            f"The configured event window [{lo}, {hi}] is wider than the event times the data "
            f"have: clipped to [{self.event_window[0]}, {self.event_window[1]}]. "
        )

    def available(self, names: tuple[str, ...] | list[str]) -> list[str]:
        """The names that are usable columns of the analysis panel (in the given order)."""
        return [n for n in names if n in self.panel.columns and n not in self.unavailable]

    def why_missing(self, name: str) -> str:
        """Why a variable is not in the analysis panel (or cannot be used)."""
        reason = self.unavailable.get(name, "is not in the analysis panel")
        return f"'{self.label(name)}' {reason}"

    def missing(self, names: tuple[str, ...] | list[str]) -> list[str]:
        """Why each of `names` that is not available is missing (empty when all are)."""
        usable = set(self.available(names))
        return [self.why_missing(n) for n in names if n not in usable]

    def listed(self, key: str) -> tuple[list[str], list[str]]:
        """A [model] list ("mechanisms", "moderators"): the names usable on this panel, and
        why each other one is not (a moderator must be a 0/1 flag constant within units)."""
        names = getattr(self.cfg.model, key)
        problems = self.prepared.moderator_problems if self.prepared and key == "moderators" else {}
        usable = [n for n in self.available(names) if n not in problems]
        reasons = self.missing(names) + [
            f"'{self.label(n)}' {problems[n]}" for n in names if n in problems
        ]
        return usable, reasons

    def label(self, name: str) -> str:
        """How a variable is shown: a column of the user's file by its header."""
        return self.cfg.label(name)

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """The fit stored under `key`, computed by `compute` the first time it is asked for
        in this run (e.g. the TWFE event study, read by Table 3, Figure 2 and HonestDiD)."""
        if key not in self._shared:
            self._shared[key] = compute()
        value: T = self._shared[key]
        return value


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
    # Parts of the exhibit the data do not allow (e.g. the never-treated control group of a
    # panel without never-treated units): part -> reason. The pipeline lists them with the
    # exhibits not run, grouped by reason, as "<exhibit> (<part>)".
    not_run: dict[str, str] = field(default_factory=dict)


def model_pattern(declared: str) -> re.Pattern[str]:
    """A declared model-id pattern as a regular expression: `<name>` and `*` stand for any
    text, `{a,b}` for one of the listed alternatives."""
    out = ""
    for part in re.split(r"(<[^>]+>|\*|\{[^}]+\})", declared):
        if part.startswith("<") or part == "*":
            out += ".+"
        elif part.startswith("{"):
            out += "(" + "|".join(re.escape(x) for x in part[1:-1].split(",")) + ")"
        else:
            out += re.escape(part)
    return re.compile(out)


def _has_contrast(panel: pd.DataFrame) -> bool:
    by_year = panel.groupby("year")["treat_post"].agg(["min", "max"])
    return bool(((by_year["min"] == 0) & (by_year["max"] == 1)).any())


@dataclass(frozen=True)
class Needs:
    """What an exhibit needs from the data to run at all; what it can do without (a control
    column, one mechanism among several) it handles itself and says so in its note."""

    # Variables that must be columns of the analysis panel.
    variables: tuple[str, ...] = ("resilience", "treat_post")
    # Every variable of [model] controls.
    controls: bool = False
    # At least one control (a propensity score or learner on the controls needs some).
    some_controls: bool = False
    # [model] lists of which at least one variable must be available ("mechanisms",
    # "moderators"); an empty list means the exhibit is not asked for.
    lists: tuple[str, ...] = ()
    # Never-treated units as the control group (a function of the configuration where the
    # control group is an option).
    never_treated: bool | Callable[[Config], bool] = False
    # The setting that asks for them, when one does (added to the reason).
    never_treated_hint: str = ""
    # A year in which treated and untreated units are both observed (what every
    # difference-in-differences compares).
    contrast: bool = True

    def missing(self, ctx: Context) -> list[str]:
        """Why the exhibit cannot run on this panel (empty when it can)."""
        out = [ctx.why_missing(v) for v in self.variables if v not in ctx.panel.columns]
        if self.contrast and not _has_contrast(ctx.panel):
            out.append("no year in which both treated and untreated units are observed")
        if self.controls:
            out += ctx.missing(ctx.cfg.model.controls)
        if self.some_controls and not ctx.cfg.model.controls:
            out.append("[model] controls is empty: its propensity score needs at least one")
        for name in self.lists:
            listed = getattr(ctx.cfg.model, name)
            if not listed:
                out.append(f"[model] {name} is empty")
            elif not ctx.listed(name)[0]:
                out += ctx.listed(name)[1]
        needs_never = (
            self.never_treated(ctx.cfg) if callable(self.never_treated) else self.never_treated
        )
        if needs_never and not has_never_treated(ctx.panel):
            hint = f"; {self.never_treated_hint}" if self.never_treated_hint else ""
            out.append(NO_NEVER_TREATED + hint)
        return out


@dataclass(frozen=True)
class Exhibit:
    """A table/figure family of the study: the code that makes it, the files it writes and
    the model ids it puts into estimates.csv (patterns: see `model_pattern`)."""

    id: str
    title: str
    module: str
    run: Callable[[Context], Output]
    tables: tuple[str, ...] = ()
    figures: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    needs: Needs = field(default_factory=Needs)
    # Runs on every run, also when `--only` names other exhibits (the data audit).
    always: bool = False

    def produce(self, ctx: Context) -> Output:
        """The exhibit's Output, computed with MAIN_THREADS BLAS / OpenMP threads here."""
        with threadpool_limits(limits=MAIN_THREADS):
            return self.run(ctx)

    def check(self, out: Output) -> None:
        """The exhibit wrote exactly what it declares (so the README map cannot drift)."""
        if set(out.tables) != set(self.tables) or set(out.figures) != set(self.figures):
            raise RuntimeError(
                f"exhibit {self.id} declares tables {self.tables} and figures {self.figures} "
                f"but produced {tuple(out.tables)} and {tuple(out.figures)}"
            )
        for e in out.estimates:
            check_estimate(e)
        patterns = [model_pattern(m) for m in self.models]
        for model in dict.fromkeys(e.model for e in out.estimates):
            if not any(p.fullmatch(model) for p in patterns):
                raise RuntimeError(
                    f"exhibit {self.id} produced model id '{model}', which none of its declared "
                    f"model ids {self.models} matches"
                )


def declare(
    run: Callable[[Context], Output],
    title: str,
    *,
    tables: tuple[str, ...] = (),
    figures: tuple[str, ...] = (),
    models: tuple[str, ...] = (),
    needs: Needs | None = None,
    always: bool = False,
) -> Exhibit:
    """The exhibit of the module that defines `run`: its id is the module's name (an exhibit
    module declares one exhibit, as `EXHIBIT = declare(run, "Table ...", tables=...)`)."""
    module = run.__module__
    return Exhibit(
        id=module.rpartition(".")[2],
        title=title,
        module=module,
        run=run,
        tables=tables,
        figures=figures,
        models=models,
        needs=needs or Needs(),
        always=always,
    )
