"""A generator of messy yearbook panels, as users hold them (SIMULATED DATA).

``messy_panel(seed)`` returns what an economist compiles from public yearbooks: one row per
prefecture-level unit and year, 2007-2023 (beyond the study's 2009-2022), 26 Chinese-named
columns in the yearbooks' units (GDP in 万元 and again in 亿元, FDI in 万美元, students in
人), about 300 real units of ``data/cities.csv`` (the study's 266, the four units that were
prefecture-level for only part of 2009-2022, and others outside the sample), keyed as
compiled panels key them (municipalities by their province code, Bijie and Tongren by
their former codes before 2011, a code in full-width digits, names with zero-width and
full-width characters or without 市), and a few planted data errors.

The values come from a simple process, so the only anomalies are the planted ones:
population grows slowly from a unit-specific level; GDP per person grows at a unit-specific
rate that declines over time; GDP = GDP per person x population; the three sectors' value
added are shares of GDP that drift (primary and secondary down), so they add up to GDP
up to rounding; loans, deposits, fiscal expenditure, retail sales and FDI are unit-specific
ratios to GDP with smooth trends; road area and CO2 are power functions of GDP; the rates
(unemployment, investment and industrial growth, science share) are AR(1) around a unit's
mean with small shocks. Every value is positive, changes by less than 30% from one year to
the next, and no value of a column is repeated by two units in one year.
There is no treatment effect.

The planted anomalies (``MessyPanel.anomalies``, each with its cells) are:

| kind | column | what |
|---|---|---|
| ``outlier_x4`` | loans | one cell four times its value |
| ``row_shift`` | GDP (亿元) | one unit's series moved one year later (first year empty) |
| ``scale_break`` | fiscal expenditure | three units report 亿元 instead of 万元 from 2016 on (/10^4) |
| ``missing_province_year`` | tertiary value added | every unit of one province, one year |
| ``missing_late_years`` | FDI | every unit, 2020-2023 |
| ``repeated_value`` | resident population | two units carry a third unit's value in one year |

Quirks of the keys and the coverage (``MessyPanel.quirks``) are listed apart: they are what
the loader must read, not errors in the values.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import DEFAULT_CONFIG, load_config
from analysis.prepare.treatment import pilot_cohorts
from analysis.prepare.units import REGISTRY_FILE

YEARS = tuple(range(2007, 2024))
N_UNITS = 300
# Units prefecture-level for part of 2009-2022, and the years a compiled panel has them.
PARTIAL = {341400: (2007, 2010), 371200: (2007, 2018), 460300: (2012, 2023), 460400: (2015, 2023)}
PROVINCE_CODED = {110100: "110000", 120100: "120000", 310100: "310000", 500100: "500000"}
# Former prefecture-level regions (地区): code and name until 2010.
FORMER = {520500: ("522400", "毕节地区"), 520600: ("522200", "铜仁地区")}

KEYS = ("省份", "城市代码", "城市名称", "年份")
GDP_WAN, GDP_YI = "地区生产总值(万元)", "地区生产总值（亿元）"
GDP_PC = "人均地区生产总值(元)"
VA = ("第一产业增加值(亿元)", "第二产业增加值(亿元)", "第三产业增加值(亿元)")
LOANS, DEPOSITS = "年末金融机构各项贷款余额(万元)", "年末金融机构各项存款余额(万元)"
FDI = "实际使用外资金额(万美元)"
POP, HUKOU = "年末常住人口 (万人)", "户籍人口\u200b(万人)"
FISCAL, COLLEGE = "一般公共预算支出（万元）", "普通高等学校在校学生数(人)"
RETAIL, LAND = "社会消费品零售总额(万元)", "行政区域土地面积(平方公里)"
ROAD, CO2 = "城市道路面积(万平方米)", "二氧化碳排放量(万吨)"
UNEMP, INV_G, IND_G, SCI = (
    "城镇登记失业率(%)",
    "固定资产投资增长率(%)",
    "规模以上工业增加值增长率(%)",
    "科学技术支出占比(%)",
)
COHORT = "大数据试验区设立年份"
# Decimals written per value column (the yearbooks' usual precision, rates finer).
DECIMALS = {
    GDP_WAN: 0,
    GDP_YI: 2,
    GDP_PC: 0,
    **dict.fromkeys(VA, 2),
    LOANS: 0,
    DEPOSITS: 0,
    FDI: 2,
    POP: 2,
    HUKOU: 2,
    FISCAL: 0,
    COLLEGE: 0,
    RETAIL: 0,
    LAND: 2,
    ROAD: 2,
    CO2: 2,
    UNEMP: 4,
    INV_G: 4,
    IND_G: 4,
    SCI: 4,
}
# What a correct configuration maps (role -> column); the cohort is added with treatment.
ROLES = {
    "city": "城市代码",
    "year": "年份",
    "gdp": GDP_YI,
    "population": POP,
    "loans": LOANS,
    "fdi": FDI,
    "fiscal_expenditure": FISCAL,
    "college_students": COLLEGE,
    "va_primary": VA[0],
    "va_secondary": VA[1],
    "va_tertiary": VA[2],
    "ind_output_growth": IND_G,
    "unemployment_rate": UNEMP,
    "investment_growth": INV_G,
    "sci_expenditure_share": SCI,
}
COMPONENT_ROLES = ("ind_output_growth", "unemployment_rate", "investment_growth")
COMPONENT_ROLES += ("sci_expenditure_share",)
# Columns that fit a role another column fills better (the study's unit, resident people).
ALTERNATIVES = {GDP_WAN: "gdp", HUKOU: "population", "城市名称": "city"}
UNMAPPABLE = ("省份", GDP_PC, DEPOSITS, RETAIL, LAND, ROAD, CO2)

Cell = tuple[int, int]  # (admin_code, year)


@dataclass(frozen=True)
class Anomaly:
    """A planted error in the values: its kind, column, cells and what an audit should see."""

    kind: str
    column: str
    cells: tuple[Cell, ...]
    expected: str

    @property
    def units(self) -> tuple[int, ...]:
        return tuple(sorted({u for u, _ in self.cells}))

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(sorted({y for _, y in self.cells}))


@dataclass(frozen=True)
class Quirk:
    """How a unit is keyed or covered: ``province_code``, ``former_code``, ``fullwidth_code``,
    ``zero_width_name``, ``fullwidth_name``, ``short_name``, ``partial_unit``, ``extra_years``
    (unit 0: every unit)."""

    kind: str
    unit: int
    years: tuple[int, ...]
    written: str
    note: str


@dataclass(frozen=True)
class MessyPanel:
    table: pd.DataFrame
    """The raw panel as text cells ('' = missing), as read from its CSV."""
    clean: pd.DataFrame
    """The same rows before anomalies and key quirks: admin_code, year and every value
    column as float (NaN where the unit has no such year)."""
    anomalies: tuple[Anomaly, ...]
    quirks: tuple[Quirk, ...]
    roles: dict[str, str]
    """role -> column: what ``config_text`` maps."""
    config_text: str
    seed: int
    treatment: str
    alternatives: dict[str, str] = field(default_factory=lambda: dict(ALTERNATIVES))
    """column -> the role it could also fill (a better column fills it)."""
    unmappable: tuple[str, ...] = UNMAPPABLE
    """Columns for which the study has no role."""

    def anomaly_cells(self) -> pd.DataFrame:
        """One row per planted cell: unit (admin_code), year, column, kind."""
        rows = [(u, y, a.column, a.kind) for a in self.anomalies for u, y in a.cells]
        return pd.DataFrame(rows, columns=["unit", "year", "column", "kind"])

    def write_csv(self, path: Path) -> Path:
        self.table.to_csv(path, index=False, encoding="utf-8")
        return path


def _fmt(values: np.ndarray, decimals: int) -> list[str]:
    form = f"{{:.{decimals}f}}".format
    return ["" if v != v else form(v) for v in values.tolist()]


def _ar1(
    rng: np.random.Generator, mean: np.ndarray, sd: float, shape: tuple[int, int]
) -> np.ndarray:
    mean = np.broadcast_to(mean, (shape[0], 1))[:, 0]
    out = np.empty(shape)
    out[:, 0] = mean + rng.normal(0, sd, shape[0])
    for t in range(1, shape[1]):
        out[:, t] = mean + 0.6 * (out[:, t - 1] - mean) + rng.normal(0, sd, shape[0])
    return out


def _process(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Every value column for n units x len(YEARS) years (module docstring)."""
    shape = (n, len(YEARS))
    t = np.arange(len(YEARS))[None, :]

    def unit(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, (n, 1))

    pop = np.exp(rng.normal(np.log(400), 0.6, (n, 1))).clip(15, 2500)
    pop = pop * np.exp(unit(-0.002, 0.012) * t + rng.normal(0, 0.002, shape))
    growth = unit(0.07, 0.11) - 0.003 * t + rng.normal(0, 0.006, shape)
    per_person = np.exp(rng.normal(np.log(22000), 0.45, (n, 1))) * np.exp(np.cumsum(growth, 1))
    gdp = per_person * pop / 1e4  # 亿元
    s1 = unit(0.04, 0.22) * np.exp(-0.03 * t + rng.normal(0, 0.01, shape))
    s2 = unit(0.38, 0.55) * np.exp(-0.008 * t + rng.normal(0, 0.005, shape))
    v = {GDP_YI: gdp, GDP_WAN: gdp * 1e4, GDP_PC: gdp * 1e8 / (pop * 1e4)}
    v.update({VA[0]: gdp * s1, VA[1]: gdp * s2, VA[2]: gdp * (1 - s1 - s2)})
    v[LOANS] = gdp * 1e4 * unit(0.6, 1.5) * np.exp(0.03 * t + rng.normal(0, 0.01, shape))
    v[DEPOSITS] = v[LOANS] * unit(1.2, 1.8)
    fdi_ratio = np.exp(rng.normal(np.log(0.012), 0.7, (n, 1)))
    v[FDI] = gdp * 1e4 / 6.7 * fdi_ratio * np.exp(-0.03 * t + rng.normal(0, 0.03, shape))
    v[POP], v[HUKOU] = pop, pop * unit(0.85, 1.15) * np.exp(-0.002 * t)
    v[FISCAL] = gdp * 1e4 * unit(0.1, 0.3) * np.exp(0.01 * t + rng.normal(0, 0.01, shape))
    students = np.exp(rng.normal(np.log(0.012), 0.8, (n, 1))).clip(0.0005, 0.08)
    v[COLLEGE] = pop * 1e4 * students * np.exp(0.02 * t)
    v[RETAIL] = gdp * 1e4 * unit(0.3, 0.45) * np.exp(0.005 * t)
    v[LAND] = np.exp(rng.normal(np.log(12000), 0.7, (n, 1))) * np.ones(shape)
    v[ROAD] = 30 * gdp**0.6 * unit(0.7, 1.3) * np.exp(0.02 * t)
    v[CO2] = 60 * gdp**0.8 * unit(0.6, 1.4) * np.exp(-0.03 * t)
    v[UNEMP] = _ar1(rng, unit(2.5, 4.5), 0.08, shape)
    v[INV_G] = _ar1(rng, unit(8.0, 14.0), 0.4, shape)
    v[IND_G] = _ar1(rng, unit(7.0, 12.0), 0.35, shape)
    v[SCI] = unit(0.8, 3.5) * np.exp(0.03 * t) + _ar1(rng, np.zeros((n, 1)), 0.02, shape)
    return v


