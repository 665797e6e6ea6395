"""What R must estimate, read from the rows of `estimates.csv` and checked before R sees it.

The `formula`, `vcov`, `ssc` and (when present) `subset` texts of a run are parsed into frozen
specifications here. Every name in them must be an R-safe identifier and a column of the
analysis panel; R then builds its formula from these names as symbols (rbridge/R/bridge.R),
so no text from a file is ever parsed as R code. Syntax the bridge does not mirror raises
`Unsupported` (the checks are reported as skipped with that reason); a name that is not a
column of the panel is an `InputError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from analysis.errors import InputError, choices, suggest

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
INT = re.compile(r"-?\d+")


class Unsupported(Exception):
    """A specification the bridge does not reproduce in R (reported as a skipped check)."""


@dataclass(frozen=True)
class EventTerm:
    """fixest's `i(var, ref = c(...))`: one dummy per level of `var` except the references."""

    var: str
    ref: tuple[int, ...]


@dataclass(frozen=True)
class SunabTerm:
    """fixest's `sunab(cohort, period, ref.p = k)` (Sun and Abraham); cohort 0 means never
    treated; `ref` is the omitted relative period (fixest's default -1)."""

    cohort: str
    period: str
    ref: int = -1


@dataclass(frozen=True)
class Formula:
    """A fixest formula `y ~ x1 + x1:x2 + i(...) + sunab(...) | fe1 + fe2^fe3`, taken apart.
    A fixed effect is a column name or a combination of columns (`province^year`, one level
    per observed pair), written `a^b`."""

    outcome: str
    regressors: tuple[str, ...] = ()
    interactions: tuple[tuple[str, ...], ...] = ()
    event: EventTerm | None = None
    sunab: SunabTerm | None = None
    fixef: tuple[str, ...] = ()

    def fixef_parts(self) -> list[list[str]]:
        """The fixed effects as lists of column names (one name, or the combined ones)."""
        return [f.split("^") for f in self.fixef]

    def columns(self) -> list[str]:
        """Every panel column the formula names, in order of appearance, once each."""
        names = [self.outcome, *self.regressors]
        names += [n for inter in self.interactions for n in inter]
        if self.event:
            names.append(self.event.var)
        if self.sunab:
            names += [self.sunab.cohort, self.sunab.period]
        names += [n for parts in self.fixef_parts() for n in parts]
        return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Vcov:
    """The variance estimator: 'CRV1' with a cluster variable, 'hetero' or 'iid'."""

    type: str
    cluster: str | None = None


@dataclass(frozen=True)
class Ssc:
    """fixest's small-sample correction, plus the singleton handling of the fit."""

    K_adj: bool
    K_fixef: str
    G_adj: bool
    G_df: str
    t_df: str
    fixef_rm: str


SUBSET_OPS = ("==", "!=", "in", "not in")


@dataclass(frozen=True)
class Subset:
    """A sample restriction on one integer column: `column == v`, `column != v`,
    `column in (v1, v2, ...)` or `column not in (v1, v2, ...)`."""

    column: str
    values: tuple[int, ...]
    op: str = "=="

    @property
    def keep_listed(self) -> bool:
        """True when the rows whose value is listed are kept (== and in)."""
        return self.op in ("==", "in")


@dataclass(frozen=True)
class RegressionSpec:
    """One fixed-effects regression as R must run it."""

    formula: Formula
    vcov: Vcov
    ssc: Ssc
    subset: Subset | None = None

    def columns(self) -> list[str]:
        """Every panel column the regression needs."""
        extra = [self.vcov.cluster] if self.vcov.cluster else []
        extra += [self.subset.column] if self.subset else []
        return list(dict.fromkeys([*self.formula.columns(), *extra]))


# --- parsing -------------------------------------------------------------------------------


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise Unsupported(f"unbalanced parentheses in '{text}'")
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if depth != 0:
        raise Unsupported(f"unbalanced parentheses in '{text}'")
    parts.append(text[start:].strip())
    return parts


def _name(text: str, where: str) -> str:
    text = text.strip()
    if not NAME.fullmatch(text):
        raise Unsupported(f"'{text}' in {where} is not a plain column name")
    return text


def _ints(text: str, where: str) -> tuple[int, ...]:
    text = text.strip()
    inner = text[2:-1] if text.startswith("c(") and text.endswith(")") else text
    values = [v.strip() for v in inner.split(",")]
    if not values or not all(INT.fullmatch(v) for v in values):
        raise Unsupported(f"'{text}' in {where} is not an integer or c() of integers")
    return tuple(int(v) for v in values)


def _fixef(text: str) -> str:
    """One fixed effect: a column, or columns combined with ^ (fixest's `a^b`)."""
    parts = [_name(p, "the fixed effects") for p in text.split("^")]
    return "^".join(parts)


def _call(term: str, fun: str) -> list[str] | None:
    """The arguments of `fun(...)` if the term is that call, else None."""
    m = re.fullmatch(rf"{fun}\s*\((.*)\)", term, flags=re.DOTALL)
    return None if m is None else _split_top(m.group(1), ",")


