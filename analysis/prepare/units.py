"""Map a user's city keys (codes or names) to the registry's ``admin_code``, year by year.

The lookup reads two generated files (``tools/build_registry.py``, documented in
``data/CITIES.md``): ``data/cities.csv``, one row per unit that is prefecture-level in
any year 2009-2022 with its ``first_year`` and ``last_year``, and ``data/city_aliases.csv``,
one row per alias: ``alias, kind, admin_code, first_year, last_year``.

An alias maps a key to a unit only in the years it is valid. Current codes and names are
valid in every year the unit is prefecture-level (compiled panels label all years by the
current name); former codes and names only in the years they were in use (522400 is Bijie
in 2009-2010, 520500 afterwards). An alias that names two units in overlapping years is
never used (kind ``ambiguous`` in the file: "suzhou" is 苏州 or 宿州); one that names two
units in different years maps to the unit of the row's year.

The registry describes 2009-2022 only: a row's year before 2009 is looked up as 2009 and
one after 2022 as 2022 (a unit is assumed to keep its status at the window's edge).

Pure functions of their inputs and the two files; nothing here reads a configuration or
raises for a user's bad value: unresolved rows are returned with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.config.schema import DATA_DIR
from analysis.prepare.keys import normalize_name, parse_code, plain

REGISTRY_FILE = DATA_DIR / "cities.csv"
ALIASES_FILE = DATA_DIR / "city_aliases.csv"

CODE_KINDS = ("code", "province_code", "former_code")
NAME_KINDS = ("name", "name_short", "name_en", "former_name", "variant")
AMBIGUOUS = "ambiguous"
# Preference when several aliases of the same unit match one key and year.
KIND_ORDER = (*CODE_KINDS, *NAME_KINDS)
KIND_LABELS = {
    "code": "code",
    "province_code": "province code",
    "former_code": "former code",
    "name": "name",
    "name_short": "name without suffix",
    "name_en": "English name",
    "former_name": "former name",
    "variant": "variant name",
    AMBIGUOUS: "ambiguous alias",
}


class _Alias(NamedTuple):
    admin_code: int
    kind: str
    first_year: int
    last_year: int
    alias: str


class _Unit(NamedTuple):
    name_zh: str
    name_en: str
    first_year: int
    last_year: int


Key = int | str  # a parsed code, or a name's normalize_name key
Index = dict[Key, tuple[_Alias, ...]]


@dataclass(frozen=True)
class _Tables:
    codes: Index
    names: Index
    ambiguous_codes: Index
    ambiguous_names: Index
    units: dict[int, _Unit]
    first_year: int
    last_year: int


@lru_cache(maxsize=1)
def _read_registry() -> pd.DataFrame:
    return pd.read_csv(
        REGISTRY_FILE,
        dtype={"admin_code": "int64", "first_year": "int64", "last_year": "int64"},
        keep_default_na=False,
    )


@lru_cache(maxsize=1)
def _read_aliases() -> pd.DataFrame:
    return pd.read_csv(
        ALIASES_FILE,
        dtype={
            "alias": "str",
            "kind": "str",
            "admin_code": "int64",
            "first_year": "int64",
            "last_year": "int64",
        },
        keep_default_na=False,
    )


def aliases() -> pd.DataFrame:
    """The alias table ``data/city_aliases.csv`` (a copy), e.g. for suggestions."""
    return _read_aliases().copy()


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    reg = _read_registry()
    units = {
        int(code): _Unit(str(zh), str(en), int(first), int(last))
        for code, zh, en, first, last in reg[
            ["admin_code", "name_zh", "name_en", "first_year", "last_year"]
        ].itertuples(index=False)
    }
    tables: dict[tuple[bool, bool], dict[Key, list[_Alias]]] = {
        (ambiguous, is_code): {} for ambiguous in (False, True) for is_code in (False, True)
    }
    for alias, kind, code, first, last in _read_aliases()[
        ["alias", "kind", "admin_code", "first_year", "last_year"]
    ].itertuples(index=False):
        row = _Alias(int(code), str(kind), int(first), int(last), str(alias))
        is_code = row.kind in CODE_KINDS or (row.kind == AMBIGUOUS and row.alias.isdigit())
        key: Key = int(row.alias) if is_code else normalize_name(row.alias)
        tables[row.kind == AMBIGUOUS, is_code].setdefault(key, []).append(row)
    frozen = {which: {k: tuple(v) for k, v in table.items()} for which, table in tables.items()}
    return _Tables(
        codes=frozen[False, True],
        names=frozen[False, False],
        ambiguous_codes=frozen[True, True],
        ambiguous_names=frozen[True, False],
        units=units,
        first_year=int(reg["first_year"].min()),
        last_year=int(reg["last_year"].max()),
    )


@dataclass(frozen=True, eq=False)
class Resolution:
    """The result of resolving one column of city keys, row by row.

    ``admin_code`` and ``kind`` have the input's index; positions are 0-based (``iloc``).
    """

    value: pd.Series
    """The input values, as given."""
    admin_code: pd.Series
    """The registry's admin_code per row (Int64; <NA> where unresolved)."""
    kind: pd.Series
    """The kind of alias that matched (``code``, ``province_code``, ``former_code``,
    ``name``, ``name_short``, ``name_en``, ``former_name``, ``variant``; string dtype,
    <NA> where unresolved). See ``KIND_LABELS`` for wording."""
    unresolved_rows: tuple[int, ...]
    """Positions of the unresolved rows, in input order."""
    unresolved_values: tuple[object, ...]
    """Their values, as given."""
    unresolved_reasons: tuple[str, ...]
    """Why each was not resolved, one short English sentence each."""

    @property
    def complete(self) -> bool:
        """Whether every row was resolved."""
        return not self.unresolved_rows

    def readings(self) -> pd.DataFrame:
        """How the resolved values were read: one row per distinct (value, kind, admin_code)
        in order of first appearance, with the unit's names and the number of rows, e.g.
        ``110000, province_code, 110100, 北京市, Beijing, 14``. Filter on ``kind`` to report
        only reinterpretations (say, everything but ``code``)."""
        done = self.admin_code.notna().to_numpy()
        frame = pd.DataFrame(
            {
                "value": [str(v) for v in self.value.to_numpy()[done]],
                "kind": self.kind.to_numpy()[done],
                "admin_code": self.admin_code.to_numpy()[done],
            }
        )
        counts = frame.groupby(["value", "kind", "admin_code"], sort=False).size()
        out = counts.rename("rows").reset_index()
        units = _tables().units
        out.insert(3, "name_zh", [units[int(c)].name_zh for c in out["admin_code"]])
        out.insert(4, "name_en", [units[int(c)].name_en for c in out["admin_code"]])
        return out.astype({"admin_code": "int64", "rows": "int64"})