def _distinct(clean: pd.DataFrame, column: str) -> None:
    """Bump a value by its last written digit until no two units share it in a year."""
    step = 10.0 ** -DECIMALS[column]
    while True:  # values are rounded: equal text is equal float
        dup = clean.duplicated(["year", column]) & clean[column].notna()
        if not dup.any():
            return
        clean.loc[dup, column] = (clean.loc[dup, column] + step).round(DECIMALS[column])


def _pick(rng: np.random.Generator, pool: list[int], k: int) -> list[int]:
    chosen = sorted(int(c) for c in rng.choice(pool, size=k, replace=False))
    for code in chosen:
        pool.remove(code)
    return chosen


def _plant(
    rng: np.random.Generator, clean: pd.DataFrame, table: dict[str, list[str]], reg: pd.DataFrame
) -> tuple[Anomaly, ...]:
    """Write the anomalies into ``table`` (text cells by column, aligned with ``clean``)."""
    special = set(PARTIAL) | set(PROVINCE_CODED) | set(FORMER)
    sample = reg.loc[reg["in_study_sample"] == 1, "admin_code"].astype(int)
    pool = sorted(set(sample) - special)
    pairs = zip(clean["admin_code"], clean["year"], strict=True)
    row = {(int(u), int(y)): i for i, (u, y) in enumerate(pairs)}
    out: list[Anomaly] = []

    def put(unit: int, year: int, column: str, value: float, decimals: int | None = None) -> None:
        places = DECIMALS[column] if decimals is None else decimals
        text = "" if np.isnan(value) else f"{value:.{places}f}"
        table[column][row[unit, year]] = text

    def old(unit: int, year: int, column: str) -> float:
        return float(clean.iloc[row[unit, year]][column])

    (u,) = _pick(rng, pool, 1)
    year = int(rng.integers(2011, 2021))
    put(u, year, LOANS, 4 * old(u, year, LOANS))
    out.append(Anomaly("outlier_x4", LOANS, ((u, year),), f"a jump up in {year}, down after"))

    (u,) = _pick(rng, pool, 1)
    shifted = tuple((u, y) for y in YEARS)
    for y in YEARS:
        put(u, y, GDP_YI, old(u, y - 1, GDP_YI) if y > YEARS[0] else np.nan)
    expected = "value added does not add up to GDP (亿元) in any year; GDP 亿元 and 万元 differ"
    out.append(Anomaly("row_shift", GDP_YI, shifted, expected))

    units = _pick(rng, pool, 3)
    broken = tuple((u, y) for u in units for y in YEARS if y >= 2016)
    for u, y in broken:
        put(u, y, FISCAL, old(u, y, FISCAL) / 1e4, decimals=2)  # as 亿元 are written
    out.append(Anomaly("scale_break", FISCAL, broken, "a break by 10^4 in 2016"))

    counts = reg[reg["admin_code"].isin(pool)].groupby("province_zh").size()
    province = str(rng.choice(sorted(counts[counts >= 5].index)))
    codes = sorted(int(c) for c in reg.loc[reg["province_zh"] == province, "admin_code"])
    year = int(rng.integers(2010, 2021))
    gap = tuple((u, year) for u in codes if (u, year) in row)
    for u, y in gap:
        put(u, y, VA[2], np.nan)
    out.append(Anomaly("missing_province_year", VA[2], gap, f"{province}: no values in {year}"))

    late = tuple((u, y) for u, y in row if y >= 2020)
    for u, y in late:
        put(u, y, FDI, np.nan)
    out.append(Anomaly("missing_late_years", FDI, late, "no values 2020-2023"))

    first, *copies = _pick(rng, pool, 3)
    year = int(rng.integers(2010, 2021))
    for u in copies:
        put(u, year, POP, old(first, year, POP))
    cells = tuple((u, year) for u in (first, *copies))
    out.append(Anomaly("repeated_value", POP, cells, f"one value for three units in {year}"))
    return tuple(out)


