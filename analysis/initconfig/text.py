"""An init-config proposal (``analysis.initconfig.guess.Proposal``) as a TOML configuration, its
evidence and the reasons for what it leaves out written as comments (grouped, wrapped).

Every file it writes loads with ``analysis.config.load_config`` once the lines of ``todo``
are set (the outcome of a panel of any units is the user's to pick; so is the treatment
column when the data show none)."""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.initconfig.guess import GROUP_REASONS, Left, Proposal
from analysis.initconfig.profile import compact, plural
from analysis.initconfig.study import VariableList, study_defaults

WIDTH = 100

_HEAD = """\
# Configuration proposed by `python -m analysis init-config` for {source}
# ({rows:,} rows, {cols} columns: {units:,} units x {periods:,} {word}).
# Mappings were guessed from the column names (data/synonyms.toml) and the data
# ({sampled} rows): check each line before you run
#   python -m analysis run --data {source} --config {out}
# Comments give the evidence for each choice and, at the end, the columns left out, grouped
# by reason. Tables and keys not written here keep the defaults of data/study.toml.
"""
_UNITS_NOTE = """\
# Units are those written in the headers: the study's formulas assume the unit named in each
# note (a ratio of two money columns needs both in the same unit).
"""


def toml_string(text: str) -> str:
    """A TOML basic string; invisible and non-ASCII space characters (zero-width spaces,
    U+3000) are written as \\uXXXX escapes, so the file shows them."""
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(
        f"\\u{ord(c):04x}"
        if c != " " and unicodedata.category(c) in ("Cf", "Zs", "Zl", "Zp", "Cc")
        else c
        for c in quoted
    )


_PLAIN = re.compile(r"^[\w.\-]+$")


def name(column: str) -> str:
    """A column name in a comment: as it is when plain (letters, digits, _ . -), else quoted."""
    return column if _PLAIN.match(column) else toml_string(column)


def _comment(text: str) -> str:
    return " ".join(text.split())  # one line


