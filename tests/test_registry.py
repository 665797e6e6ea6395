"""Tests of the city registry ``data/cities.csv`` and its build script."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests._regen import tool

REPO_ROOT = Path(__file__).resolve().parents[1]
REGISTRY = REPO_ROOT / "data" / "cities.csv"
ALIASES = REPO_ROOT / "data" / "city_aliases.csv"
BUILD_SCRIPT = REPO_ROOT / "tools" / "build_registry.py"
CROSSWALK = REPO_ROOT.parent / "shared" / "reference" / "crosswalk"

# The registry's columns, in order, as the script that builds it writes them.
COLUMNS = list(tool("build_registry").COLUMNS)
SPARSE_PROVINCES = {"Tibet", "Gansu", "Qinghai", "Ningxia", "Xinjiang"}
# Prefecture-level for part of 2009-2022 only: code -> (name, first year, last year).
PARTIAL = {
    "341400": ("巢湖市", 2009, 2010),  # abolished 2011
    "371200": ("莱芜市", 2009, 2018),  # merged into Jinan 2019
    "460300": ("三沙市", 2012, 2022),  # established 2012
    "460400": ("儋州市", 2015, 2022),  # prefecture-level from 2015
}
# sha256 of data/cities.csv at commit d0c1d65, before the partial units and the year
# columns were added: its 335 rows and 14 columns must not change.
SHA256_BEFORE_EXTENSION = "b214d77be9fa39622d4ca5f6296a06052ebb9208e6f236838a31103e997cc1fc"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    """The committed registry, one dict per row."""
    with REGISTRY.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def always(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The units prefecture-level in every year 2009-2022."""
    return [row for row in rows if (row["first_year"], row["last_year"]) == ("2009", "2022")]


@pytest.fixture(scope="module")
def by_code(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """The committed registry indexed by admin_code."""
    return {row["admin_code"]: row for row in rows}


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    """Rebuilding from the crosswalk reproduces both committed files exactly (the alias
    table goes next to --out, so the committed one is not touched)."""
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
    assert (tmp_path / "city_aliases.csv").read_bytes() == ALIASES.read_bytes()
    assert "ambiguous key 'suzhou'" in result.stdout  # the build reports its ambiguities


def test_always_prefecture_rows_unchanged(always: list[dict[str, str]]) -> None:
    """The 335 rows, first 14 columns, are byte for byte the registry before the extension."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS[:14])
    writer.writerows([row[column] for column in COLUMNS[:14]] for row in always)
    digest = hashlib.sha256(buffer.getvalue().encode("utf-8")).hexdigest()
    assert digest == SHA256_BEFORE_EXTENSION


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


def test_counts_per_step(rows: list[dict[str, str]], always: list[dict[str, str]]) -> None:
    """339 units in some year, of which 335 in every year (a), 295 cities by 2022 (b),
    266 in the study sample (c)."""
    cities = [row for row in always if row["city_2022"] == "1"]
    sample = [row for row in rows if row["in_study_sample"] == "1"]
    assert len(rows) == 339
    assert len(always) == 335
    assert len(cities) == 295
    assert len(sample) == 266
    assert all(row in always for row in sample)
    notes = [row["sample_note"] for row in rows]
    assert sum(note.startswith("step a:") for note in notes) == 339 - 335
    assert sum(note.startswith("step b:") for note in notes) == 335 - 295
    assert sum(note.startswith("step c:") for note in notes) == 295 - 266


def test_partial_units(rows: list[dict[str, str]], by_code: dict[str, dict[str, str]]) -> None:
    """Chaohu, Laiwu, Sansha and Danzhou, with their years, out of the sample at step a."""
    partial = {row["admin_code"] for row in rows if row["sample_note"].startswith("step a:")}
    assert partial == set(PARTIAL)
    for code, (name_zh, first, last) in PARTIAL.items():
        row = by_code[code]
        assert row["name_zh"] == name_zh
        assert (int(row["first_year"]), int(row["last_year"])) == (first, last)
        assert row["in_study_sample"] == "0"
        span = f"{first}-{last}"
        assert row["sample_note"].startswith(f"step a: prefecture-level {span} only ("), code
        assert row["city_2022"] == ("1" if last == 2022 else "0")  # no 2022 name if abolished
        assert row["city_since"] == str(first)
    assert by_code["341400"]["sample_note"].endswith("(abolished 2011)")
    assert by_code["371200"]["sample_note"].endswith("(abolished 2019)")
    assert by_code["460300"]["sample_note"].endswith("(established 2012)")
    assert by_code["371200"]["coastal"] == by_code["370100"]["coastal"] == "1"  # Shandong
    assert by_code["341400"]["region"] == "central"  # Anhui
    assert by_code["460400"]["name_en"] == "Danzhou"


def test_years_within_panel(rows: list[dict[str, str]]) -> None:
    """first_year <= last_year, both within 2009-2022."""
    for row in rows:
        assert 2009 <= int(row["first_year"]) <= int(row["last_year"]) <= 2022, row["admin_code"]


def test_sample_rule_is_consistent(always: list[dict[str, str]]) -> None:
    """In sample iff a city in 2022 outside the five sparse provinces; note iff out."""
    for row in always:
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