def _rewrite_keys(
    rng: np.random.Generator, clean: pd.DataFrame, table: dict[str, list[str]], reg: pd.DataFrame
) -> tuple[Quirk, ...]:
    """Key the rows as compiled panels do; the quirks written, as data."""
    quirks = [Quirk("extra_years", 0, (2007, 2008, 2023), "", "years outside 2009-2022")]
    for code, (first, last) in PARTIAL.items():
        quirks.append(Quirk("partial_unit", code, tuple(range(first, last + 1)), "", ""))
    codes, years = clean["admin_code"].astype(int), clean["year"].astype(int)

    def write(kind: str, code: int, column: str, text: str, when: pd.Series, note: str) -> None:
        for i in when.to_numpy().nonzero()[0]:
            table[column][i] = text
        quirks.append(Quirk(kind, code, tuple(sorted(set(years[when]))), text, note))

    for code, text in PROVINCE_CODED.items():
        write("province_code", code, "城市代码", text, codes == code, "municipality")
    for code, (old_code, old_name) in FORMER.items():
        early = (codes == code) & (years <= 2010)
        write("former_code", code, "城市代码", old_code, early, "before 2011")
        write("former_code", code, "城市名称", old_name, early, "before 2011")
    names = reg.set_index("admin_code")["name_zh"]
    special = set(PARTIAL) | set(PROVINCE_CODED) | set(FORMER)
    pool = sorted(
        u for u in set(clean["admin_code"].astype(int)) - special if names[u].endswith("市")
    )
    wide, zw1, zw2, blank, short = _pick(rng, pool, 5)
    full = str(wide).translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    write("fullwidth_code", wide, "城市代码", full, codes == wide, "full-width digits")
    name = str(names[zw1])
    write("zero_width_name", zw1, "城市名称", f"{name[:-1]}\u200b{name[-1]}", codes == zw1, "")
    write("zero_width_name", zw2, "城市名称", f"{names[zw2]}\ufeff", codes == zw2, "")
    write("fullwidth_name", blank, "城市名称", f"{names[blank]}\u3000", codes == blank, "")
    write("short_name", short, "城市名称", str(names[short]).removesuffix("市"), codes == short, "")
    return tuple(quirks)


