"""Tests of the city registry ``data/cities.csv`` and its build script."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REGISTRY = REPO_ROOT / "data" / "cities.csv"
BUILD_SCRIPT = REPO_ROOT / "tools" / "build_registry.py"
CROSSWALK = REPO_ROOT.parent / "shared" / "reference" / "crosswalk"

COLUMNS = [
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
]
SPARSE_PROVINCES = {"Tibet", "Gansu", "Qinghai", "Ningxia", "Xinjiang"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    """The committed registry, one dict per row."""
    with REGISTRY.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def by_code(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """The committed registry indexed by admin_code."""
    return {row["admin_code"]: row for row in rows}


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    """Rebuilding from the crosswalk reproduces the committed file exactly."""
    if not CROSSWALK.is_dir():
        pytest.skip(f"crosswalk inputs not found at {CROSSWALK}; cannot rebuild the registry")
    pytest.importorskip("pypinyin", reason="pypinyin (dev dependency) is needed to rebuild")
    out = tmp_path / "cities.csv"
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--crosswalk", str(CROSSWALK), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == REGISTRY.read_bytes()


def test_columns_and_order(rows: list[dict[str, str]]) -> None:
    """Columns are exactly as documented; rows are sorted by admin_code."""
    with REGISTRY.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS
    codes = [int(row["admin_code"]) for row in rows]
    assert codes == sorted(codes)


def test_admin_codes_unique_six_digits(rows: list[dict[str, str]]) -> None:
    """Admin codes are unique 6-digit numbers; entity ids are unique too."""
    codes = [row["admin_code"] for row in rows]
    assert len(set(codes)) == len(codes)
    assert all(len(code) == 6 and code.isdigit() and code[0] != "0" for code in codes)
    entity_ids = [row["entity_id"] for row in rows]
    assert len(set(entity_ids)) == len(entity_ids)
    assert all(entity_id.startswith("CNUR-") for entity_id in entity_ids)


def test_counts_per_step(rows: list[dict[str, str]]) -> None:
    """335 units (a), 295 cities by 2022 (b), 266 in the study sample (c)."""
    cities = [row for row in rows if row["city_2022"] == "1"]
    sample = [row for row in rows if row["in_study_sample"] == "1"]
    assert len(rows) == 335
    assert len(cities) == 295
    assert len(sample) == 266
    notes = [row["sample_note"] for row in rows]
    assert sum(note.startswith("step b:") for note in notes) == 335 - 295
    assert sum(note.startswith("step c:") for note in notes) == 295 - 266


def test_sample_rule_is_consistent(rows: list[dict[str, str]]) -> None:
    """In sample iff a city in 2022 outside the five sparse provinces; note iff out."""
    for row in rows:
        expected = row["city_2022"] == "1" and row["province_en"] not in SPARSE_PROVINCES
        assert (row["in_study_sample"] == "1") == expected, row["admin_code"]
        assert (row["sample_note"] == "") == expected, row["admin_code"]
        assert (row["city_2022"] == "1") == row["name_zh"].endswith("市"), row["admin_code"]
        assert (row["city_since"] == "") == (row["city_2022"] == "0"), row["admin_code"]


def test_flag_counts(rows: list[dict[str, str]]) -> None:
    """27 provincial capitals, 4 municipalities, 31 provinces, 4 regions."""
    assert sum(row["provincial_capital"] == "1" for row in rows) == 27
    municipalities = {row["name_en"] for row in rows if row["municipality"] == "1"}
    assert municipalities == {"Beijing", "Tianjin", "Shanghai", "Chongqing"}
    assert len({row["province_zh"] for row in rows}) == 31
    assert {row["region"] for row in rows} == {"east", "central", "west", "northeast"}


def test_beijing(by_code: dict[str, dict[str, str]]) -> None:
    """Beijing keeps code 110100: a municipality in the east, not on the coast."""
    row = by_code["110100"]
    assert row["name_en"] == "Beijing"
    assert row["municipality"] == "1"
    assert row["provincial_capital"] == "0"
    assert row["region"] == "east"
    assert row["coastal"] == "0"  # Beijing is not in the list of sea-bordering provinces
    assert by_code["120100"]["coastal"] == "1"


def test_bijie_became_city_in_2011(by_code: dict[str, dict[str, str]]) -> None:
    """Bijie (520500) was 毕节地区 until 2010 and stays in the sample."""
    row = by_code["520500"]
    assert row["name_zh"] == "毕节市"
    assert row["name_en"] == "Bijie"
    assert row["city_since"] == "2011"
    assert row["in_study_sample"] == "1"
    assert by_code["520600"]["city_since"] == "2011"  # Tongren


def test_changji_out_with_note(by_code: dict[str, dict[str, str]]) -> None:
    """Changji (652300), an autonomous prefecture, is out at step b."""
    row = by_code["652300"]
    assert row["name_en"] == "Changji"
    assert row["in_study_sample"] == "0"
    assert row["sample_note"].startswith("step b:")


def test_changsha_capital(by_code: dict[str, dict[str, str]]) -> None:
    """Changsha (430100) is Hunan's capital, read Chang- not Zhang-."""
    row = by_code["430100"]
    assert row["name_en"] == "Changsha"
    assert row["provincial_capital"] == "1"
    assert row["region"] == "central"


@pytest.mark.parametrize(
    ("code", "name_en"),
    [
        ("500100", "Chongqing"),
        ("140400", "Changzhi"),
        ("211300", "Chaoyang"),
        ("350200", "Xiamen"),
        ("340300", "Bengbu"),
        ("341500", "Lu'an"),
        ("411100", "Luohe"),
        ("370900", "Tai'an"),
        ("150100", "Hohhot"),
        ("650100", "Urumqi"),
        ("540200", "Shigatse"),
    ],
)
def test_english_names(by_code: dict[str, dict[str, str]], code: str, name_en: str) -> None:
    """Polyphonic and conventional English names come out right."""
    assert by_code[code]["name_en"] == name_en


def test_shaanxi_spelling(rows: list[dict[str, str]]) -> None:
    """陕西 is Shaanxi and 山西 is Shanxi."""
    provinces = {row["province_zh"]: row["province_en"] for row in rows}
    assert provinces["陕西省"] == "Shaanxi"
    assert provinces["山西省"] == "Shanxi"
