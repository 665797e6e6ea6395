"""Comparison of text with numbers in it: display tables (cell by cell), their md and tex
renderings (line by line) and JSON documents (path by path). Text between numbers must
match; integers are counts; other numbers agree within their kind's tolerance plus one unit
of their last shown decimal."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

from analysis.verify.compare.report import FileReport, Finding, numbers

INTEGER = re.compile(r"[-+]?\d+")
NUMBER = re.compile(r"([-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)")
STARS = re.compile(r"\*+")
LOOSE_FOR_STARS = ("learner", "optimizer")  # significance stars may flip within noise


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
            numbers(rep, where, x, y, "count", 0.0, shown=(a, b))  # a count or a label
            continue
        places = [len(s.split(".")[1]) for s in (x, y) if "." in s and "e" not in s.lower()]
        unit = 10.0 ** -max(places) * (1 + 1e-9) if places else 0.0  # float spacing of a unit
        numbers(rep, where, x, y, kind, 0.0, unit, shown=(a, b))


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
        rep.differ(Finding("lines", f"{len(la)} lines", f"{len(lb)} lines", "count", 0.0, math.inf))
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
            numbers(rep, path or "/", repr(a), repr(b), "count" if both_int else kind, scale)
    elif a != b:
        rep.differ(Finding(path or "/", repr(a)[:80], repr(b)[:80], "count", 0.0, math.inf))


def json_scale(doc: Any) -> float:
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
