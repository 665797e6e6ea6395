"""`python -m analysis export-r DIR`: DIR/replicate.R, the R cross-check of a finished run in
plain R (no Python, no rpy2), for a reviewer who has R only.

The script is generated from the same check matrix (rbridge.matrix, rbridge.planners), the
same engines and R calls (rbridge.engines, rbridge/R/*.R, copied verbatim) and the same
tolerances (rbridge.tolerances) as `python -m analysis crosscheck`, so both give the same
verdicts. Every model lists the engines that mirror it, best first; at run time the script
uses the first whose R packages are installed (base R lm + sandwich at the Debian-only
depth) and says which checks it skipped and why. Arrays computed in Python for R (the
placebo's permutations, the DML folds, the bridge's attached columns) are written to
DIR/replicate_inputs/ as CSV; numbers from estimates.csv enter as numeric literals (17
significant digits) and names only as quoted, escaped strings: no text from a file becomes
R code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rbridge.crosscheck import load_run, run_plans
from rbridge.engines import ENGINES, PREFERENCE, Engine
from rbridge.matrix import Check, ModelPlan
from rbridge.packages import MINIMUM
from rbridge.session import R_DIR, R_FILES
from rbridge.tolerances import TOLERANCES

SCRIPT = "replicate.R"
INPUTS = "replicate_inputs"
RUNNER = R_DIR / "replicate_lib.R"


def r_string(text: str) -> str:
    """A double-quoted R string literal of any text (escaped; never code)."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable() and ord(ch) < 0x10000:
            out.append(ch)
        else:
            out.append(f"\\u{{{ord(ch):x}}}")
    return '"' + "".join(out) + '"'


def r_number(x: float) -> str:
    if np.isnan(x):
        return "NA_real_"
    if np.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return repr(float(x))  # the shortest text that reads back as the same double


@dataclass
class Writer:
    """R literals of Python values; arrays become files under replicate_inputs/."""

    folder: Path
    files: dict[str, np.ndarray] = field(default_factory=dict)

    def array(self, name: str, value: np.ndarray) -> str:
        stem = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)
        file = f"{stem}.csv"
        self.files[file] = value
        vector = "TRUE" if value.ndim == 1 else "FALSE"
        return f"rb_read_matrix(here, {r_string(file)}, vector = {vector})"

    def literal(self, value: Any, name: str) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, (int, np.integer)):
            return f"{int(value)}L"
        if isinstance(value, (float, np.floating)):
            return r_number(float(value))
        if isinstance(value, str):
            return r_string(value)
        if isinstance(value, np.ndarray):
            return self.array(name, value)
        if isinstance(value, dict):
            items = [f"{r_string(k)} = {self.literal(v, f'{name}_{k}')}" for k, v in value.items()]
            return "list(" + ", ".join(items) + ")"
        if isinstance(value, (list, tuple)):
            items = list(value)
            if not items:
                return "character(0)"
            if all(isinstance(v, tuple) for v in items):
                return "list(" + ", ".join(self.literal(list(v), name) for v in items) + ")"
            return "c(" + ", ".join(self.literal(v, name) for v in items) + ")"
        raise TypeError(f"no R literal for {value!r}")

    def write(self) -> None:
        folder = self.folder / INPUTS
        folder.mkdir(exist_ok=True)
        for file, value in self.files.items():
            matrix = value.reshape(-1, 1) if value.ndim == 1 else value
            np.savetxt(folder / file, matrix, delimiter=",", fmt="%.17g")


def _term(check: Check, model: str) -> str:
    middle = check.name.removeprefix(f"{model}/")
    return middle.removesuffix(f"/{check.quantity}") if middle != check.quantity else ""


def _checks(p: ModelPlan, w: Writer) -> str:
    cs = p.checks
    columns = {
        "check": [c.name for c in cs],
        "term": [_term(c, p.model) for c in cs],
        "quantity": [c.quantity for c in cs],
        "key": [c.r_key for c in cs],
        "python": [float(c.python_value) for c in cs],
        "skip": [c.skip for c in cs],
        "tolerance": [c.tolerance for c in cs],
        "scale": [float(c.scale) for c in cs],
        "needs_package": [c.needs.package if c.needs else "" for c in cs],
        "needs_version": [c.needs.version if c.needs else "" for c in cs],
        "needs_reason": [c.needs.reason if c.needs else "" for c in cs],
    }
    body = ",\n      ".join(f"{k} = {w.literal(v, k)}" for k, v in columns.items())
    return f"list(\n      {body})"


