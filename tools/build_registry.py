"""Build the project's China city registry, ``data/cities.csv``, and its alias table,
``data/city_aliases.csv``.

Usage::

    python tools/build_registry.py [--crosswalk DIR] [--out data/cities.csv]
                                   [--aliases-out data/city_aliases.csv]

The registry has one row per research entity that is an active prefecture-level unit in
at least one year 2009-2022 (339 units: prefecture-level cities, the four municipalities,
autonomous prefectures, leagues and prefecture-level regions), sorted by administrative
code, with the first and last of those years. 335 of them are prefecture-level in every
year; the other four are prefecture-level for part of the period (Chaohu 2009-2010, Laiwu
2009-2018, Sansha 2012-2022, Danzhou 2015-2022). It flags the 266 units of the study
sample, all among the 335 (see ``sample_note`` and ``data/CITIES.md``).

The alias table has one row per code or name a user's panel may use for a unit, with its
kind and the years it is valid; ``analysis/prepare/units.py`` resolves keys with it. An
alias whose matching key (``normalize_name``) names two units in overlapping years is
kept only as kind ``ambiguous`` (never used to resolve); one naming two units in different
years is kept and resolved by year. The script prints these cases.

Both outputs are fully determined by the input files: rerunning the script gives
byte-identical files.

Source and credit
-----------------
Built from the public dataset "China Urban Research Entity Crosswalk"
(https://github.com/FIERsity/china-prefecture-crosswalk), version 4.0.2,
commit 753a015, files ``entities.csv``, ``legal_roster_2000_2024.csv`` and
``aliases.csv`` from its ``data/processed/``. The dataset is licensed CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/).

What was changed: the entity list was restricted to units active at prefecture level in
at least one year 2009-2022; only the entity id, the administrative code
(``legacy_entity_id`` without its ``E``), the last legal name within 2009-2022 and the
province were kept; the English names (pinyin made with pypinyin plus the overrides
below), the province English names, NBS regions, coastal / municipality /
provincial-capital flags, the city-status columns, the prefecture-level years and the
study-sample rule were added by this project. The alias table combines the roster's legal
names by year, the crosswalk's aliases (restricted to 2009-2022), names and codes derived
here, and the former codes of the ten prefecture-level regions (地区) that became cities
in 2011-2017 (``FORMER_CODES``: the official administrative division codes, GB/T 2260,
a fact not in the crosswalk).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pypinyin import Style, lazy_pinyin

REPO_ROOT = Path(__file__).resolve().parents[1]
# The matching key must be the resolver's own, and this checkout's (not an installed copy).
sys.path.insert(0, str(REPO_ROOT))
from analysis.prepare.keys import normalize_name  # noqa: E402
from analysis.prepare.units import AMBIGUOUS, CODE_KINDS, KIND_ORDER  # noqa: E402

DEFAULT_CROSSWALK = REPO_ROOT.parent / "shared" / "reference" / "crosswalk"
DEFAULT_OUT = REPO_ROOT / "data" / "cities.csv"
ALIASES_NAME = "city_aliases.csv"

PANEL_YEARS = range(2009, 2023)
NAME_YEAR = 2022

COLUMNS = (
    "admin_code",
    "entity_id",
    "name_zh",
    "name_en",
    "province_zh",
    "province_en",
    "region",
    "coastal",
    "municipality",
    "provincial_capital",
    "city_2022",
    "city_since",
    "in_study_sample",
    "sample_note",
    "first_year",
    "last_year",
)
ALIAS_COLUMNS = ("alias", "kind", "admin_code", "first_year", "last_year")

# Sample-rule step -> number of units left after it; the script fails otherwise.
EXPECTED_COUNTS = {"a": 335, "b": 295, "c": 266}
# Units prefecture-level in some but not all years 2009-2022; the script fails otherwise.
EXPECTED_PARTIAL = 4


@dataclass(frozen=True)
class Province:
    """Fixed attributes of a provincial-level unit."""

    name_en: str
    region: str  # NBS four-region split: east, central, west, northeast
    coastal: bool  # the province borders the sea
    capital_zh: str | None  # None for the four municipalities


PROVINCES: dict[str, Province] = {
    "北京市": Province("Beijing", "east", False, None),
    "天津市": Province("Tianjin", "east", True, None),
    "河北省": Province("Hebei", "east", True, "石家庄市"),
    "山西省": Province("Shanxi", "central", False, "太原市"),
    "内蒙古自治区": Province("Inner Mongolia", "west", False, "呼和浩特市"),
    "辽宁省": Province("Liaoning", "northeast", True, "沈阳市"),
    "吉林省": Province("Jilin", "northeast", False, "长春市"),
    "黑龙江省": Province("Heilongjiang", "northeast", False, "哈尔滨市"),
    "上海市": Province("Shanghai", "east", True, None),
    "江苏省": Province("Jiangsu", "east", True, "南京市"),
    "浙江省": Province("Zhejiang", "east", True, "杭州市"),
    "安徽省": Province("Anhui", "central", False, "合肥市"),
    "福建省": Province("Fujian", "east", True, "福州市"),
    "江西省": Province("Jiangxi", "central", False, "南昌市"),
    "山东省": Province("Shandong", "east", True, "济南市"),
    "河南省": Province("Henan", "central", False, "郑州市"),
    "湖北省": Province("Hubei", "central", False, "武汉市"),
    "湖南省": Province("Hunan", "central", False, "长沙市"),
    "广东省": Province("Guangdong", "east", True, "广州市"),
    "广西壮族自治区": Province("Guangxi", "west", True, "南宁市"),
    "海南省": Province("Hainan", "east", True, "海口市"),
    "重庆市": Province("Chongqing", "west", False, None),
    "四川省": Province("Sichuan", "west", False, "成都市"),
    "贵州省": Province("Guizhou", "west", False, "贵阳市"),
    "云南省": Province("Yunnan", "west", False, "昆明市"),
    "西藏自治区": Province("Tibet", "west", False, "拉萨市"),
    "陕西省": Province("Shaanxi", "west", False, "西安市"),
    "甘肃省": Province("Gansu", "west", False, "兰州市"),
    "青海省": Province("Qinghai", "west", False, "西宁市"),
    "宁夏回族自治区": Province("Ningxia", "west", False, "银川市"),
    "新疆维吾尔自治区": Province("Xinjiang", "west", False, "乌鲁木齐市"),
}

# Step (c): provinces whose city yearbook coverage is sparsest.
SPARSE_PROVINCES = ("西藏自治区", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区")

# Suffix of the legal name -> kind of prefecture-level unit (longest first).
UNIT_KINDS = (
    ("自治州", "autonomous prefecture"),
    ("地区", "prefecture-level region"),
    ("盟", "league"),
    ("市", "city"),
)

# Ethnic designations between an autonomous prefecture's place name and 自治州,
# e.g. 延边朝鲜族自治州 -> 延边, 克孜勒苏柯尔克孜自治州 -> 克孜勒苏.
_ETHNONYMS = "朝鲜|土家|苗|藏|羌|彝|布依|哈尼|壮|傣|白|景颇|傈僳|回|蒙古|柯尔克孜|哈萨克|侗"
AUTONOMOUS_SUFFIX_RE = re.compile(f"(?:(?:{_ETHNONYMS})族?)+自治州$")
PLAIN_SUFFIX_RE = re.compile("(?:市|地区|盟)$")

# Polyphonic characters (and one u-umlaut) pinned to the reading used in the
# place name, so the output does not depend on pypinyin's phrase dictionary.
POLYPHONE_NAMES = {
    "重庆": "Chongqing",
    "长沙": "Changsha",
    "长春": "Changchun",
    "长治": "Changzhi",
    "厦门": "Xiamen",
    "蚌埠": "Bengbu",
    "六安": "Lu'an",
    "六盘水": "Liupanshui",
    "丽水": "Lishui",
    "丽江": "Lijiang",
    "乐山": "Leshan",
    "东莞": "Dongguan",
    "亳州": "Bozhou",
    "漯河": "Luohe",
    "宿州": "Suzhou",
    "宿迁": "Suqian",
    "台州": "Taizhou",
    "朝阳": "Chaoyang",
    "大同": "Datong",
    "莆田": "Putian",
    "汕尾": "Shanwei",
    "鹤壁": "Hebi",
    "濮阳": "Puyang",
    "阜阳": "Fuyang",
    "阜新": "Fuxin",
    "吕梁": "Lvliang",
}

# Conventional English names of places whose names are transliterated from
# Mongolian, Manchu, Tibetan, Uyghur or Kazakh, where English usage is not pinyin.
CONVENTIONAL_NAMES = {
    "呼和浩特": "Hohhot",
    "包头": "Baotou",
    "鄂尔多斯": "Ordos",
    "呼伦贝尔": "Hulunbuir",
    "巴彦淖尔": "Bayannur",
    "乌兰察布": "Ulanqab",
    "兴安": "Hinggan",
    "锡林郭勒": "Xilingol",
    "阿拉善": "Alxa",
    "哈尔滨": "Harbin",
    "齐齐哈尔": "Qiqihar",
    "拉萨": "Lhasa",
    "日喀则": "Shigatse",
    "昌都": "Chamdo",
    "林芝": "Nyingchi",
    "那曲": "Nagqu",
    "阿里": "Ngari",
    "果洛": "Golog",
    "乌鲁木齐": "Urumqi",
    "克拉玛依": "Karamay",
    "吐鲁番": "Turpan",
    "哈密": "Hami",
    "博尔塔拉": "Bortala",
    "巴音郭楞": "Bayingolin",
    "阿克苏": "Aksu",
    "克孜勒苏": "Kizilsu",
    "喀什": "Kashgar",
    "和田": "Hotan",
    "伊犁": "Ili",
    "阿勒泰": "Altay",
}

NAME_OVERRIDES = {**POLYPHONE_NAMES, **CONVENTIONAL_NAMES}
NAME_EN_RE = re.compile(r"^[A-Z][a-z]*(?:'[a-z]+)*$")

# Toneless pinyin of the places with a conventional English name, as Chinese panels often
# romanize them (aliases of kind name_en besides the English name).
CONVENTIONAL_PINYIN = {
    "呼和浩特": "hu he hao te",
    "包头": "bao tou",
    "鄂尔多斯": "e er duo si",
    "呼伦贝尔": "hu lun bei er",
    "巴彦淖尔": "ba yan nao er",
    "乌兰察布": "wu lan cha bu",
    "兴安": "xing an",
    "锡林郭勒": "xi lin guo le",
    "阿拉善": "a la shan",
    "哈尔滨": "ha er bin",
    "齐齐哈尔": "qi qi ha er",
    "拉萨": "la sa",
    "日喀则": "ri ka ze",
    "昌都": "chang du",
    "林芝": "lin zhi",
    "那曲": "na qu",
    "阿里": "a li",
    "果洛": "guo luo",
    "乌鲁木齐": "wu lu mu qi",
    "克拉玛依": "ke la ma yi",
    "吐鲁番": "tu lu fan",
    "哈密": "ha mi",
    "博尔塔拉": "bo er ta la",
    "巴音郭楞": "ba yin guo leng",
    "阿克苏": "a ke su",
    "克孜勒苏": "ke zi le su",
    "喀什": "ka shi",
    "和田": "he tian",
    "伊犁": "yi li",
    "阿勒泰": "a le tai",
}

# Former administrative codes (GB/T 2260) of the prefecture-level regions (地区) that
# became prefecture-level cities within 2009-2022 and got a new code: former code ->
# (legal name while the code was in use, current code). The years come from the roster.
# The script fails if a unit turns from 地区 into 市 in 2009-2022 without an entry here.
FORMER_CODES = {
    522200: ("铜仁地区", 520600),
    522400: ("毕节地区", 520500),
    542100: ("昌都地区", 540300),
    542200: ("山南地区", 540500),
    542300: ("日喀则地区", 540200),
    542400: ("那曲地区", 540600),
    542600: ("林芝地区", 540400),
    632100: ("海东地区", 630200),
    652100: ("吐鲁番地区", 650400),
    652200: ("哈密地区", 650500),
}

# Roster status of the years around a partial unit's prefecture-level years -> wording.
STATUS_BEFORE = {
    "not_established": "established {year}",
    "not_prefecture_level": "not prefecture-level before {year}",
}
STATUS_AFTER = {"abolished": "abolished {year}"}


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV file into a list of dicts (all values as strings)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def load_entities(path: Path) -> dict[str, dict[str, str]]:
    """Index ``entities.csv`` by entity_id, rejecting duplicate ids."""
    entities: dict[str, dict[str, str]] = {}
    for row in read_csv(path):
        if row["entity_id"] in entities:
            raise ValueError(f"duplicate entity_id {row['entity_id']} in {path}")
        entities[row["entity_id"]] = row
    return entities


def load_roster(path: Path) -> dict[str, dict[int, dict[str, str]]]:
    """Index the legal roster by entity_id and year, rejecting duplicate pairs."""
    roster: dict[str, dict[int, dict[str, str]]] = {}
    for row in read_csv(path):
        years = roster.setdefault(row["entity_id"], {})
        year = int(row["year"])
        if year in years:
            raise ValueError(f"duplicate roster row {row['entity_id']} {year}")
        years[year] = row
    return roster


def is_active_prefecture(row: Mapping[str, str] | None) -> bool:
    """Whether a roster row is an active prefecture-level unit."""
    return row is not None and row["status"] == "active" and row["legal_level"] == "prefecture"


def prefecture_years(years: Mapping[int, Mapping[str, str]]) -> list[int]:
    """The panel years in which an entity is an active prefecture-level unit."""
    return [year for year in PANEL_YEARS if is_active_prefecture(years.get(year))]


def admin_code(legacy_entity_id: str) -> int:
    """Turn a legacy id such as ``E110100`` into the 6-digit code 110100."""
    match = re.fullmatch(r"E(\d{6})", legacy_entity_id)
    if match is None:
        raise ValueError(f"unexpected legacy_entity_id {legacy_entity_id!r}")
    return int(match.group(1))


def unit_kind(legal_name: str) -> str:
    """Kind of prefecture-level unit implied by the suffix of its legal name."""
    for suffix, kind in UNIT_KINDS:
        if legal_name.endswith(suffix):
            return kind
    raise ValueError(f"legal name {legal_name!r} has no known suffix")


def short_name(legal_name: str) -> str:
    """Drop the unit suffix (and any ethnic designation) from a legal name."""
    pattern = AUTONOMOUS_SUFFIX_RE if legal_name.endswith("自治州") else PLAIN_SUFFIX_RE
    short = pattern.sub("", legal_name)
    if not short or short == legal_name or "族" in short or "自治" in short:
        raise ValueError(f"cannot shorten legal name {legal_name!r}")
    return short


def suffixless_name(legal_name: str) -> str:
    """Drop only the unit suffix 市/地区/盟/自治州, as the crosswalk's aliases do
    (延边朝鲜族自治州 -> 延边朝鲜族)."""
    for suffix, _ in UNIT_KINDS:
        if legal_name.endswith(suffix) and len(legal_name) > len(suffix):
            return legal_name.removesuffix(suffix)
    raise ValueError(f"legal name {legal_name!r} has no known suffix")


def join_syllables(syllables: Sequence[str]) -> str:
    """Join toneless pinyin syllables, with an apostrophe before a, o or e."""
    parts = [syllables[0]]
    for syllable in syllables[1:]:
        parts.append(f"'{syllable}" if syllable[0] in "aoe" else syllable)
    joined = "".join(parts)
    return joined[0].upper() + joined[1:]


def romanize(short: str) -> str:
    """English name of a place: override if listed, else toneless pinyin."""
    if short in NAME_OVERRIDES:
        return NAME_OVERRIDES[short]
    syllables = lazy_pinyin(short, style=Style.NORMAL)
    if len(syllables) != len(short) or not all(
        re.fullmatch(r"[a-uw-z]+", syllable) for syllable in syllables
    ):
        raise ValueError(f"no clean pinyin for {short!r}: {syllables}; add an override")
    return join_syllables(syllables)


def city_since(years: Mapping[int, Mapping[str, str]], active: Sequence[int]) -> int | None:
    """First prefecture-level panel year in which the legal name ends with 市, if any."""
    for year in active:
        if years[year]["legal_name_zh"].endswith("市"):
            return year
    return None


def span(first: int, last: int) -> str:
    """A year range as text: ``2009-2010`` (or ``2012`` for a single year)."""
    return str(first) if first == last else f"{first}-{last}"


def partial_note(years: Mapping[int, Mapping[str, str]], first: int, last: int) -> str:
    """Why a unit prefecture-level for part of the panel is out of the study sample."""
    reasons = []
    if first > PANEL_YEARS[0]:
        status = years[first - 1]["status"]
        reasons.append(STATUS_BEFORE.get(status, f"{status} before {{year}}").format(year=first))
    if last < PANEL_YEARS[-1]:
        status = years[last + 1]["status"]
        reasons.append(STATUS_AFTER.get(status, f"{status} from {{year}}").format(year=last + 1))
    return f"step a: prefecture-level {span(first, last)} only ({'; '.join(reasons)})"


def sample_note(kind: str, province_zh: str) -> str:
    """Why a unit prefecture-level in every panel year is out of the study sample; empty if
    it is in."""
    if kind != "city":
        return f"step b: not a city in {NAME_YEAR} ({kind})"
    if province_zh in SPARSE_PROVINCES:
        name = PROVINCES[province_zh].name_en
        return f"step c: {name} excluded (sparse city yearbook coverage)"
    return ""


def flag(value: bool) -> str:
    """Render a boolean as 0/1."""
    return "1" if value else "0"


def build_row(entity: Mapping[str, str], years: Mapping[int, Mapping[str, str]]) -> dict[str, str]:
    """Registry row of one entity that is prefecture-level in at least one panel year.

    ``name_zh`` is the legal name in the last such year (2022 for all but Chaohu and
    Laiwu); the province attributes are the entity's."""
    active = prefecture_years(years)
    first, last = active[0], active[-1]
    if active != list(range(first, last + 1)):
        raise ValueError(f"{entity['entity_id']}: prefecture-level years are not contiguous")
    name_zh = years[last]["legal_name_zh"]
    province_zh = entity["province_name_zh"]
    province = PROVINCES[province_zh]
    kind = unit_kind(name_zh)
    since = city_since(years, active)
    always = len(active) == len(PANEL_YEARS)
    note = sample_note(kind, province_zh) if always else partial_note(years, first, last)
    return {
        "admin_code": str(admin_code(entity["legacy_entity_id"])),
        "entity_id": entity["entity_id"],
        "name_zh": name_zh,
        "name_en": romanize(short_name(name_zh)),
        "province_zh": province_zh,
        "province_en": province.name_en,
        "region": province.region,
        "coastal": flag(province.coastal),
        "municipality": flag(province.capital_zh is None),
        "provincial_capital": flag(province.capital_zh == name_zh),
        "city_2022": flag(kind == "city" and last == NAME_YEAR),
        "city_since": "" if since is None else str(since),
        "in_study_sample": flag(not note),
        "sample_note": note,
        "first_year": str(first),
        "last_year": str(last),
    }


