"""What a run estimates, set beside the paper's specification: the variables it uses (each
defined once, for manifest.json, `tables/variables` and the report) and, line by line, where
its specification differs from the study's default (data/study.toml).

Nothing is changed silently: a difference the user asked for (another control set, another
treatment source) and one the data forced (a control that could not be built, an event
window wider than the data) are both listed, and a run without differences says it follows
the paper's specification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.config import Config, load_config
from analysis.prepare import variables as study_variables
from analysis.prepare.panel import PanelInfo, observed_window

LISTS = {
    "control": lambda c: c.model.controls,
    "Callaway-Sant'Anna covariate": lambda c: c.callaway_santanna.covariates,
    "mechanism": lambda c: c.model.mechanisms,
    "moderator": lambda c: c.model.moderators,
}


def _study_definitions() -> dict[str, str]:
    """The study's variables and their definitions, from the table in the docstring of
    analysis.prepare.variables (one source for the code's reader and the report)."""
    out: dict[str, str] = {}
    for line in (study_variables.__doc__ or "").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("variable", "---"):
            continue
        for name in re.split(r",\s*", cells[0]):
            out[name] = cells[1]
    return out


@dataclass(frozen=True)
class Variable:
    name: str  # the analysis panel's column
    label: str  # as the user wrote it (a header of their file, or the name)
    used_as: str
    source: str  # "study", "file column", "[variables]", "[inputs] role"
    definition: str
    status: str  # "built", or why not


def variables(cfg: Config, info: PanelInfo | None = None) -> list[Variable]:
    """Every variable the configuration uses, once, with its definition and status."""
    study = _study_definitions()
    declared = {d.name: d for d in cfg.variables}
    uses: dict[str, list[str]] = {}
    for use, names in LISTS.items():
        for name in names(cfg):
            uses.setdefault(name, []).append(use)
    for d in cfg.variables:  # declared variables read by others, and the columns they read
        for name in d.reads:
            uses.setdefault(name, []).append(f"input of {d.name}")
        uses.setdefault(d.name, [])
    unavailable = dict(info.unavailable) if info else {}
    problems = dict(info.moderator_problems) if info else {}
    out = []
    for name, used in uses.items():
        if name in cfg.user_columns:
            source, definition = (
                "file column",
                f"column '{cfg.user_columns[name]}' of the data file",
            )
        elif name in declared:
            source, definition = "[variables]", declared[name].expression
        elif name.startswith("raw_"):
            role = name.removeprefix("raw_")
            source, definition = "[inputs] role", f"role {role}: column '{_role_column(cfg, role)}'"
        else:
            source, definition = "study", study.get(name, "")
        status = unavailable.get(name) or (
            f"built; as a moderator: {problems[name]}" if name in problems else "built"
        )
        out.append(
            Variable(
                name,
                cfg.label(name),
                ", ".join(used) or "declared, unused",
                source,
                definition,
                status,
            )
        )
    return out


def _role_column(cfg: Config, role: str) -> str:
    comps = {c.role: c.column for c in cfg.components}
    return cfg.inputs.get(role) or comps.get(role, role)


def definition(cfg: Config, name: str) -> str:
    """One variable's definition, as the notes of the tables give it."""
    if name in cfg.user_columns:
        return f"column '{cfg.user_columns[name]}' of the data file"
    declared = {d.name: d.expression for d in cfg.variables}
    if name in declared:
        return declared[name]
    if name.startswith("raw_"):
        return f"the raw values of role {name.removeprefix('raw_')}"
    return _study_definitions().get(name, name)


def variables_table(rows: list[Variable]) -> pd.DataFrame:
    return pd.DataFrame(
        [vars(v) for v in rows],
        columns=["name", "label", "used_as", "source", "definition", "status"],
    )


def _names(cfg: Config, names: tuple[str, ...]) -> str:
    return ", ".join(cfg.label(n) for n in names) or "none"


def differences(
    cfg: Config, panel: pd.DataFrame | None = None, info: PanelInfo | None = None
) -> list[str]:
    """Where this run's specification differs from the paper's (data/study.toml), one line
    each; empty when it follows the paper's specification."""
    paper = load_config()
    out: list[str] = []
    if cfg.panel.units != paper.panel.units:
        out.append(
            "units of any kind ([panel] units = 'any'): the Chinese city registry, the pilot-zone "
            "list and the eastern-coastal split do not apply"
        )
    if cfg.outcome.column:
        out.append(
            f"outcome: the data's column '{cfg.outcome.column}', not the paper's entropy-weight "
            "resilience index"
        )
    elif {c.role for c in cfg.components} != {c.role for c in paper.components}:
        out.append(
            "resilience index from the components "
            f"{', '.join(c.role for c in cfg.components)} (the paper's: "
            f"{', '.join(c.role for c in paper.components)})"
        )
    for use, names in LISTS.items():
        mine, theirs = names(cfg), names(paper)
        if mine == theirs:
            continue
        left = [n for n in theirs if n not in mine]
        added = [n for n in mine if n not in theirs]
        detail = (
            "; ".join(
                part
                for part in (
                    f"left out: {', '.join(left)}" if left else "",
                    f"added: {_names(cfg, tuple(added))}" if added else "",
                )
                if part
            )
            or "a different order"
        )
        out.append(f"{use}s: {_names(cfg, mine)} (the paper's: {_names(paper, theirs)}; {detail})")
    for table in ("treatment", "sample", "inference"):
        mine_t, theirs_t = getattr(cfg, table), getattr(paper, table)
        for key, value in vars(mine_t).items():
            if table == "treatment" and cfg.treatment.source != "pilot_zones" and key != "source":
                continue
            if value != getattr(theirs_t, key):
                out.append(f"[{table}] {key} = {value!r} (the paper's: {getattr(theirs_t, key)!r})")
    if (cfg.panel.first_year, cfg.panel.last_year) != (
        paper.panel.first_year,
        paper.panel.last_year,
    ):
        out.append(
            f"panel periods {cfg.panel.first_year}-{cfg.panel.last_year} (the paper's: "
            f"{paper.panel.first_year}-{paper.panel.last_year})"
        )
    if cfg.model.event_window != paper.model.event_window:
        out.append(
            f"event window {list(cfg.model.event_window)} (the paper's: {list(paper.model.event_window)})"
        )
    if panel is not None and "rel_time" in panel:
        seen = observed_window(panel["rel_time"], cfg.model.event_window)
        if seen != cfg.model.event_window:
            out.append(f"event window clipped by the data to {list(seen)}")
    if info is not None:
        for name, n in info.dropped_by_variable.items():
            out.append(
                f"{n} unit-years dropped from every exhibit's sample: no value of {name} "
                "(a lag has none in a unit's first period)"
            )
        for use, names in LISTS.items():
            missing = [n for n in names(cfg) if n in info.unavailable]
            if missing:
                out.append(
                    f"{use}s that the data do not give: "
                    + "; ".join(f"{cfg.label(n)} {info.unavailable[n]}" for n in missing)
                )
    return out


def record(cfg: Config, panel: pd.DataFrame, info: PanelInfo) -> dict[str, Any]:
    """The manifest's `specification` entry."""
    diffs = differences(cfg, panel, info)
    return {"as_in_paper": not diffs, "differences": diffs}
