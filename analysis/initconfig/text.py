"""An init-config proposal (``analysis.initconfig.guess.Proposal``) as a TOML configuration, its
evidence and the reasons for what it leaves out written as comments (grouped, wrapped).

Every file it writes loads with ``analysis.config.load_config`` once the lines of ``todo``
are set (the outcome of a panel of any units is the user's to pick; so is the treatment
column when the data show none)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.initconfig.comments import comment, line, name, toml_string, wrap
from analysis.initconfig.guess import GROUP_REASONS, Left, Proposal
from analysis.initconfig.profile import compact, plural
from analysis.initconfig.settings import settings
from analysis.initconfig.study import study_defaults

# Re-exported: the tests and callers quote names as the file does.
__all__ = ["Todo", "line_number", "name", "render", "todo", "toml_string"]

_HEAD = """\
# Configuration proposed by `python -m analysis init-config` for {source}
# ({rows:,} rows, {cols} columns: {units:,} {unit_word} x {periods:,} {word}).
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


def _study() -> dict[str, Any]:
    return study_defaults()


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
    for i, row in enumerate(text.splitlines(), start=1):
        if row.startswith("["):
            current = row.strip("[] ")
        elif current == table and row.split("=")[0].strip() == key:
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
    lines.append(line("units", toml_string(p.units), units))
    lines.append(line("city_key", toml_string(p.city_key), f"{p.key_column}: {p.key_note}"))
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
        lines.append(line("column", toml_string(outcome), "a ready-made outcome"))
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
        lines.append(line(m.role, value, m.note))
    lines += [*_absent(p, "components"), "", "[inputs]"]
    lines += [line(m.role, toml_string(m.column), m.note) for m in p.mapped if m.table == "inputs"]
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
    lines.append(line("cohort_column", toml_string(t.column), kind))
    return [*lines, ""]


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
        unit_word="units" if p.units == "any" else "unit keys",
        periods=p.n_periods,
        word=f"{p.period_word}s",
        sampled=_sampled(p),
        out=out,
    )
    lines = [head + (_UNITS_NOTE if p.units_found else "")]
    lines += _panel(p)
    lines += ["[columns]"]
    lines += [line(m.role, toml_string(m.column), "") for m in p.mapped if m.table == "columns"]
    lines += [""]
    lines += _outcome(p)
    lines += _components_inputs(p)
    lines += _treatment(p)
    lines += settings(p)
    if p.units == "any":
        lines += ["[sample]", 'cities = "all"  # units of any kind: no registry sample', ""]
    lines += ["# ---- Columns of the file left out, by reason ----", *_left(p.left)]
    if p.readings:
        lines += ["", "# ---- Unit keys read through data/city_aliases.csv ----"]
        lines += [f"# {comment(r)}" for r in p.readings]
    if p.unresolved:
        lines += ["", "# ---- Unit keys not in data/cities.csv (in the sampled rows) ----"]
        lines += [f"# {comment(r)}" for r in p.unresolved]
    return "\n".join(lines) + "\n"


def _sampled(p: Proposal) -> str:
    return f"all {p.rows:,}" if p.sampled == p.rows else f"{p.sampled:,} evenly spaced"
