"""Compare two runs' files and tell machine noise from a difference (used by `verify` and
the golden-output test).

Each file is `identical` (same bytes), `within tolerance` (every number agrees within the
tolerance of its kind, analysis.precision.TOLERANCES; the largest difference is reported)
or `different` (the first differences are named: file, row, column, both values and the
tolerance). Compared: estimates.csv (rows matched by exhibit, model and term; the kind of
each row from its structured columns), analysis_panel.csv (rows matched by city and year),
and every table in csv, md and tex (cells or lines in order; numbers in the text compared
with the loosest kind among the estimates of the table's exhibit, plus one unit of the last
shown decimal). Text that is not a number must match exactly; integers are counts and must
match exactly. Figures are drawings of these numbers and are not compared."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.precision import TOLERANCES, allowed, estimate_kind, looser

ESTIMATES = "estimates.csv"
PANEL = "analysis_panel.csv"
ESTIMATE_KEYS = ("exhibit", "model", "term")
PANEL_KEYS = ("city_code", "year")
COUNT_COLUMNS = {"n_obs", "n_clusters", "reference_period"}
# Scale of each numeric column of estimates.csv (see analysis.precision): the row's
# standard error for quantities in outcome units, 1 for statistics and p-values.
SE_SCALED = {"estimate", "std_error", "conf_low", "conf_high"}
UNIT_SCALED = {"statistic", "p_value"}
MAX_LISTED = 5  # differences listed per file
INTEGER = re.compile(r"[-+]?\d+")
NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)")
STARS = re.compile(r"\*+")
LOOSE_FOR_STARS = ("learner", "optimizer")  # significance stars may flip within noise


@dataclass(frozen=True)
class Finding:
    """One pair of numbers (or texts) that differ: where, both values, and how far."""

    where: str
    a: str
    b: str
    kind: str
    tolerance: float  # the largest |a - b| accepted (0 for text and counts)
    size: float  # |a - b| relative to max(|a|, |b|, scale); inf for text

    def describe(self) -> str:
        tol = TOLERANCES[self.kind].rtol
        return (
            f"{self.where}: {self.a} vs {self.b} (difference {self.size:.2g} relative; "
            f"{self.kind} tolerance {tol:g}, here {self.tolerance:.3g} absolute)"
        )


@dataclass
class FileReport:
    file: str
    exhibit: str = "-"
    status: str = "identical"
    largest: Finding | None = None
    differences: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def noise(self, f: Finding) -> None:
        if self.largest is None or f.size > self.largest.size:
            self.largest = f

    def differ(self, f: Finding) -> None:
        self.differences.append(f)

    def finish(self) -> FileReport:
        if self.differences:
            self.status = "different"
        elif self.largest is not None or self.notes:
            self.status = "within tolerance"
        return self

    def line(self) -> str:
        """One line for the terminal."""
        where = f"{self.file} (exhibit {self.exhibit})"
        if self.status == "identical":
            return f"{where}: identical"
        if self.status == "within tolerance":
            big = f"largest difference {self.largest.describe()}" if self.largest else ""
            extra = "; ".join([big, *self.notes]) if big else "; ".join(self.notes)
            return f"{where}: equal within tolerance; {extra}"
        shown = "; ".join(f.describe() for f in self.differences[:MAX_LISTED])
        more = len(self.differences) - MAX_LISTED
        return f"{where}: DIFFERENT: {shown}" + (f"; and {more} more" if more > 0 else "")


def _num(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numbers(
    rep: FileReport, where: str, a: str, b: str, kind: str, scale: float, unit: float = 0.0
) -> None:
    """Compare two numbers written as text (already known to differ as text)."""
    x, y = _num(a), _num(b)
    if x is None or y is None:
        rep.differ(Finding(where, repr(a), repr(b), kind, 0.0, math.inf))
        return
    if math.isnan(x) and math.isnan(y):
        return
    tol = allowed(x, y, kind, scale, unit)
    size = abs(x - y) / max(abs(x), abs(y), abs(scale), 1e-300)
    finding = Finding(where, a, b, kind, tol, size if math.isfinite(size) else math.inf)
    if math.isfinite(x) and math.isfinite(y) and abs(x - y) <= tol:
        rep.noise(finding)
    else:
        rep.differ(finding)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def _keyed(frame: pd.DataFrame, keys: Iterable[str]) -> pd.DataFrame:
    """Rows indexed by their key columns (plus the occurrence, for repeated keys)."""
    cols = [k for k in keys if k in frame.columns]
    if not cols:
        return frame.set_axis([str(i) for i in range(len(frame))])
    occurrence = frame.groupby(cols, sort=False).cumcount().astype(str)
    label = frame[cols].apply(lambda r: ", ".join(f"{c}={v}" for c, v in r.items()), axis=1)
    label = label.where(occurrence == "0", label + " #" + occurrence)
    return frame.set_axis(label.to_list())


def _frames(
    rep: FileReport,
    a: pd.DataFrame,
    b: pd.DataFrame,
    keys: Iterable[str],
    kind_of: Callable[[pd.Series, str], str],
    scale_of: Callable[[pd.Series, str], float],
) -> None:
    """Two tables of text cells: same columns, same keyed rows, cells equal or within."""
    if list(a.columns) != list(b.columns):
        only = sorted(set(a.columns) ^ set(b.columns))
        rep.differ(Finding("columns", ", ".join(a.columns), ", ".join(b.columns), "count", 0.0,
                           math.inf) if not only else
                   Finding(f"columns {', '.join(only)}", "present in one run only", "", "count",
                           0.0, math.inf))  # fmt: skip
        return
    ka, kb = _keyed(a, keys), _keyed(b, keys)
    missing = [k for k in ka.index if k not in kb.index] + [k for k in kb.index if k not in ka.index]
    for k in missing[:MAX_LISTED]:
        rep.differ(Finding(f"row ({k})", "in one run only", "", "count", 0.0, math.inf))
    common = [k for k in ka.index if k in kb.index]
    ka, kb = ka.loc[common], kb.loc[common]
    unequal = ka.ne(kb)
    for row_label, col in zip(*unequal.to_numpy().nonzero(), strict=True):
        label, column = common[row_label], a.columns[col]
        row = ka.loc[label]
        _numbers(
            rep,
            f"row ({label}), column {column}",
            str(row[column]),
            str(kb.loc[label, column]),
            kind_of(row, column),
            scale_of(row, column),
        )


def estimates(a: Path, b: Path, rep: FileReport) -> None:
    def kind_of(row: pd.Series, column: str) -> str:
        if column in COUNT_COLUMNS:
            return "count"
        return estimate_kind(row["estimator"], row["engine"], row["estimand"], row["vcov"])

    def scale_of(row: pd.Series, column: str) -> float:
        if column in UNIT_SCALED:
            return 1.0
        se = _num(str(row.get("std_error", "")))
        return abs(se) if column in SE_SCALED and se is not None and math.isfinite(se) else 0.0

    _frames(rep, _read(a), _read(b), ESTIMATE_KEYS, kind_of, scale_of)


def panel(a: Path, b: Path, rep: FileReport, kind: str = "closed_form") -> None:
    """A panel (or any CSV keyed by city_code and year): integer columns are counts, other
    numbers are compared on the scale of their column's median magnitude."""
    fa, fb = _read(a), _read(b)
    scales: dict[str, float] = {}
    for c in fa.columns:
        values = pd.to_numeric(fa[c], errors="coerce").abs()
        values = values[values > 0]
        scales[c] = float(values.median()) if len(values) else 0.0
    integer = {c for c in fa.columns if fa[c].str.fullmatch(r"-?\d*").all()}
    _frames(
        rep,
        fa,
        fb,
        PANEL_KEYS,
        lambda row, c: "count" if c in integer else kind,
        lambda row, c: scales.get(c, 0.0),
    )