def parse_formula(text: str) -> Formula:
    """Take a fixest formula apart; raises Unsupported for syntax the bridge does not mirror."""
    sides = text.split("~")
    if len(sides) != 2:
        raise Unsupported(f"'{text}' is not a one-sided-outcome formula 'y ~ x | fe'")
    outcome = _name(sides[0], "the outcome")
    parts = _split_top(sides[1], "|")
    if len(parts) > 2:
        raise Unsupported(f"'{text}': IV or multi-part formulas are not mirrored")
    regressors: list[str] = []
    interactions: list[tuple[str, ...]] = []
    event: EventTerm | None = None
    sunab: SunabTerm | None = None
    for term in _split_top(parts[0], "+"):
        if (args := _call(term, "i")) is not None:
            if event is not None or not 1 <= len(args) <= 2:
                raise Unsupported(f"'{term}': one i(var, ref = ...) term is mirrored")
            ref: tuple[int, ...] = ()
            if len(args) == 2:
                key, _, value = args[1].partition("=")
                if key.strip() != "ref":
                    raise Unsupported(f"'{term}': only the ref argument of i() is mirrored")
                ref = _ints(value, term)
            event = EventTerm(_name(args[0], term), ref)
        elif (args := _call(term, "sunab")) is not None:
            if sunab is not None or not 2 <= len(args) <= 3:
                raise Unsupported(f"'{term}': one sunab(cohort, period[, ref.p]) term is mirrored")
            ref_p = -1
            if len(args) == 3:
                key, _, value = args[2].partition("=")
                refs = _ints(value, term)
                if key.strip() != "ref.p" or len(refs) != 1:
                    raise Unsupported(f"'{term}': only one ref.p of sunab() is mirrored")
                ref_p = refs[0]
            sunab = SunabTerm(_name(args[0], term), _name(args[1], term), ref_p)
        elif ":" in term:
            interactions.append(tuple(_name(p, term) for p in term.split(":")))
        else:
            regressors.append(_name(term, f"formula '{text}'"))
    if not (regressors or interactions or event or sunab):
        raise Unsupported(f"'{text}' has no regressor")
    fixef = tuple(_fixef(f) for f in parts[1].split("+")) if len(parts) == 2 else ()
    return Formula(outcome, tuple(regressors), tuple(interactions), event, sunab, fixef)


VCOV_TYPES = ("CRV1", "hetero", "iid")
SSC_ALLOWED: dict[str, tuple[str, ...]] = {
    "K.adj": ("TRUE", "FALSE"),
    "K.fixef": ("nonnested", "full", "none"),
    "G.adj": ("TRUE", "FALSE"),
    "G.df": ("min", "conventional"),
    "t.df": ("min", "conventional"),
    "fixef.rm": ("none", "singleton"),
}


def parse_vcov(text: str) -> Vcov:
    """'CRV1:city_code', 'hetero' or 'iid'."""
    kind, _, cluster = text.partition(":")
    if kind not in VCOV_TYPES:
        raise Unsupported(f"vcov '{text}' is not one of {choices(VCOV_TYPES)}")
    if kind == "CRV1":
        return Vcov(kind, _name(cluster, f"vcov '{text}'"))
    if cluster:
        raise Unsupported(f"vcov '{text}': only CRV1 names a cluster variable")
    return Vcov(kind)


def parse_ssc(text: str) -> Ssc:
    """'K.adj=TRUE;K.fixef=nonnested;G.adj=TRUE;G.df=min;t.df=min;fixef.rm=none'."""
    pairs = dict(p.partition("=")[::2] for p in text.split(";") if p)
    missing = [k for k in SSC_ALLOWED if k not in pairs]
    unknown = [k for k in pairs if k not in SSC_ALLOWED]
    if missing or unknown:
        raise Unsupported(
            f"ssc '{text}' must state exactly {choices(SSC_ALLOWED)}"
            + (f"; missing {choices(missing)}" if missing else "")
            + (f"; unknown {choices(unknown)}" if unknown else "")
        )
    for key, value in pairs.items():
        if value not in SSC_ALLOWED[key]:
            raise Unsupported(f"ssc {key}={value} is not one of {choices(SSC_ALLOWED[key])}")
    return Ssc(
        K_adj=pairs["K.adj"] == "TRUE",
        K_fixef=pairs["K.fixef"],
        G_adj=pairs["G.adj"] == "TRUE",
        G_df=pairs["G.df"],
        t_df=pairs["t.df"],
        fixef_rm=pairs["fixef.rm"],
    )


SUBSET_FORMS = (
    "'column == integer', 'column != integer', 'column in (integers)' or 'column not in (integers)'"
)


def parse_subset(text: str) -> Subset:
    """'high_marketization == 1', 'first_treat != 2015', 'year not in (2020, 2021, 2022)',
    'city_code in (110100, 120100)': an integer column against integers."""
    name = r"([A-Za-z][A-Za-z0-9_.]*)"
    m = re.fullmatch(rf"\s*{name}\s*(==|!=)\s*(-?\d+)\s*", text)
    if m is not None:
        return Subset(m.group(1), (int(m.group(3)),), m.group(2))
    m = re.fullmatch(rf"\s*{name}\s+(not\s+in|in)\s*\(([^()]*)\)\s*", text)
    if m is not None:
        values = [v.strip() for v in m.group(3).split(",")]
        if values and all(INT.fullmatch(v) for v in values):
            op = "not in" if m.group(2).startswith("not") else "in"
            return Subset(m.group(1), tuple(int(v) for v in values), op)
    raise Unsupported(f"subset '{text}' is not of the form {SUBSET_FORMS}")


def check_columns(names: list[str], panel: pd.DataFrame, file: str, model: str) -> None:
    """Every name must be a numeric column of the analysis panel (InputError otherwise);
    only numeric columns are handed to R."""
    columns = [str(c) for c in panel.columns]
    for name in names:
        if name not in columns:
            raise InputError(
                f"{file}: model '{model}' names column '{name}', which is not in "
                f"analysis_panel.csv{suggest(name, columns)}"
            )
        if not pd.api.types.is_numeric_dtype(panel[name]):
            raise InputError(
                f"{file}: model '{model}' uses column '{name}' of analysis_panel.csv, which "
                "is not numeric; the bridge passes numeric columns to R"
            )