def _engine(e: Engine, p: ModelPlan, key: str, w: Writer) -> str:
    problem = e.unsupported(p.spec) or ""
    fun, args = "", "list()"
    if not problem:
        rc = e.call(p.spec, p.inputs)
        fun, args = rc.function, w.literal(rc.args, p.model)
    fields = {
        "name": e.name,
        "title": e.title,
        "r_function": e.r_function,
        "packages": list(e.packages),
        "family": e.family,
        "missing": e.missing,
        "unsupported": problem,
        "fun": fun,
        "cache_key": key,
    }
    body = ", ".join(f"{k} = {w.literal(v, k)}" for k, v in fields.items())
    return f"list({body},\n        args = {args})"


def _model(p: ModelPlan, keys: dict[tuple[str, Any], str], w: Writer) -> str:
    if p.skip:
        return f"list(model = {r_string(p.model)}, skip = {r_string(p.skip)})"
    engines = []
    for name in PREFERENCE[p.kind]:
        key = keys.setdefault((name, p.spec), f"k{len(keys) + 1}")
        engines.append(_engine(ENGINES[name], p, key, w))
    return (
        f'list(model = {r_string(p.model)}, skip = "",\n    engines = list(\n      '
        + ",\n      ".join(engines)
        + f"),\n    checks = {_checks(p, w)})"
    )


def script(plans: list[ModelPlan], w: Writer, attached_file: str | None) -> str:
    """The text of replicate.R."""
    families = sorted(TOLERANCES)
    tolerances = (
        "data.frame(family = "
        + w.literal([f for f, _ in families], "family")
        + ", quantity = "
        + w.literal([q for _, q in families], "quantity")
        + ", value = "
        + w.literal([TOLERANCES[k].value for k in families], "value")
        + ", stringsAsFactors = FALSE)"
    )
    minimum = (
        "list(" + ", ".join(f"{r_string(k)} = {r_string(v)}" for k, v in MINIMUM.items()) + ")"
    )
    keys: dict[tuple[str, Any], str] = {}
    models = ",\n  ".join(_model(p, keys, w) for p in plans)
    library = "\n".join(
        f"# ---- {path.relative_to(R_DIR.parent.parent)} ----\n{path.read_text(encoding='utf-8')}"
        for path in (*R_FILES, RUNNER)
    )
    return f"""#!/usr/bin/env Rscript
# replicate.R: the R cross-check of the run in this folder, in plain R (no Python).
# Written by `python -m analysis export-r` from the same check matrix, R calls and
# tolerances as `python -m analysis crosscheck`; regenerate it rather than edit it.
#
#   Rscript replicate.R                          # base R + sandwich at least
#   R_LIBS=~/R/rbridge Rscript replicate.R       # with fixest, did, did2s, didimputation,
#                                                # bacondecomp, HonestDiD, DoubleML
#
# Reads analysis_panel.csv and replicate_inputs/ next to this script; prints the side-by-side
# table and writes replicate.csv (model, term, quantity, check, python_value, r_value,
# difference, tolerance, verdict, r_engine, reason) next to it. Exit status 3 when a check
# fails. Each model runs with the first of its engines whose R packages are installed.

{library}
# ---- the run's check matrix (generated) ----
# The folder of this script (a caller that sources it may set rb_here first).
rb_script_dir <- function() {{
  if (exists("rb_here", inherits = TRUE)) return(get("rb_here", inherits = TRUE))
  file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  if (length(file) == 1) dirname(normalizePath(file)) else getwd()
}}
here <- rb_script_dir()
ok <- rb_replicate(
  here = here,
  attached = {r_string(attached_file) if attached_file else "NULL"},
  minimum = {minimum},
  tolerances = {tolerances},
  models = list(
  {models}
  )
)
if (!ok && !exists("rb_here", inherits = TRUE)) quit(status = 3)
"""


def main(out_dir: Path) -> int:
    """Write DIR/replicate.R (and DIR/replicate_inputs/) for the run in `out_dir`."""
    folder = Path(out_dir)
    run = load_run(folder)
    plans = run_plans(run)
    w = Writer(folder)
    attached_file = "columns.csv" if run.attached else None
    text = script(plans, w, attached_file)
    w.write()
    if attached_file:
        run.panel[["city_code", "year", *run.attached]].to_csv(
            folder / INPUTS / attached_file, index=False, lineterminator="\n"
        )
    tmp = folder / f".{SCRIPT}.tmp-{os.getpid()}"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / SCRIPT)
    n = sum(len(p.checks) for p in plans)
    print(f"wrote {folder / SCRIPT} ({len(plans)} models, {n} checks): Rscript {folder / SCRIPT}")
    return 0