def _cell(rep: FileReport, where: str, a: str, b: str, kind: str) -> None:
    """A table cell or a line of md/tex: the text between numbers must match, numbers
    within the kind's tolerance plus one unit of their last shown decimal."""
    pa, pb = NUMBER.split(a), NUMBER.split(b)
    if len(pa) != len(pb):
        rep.differ(Finding(where, repr(a), repr(b), kind, 0.0, math.inf))
        return
    for i, (x, y) in enumerate(zip(pa, pb, strict=True)):
        if x == y:
            continue
        if i % 2 == 0:  # text between numbers
            if STARS.sub("", x) == STARS.sub("", y) and kind in LOOSE_FOR_STARS:
                rep.notes.append(f"{where}: significance stars {x!r} vs {y!r} (p near a threshold)")
                continue
            rep.differ(Finding(where, repr(a), repr(b), kind, 0.0, math.inf))
            return
        if INTEGER.fullmatch(x) and INTEGER.fullmatch(y):
            _numbers(rep, where, x, y, "count", 0.0)  # an integer: a count or a label
            continue
        shown = [len(s.split(".")[1]) for s in (x, y) if "." in s and "e" not in s.lower()]
        _numbers(rep, where, x, y, kind, 0.0, 10.0 ** -max(shown) if shown else 0.0)


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def table_csv(a: Path, b: Path, rep: FileReport, kind: str) -> None:
    """A display table: same header and shape, cells compared in place."""
    ra, rb = _rows(a), _rows(b)
    if not ra or not rb or ra[0] != rb[0] or [len(r) for r in ra] != [len(r) for r in rb]:
        shape = f"{len(ra)} rows, header {ra[0] if ra else []}"
        other = f"{len(rb)} rows, header {rb[0] if rb else []}"
        rep.differ(Finding("shape", shape, other, "count", 0.0, math.inf))
        return
    header = ra[0]
    for i in range(1, len(ra)):
        label = ra[i][0] or (f"below {ra[i - 1][0]!r}" if i > 1 else "")
        for j, (x, y) in enumerate(zip(ra[i], rb[i], strict=True)):
            if x != y:
                where = f"row {i} ({header[0]}={label!r}), column {header[j]}"
                _cell(rep, where, x, y, kind)


