"""Display tables from tidy estimates, and their csv / Markdown / LaTeX renderings.

Every table has a note saying the data are simulated when they are; numbers are formatted
here once, so the three renderings agree to the digit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.estimates import Estimate
from analysis.render.labels import label, words

DIGITS = 4


def stars(p: float) -> str:
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


MAX_DIGITS = 12


def fmt(x: float, digits: int = DIGITS) -> str:
    return "" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def decimals_for(scale: float) -> int:
    """Decimals that show a number of magnitude `scale` (a standard error, a column's
    typical value) to at least two significant digits, and never fewer than DIGITS: the
    study's index prints as 0.0676 (0.0047), a rate of 1e-4 as 0.000123 (0.000045)."""
    if not np.isfinite(scale) or scale <= 0:
        return DIGITS
    return int(min(MAX_DIGITS, max(DIGITS, 1 - np.floor(np.log10(scale)))))


def regression_table(
    estimates: list[Estimate],
    models: list[str],
    terms: list[str],
    extra: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Columns (1), (2), ... for `models`; coefficient and (SE) rows per term; footer rows."""
    by = {(e.model, e.term): e for e in estimates}
    cols = [f"({i + 1})" for i in range(len(models))]
    rows: list[list[str]] = []
    shown = [by[m, t] for m in models for t in terms if (m, t) in by]
    ses = [e.std_error for e in shown if np.isfinite(e.std_error) and e.std_error > 0]
    d = decimals_for(min(ses)) if ses else DIGITS  # set by the table's smallest SE
    for t in terms:
        cells = [by.get((m, t)) for m in models]
        rows.append(
            [label(t)] + [fmt(c.estimate, d) + stars(c.p_value) if c else "" for c in cells]
        )
        rows.append([""] + [f"({fmt(c.std_error, d)})" if c else "" for c in cells])
    for name, values in (extra or {}).items():
        rows.append([name, *values])
    first = [next(e for e in estimates if e.model == m) for m in models]
    rows.append(["Observations"] + [str(e.n_obs) for e in first])
    rows.append(["Clusters (cities)"] + [str(e.n_clusters) for e in first])
    rows.append(["Standard errors"] + [e.vcov for e in first])
    return pd.DataFrame(rows, columns=["term", *cols])


def inference_note(estimates: list[Estimate]) -> str:
    """The small-sample settings of a table's regressions, for its note."""
    settings = sorted({f"{e.vcov} with {e.ssc}" for e in estimates})
    return (
        "Standard errors in parentheses: "
        + "; ".join(settings)
        + ". * p<0.1, ** p<0.05, *** p<0.01."
    )


def _markdown(table: pd.DataFrame) -> str:
    cells = table.astype(str).replace("nan", "")
    head = "| " + " | ".join(cells.columns) + " |"
    rule = "|" + "|".join("---" for _ in cells.columns) + "|"
    body = ["| " + " | ".join(r) + " |" for r in cells.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def _tex_escape(s: str) -> str:
    for a, b in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
    ):
        s = s.replace(a, b)
    return s


def _latex(table: pd.DataFrame, title: str, note: str) -> str:
    cells = table.astype(str).replace("nan", "")
    spec = "l" + "c" * (cells.shape[1] - 1)
    lines = [
        r"\begin{table}[htbp]\centering",
        rf"\caption{{{_tex_escape(title)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\hline",
        " & ".join(_tex_escape(c) for c in cells.columns) + r" \\",
        r"\hline",
        *(" & ".join(_tex_escape(c) for c in r) + r" \\" for r in cells.itertuples(index=False)),
        r"\hline",
        r"\end{tabular}",
        rf"\par\footnotesize {_tex_escape(note)}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def _probability(column: str) -> bool:
    name = column.lower()
    return name in ("p", "p_value", "pvalue", "share", "weight") or name.endswith(
        ("_p", "p_value", "_share", "_weight")
    )


def format_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as fixed-digit text (so csv, md and tex agree), each with the
    decimals its typical (median non-zero) magnitude needs (`decimals_for`)."""
    out = table.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]) and _probability(str(c)):
            out[c] = out[c].map(fmt)  # p-values and shares: on their own [0, 1] scale
        elif pd.api.types.is_float_dtype(out[c]):
            values = out[c].to_numpy(dtype=float)
            nonzero = np.abs(values[np.isfinite(values) & (values != 0)])
            d = decimals_for(float(np.median(nonzero))) if nonzero.size else DIGITS
            out[c] = out[c].map(lambda x, d=d: fmt(x, d))
    return out


def write_table(table: pd.DataFrame, name: str, title: str, note: str, folder: Path) -> list[Path]:
    """Write NAME.csv, NAME.md and NAME.tex; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    shown = format_numbers(table)
    shown = shown.rename(columns=lambda c: words(str(c)))
    for c in shown.columns:
        if shown[c].dtype == object or pd.api.types.is_string_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: words(v) if isinstance(v, str) else v)
    title, note = words(title), words(note)
    paths = [folder / f"{name}.{ext}" for ext in ("csv", "md", "tex")]
    shown.to_csv(paths[0], index=False, lineterminator="\n")
    paths[1].write_text(f"**{title}**\n\n{_markdown(shown)}\n{note}\n", encoding="utf-8")
    paths[2].write_text(_latex(shown, title, note), encoding="utf-8")
    return paths