def _toml(text: str) -> str:
    """A TOML basic string; invisible characters (U+200B) written as \\uXXXX escapes."""
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cf", "Zs") and c != " " else c
        for c in quoted
    )


def _config_text(roles: dict[str, str], treatment: str) -> str:
    with DEFAULT_CONFIG.open("rb") as fh:
        study = tomllib.load(fh)["components"]
    lines = ["# Maps the messy yearbook panel of tests/messy_panel.py (SIMULATED DATA).", ""]
    lines += ["[panel]", "first_year = 2009", "last_year = 2022", 'city_key = "code"', ""]
    lines += ["[columns]", f"city = {_toml(roles['city'])}", f"year = {_toml(roles['year'])}"]
    lines += ["", "[components]"]
    for role in COMPONENT_ROLES:
        spec = study[role]
        lines.append(
            f"{role} = {{ column = {_toml(roles[role])}, direction = "
            f'"{spec["direction"]}", dimension = "{spec["dimension"]}" }}'
        )
    lines += ["", "[inputs]"]
    skip = {"city", "year", "cohort", *COMPONENT_ROLES}
    lines += [f"{role} = {_toml(col)}" for role, col in roles.items() if role not in skip]
    lines += ["", "[treatment]"]
    if treatment == "column":
        lines += ['source = "column"', f"cohort_column = {_toml(roles['cohort'])}"]
    else:
        lines += ['source = "pilot_zones"']
    return "\n".join(lines) + "\n"


