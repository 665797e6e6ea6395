"""The tables init-config writes after [treatment] (analysis/initconfig/text.py): on a Chinese
city panel the study's variable lists that the file's inputs build; on a panel of any units
empty lists with the candidates as comments, the event window clipped to the panel, the
not-yet-treated comparison of a panel without never-treated units, no unit dummies too
large for memory, and no dropped years the panel does not have."""

from __future__ import annotations

from analysis.initconfig.comments import line, name, toml_list, wrap
from analysis.initconfig.guess import Proposal
from analysis.initconfig.profile import compact
from analysis.initconfig.study import VariableList, study_defaults

# A dense matrix of unit dummies (the DML's fe_handling "dummies") larger than this is left out.
DUMMIES_BYTES = 2**30


def _study_list(v: VariableList) -> list[str]:
    left = ", ".join(f"{n} ({why})" for n, why in v.left)
    return [
        *wrap(
            f"The study's {v.key} {toml_list(v.study)} cannot all be built from this file's "
            f"inputs; this differs from the paper's {v.key[:-1]} set. Left out: {left}.",
            "  ",
        ),
        f"{v.key} = {toml_list(v.kept)}",
    ]


def _window_note(p: Proposal) -> str:
    study = list(study_defaults()["model"]["event_window"])
    if p.event_reach is None:
        return "the study's (no cohort is treated inside the panel)"
    lo, hi = p.event_reach
    if list(p.event_window or ()) != study:
        return f"the study's {study} clipped to the event times the cohorts reach, {lo} to {hi}"
    if lo <= study[0] and hi >= study[1]:
        return f"the study's; the cohorts reach {lo} to {hi}"
    return f"the study's; the cohorts reach only {lo} to {hi} (the run clips it)"


def _city_lists(p: Proposal) -> list[str]:
    """The study's lists the inputs cannot all build, written as the buildable part."""
    lines: list[str] = []
    for table in ("model", "callaway_santanna"):
        lists = [v for v in p.lists if v.table == table and not v.complete]
        if lists:
            lines += [f"[{table}]", *(x for v in lists for x in _study_list(v)), ""]
    return lines


def settings(p: Proposal) -> list[str]:
    """The tables after [treatment] (module docstring)."""
    if p.units == "cities":
        return _city_lists(p)
    varying, constant = p.profile["varying"], p.profile["constant"]
    lines = ["[model]"]
    lines += wrap(
        "Controls are yours to pick, by the headers of your file (not the outcome): numbers "
        f"that vary within units: {compact(varying, quote=name) or 'none'}.",
        "  ",
    )
    if constant:
        lines += wrap(
            "Constant within each unit (absorbed by the unit fixed effects here, usable as "
            f"[callaway_santanna] covariates): {compact(constant, quote=name)}.",
            "  ",
        )
    lines += [
        "controls = []",
        "mechanisms = []  # the study's are built from Chinese yearbook inputs",
        "moderators = []  # the study's need the city registry or yearbook inputs",
    ]
    if p.event_window is not None:
        lo, hi = p.event_window
        lines.append(line("event_window", f"[{lo}, {hi}]", _window_note(p)))
    lines += ["", "[callaway_santanna]"]
    lines.append("covariates = []  # pick among the columns listed under [model]")
    return [*lines, "", *_dml(p), *_robustness(p)]


def _dml(p: Proposal) -> list[str]:
    """[dml] where the study's settings do not fit the panel: the not-yet-treated as the
    staggered DML's comparison when every unit is treated, and no unit dummies when their
    dense matrix would not fit in memory."""
    lines = []
    never = p.treatment.never_treated()
    if never is not None and not never.any():
        lines += wrap(
            "Every unit is treated within the panel (no never-treated unit): the staggered DML "
            "compares with the units not yet treated. The Callaway-Sant'Anna and "
            "event-study-estimator exhibits need never-treated units and are not run."
        )
        lines.append('did_control_group = "not_yet_treated"')
    size = p.rows * p.n_units * 8
    handling = study_defaults()["dml"]["fe_handling"]
    if size > DUMMIES_BYTES and "dummies" in handling:
        lines += wrap(
            f"Unit dummies for {p.n_units:,} units over {p.rows:,} rows would take "
            f"{size / 2**30:,.0f} GiB: the DML's fixed effects by the within transformation only."
        )
        lines.append(f"fe_handling = {toml_list(tuple(h for h in handling if h != 'dummies'))}")
    return ["[dml]", *lines, ""] if lines else []


def _robustness(p: Proposal) -> list[str]:
    """The study's dropped years (2020-2022) where the panel has none of them."""
    study = [int(y) for y in study_defaults()["robustness"]["drop_years"]]
    if any(p.data_years[0] <= y <= p.data_years[1] for y in study):
        return []
    return [
        "[robustness]",
        *wrap(
            f"The study drops {study} in a robustness check; the panel has none of them. "
            f"List {p.period_word}s of yours to drop there."
        ),
        "drop_years = []",
        "",
    ]
