"""Read a raw panel (CSV, Excel, Stata, Parquet), map the user's column names to roles and
validate it. Every problem is an `InputError` naming the file, the column, the row and the
value at fault. Row numbers count the header as row 1, as a spreadsheet shows them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.config import Config
from analysis.config.variables import STUDY_VARIABLES, named_in
from analysis.errors import InputError, choices, suggest
from analysis.prepare.units import KIND_LABELS, resolve_codes, resolve_names


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV, or as Excel"
        ) from None


def _read_excel(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, dtype=str, keep_default_na=False)


def _read_stata(path: Path) -> pd.DataFrame:
    return pd.read_stata(path, convert_categoricals=False)


READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".csv": _read_csv,
    ".xlsx": _read_excel,
    ".xls": _read_excel,
    ".dta": _read_stata,
    ".parquet": pd.read_parquet,
}


def read_table(path: str | Path) -> pd.DataFrame:
    """The file as a table with its own column names (cells as read, text for CSV/Excel)."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(f"{path}: unknown file type '{path.suffix}'; allowed: {choices(READERS)}")
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        frame = reader(path)
    except InputError:
        raise
    except Exception as exc:  # a reader's own failure: name it, without a traceback
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot be read as {path.suffix}: {first}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise InputError(f"{path}: has no data rows")
    return frame


def role_columns(cfg: Config) -> dict[str, str]:
    """role -> the user's column name, for every role the configuration maps (an input the
    configuration leaves out is not in the data; what needs it is not run)."""
    roles = {"city": cfg.columns["city"], "year": cfg.columns["year"]}
    if cfg.outcome.column:
        roles["resilience"] = cfg.outcome.column
    else:
        roles.update({c.role: c.column for c in cfg.components})
    roles.update({role: column for role, column in cfg.inputs.items() if column})
    if cfg.treatment.source != "pilot_zones":
        roles["cohort"] = cfg.treatment.cohort_column
    roles.update(cfg.user_columns)  # columns named by header (analysis.config.variables)
    return roles


def _numeric(frame: pd.DataFrame, column: str, role: str, file: str) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw):
        return raw.astype(float)
    text = raw.astype(str).str.strip().str.replace(",", "", regex=False)
    blank = text.isin(["", "nan", "NaN", "NA", "."]) | raw.isna()
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{file}: column '{column}' ({role}), row {i + 2}: value {raw.iloc[i]!r} is not a number"
        )
    return values.astype(float)


@dataclass(frozen=True)
class LoadInfo:
    """What the loader dropped and how it read the unit keys (for the log, the manifest
    and the report). Row numbers count the header as row 1."""

    rows_in_file: int
    years_outside: dict[int, int] = field(default_factory=dict)  # year -> rows dropped
    unknown_units: dict[str, int] = field(default_factory=dict)  # value -> rows dropped
    unknown_reasons: dict[str, str] = field(default_factory=dict)  # value -> why
    readings: tuple[tuple[str, str, str], ...] = ()  # (value as given, read as, how)
    unit_ids: dict[int, str] = field(default_factory=dict)  # units = "any": code -> id


def _years(frame: pd.DataFrame, column: str, file: str) -> pd.Series:
    year = _numeric(frame, column, "year", file)
    bad = year.isna() | (year % 1 != 0)
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{file}: column '{column}' (year), row {i + 2}: {frame[column].iloc[i]!r} is not a year"
        )
    return year.astype("int64")


def _city_codes(
    frame: pd.DataFrame, column: str, years: pd.Series, key: str
) -> tuple[pd.Series, dict[str, int], dict[str, str], tuple[tuple[str, str, str], ...]]:
    """Each row's admin_code (<NA> where the key names no prefecture-level unit in that
    year), the unknown values with their row counts and reasons, and the keys that were read
    as another unit's code or name (province codes of municipalities, former codes, ...)."""
    resolve = resolve_codes if key == "code" else resolve_names
    res = resolve(frame[column].reset_index(drop=True), years.reset_index(drop=True))
    unknown: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for value, reason in zip(res.unresolved_values, res.unresolved_reasons, strict=True):
        text = str(value)
        unknown[text] = unknown.get(text, 0) + 1
        reasons.setdefault(text, reason)
    readings = res.readings()
    shown = readings[~readings["kind"].isin(["code", "name"])]
    read_as = tuple(
        (str(value), f"{code} {zh} ({en})", KIND_LABELS.get(str(kind), str(kind)))
        for value, kind, code, zh, en in zip(
            shown["value"],
            shown["kind"],
            shown["admin_code"],
            shown["name_zh"],
            shown["name_en"],
            strict=True,
        )
    )
    codes = pd.Series(res.admin_code.to_numpy(), index=frame.index, dtype="Int64")
    return codes, unknown, reasons, read_as