def _years(years: pd.Series) -> list[int | None]:
    numbers = pd.to_numeric(
        years.map(lambda v: plain(v) if isinstance(v, str) else v), errors="coerce"
    )
    return [
        int(y) if pd.notna(y) and math.isfinite(float(y)) and float(y).is_integer() else None
        for y in numbers.to_numpy(dtype=float, na_value=np.nan)
    ]


def _unit_text(code: int, units: dict[int, _Unit]) -> str:
    unit = units.get(code)
    return f"{code}" if unit is None else f"{unit.name_zh} {unit.name_en} ({code})"


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _lookup(
    exact: str,
    year: int,
    found: tuple[_Alias, ...],
    ambiguous: tuple[_Alias, ...],
    tables: _Tables,
    former_any_year: bool,
) -> tuple[int, str] | str:
    """(admin_code, kind) of a key in a (clamped) year, or the reason it has none.

    Among the aliases of the matching unit, the one spelled as the value (up to width,
    invisible characters, whitespace and case) names the kind, else the first in
    ``KIND_ORDER``: 莱芜 is a ``name_short``, 莱芜市 a ``name``."""

    def best(candidates: list[_Alias]) -> _Alias:
        return min(
            candidates,
            key=lambda a: (plain(a.alias).casefold() != exact, KIND_ORDER.index(a.kind)),
        )

    valid = [a for a in found if a.first_year <= year <= a.last_year]
    units = {a.admin_code for a in valid}
    if len(units) == 1:
        chosen = best(valid)
        return chosen.admin_code, chosen.kind
    if len(units) > 1:  # the build leaves no such alias; kept as a guard
        options = ", ".join(_unit_text(c, tables.units) for c in sorted(units))
        return f"ambiguous in {year}: {options}"
    if ambiguous:
        options = ", ".join(
            f"{_unit_text(a.admin_code, tables.units)} {_span(a.first_year, a.last_year)}"
            for a in sorted(ambiguous)
        )
        return f"ambiguous: could be {options}; use the code or the Chinese name"
    if not found:
        return "unknown: not a code or name of a prefecture-level unit of 2009-2022"
    owners = sorted({a.admin_code for a in found})
    if former_any_year and len(owners) == 1:
        unit = tables.units[owners[0]]
        if unit.first_year <= year <= unit.last_year:
            chosen = best(list(found))
            return chosen.admin_code, chosen.kind
    parts: list[str] = []
    for code in owners:
        unit = tables.units[code]
        text = _unit_text(code, tables.units)
        if not unit.first_year <= year <= unit.last_year:
            part = f"{text} is prefecture-level only in {_span(unit.first_year, unit.last_year)}"
        else:
            own = sorted((a for a in found if a.admin_code == code), key=lambda a: a.first_year)
            spans = ", ".join(dict.fromkeys(_span(a.first_year, a.last_year) for a in own))
            part = f"{KIND_LABELS[best(own).kind]} of {text} in use only in {spans}"
        parts.append(part)
    return f"not valid in {year}: {'; '.join(parts)}"


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(float(value))
    return isinstance(value, str) and not plain(value)


