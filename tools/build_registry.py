"""Build the project's China city registry, ``data/cities.csv``.

Usage::

    python tools/build_registry.py [--crosswalk DIR] [--out data/cities.csv]

The registry has one row per research entity that is at prefecture level and
active in every year 2009-2022 (335 units: prefecture-level cities, the four
municipalities, autonomous prefectures, leagues and prefecture-level regions),
sorted by administrative code. It flags the 266 units of the study sample (see
``sample_note`` and ``data/CITIES.md``) and the output is fully determined by
the input files: rerunning the script gives a byte-identical file.

Source and credit
-----------------
Built from the public dataset "China Urban Research Entity Crosswalk"
(https://github.com/FIERsity/china-prefecture-crosswalk), version 4.0.2,
commit 753a015, files ``entities.csv`` and ``legal_roster_2000_2024.csv``
from its ``data/processed/``. The dataset is licensed CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/).

What was changed: the entity list was restricted to units active at prefecture
level in every year 2009-2022; only the entity id, the administrative code
(``legacy_entity_id`` without its ``E``), the 2022 legal name and the province
were kept; the English names (pinyin made with pypinyin plus the overrides
below), the province English names, NBS regions, coastal / municipality /
provincial-capital flags, the city-status columns and the study-sample rule
were added by this project. ``aliases.csv`` is not used.
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
DEFAULT_CROSSWALK = REPO_ROOT.parent / "shared" / "reference" / "crosswalk"
DEFAULT_OUT = REPO_ROOT / "data" / "cities.csv"

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
)

# Sample-rule step -> number of units left after it; the script fails otherwise.
EXPECTED_COUNTS = {"a": 335, "b": 295, "c": 266}


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


def active_every_year(years: Mapping[int, Mapping[str, str]]) -> bool:
    """Whether an entity is an active prefecture-level unit in every panel year."""
    return all(is_active_prefecture(years.get(year)) for year in PANEL_YEARS)


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


def city_since(years: Mapping[int, Mapping[str, str]]) -> int | None:
    """First panel year in which the legal name ends with 市, if any."""
    for year in PANEL_YEARS:
        if years[year]["legal_name_zh"].endswith("市"):
            return year
    return None


def sample_note(kind: str, province_zh: str) -> str:
    """Why a unit is out of the study sample; empty if it is in."""
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
    """Registry row of one entity that is active in every panel year."""
    name_zh = years[NAME_YEAR]["legal_name_zh"]
    province_zh = entity["province_name_zh"]
    province = PROVINCES[province_zh]
    kind = unit_kind(name_zh)
    since = city_since(years)
    note = sample_note(kind, province_zh)
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
        "city_2022": flag(kind == "city"),
        "city_since": "" if since is None else str(since),
        "in_study_sample": flag(not note),
        "sample_note": note,
    }


def build_registry(crosswalk: Path) -> list[dict[str, str]]:
    """Registry rows for all entities active every panel year, by admin_code."""
    entities = load_entities(crosswalk / "entities.csv")
    roster = load_roster(crosswalk / "legal_roster_2000_2024.csv")
    rows = [
        build_row(entities[entity_id], years)
        for entity_id, years in roster.items()
        if active_every_year(years)
    ]
    rows.sort(key=lambda row: int(row["admin_code"]))
    validate(rows)
    return rows


def step_counts(rows: Iterable[Mapping[str, str]]) -> dict[str, int]:
    """Units left after each step of the sample rule."""
    rows = list(rows)
    return {
        "a": len(rows),
        "b": sum(row["city_2022"] == "1" for row in rows),
        "c": sum(row["in_study_sample"] == "1" for row in rows),
    }


def validate(rows: Sequence[Mapping[str, str]]) -> None:
    """Check counts, codes, names and flags; raise ValueError on any mismatch."""
    problems: list[str] = []
    counts = step_counts(rows)
    if counts != EXPECTED_COUNTS:
        problems.append(f"step counts {counts} != expected {EXPECTED_COUNTS}")
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


def write_registry(rows: Iterable[Mapping[str, str]], out: Path) -> None:
    """Write the rows as UTF-8 CSV with LF line endings."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--crosswalk",
        type=Path,
        default=DEFAULT_CROSSWALK,
        help="directory with entities.csv and legal_roster_2000_2024.csv",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV")
    parser.add_argument(
        "--list-names", action="store_true", help="print code, Chinese and English names"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the registry, write it and print the step counts."""
    args = parse_args(argv)
    rows = build_registry(args.crosswalk)
    write_registry(rows, args.out)
    if args.list_names:
        for row in rows:
            print(row["admin_code"], row["name_zh"], row["name_en"], sep="\t")
    counts = step_counts(rows)
    print(
        f"wrote {args.out}: (a) {counts['a']} prefecture-level units active "
        f"2009-2022, (b) {counts['b']} cities by {NAME_YEAR}, "
        f"(c) {counts['c']} in the study sample"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