def text_lines(a: Path, b: Path, rep: FileReport, kind: str) -> None:
    la = a.read_text(encoding="utf-8").splitlines()
    lb = b.read_text(encoding="utf-8").splitlines()
    if len(la) != len(lb):
        rep.differ(Finding("lines", f"{len(la)} lines", f"{len(lb)} lines", "count", 0.0,
                           math.inf))  # fmt: skip
        return
    for i, (x, y) in enumerate(zip(la, lb, strict=True)):
        if x != y:
            _cell(rep, f"line {i + 1}", x, y, kind)


def json_values(
    a: Any, b: Any, rep: FileReport, kind: str, path: str = "", scale: float = 0.0
) -> None:
    """Two JSON documents: same structure and text, numbers within the kind's tolerance."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                rep.differ(Finding(f"{path}/{k}", "present in one only", "", "count", 0, math.inf))
            else:
                json_values(a[k], b[k], rep, kind, f"{path}/{k}", scale)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            json_values(x, y, rep, kind, f"{path}[{i}]", scale)
    elif isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        if a != b:
            both_int = isinstance(a, int) and isinstance(b, int)
            _numbers(rep, path or "/", repr(a), repr(b), "count" if both_int else kind, scale)
    elif a != b:
        rep.differ(Finding(path or "/", repr(a)[:80], repr(b)[:80], "count", 0.0, math.inf))


def exhibit_kinds(estimates_csv: Path, exhibits: list[dict[str, Any]]) -> dict[str, str]:
    """The loosest kind among each table's exhibit's estimates (closed_form if none)."""
    rows = _read(estimates_csv) if estimates_csv.is_file() else pd.DataFrame()
    by_table: dict[str, str] = {}
    for _, r in rows.iterrows():
        k = estimate_kind(r["estimator"], r["engine"], r["estimand"], r["vcov"])
        by_table[r["exhibit"]] = looser(by_table.get(r["exhibit"], "closed_form"), k)
    loosest = "closed_form"
    for k in by_table.values():
        loosest = looser(loosest, k)
    out = {}
    for ex in exhibits:
        names = list(ex.get("tables", []))
        kind = "closed_form"
        for n in names:
            kind = looser(kind, by_table.get(n, "closed_form"))
        out.update(dict.fromkeys(names, kind))
    out["truth_comparison"] = loosest  # estimates of every exhibit beside the truth
    return out


def _files(root: Path, suffixes: tuple[str, ...]) -> set[str]:
    found = {
        f"tables/{p.name}"
        for p in (root / "tables").glob("*")
        if p.is_file() and p.suffix in suffixes
    }
    return found | {f for f in (ESTIMATES, PANEL) if (root / f).is_file()}


def compare_runs(
    a: Path,
    b: Path,
    exhibits: list[dict[str, Any]],
    suffixes: tuple[str, ...] = (".csv", ".md", ".tex"),
) -> list[FileReport]:
    """Compare the estimates, the panel and every table (with these suffixes) of runs a and
    b. `exhibits` is the manifest's list (id and table names of each exhibit), to name each
    table's exhibit and pick its kind."""
    kinds = exhibit_kinds(a / ESTIMATES, exhibits)
    owner = {t: str(ex["id"]) for ex in exhibits for t in ex.get("tables", [])}
    reports = []
    for name in sorted(_files(a, suffixes) | _files(b, suffixes)):
        stem = Path(name).stem
        exhibit = "all" if name in (ESTIMATES, PANEL) else owner.get(stem, "-")
        rep = FileReport(name, exhibit)
        fa, fb = a / name, b / name
        if not (fa.is_file() and fb.is_file()):
            rep.differ(Finding("file", "present" if fa.is_file() else "missing",
                               "present" if fb.is_file() else "missing", "count", 0.0,
                               math.inf))  # fmt: skip
        elif fa.read_bytes() != fb.read_bytes():
            if name == ESTIMATES:
                estimates(fa, fb, rep)
            elif name == PANEL:
                panel(fa, fb, rep)
            elif name.endswith(".csv"):
                table_csv(fa, fb, rep, kinds.get(stem, "closed_form"))
            else:
                text_lines(fa, fb, rep, kinds.get(stem, "closed_form"))
            if not rep.differences and rep.largest is None and not rep.notes:
                rep.notes.append("the bytes differ but every value matches (order or layout)")
        reports.append(rep.finish())
    return reports


def _json_scale(doc: Any) -> float:
    """The median magnitude of a JSON document's nonzero numbers: the scale against which
    a number that is zero in theory (and noise in practice) is compared."""
    found: list[float] = []

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, float) and math.isfinite(x) and x != 0:
            found.append(abs(x))

    walk(doc)
    return float(sorted(found)[len(found) // 2]) if found else 0.0


def compare_file(a: Path, b: Path, kind: str = "closed_form") -> FileReport:
    """One committed generated file (a) against its regeneration (b): JSON by path and CSV
    keyed by city and year (or by position) under `kind`'s tolerance."""
    rep = FileReport(a.name)
    if a.read_bytes() == b.read_bytes():
        return rep.finish()
    if a.suffix == ".json":
        import json

        da = json.loads(a.read_text(encoding="utf-8"))
        db = json.loads(b.read_text(encoding="utf-8"))
        json_values(da, db, rep, kind, scale=_json_scale(da))
    elif a.suffix == ".csv":
        panel(a, b, rep, kind)
    else:
        text_lines(a, b, rep, kind)
    return rep.finish()