def wrap(text: str, indent: str = "") -> list[str]:
    """Comment lines of at most WIDTH characters (a long name is never broken)."""
    return [
        f"# {line}"
        for line in textwrap.wrap(
            _comment(text),
            WIDTH - 2,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    ]


def _study() -> dict[str, Any]:
    return study_defaults()


def _line(key: str, value: str, note: str) -> str:
    line = f"{key} = {value}"
    return f"{line}  # {_comment(note)}" if note else line


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def _absent(p: Proposal, table: str) -> list[str]:
    return [
        f"# {a.role}: no column found ({a.label}; looked for {', '.join(a.looked_for)}, ...)"
        for a in p.absent
        if a.table == table
    ]


@dataclass(frozen=True)
class Todo:
    """A line of the written file the user must set before the file loads."""

    table: str
    key: str
    what: str


def todo(p: Proposal) -> tuple[Todo, ...]:
    """The lines left for the user (empty when the file loads as written)."""
    out = []
    components = [m for m in p.mapped if m.table == "components"]
    if p.column("outcome", "resilience") is None and (p.units == "any" or len(components) < 2):
        out.append(Todo("outcome", "column", "one of the candidates listed above it"))
    if p.units == "any" and p.treatment.chosen is None:
        out.append(Todo("treatment", "cohort_column", "the first treated period (or a 0/1) column"))
    return tuple(out)


def line_number(text: str, table: str, key: str) -> int:
    """The 1-based line of `key = ...` in `[table]` of a rendered file (0 when absent)."""
    current = ""
    for i, line in enumerate(text.splitlines(), start=1):
        if line.startswith("["):
            current = line.strip("[] ")
        elif current == table and line.split("=")[0].strip() == key:
            return i
    return 0


def _panel(p: Proposal) -> list[str]:
    study = _study()["panel"]
    word = f"{p.period_word}s"
    span = f"{p.data_years[0]}-{p.data_years[1]}"
    if p.study_window:
        outside = (
            ""
            if p.data_years == (p.first_year, p.last_year)
            else "; rows of other years are left out"
        )
        note = (
            f"The study's window {study['first_year']}-{study['last_year']} (the paper's years, "
            f"for its Chinese cities); the file has years {span}{outside}."
        )
    else:
        note = f"The file's own {word}, {span}"
        if p.units == "any":
            note += (
                f" (the study's window {study['first_year']}-{study['last_year']} applies to "
                "its Chinese cities only)"
            )
        note += "."
    lines = ["[panel]", *wrap(note)]
    lines += [f"first_year = {p.first_year}", f"last_year = {p.last_year}"]
    units = "units of any kind, by their ids" if p.units == "any" else "cities of data/cities.csv"
    lines.append(_line("units", toml_string(p.units), units))
    lines.append(_line("city_key", toml_string(p.city_key), f"{p.key_column}: {p.key_note}"))
    lines += [f"missing = {toml_string(study['missing'])}", ""]
    return lines


def _outcome(p: Proposal) -> list[str]:
    lines = ["[outcome]"]
    outcome = p.column("outcome", "resilience")
    components = [m for m in p.mapped if m.table == "components"]
    candidates = p.outcome_candidates
    listed = wrap(
        f"Candidates ({plural(len(candidates), 'numeric column')} varying within units, not "
        f"the ids, the time or the treatment): {compact(candidates, quote=name) or 'none'}",
        "  ",
    )
    if outcome is not None:
        lines.append(_line("column", toml_string(outcome), "a ready-made outcome"))
    elif p.units == "any":
        lines += ["# Set the outcome column of your file.", *listed, 'column = ""']
    elif len(components) < 2:
        lines += [
            "# No ready outcome column and fewer than two [components]: the resilience index",
            "# cannot be built. Set an outcome column here, or map components below.",
            *listed,
            'column = ""',
        ]
    else:
        lines.append('column = ""  # the resilience index is built from [components]')
    return [*lines, ""]


def _components_inputs(p: Proposal) -> list[str]:
    study = _study()
    if p.units == "any":
        return [
            "[components]",
            "# None: the outcome is a ready column of the file (components build the study's",
            "# resilience index from Chinese yearbook indicators).",
            "",
            "[inputs]",
            "# None: the study's inputs are Chinese yearbook indicators (see [model]).",
            "",
        ]
    lines = ["[components]"]
    for m in (m for m in p.mapped if m.table == "components"):
        spec = study["components"].get(m.role, {"direction": "+", "dimension": "resistance"})
        value = (
            f"{{ column = {toml_string(m.column)}, direction = {toml_string(spec['direction'])}, "
            f"dimension = {toml_string(spec['dimension'])} }}"
        )
        lines.append(_line(m.role, value, m.note))
    lines += [*_absent(p, "components"), "", "[inputs]"]
    lines += [_line(m.role, toml_string(m.column), m.note) for m in p.mapped if m.table == "inputs"]
    return [*lines, *_absent(p, "inputs"), ""]


def _treatment(p: Proposal) -> list[str]:
    t = p.treatment
    lines = ["[treatment]"]
    if t.chosen is None:
        if p.units == "any":
            return [
                *lines,
                *wrap(
                    "No cohort column (one first treated period per unit) or 0/1 indicator "
                    "(switching on once) found in the data: name yours."
                ),
                'source = "column"  # or "indicator" for a 0/1 column',
                'cohort_column = ""',
                "",
            ]
        return [*lines, 'source = "pilot_zones"  # no cohort or 0/1 treatment column found', ""]
    kind = "first treated period" if t.chosen.kind == "column" else "0/1 indicator"
    lines += wrap(f"Found in the data: {t.chosen.evidence}.", "  ")
    for other in t.others[:4]:
        lines += wrap(f"Also a candidate: {other.evidence}.", "  ")
    if len(t.others) > 4:
        rest = compact([o.column for o in t.others[4:]], quote=name)
        lines += wrap(f"Also 0/1 and never switching off: {rest}.", "  ")
    lines.append(f"source = {toml_string(t.source)}")
    lines.append(_line("cohort_column", toml_string(t.column), kind))
    return [*lines, ""]


def _study_list(v: VariableList) -> list[str]:
    left = ", ".join(f"{n} ({why})" for n, why in v.left)
    return [
        *wrap(
            f"The study's {v.key} {_list(v.study)} cannot all be built from this file's "
            f"inputs; this differs from the paper's {v.key[:-1]} set. Left out: {left}.",
            "  ",
        ),
        f"{v.key} = {_list(v.kept)}",
    ]


def _model(p: Proposal) -> list[str]:
    if p.units == "cities":
        lines: list[str] = []
        for table in ("model", "callaway_santanna"):
            lists = [v for v in p.lists if v.table == table and not v.complete]
            if lists:
                lines += [f"[{table}]", *(x for v in lists for x in _study_list(v)), ""]
        return lines
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
        window = _study()["model"]["event_window"]
        note = (
            f"the study's {window} clipped to the event times the panel's cohorts reach"
            if list(p.event_window) != list(window)
            else "the study's; the panel's cohorts reach beyond it"
        )
        lines.append(_line("event_window", f"[{p.event_window[0]}, {p.event_window[1]}]", note))
    lines += ["", "[callaway_santanna]"]
    lines.append("covariates = []  # pick among the columns listed under [model]")
    return [*lines, "", *_all_treated(p), *_robustness(p)]


def _all_treated(p: Proposal) -> list[str]:
    """Without never-treated units the staggered DML compares with the not-yet-treated."""
    never = p.treatment.never_treated()
    if never is None or never.any():
        return []
    return [
        "[dml]",
        *wrap(
            "Every unit is treated within the panel (no never-treated unit): the staggered DML "
            "compares with the units not yet treated. The Callaway-Sant'Anna and "
            "event-study-estimator exhibits need never-treated units and are not run."
        ),
        'did_control_group = "not_yet_treated"',
        "",
    ]


def _robustness(p: Proposal) -> list[str]:
    """The study's dropped years (2020-2022) where the panel has none of them."""
    study = [int(y) for y in _study()["robustness"]["drop_years"]]
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


def _left(left: tuple[Left, ...]) -> list[str]:
    """The columns left out, one comment per reason (a reason shared by several columns lists
    them together, in the file's order)."""
    groups: dict[str, list[str]] = {}
    for x in left:
        groups.setdefault(x.reason, []).append(x.column)
    lines = []
    for reason, columns in groups.items():
        if reason == GROUP_REASONS["varying"]:  # named under [outcome] and [model]
            lines += wrap(f"{plural(len(columns), 'column')}: {reason}", "  ")
        elif len(columns) == 1:
            lines += wrap(f"{name(columns[0])}: {reason}", "  ")
        else:
            lines += wrap(f"{reason}: {compact(columns, quote=name)}", "  ")
    return lines


def render(p: Proposal, out: Path | str = "FILE.toml") -> str:
    """The proposal as a TOML configuration that ``analysis.config.load_config`` reads once
    the lines of ``todo(p)`` are set."""
    head = _HEAD.format(
        source=p.source,
        rows=p.rows,
        cols=p.n_columns,
        units=p.n_units,
        periods=p.n_periods,
        word=f"{p.period_word}s",
        sampled=_sampled(p),
        out=out,
    )
    lines = [head + (_UNITS_NOTE if p.units_found else "")]
    lines += _panel(p)
    lines += ["[columns]"]
    lines += [_line(m.role, toml_string(m.column), "") for m in p.mapped if m.table == "columns"]
    lines += [""]
    lines += _outcome(p)
    lines += _components_inputs(p)
    lines += _treatment(p)
    lines += _model(p)
    if p.units == "any":
        lines += ["[sample]", 'cities = "all"  # units of any kind: no registry sample', ""]
    lines += ["# ---- Columns of the file left out, by reason ----", *_left(p.left)]
    if p.readings:
        lines += ["", "# ---- Unit keys read through data/city_aliases.csv ----"]
        lines += [f"# {_comment(r)}" for r in p.readings]
    if p.unresolved:
        lines += ["", "# ---- Unit keys not in data/cities.csv (in the sampled rows) ----"]
        lines += [f"# {_comment(r)}" for r in p.unresolved]
    return "\n".join(lines) + "\n"


def _sampled(p: Proposal) -> str:
    return f"all {p.rows:,}" if p.sampled == p.rows else f"{p.sampled:,} evenly spaced"
