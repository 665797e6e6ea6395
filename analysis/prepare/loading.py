"""Read a raw panel (CSV, Excel, Stata, Parquet), map the user's column names to roles and
validate it. Every problem is an `InputError` naming the file, the column, the row and the
value at fault. Row numbers count the header as row 1, as a spreadsheet shows them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.config import Config
from analysis.errors import InputError, choices, suggest
from analysis.prepare.cities import registry


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
    """role -> the user's column name, for every role the configuration needs."""
    roles = {"city": cfg.columns["city"], "year": cfg.columns["year"]}
    if cfg.outcome.column:
        roles["resilience"] = cfg.outcome.column
    else:
        roles.update({c.role: c.column for c in cfg.components})
    roles.update(cfg.inputs)
    if cfg.treatment.source != "pilot_zones":
        roles["cohort"] = cfg.treatment.cohort_column
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


def _city_codes(frame: pd.DataFrame, column: str, key: str, file: str) -> pd.Series:
    reg = registry()
    lookup: dict[object, int] = {}
    if key == "code":
        codes = _numeric(frame, column, "city", file)
        lookup.update({int(c): int(c) for c in reg["admin_code"]})
        keys = codes.map(lambda v: int(v) if pd.notna(v) and float(v).is_integer() else None)
    else:
        for code, zh, en in reg[["admin_code", "name_zh", "name_en"]].itertuples(index=False):
            for name in (zh, zh.removesuffix("市"), en, en.lower()):
                lookup.setdefault(name, int(code))
        keys = frame[column].astype(str).str.strip()
    mapped = keys.map(lambda k: lookup.get(k))
    unknown = mapped.isna()
    if unknown.any():
        i = unknown.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{file}: column '{column}' (city), row {i + 2}: {frame[column].iloc[i]!r} is not a "
            f"prefecture-level {'code' if key == 'code' else 'name'} in data/cities.csv"
            + (suggest(str(keys.iloc[i]), map(str, lookup)) if key == "name" else "")
        )
    return mapped.astype("int64")


def map_columns(frame: pd.DataFrame, cfg: Config, file: str) -> pd.DataFrame:
    """The role-named raw panel: city_code, year and one numeric column per role."""
    roles = role_columns(cfg)
    for role, column in roles.items():
        if column not in frame.columns:
            raise InputError(
                f"{file}: column '{column}' ({role}) not found{suggest(column, frame.columns)}; "
                "map it in the [columns], [components] or [inputs] table of the configuration"
            )
    out = pd.DataFrame(index=frame.index)
    out["city_code"] = _city_codes(frame, roles["city"], cfg.panel.city_key, file)
    year = _numeric(frame, roles["year"], "year", file)
    bad = year.isna() | (year % 1 != 0)
    if bad.any():
        i = bad.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{file}: column '{roles['year']}' (year), row {i + 2}: "
            f"{frame[roles['year']].iloc[i]!r} is not a year"
        )
    outside = (year < cfg.panel.first_year) | (year > cfg.panel.last_year)
    if outside.any():
        i = outside.to_numpy().nonzero()[0][0]
        raise InputError(
            f"{file}: column '{roles['year']}' (year), row {i + 2}: {int(year.iloc[i])} is outside "
            f"the panel {cfg.panel.first_year}-{cfg.panel.last_year} ([panel] first_year, last_year)"
        )
    out["year"] = year.astype("int64")
    dup = out.duplicated(["city_code", "year"], keep=False)
    if dup.any():
        rows = (dup.to_numpy().nonzero()[0][:2] + 2).tolist()
        first = out[dup].iloc[0]
        raise InputError(
            f"{file}: duplicate city-year {first['city_code']}-{first['year']} in rows "
            f"{rows[0]} and {rows[1]}; each city-year must appear once"
        )
    for role, column in roles.items():
        if role in ("city", "year"):
            continue
        out[role] = _numeric(frame, column, role, file)
        if out[role].isna().all():
            raise InputError(f"{file}: column '{column}' ({role}) has no values")
    return out.sort_values(["city_code", "year"]).reset_index(drop=True)