def _unit_ids(frame: pd.DataFrame, column: str, file: str) -> tuple[pd.Series, dict[int, str]]:
    """Units of any kind: integer ids are kept as they are; other ids (text) are numbered
    1..N in sorted order and the original id is kept beside (analysis_panel's unit_id)."""
    raw = frame[column]
    text = raw.astype(str).str.strip()
    empty = raw.isna() | text.isin(["", "nan", "NaN", "NA"])
    if empty.any():
        i = empty.to_numpy().nonzero()[0][0]
        raise InputError(f"{file}: column '{column}' (unit id), row {i + 2} is empty")
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().all() and (numbers % 1 == 0).all():
        return numbers.astype("int64"), {}
    ids = sorted(text.unique())
    code = {unit: i + 1 for i, unit in enumerate(ids)}
    return text.map(code).astype("int64"), {c: unit for unit, c in code.items()}


def load(frame: pd.DataFrame, cfg: Config, file: str) -> tuple[pd.DataFrame, LoadInfo]:
    """The role-named raw panel (city_code, year and one numeric column per mapped role)
    and what was dropped: rows of years outside [panel] and, for Chinese cities, rows whose
    unit key names no prefecture-level unit in that year. An error only if nothing is left,
    or a cell that should be a number is not."""
    roles = role_columns(cfg)
    for internal, header in cfg.user_columns.items():
        if header not in frame.columns:
            raise InputError(
                f"{file}: {named_in(cfg, internal)} names '{header}', which is neither a "
                f"variable of the study, a [variables] entry, a mapped role nor a column of the "
                f"file{suggest(header, frame.columns)}; study variables: {choices(STUDY_VARIABLES)}"
            )
    for role, column in roles.items():
        if column not in frame.columns:
            raise InputError(
                f"{file}: column '{column}' ({role}) not found{suggest(column, frame.columns)}; "
                "map it in the [columns], [components] or [inputs] table of the configuration, "
                "or leave the role out if the data do not have it"
            )
    year = _years(frame, roles["year"], file)
    inside = (year >= cfg.panel.first_year) & (year <= cfg.panel.last_year)
    outside = year[~inside].value_counts().sort_index()
    frame, year = frame[inside.to_numpy()], year[inside.to_numpy()]
    if frame.empty:
        raise InputError(
            f"{file}: no row has a year in {cfg.panel.first_year}-{cfg.panel.last_year} "
            f"([panel] first_year, last_year); the file has {', '.join(map(str, outside.index[:8]))}"
        )
    out = pd.DataFrame(index=frame.index)
    unknown: dict[str, int] = {}
    reasons: dict[str, str] = {}
    readings: tuple[tuple[str, str, str], ...] = ()
    unit_ids: dict[int, str] = {}
    if cfg.panel.units == "any":
        out["city_code"], unit_ids = _unit_ids(frame, roles["city"], file)
    else:
        codes, unknown, reasons, readings = _city_codes(
            frame, roles["city"], year, cfg.panel.city_key
        )
        known = codes.notna().to_numpy()
        if not known.any():
            first = next(iter(unknown))
            raise InputError(
                f"{file}: column '{roles['city']}' (city): no value names a prefecture-level "
                f"{'code' if cfg.panel.city_key == 'code' else 'name'} of data/cities.csv "
                f"(e.g. {first!r}: {reasons[first]}); check [panel] city_key and [columns] city"
            )
        frame, year, codes = frame[known], year[known], codes[known]
        out = out[known]
        out["city_code"] = codes.astype("int64")
    out["year"] = year
    dup = out.duplicated(["city_code", "year"], keep=False)
    if dup.any():
        rows = (frame.index[dup.to_numpy()][:2] + 2).tolist()
        first_dup = out[dup].iloc[0]
        raise InputError(
            f"{file}: duplicate unit-year {first_dup['city_code']}-{first_dup['year']} in rows "
            f"{rows[0]} and {rows[1]}; each unit-year must appear once"
        )
    for role, column in roles.items():
        if role in ("city", "year"):
            continue
        out[role] = _numeric(frame, column, role, file)
        if out[role].isna().all():
            raise InputError(f"{file}: column '{column}' ({role}) has no values")
    info = LoadInfo(
        rows_in_file=len(inside),
        years_outside={int(str(y)): int(n) for y, n in outside.items()},
        unknown_units=unknown,
        unknown_reasons=reasons,
        readings=readings,
        unit_ids=unit_ids,
    )
    return out.sort_values(["city_code", "year"]).reset_index(drop=True), info


def map_columns(frame: pd.DataFrame, cfg: Config, file: str) -> pd.DataFrame:
    """The role-named raw panel (see `load`), without the account of what was dropped."""
    return load(frame, cfg, file)[0]
