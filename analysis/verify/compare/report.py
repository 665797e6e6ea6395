"""What a comparison found: one Finding per pair of values that differ (where, both values,
the kind and its tolerance, the relative size) and one FileReport per file (identical,
within tolerance with its largest difference, or different with its differences)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from analysis.precision import TOLERANCES, allowed

MAX_LISTED = 5  # differences listed per file


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
    more: int = 0  # differences beyond those listed

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
        more = len(self.differences) - MAX_LISTED + self.more
        return f"{where}: DIFFERENT: {shown}" + (f"; and {more} more" if more > 0 else "")


def to_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def numbers(
    rep: FileReport,
    where: str,
    a: str,
    b: str,
    kind: str,
    scale: float,
    unit: float = 0.0,
    shown: tuple[str, str] | None = None,
) -> None:
    """Compare two numbers written as text (already known to differ as text); `shown` is
    the text to report them by (a whole table cell) when it is more than the number."""
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        rep.differ(Finding(where, repr(a), repr(b), kind, 0.0, math.inf))
        return
    if math.isnan(x) and math.isnan(y):
        return
    tol = allowed(x, y, kind, scale, unit)
    size = abs(x - y) / max(abs(x), abs(y), abs(scale), 1e-300)
    a, b = shown or (a, b)
    finding = Finding(where, a, b, kind, tol, size if math.isfinite(size) else math.inf)
    if math.isfinite(x) and math.isfinite(y) and abs(x - y) <= tol:
        rep.noise(finding)
    else:
        rep.differ(finding)
