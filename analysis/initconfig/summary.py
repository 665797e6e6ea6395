"""What `python -m analysis init-config` prints: a short summary of a proposal
(``analysis.initconfig.guess.Proposal``). The panel's size, the mappings made, the treatment
found and what still needs the user; every per-column reason is in the written file."""

from __future__ import annotations

import textwrap
from pathlib import Path

from analysis.initconfig.guess import Proposal
from analysis.initconfig.profile import compact, plural
from analysis.initconfig.text import line_number, todo

WIDTH = 100
# Header units that need the user (a scale or a conversion), at most this many shown.
SHOW_UNITS = 5


def _wrapped(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=f"  {label}: ",
        subsequent_indent="      ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _mappings(p: Proposal) -> str:
    tables: dict[str, list[str]] = {}
    for m in p.mapped:
        tables.setdefault(m.table, []).append(
            m.role if m.role == m.column else f"{m.role} = {m.column}"
        )
    return "; ".join(f"[{t}] " + ", ".join(items) for t, items in tables.items())


def _panel(p: Proposal) -> str:
    span = f"{p.data_years[0]}-{p.data_years[1]}"
    window = "the study's window" if p.study_window else f"the file's own {p.period_word}s"
    time = f"{p.n_periods:,} {p.period_word}s ({p.year_column!r}, {span})"
    if p.units == "any":
        units = f"{p.n_units:,} units ({p.key_column!r}, ids of any kind)"
    else:  # the key's own count: variant spellings of one city's key are one unit
        units = f"key {p.key_column!r} ({p.key_note})"
    return f"{units} x {time}; [panel] {p.first_year}-{p.last_year}, {window}"


def _outcome(p: Proposal) -> str:
    outcome = p.column("outcome", "resilience")
    if outcome is not None:
        return f"column {outcome!r}"
    n = sum(m.table == "components" for m in p.mapped)
    if p.units == "cities" and n >= 2:
        return f"the resilience index from {n} [components]"
    candidates = p.outcome_candidates
    listed = f": {compact(candidates, show=4)}" if candidates else ""
    return f"not set; {plural(len(candidates), 'candidate')} listed in the file{listed}"


def _lists(p: Proposal) -> list[str]:
    if p.units == "any":
        n = len(p.covariate_candidates)
        return _wrapped(
            "controls, covariates",
            f"empty for you to pick; {plural(n, 'numeric column')} listed under [model] in "
            "the file",
        )
    lines = []
    for v in p.lists:
        if not v.complete:
            left = ", ".join(n for n, _ in v.left)
            lines += _wrapped(
                f"[{v.table}] {v.key}",
                f"{len(v.kept)} of the study's {len(v.study)} (left out, inputs missing: {left})",
            )
    return lines


def summary(p: Proposal, out: Path, loads: str) -> str:
    """The terminal summary (short; the reasons are in the file at `out`)."""
    lines = [f"init-config: {p.source}: {p.rows:,} rows, {p.n_columns} columns"]
    lines += _wrapped("panel", _panel(p))
    if p.readings or p.unresolved:
        lines.append(
            f"  keys: {len(p.readings)} read through data/city_aliases.csv, "
            f"{len(p.unresolved)} not in data/cities.csv (listed in the file)"
        )
    lines += _wrapped(f"mapped {len(p.mapped)} columns", _mappings(p))
    t = p.treatment
    if t.chosen is not None:
        lines += _wrapped("treatment", f"source = {t.source!r}, {t.chosen.evidence}")
    elif p.units == "cities":
        lines.append("  treatment: the study's pilot zones (no cohort or 0/1 column in the data)")
    else:
        lines.append("  treatment: no cohort or 0/1 column found in the data")
    lines += _wrapped("outcome", _outcome(p))
    lines += _lists(p)
    scales = [(c, u, n) for c, u, n in p.units_found if "multiply" in n or "convert" in n]
    if scales:
        lines.append("  units in headers (set the scale of mapped columns before you run):")
        lines += [f"    {col}: {unit} -- {note}" for col, unit, note in scales[:SHOW_UNITS]]
        if len(scales) > SHOW_UNITS:
            lines.append(f"    ... {len(scales) - SHOW_UNITS} more in the file")
    absent = f"; no column for {len(p.absent)} roles" if p.absent else ""
    lines.append(f"  left out {len(p.left)} columns{absent} (reasons in the file)")
    lines.append(f"wrote {out}")
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    for item in todo(p):
        where = line_number(text, item.table, item.key)
        lines.append(f"to do: set [{item.table}] {item.key} on line {where} of {out}: {item.what}")
    if loads:
        lines.append(f"note: {out} does not load: {loads}")
    return "\n".join(lines) + "\n"