def _resolve(
    values: pd.Series, years: pd.Series, by_code: bool, former_any_year: bool
) -> Resolution:
    if len(values) != len(years):
        raise ValueError(f"values ({len(values)}) and years ({len(years)}) differ in length")
    tables = _tables()
    index = tables.codes if by_code else tables.names
    ambiguous_index = tables.ambiguous_codes if by_code else tables.ambiguous_names
    year_list = _years(years)
    codes: list[int | None] = []
    kinds: list[str | None] = []
    bad_rows: list[int] = []
    bad_values: list[object] = []
    reasons: list[str] = []
    memo: dict[tuple[Key, str, int], tuple[int, str] | str] = {}
    for pos, (value, year) in enumerate(zip(values.to_numpy(dtype=object), year_list, strict=True)):
        key: Key | None
        exact = "" if _is_missing(value) else plain(str(value)).casefold()
        if by_code:
            key = parse_code(value)
        elif exact:
            key = normalize_name(value) or None
        else:
            key = None
        result: tuple[int, str] | str
        if key is None:
            result = "not a code" if by_code and not _is_missing(value) else "empty"
        elif year is None:
            result = "no valid year in this row"
        else:
            clamped = min(max(year, tables.first_year), tables.last_year)
            memo_key = (key, exact, clamped)
            if memo_key not in memo:
                memo[memo_key] = _lookup(
                    exact,
                    clamped,
                    index.get(key, ()),
                    ambiguous_index.get(key, ()),
                    tables,
                    former_any_year,
                )
            result = memo[memo_key]
        if isinstance(result, str):
            codes.append(None)
            kinds.append(None)
            bad_rows.append(pos)
            bad_values.append(value)
            reasons.append(result)
        else:
            codes.append(result[0])
            kinds.append(result[1])
    return Resolution(
        value=values,
        admin_code=pd.Series(codes, index=values.index, dtype="Int64", name="admin_code"),
        kind=pd.Series(kinds, index=values.index, dtype="string", name="kind"),
        unresolved_rows=tuple(bad_rows),
        unresolved_values=tuple(bad_values),
        unresolved_reasons=tuple(reasons),
    )


def resolve_codes(
    values: pd.Series, years: pd.Series, *, former_any_year: bool = False
) -> Resolution:
    """Resolve 6-digit codes (int, float or text, see ``parse_code``) row by row; ``years``
    holds each row's year (int, float or text), aligned with ``values`` by position.

    Tried as the registry's own ``code``, a municipality's ``province_code`` (110000,
    120000, 310000, 500000) and a ``former_code`` (522400 for 毕节地区, valid 2009-2010),
    each only in the years it is valid. ``former_any_year=True`` also accepts a former code
    outside its years when it names a single unit that is prefecture-level in the row's
    year (a panel that keeps 522400 for Bijie in every year); the kind stays
    ``former_code``.
    """
    return _resolve(values, years, by_code=True, former_any_year=former_any_year)


def resolve_names(
    values: pd.Series, years: pd.Series, *, former_any_year: bool = False
) -> Resolution:
    """Resolve unit names row by row, after ``normalize_name`` on both sides; ``years`` as
    in ``resolve_codes``.

    Tried as the current Chinese ``name``, the ``name_short`` (no 市/地区/盟/自治州, with
    or without the ethnic designation), the ``name_en`` (English or toneless pinyin, any
    case, apostrophes optional), a ``former_name`` (襄樊, 毕节地区) and a ``variant``
    (恩施州, the OCR slip 毫州), each only in the years it is valid; ``former_any_year``
    as in ``resolve_codes``.
    """
    return _resolve(values, years, by_code=False, former_any_year=former_any_year)