def messy_panel(seed: int = 0, treatment: str = "column") -> MessyPanel:
    """A messy yearbook panel (SIMULATED DATA): see the module docstring.

    ``treatment="column"`` adds the cohort column 大数据试验区设立年份 (the pilot zones'
    first year, empty for never-treated units) and maps it; ``"pilot_zones"`` leaves the
    treatment to the pilot-zone list."""
    if treatment not in ("column", "pilot_zones"):
        raise ValueError(f"treatment {treatment!r}; allowed: 'column', 'pilot_zones'")
    rng = np.random.default_rng(seed)
    reg = pd.read_csv(REGISTRY_FILE, dtype={"admin_code": int}, keep_default_na=False)
    sample = reg.loc[reg["in_study_sample"] == 1, "admin_code"].tolist()
    others = sorted(set(reg["admin_code"]) - set(sample) - set(PARTIAL))
    extra = rng.choice(others, size=N_UNITS - len(sample) - len(PARTIAL), replace=False)
    units = np.array(sorted({*sample, *PARTIAL, *(int(c) for c in extra)}))
    values = _process(rng, len(units))
    span = {u: PARTIAL.get(int(u), (YEARS[0], YEARS[-1])) for u in units}
    keep = np.array([[span[u][0] <= y <= span[u][1] for y in YEARS] for u in units])
    clean = pd.DataFrame(
        {
            "admin_code": np.repeat(units, len(YEARS))[keep.ravel()],
            "year": np.tile(YEARS, len(units))[keep.ravel()],
            **{col: arr.ravel()[keep.ravel()] for col, arr in values.items()},
        }
    )
    for column in DECIMALS:
        clean[column] = clean[column].round(DECIMALS[column])
        _distinct(clean, column)
    info = reg.set_index("admin_code").loc[clean["admin_code"]]
    table = {
        "省份": info["province_zh"].astype(str).tolist(),
        "城市代码": clean["admin_code"].astype(str).tolist(),
        "城市名称": info["name_zh"].astype(str).tolist(),
        "年份": clean["year"].astype(str).tolist(),
    }
    order: list[str] = [GDP_WAN, GDP_YI, GDP_PC, *VA, LOANS, DEPOSITS, FDI, POP, HUKOU]
    order += [FISCAL, COLLEGE, RETAIL, LAND, ROAD, CO2, UNEMP, INV_G, IND_G, SCI]
    for column in order:
        table[column] = _fmt(clean[column].to_numpy(), DECIMALS[column])
    roles = dict(ROLES)
    if treatment == "column":
        cohorts = pilot_cohorts(load_config().treatment)
        first = clean["admin_code"].map(cohorts).fillna(0).astype(int)
        table[COHORT] = [str(c) if c else "" for c in first]
        roles["cohort"] = COHORT
    anomalies = _plant(rng, clean, table, reg)
    quirks = _rewrite_keys(rng, clean, table, reg)
    return MessyPanel(
        table=pd.DataFrame(table, dtype=object),
        clean=clean,
        anomalies=anomalies,
        quirks=quirks,
        roles=roles,
        config_text=_config_text(roles, treatment),
        seed=seed,
        treatment=treatment,
    )