@dataclass(frozen=True)
class Crosswalk:
    """The three crosswalk files, indexed."""

    entities: dict[str, dict[str, str]]
    roster: dict[str, dict[int, dict[str, str]]]
    aliases: list[dict[str, str]]


def load_crosswalk(directory: Path) -> Crosswalk:
    """Read entities.csv, legal_roster_2000_2024.csv and aliases.csv."""
    return Crosswalk(
        entities=load_entities(directory / "entities.csv"),
        roster=load_roster(directory / "legal_roster_2000_2024.csv"),
        aliases=read_csv(directory / "aliases.csv"),
    )


def build_registry(crosswalk: Crosswalk) -> list[dict[str, str]]:
    """Registry rows for all entities prefecture-level in some panel year, by admin_code."""
    rows = [
        build_row(crosswalk.entities[entity_id], years)
        for entity_id, years in crosswalk.roster.items()
        if prefecture_years(years)
    ]
    rows.sort(key=lambda row: int(row["admin_code"]))
    validate(rows)
    return rows


def is_always(row: Mapping[str, str]) -> bool:
    """Whether a registry row is prefecture-level in every panel year."""
    return row["first_year"] == str(PANEL_YEARS[0]) and row["last_year"] == str(PANEL_YEARS[-1])


def step_counts(rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """Units left after each step of the sample rule."""
    always = [row for row in rows if is_always(row)]
    return {
        "a": len(always),
        "b": sum(row["city_2022"] == "1" for row in always),
        "c": sum(row["in_study_sample"] == "1" for row in always),
    }


def validate(rows: Sequence[Mapping[str, str]]) -> None:
    """Check counts, codes, names and flags; raise ValueError on any mismatch."""
    problems: list[str] = []
    counts = step_counts(rows)
    if counts != EXPECTED_COUNTS:
        problems.append(f"step counts {counts} != expected {EXPECTED_COUNTS}")
    partial = [row for row in rows if not is_always(row)]
    if len(partial) != EXPECTED_PARTIAL:
        problems.append(f"{len(partial)} partial units, expected {EXPECTED_PARTIAL}")
    problems += [
        f"partial unit {row['admin_code']} in the study sample"
        for row in partial
        if row["in_study_sample"] == "1" or not row["sample_note"].startswith("step a:")
    ]
    codes = [row["admin_code"] for row in rows]
    if len(set(codes)) != len(codes):
        problems.append("admin codes are not unique")
    problems += [f"bad admin_code {c}" for c in codes if not re.fullmatch(r"\d{6}", c)]
    problems += [
        f"bad name_en {row['name_en']!r} for {row['name_zh']}"
        for row in rows
        if not NAME_EN_RE.fullmatch(row["name_en"])
    ]
    capitals = sum(row["provincial_capital"] == "1" for row in rows)
    expected_capitals = sum(p.capital_zh is not None for p in PROVINCES.values())
    if capitals != expected_capitals:
        problems.append(f"{capitals} provincial capitals, expected {expected_capitals}")
    municipalities = sum(row["municipality"] == "1" for row in rows)
    if municipalities != 4:
        problems.append(f"{municipalities} municipalities, expected 4")
    if problems:
        raise ValueError("registry check failed:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------- aliases


@dataclass(frozen=True, order=True)
class Alias:
    """One alias row: a code or name of a unit, valid in a range of years."""

    admin_code: int
    kind_rank: int
    first_year: int
    last_year: int
    alias: str

    @property
    def kind(self) -> str:
        """The kind's name (``KIND_ORDER``, then ``ambiguous``)."""
        return (*KIND_ORDER, AMBIGUOUS)[self.kind_rank]

    def as_row(self) -> dict[str, str]:
        """The row as written to the CSV."""
        return {
            "alias": self.alias,
            "kind": self.kind,
            "admin_code": str(self.admin_code),
            "first_year": str(self.first_year),
            "last_year": str(self.last_year),
        }


AMBIGUOUS_RANK = len(KIND_ORDER)


@dataclass(frozen=True)
class Ambiguity:
    """An alias key naming more than one unit."""

    key: str
    units: tuple[tuple[int, int, int], ...]  # (admin_code, first_year, last_year)
    overlapping: bool  # True: left out (kind ambiguous); False: resolved by year


def runs(years: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) runs of a set of years."""
    out: list[tuple[int, int]] = []
    for year in sorted(set(years)):
        if out and out[-1][1] == year - 1:
            out[-1] = (out[-1][0], year)
        else:
            out.append((year, year))
    return out


def alias_candidates(
    crosswalk: Crosswalk, rows: Sequence[Mapping[str, str]]
) -> list[tuple[str, str, int, set[int]]]:
    """Every (alias, kind, admin_code, years) the sources give, before de-duplication."""
    by_entity = {row["entity_id"]: row for row in rows}
    found: list[tuple[str, str, int, set[int]]] = []
    former_codes = {current: (code, name) for code, (name, current) in FORMER_CODES.items()}
    for entity_id, row in by_entity.items():
        code = int(row["admin_code"])
        years = crosswalk.roster[entity_id]
        active = set(prefecture_years(years))
        name_zh = row["name_zh"]
        found.append((str(code), "code", code, active))
        if row["municipality"] == "1":
            found.append((str(code // 10000 * 10000), "province_code", code, active))
        found.append((name_zh, "name", code, active))
        for short in (suffixless_name(name_zh), short_name(name_zh)):
            found.append((short, "name_short", code, active))
        short = short_name(name_zh)
        found.append((row["name_en"].lower(), "name_en", code, active))
        if name_zh.endswith("自治州"):  # 延边州, as the crosswalk's 恩施州 and 湘西州
            found.append((f"{short}州", "variant", code, active))
        if short in CONVENTIONAL_PINYIN:
            pinyin = join_syllables(CONVENTIONAL_PINYIN[short].split()).lower()
            found.append((pinyin, "name_en", code, active))
        legal_names: dict[str, set[int]] = {}
        for year in sorted(active):
            legal_names.setdefault(years[year]["legal_name_zh"], set()).add(year)
        for legal, in_use in legal_names.items():
            if legal == name_zh:
                continue
            found.append((legal, "former_name", code, in_use))
            former_short = short_name(legal)
            for variant in (suffixless_name(legal), former_short):
                found.append((variant, "former_name", code, in_use))
            found.append((romanize(former_short).lower(), "former_name", code, in_use))
            if legal.endswith("地区") and name_zh.endswith("市"):
                former = former_codes.get(code)
                if former is None or former[1] != legal:
                    raise ValueError(f"{name_zh} was {legal} in 2009-2022: add its former code")
                found.append((str(former[0]), "former_code", code, in_use))
    for former_code, (legal, current) in FORMER_CODES.items():
        if not any(a == str(former_code) for a, *_ in found):
            raise ValueError(f"former code {former_code} ({legal}, now {current}) not used")
    for item in crosswalk.aliases:
        unit = by_entity.get(item["entity_id"])
        if unit is None:  # not prefecture-level in 2009-2022 (伊犁地区)
            continue
        active = set(prefecture_years(crosswalk.roster[item["entity_id"]]))
        valid = set(range(int(item["start_year"]), int(item["end_year"]) + 1)) & active
        # Suffix-omitted names that are not the current short name are former names (襄樊);
        # the other types are variants (恩施州, the OCR slip 毫州). Current names claim
        # their years first in deduplicate().
        kind = "former_name" if item["alias_type"] == "suffix_omitted" else "variant"
        if valid:
            found.append((item["alias"], kind, int(unit["admin_code"]), valid))
    return found


def deduplicate(candidates: Iterable[tuple[str, str, int, set[int]]]) -> list[Alias]:
    """One row per alias, unit and run of years, each year claimed by the first kind in
    ``KIND_ORDER`` (a current name is not repeated as a former name)."""
    claimed: dict[tuple[str, int], set[int]] = {}
    out: list[Alias] = []
    ordered = sorted(candidates, key=lambda c: (KIND_ORDER.index(c[1]), c[2], c[0]))
    for alias, kind, code, years in ordered:
        taken = claimed.setdefault((alias, code), set())
        free = years - taken
        taken |= free
        out += [
            Alias(code, KIND_ORDER.index(kind), first, last, alias) for first, last in runs(free)
        ]
    return out


def match_key(alias: Alias) -> tuple[str, str]:
    """The key the resolver matches on: (family, key), codes apart from names."""
    if alias.kind in CODE_KINDS:
        return "code", str(int(alias.alias))
    return "name", normalize_name(alias.alias)


def find_ambiguities(rows: Sequence[Alias]) -> tuple[list[Alias], list[Ambiguity]]:
    """Mark aliases whose key names two units in overlapping years as ambiguous."""
    groups: dict[tuple[str, str], list[Alias]] = {}
    for row in rows:
        groups.setdefault(match_key(row), []).append(row)
    ambiguities: list[Ambiguity] = []
    out: list[Alias] = []
    for (_, key), members in sorted(groups.items()):
        years: dict[int, set[int]] = {}
        for row in members:
            years.setdefault(row.admin_code, set()).update(range(row.first_year, row.last_year + 1))
        if len(years) == 1:
            out += members
            continue
        codes = sorted(years)
        overlapping = any(years[a] & years[b] for a in codes for b in codes if a < b)
        units = tuple((c, first, last) for c in codes for first, last in runs(years[c]))
        ambiguities.append(Ambiguity(key, units, overlapping))
        if not overlapping:
            out += members
            continue
        merged: dict[tuple[str, int], set[int]] = {}
        for row in members:
            merged.setdefault((row.alias, row.admin_code), set()).update(
                range(row.first_year, row.last_year + 1)
            )
        out += [
            Alias(code, AMBIGUOUS_RANK, first, last, alias)
            for (alias, code), in_use in merged.items()
            for first, last in runs(in_use)
        ]
    return sorted(out), ambiguities


def build_aliases(
    crosswalk: Crosswalk, rows: Sequence[Mapping[str, str]]
) -> tuple[list[Alias], list[Ambiguity]]:
    """The alias table, sorted by admin_code, kind, years and alias, and its ambiguities."""
    if set(CONVENTIONAL_PINYIN) != set(CONVENTIONAL_NAMES):
        raise ValueError("CONVENTIONAL_PINYIN and CONVENTIONAL_NAMES list different places")
    aliases, ambiguities = find_ambiguities(deduplicate(alias_candidates(crosswalk, rows)))
    codes = {int(row["admin_code"]) for row in rows}
    missing = codes - {a.admin_code for a in aliases if a.kind == "code"}
    if missing:
        raise ValueError(f"units without a code alias: {sorted(missing)}")
    return aliases, ambiguities


# ---------------------------------------------------------------- output


def write_csv(rows: Iterable[Mapping[str, str]], columns: Sequence[str], out: Path) -> None:
    """Write the rows as UTF-8 CSV with LF line endings."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def summary(
    rows: Sequence[Mapping[str, str]], aliases: Sequence[Alias], ambiguities: Sequence[Ambiguity]
) -> list[str]:
    """Lines printed after a build: counts, partial units, aliases by kind, ambiguities."""
    counts = step_counts(rows)
    names = {int(row["admin_code"]): row["name_zh"] for row in rows}
    lines = [
        f"registry: {len(rows)} units prefecture-level in some year "
        f"{PANEL_YEARS[0]}-{PANEL_YEARS[-1]}; (a) {counts['a']} in every year, "
        f"(b) {counts['b']} cities by {NAME_YEAR}, (c) {counts['c']} in the study sample",
    ]
    lines += [
        f"  partial: {row['admin_code']} {row['name_zh']} {row['name_en']} "
        f"{span(int(row['first_year']), int(row['last_year']))}"
        for row in rows
        if not is_always(row)
    ]
    by_kind = {kind: 0 for kind in (*KIND_ORDER, AMBIGUOUS)}
    for alias in aliases:
        by_kind[alias.kind] += 1
    lines.append(
        f"aliases: {len(aliases)} rows; "
        + ", ".join(f"{kind} {count}" for kind, count in by_kind.items())
    )
    for item in ambiguities:
        units = ", ".join(
            f"{code} {names[code]} {span(first, last)}" for code, first, last in item.units
        )
        verdict = "left out (overlapping years)" if item.overlapping else "resolved by year"
        lines.append(f"  ambiguous key {item.key!r}: {units}: {verdict}")
    if not any(not item.overlapping for item in ambiguities):
        lines.append("  no alias names two units in different years (none resolved by year)")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--crosswalk",
        type=Path,
        default=DEFAULT_CROSSWALK,
        help="directory with entities.csv, legal_roster_2000_2024.csv and aliases.csv",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="registry CSV")
    parser.add_argument(
        "--aliases-out",
        type=Path,
        default=None,
        help=f"alias CSV (default: {ALIASES_NAME} next to --out)",
    )
    parser.add_argument(
        "--list-names", action="store_true", help="print code, Chinese and English names"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the registry and the alias table, write them and print a summary."""
    args = parse_args(argv)
    crosswalk = load_crosswalk(args.crosswalk)
    rows = build_registry(crosswalk)
    aliases, ambiguities = build_aliases(crosswalk, rows)
    aliases_out = args.aliases_out or args.out.with_name(ALIASES_NAME)
    write_csv(rows, COLUMNS, args.out)
    write_csv((alias.as_row() for alias in aliases), ALIAS_COLUMNS, aliases_out)
    if args.list_names:
        for row in rows:
            print(row["admin_code"], row["name_zh"], row["name_en"], sep="\t")
    print(f"wrote {args.out} and {aliases_out}")
    print("\n".join(summary(rows, aliases, ambiguities)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
