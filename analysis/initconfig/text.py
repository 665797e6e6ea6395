"""An init-config proposal (``analysis.initconfig.guess.Proposal``) as a TOML configuration with
its reasons as comments, and as the summary printed on the terminal."""

from __future__ import annotations

import json
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from analysis.config import DEFAULT_CONFIG
from analysis.initconfig.guess import NO_ROLE, Proposal

# The study's roles' order (data/study.toml) and what a user sees in the file's header.
_HEAD = """\
# Configuration proposed by `python -m analysis init-config` for {source}
# ({rows:,} rows, {cols} columns). Mappings were guessed from the column names
# (data/synonyms.toml) and {sampled} rows: check each line before you run
#   python -m analysis run --data {source} --config {out}
# A line starting with '#' is left out, with the reason. [columns], [components] and
# [inputs] list what the file has; tables not written here ([model], [inference], [dml],
# ...) keep the defaults of data/study.toml. Units are those written in the headers: the
# study's formulas assume the unit named in each note (a ratio of two money columns needs
# both in the same unit).
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


def _comment(text: str) -> str:
    return " ".join(text.split())  # one line


def _study() -> dict[str, Any]:
    with DEFAULT_CONFIG.open("rb") as fh:
        return tomllib.load(fh)


def _line(key: str, value: str, note: str) -> str:
    line = f"{key} = {value}"
    return f"{line}  # {_comment(note)}" if note else line


def _absent(p: Proposal, table: str) -> list[str]:
    return [
        f"# {a.role}: no column found ({a.label}; looked for {', '.join(a.looked_for)}, ...)"
        for a in p.absent
        if a.table == table
    ]


def render(p: Proposal, out: Path | str = "FILE.toml") -> str:
    """The proposal as a TOML configuration that ``analysis.config.load_config`` reads."""
    study = _study()
    knows_units = "units" in study["panel"]
    lines = [
        _HEAD.format(source=p.source, rows=p.rows, cols=p.n_columns, sampled=_sampled(p), out=out)
    ]
    lines += ["[panel]"]
    outside = (
        "" if p.data_years == (p.first_year, p.last_year) else "; rows of other years are left out"
    )
    lines += [f"# The file has years {p.data_years[0]}-{p.data_years[1]}{outside}."]
    lines += [f"first_year = {p.first_year}", f"last_year = {p.last_year}"]
    if knows_units:
        lines.append(_line("units", toml_string(p.units), "registry cities, or units of any kind"))
    else:
        lines.append(f'# units = "{p.units}"  ([panel] units is not known to this version)')
    lines.append(_line("city_key", toml_string(p.city_key), f"{p.key_column}: {p.key_note}"))
    lines += [f"missing = {toml_string(study['panel']['missing'])}", ""]
    lines += ["[columns]"]
    lines += [_line(m.role, toml_string(m.column), "") for m in p.mapped if m.table == "columns"]
    lines += ["", "[outcome]"]
    outcome = p.column("outcome", "resilience")
    components = [m for m in p.mapped if m.table == "components"]
    if outcome is not None:
        lines.append(_line("column", toml_string(outcome), "a ready-made outcome"))
    elif len(components) < 2:
        lines += [
            "# No ready outcome column and fewer than two [components]: the resilience index",
            "# cannot be built. Map an outcome column here, or components below.",
        ]
        unnamed = [x.column for x in p.left if x.reason == NO_ROLE]
        if unnamed:
            lines.append(f"# Columns without a role: {', '.join(map(toml_string, unnamed))}")
        lines.append('column = ""')
    else:
        lines.append('column = ""  # the resilience index is built from [components]')
    lines += ["", "[components]"]
    for m in components:
        spec = study["components"].get(m.role, {"direction": "+", "dimension": "resistance"})
        value = (
            f"{{ column = {toml_string(m.column)}, direction = {toml_string(spec['direction'])}, "
            f"dimension = {toml_string(spec['dimension'])} }}"
        )
        lines.append(_line(m.role, value, m.note))
    lines += _absent(p, "components")
    lines += ["", "[inputs]"]
    lines += [_line(m.role, toml_string(m.column), m.note) for m in p.mapped if m.table == "inputs"]
    lines += _absent(p, "inputs")
    lines += ["", "[treatment]"]
    if p.treatment_source == "pilot_zones":
        lines.append('source = "pilot_zones"  # no cohort or 0/1 treatment column found')
    else:
        kind = "first treated year" if p.treatment_source == "column" else "0/1 indicator"
        lines += [f"source = {toml_string(p.treatment_source)}"]
        lines += [_line("cohort_column", toml_string(p.treatment_column), kind)]
    if p.units == "any":
        lines += ["", "[sample]", 'cities = "all"  # units of any kind: no registry sample']
    lines += ["", "# ---- Columns of the file left out ----"]
    lines += [f"# {toml_string(x.column)}: {_comment(x.reason)}" for x in p.left]
    if p.readings:
        lines += ["", "# ---- Unit keys read through data/city_aliases.csv ----"]
        lines += [f"# {_comment(r)}" for r in p.readings]
    if p.unresolved:
        lines += ["", "# ---- Unit keys not in data/cities.csv (in the sampled rows) ----"]
        lines += [f"# {_comment(r)}" for r in p.unresolved]
    return "\n".join(lines) + "\n"


def _sampled(p: Proposal) -> str:
    return f"all {p.rows:,}" if p.sampled == p.rows else f"{p.sampled:,} evenly spaced"


def summary(p: Proposal, out: Path, loads: str) -> str:
    """What the terminal shows: key, year, mappings, units in headers, what was left out."""
    width = max((len(f"{m.table}.{m.role}") for m in p.mapped), default=10)
    lines = [f"init-config: {p.source}: {p.rows:,} rows, {p.n_columns} columns"]
    lines.append(
        f"  year: {p.year_column!r} ({p.data_years[0]}-{p.data_years[1]}); "
        f"[panel] {p.first_year}-{p.last_year}"
    )
    lines.append(f"  units: {p.units}, key {p.key_column!r} ({p.city_key}): {p.key_note}")
    lines += [f"    read as {r}" for r in p.readings[:8]]
    if len(p.readings) > 8:
        lines.append(f"    ... {len(p.readings) - 8} more in {out}")
    lines += [f"    not in data/cities.csv: {r}" for r in p.unresolved[:5]]
    lines.append(f"  mapped {len(p.mapped)} columns:")
    lines += [f"    {m.table + '.' + m.role:<{width}}  {m.column}" for m in p.mapped]
    if p.treatment_source != "pilot_zones":
        lines.append(f"  treatment: source = {p.treatment_source!r} from {p.treatment_column!r}")
    if p.units_found:
        lines.append("  units in headers (set the scale of mapped columns before you run):")
        for col, unit, note in p.units_found:
            lines.append(f"    {col}: {unit}" + (f" -- {note}" if note else ""))
    lines.append(f"  left out {len(p.left)} columns (reasons in {out}):")
    lines += [f"    {x.column}: {x.reason}" for x in p.left]
    if p.absent:
        roles = ", ".join(a.role for a in p.absent)
        lines.append(f"  no column for {len(p.absent)} roles: {roles}")
    lines.append(f"wrote {out}")
    if p.units == "any" and "units" not in _study()["panel"]:
        lines.append(
            f"note: the units of {p.source} are not cities of data/cities.csv, and this version "
            'reads only those ([panel] units = "any" is not available yet)'
        )
    if loads:
        lines.append(f"note: {out} does not load yet: {loads}")
    return "\n".join(lines) + "\n"
