"""Tests of the unit resolver ``analysis/prepare/units.py`` and the alias table it reads."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analysis.config.schema import SampleConfig
from analysis.prepare.cities import registry, study_cities
from analysis.prepare.keys import normalize_name, parse_code
from analysis.prepare.units import (
    AMBIGUOUS,
    CODE_KINDS,
    KIND_ORDER,
    Resolution,
    aliases,
    resolve_codes,
    resolve_names,
)

# The study sample of data/cities.csv at commit d0c1d65 (before the registry listed partial
# units): its admin codes with in_study_sample = 1.
SAMPLE_BEFORE_EXTENSION = frozenset(
    {
        110100,
        120100,
        130100,
        130200,
        130300,
        130400,
        130500,
        130600,
        130700,
        130800,
        130900,
        131000,
        131100,
        140100,
        140200,
        140300,
        140400,
        140500,
        140600,
        140700,
        140800,
        140900,
        141000,
        141100,
        150100,
        150200,
        150300,
        150400,
        150500,
        150600,
        150700,
        150800,
        150900,
        210100,
        210200,
        210300,
        210400,
        210500,
        210600,
        210700,
        210800,
        210900,
        211000,
        211100,
        211200,
        211300,
        211400,
        220100,
        220200,
        220300,
        220400,
        220500,
        220600,
        220700,
        220800,
        230100,
        230200,
        230300,
        230400,
        230500,
        230600,
        230700,
        230800,
        230900,
        231000,
        231100,
        231200,
        310100,
        320100,
        320200,
        320300,
        320400,
        320500,
        320600,
        320700,
        320800,
        320900,
        321000,
        321100,
        321200,
        321300,
        330100,
        330200,
        330300,
        330400,
        330500,
        330600,
        330700,
        330800,
        330900,
        331000,
        331100,
        340100,
        340200,
        340300,
        340400,
        340500,
        340600,
        340700,
        340800,
        341000,
        341100,
        341200,
        341300,
        341500,
        341600,
        341700,
        341800,
        350100,
        350200,
        350300,
        350400,
        350500,
        350600,
        350700,
        350800,
        350900,
        360100,
        360200,
        360300,
        360400,
        360500,
        360600,
        360700,
        360800,
        360900,
        361000,
        361100,
        370100,
        370200,
        370300,
        370400,
        370500,
        370600,
        370700,
        370800,
        370900,
        371000,
        371100,
        371300,
        371400,
        371500,
        371600,
        371700,
        410100,
        410200,
        410300,
        410400,
        410500,
        410600,
        410700,
        410800,
        410900,
        411000,
        411100,
        411200,
        411300,
        411400,
        411500,
        411600,
        411700,
        420100,
        420200,
        420300,
        420500,
        420600,
        420700,
        420800,
        420900,
        421000,
        421100,
        421200,
        421300,
        430100,
        430200,
        430300,
        430400,
        430500,
        430600,
        430700,
        430800,
        430900,
        431000,
        431100,
        431200,
        431300,
        440100,
        440200,
        440300,
        440400,
        440500,
        440600,
        440700,
        440800,
        440900,
        441200,
        441300,
        441400,
        441500,
        441600,
        441700,
        441800,
        441900,
        442000,
        445100,
        445200,
        445300,
        450100,
        450200,
        450300,
        450400,
        450500,
        450600,
        450700,
        450800,
        450900,
        451000,
        451100,
        451200,
        451300,
        451400,
        460100,
        460200,
        500100,
        510100,
        510300,
        510400,
        510500,
        510600,
        510700,
        510800,
        510900,
        511000,
        511100,
        511300,
        511400,
        511500,
        511600,
        511700,
        511800,
        511900,
        512000,
        520100,
        520200,
        520300,
        520400,
        520500,
        520600,
        530100,
        530300,
        530400,
        530500,
        530600,
        530700,
        530800,
        530900,
        610100,
        610200,
        610300,
        610400,
        610500,
        610600,
        610700,
        610800,
        610900,
        611000,
    }
)


def codes(values: list[object], years: list[int], **kwargs: bool) -> Resolution:
    return resolve_codes(pd.Series(values, dtype=object), pd.Series(years), **kwargs)


def names(values: list[object], years: list[int], **kwargs: bool) -> Resolution:
    return resolve_names(pd.Series(values, dtype=object), pd.Series(years), **kwargs)


def test_study_sample_unchanged() -> None:
    """The 266 units with in_study_sample = 1 are exactly those of before the extension."""
    reg = registry()
    assert len(SAMPLE_BEFORE_EXTENSION) == 266
    assert set(reg.loc[reg["in_study_sample"] == 1, "admin_code"]) == SAMPLE_BEFORE_EXTENSION


def test_municipalities_by_province_code() -> None:
    """110000, 120000, 310000 and 500000 (yearbook convention) are the municipalities."""
    got = codes([110000, "120000", "310000.0", 500000.0, "110100"], [2009, 2012, 2016, 2022, 2015])
    assert got.complete
    assert got.admin_code.tolist() == [110100, 120100, 310100, 500100, 110100]
    assert got.kind.tolist() == ["province_code"] * 4 + ["code"]
    readings = got.readings()
    first = readings.iloc[0]
    assert (first["value"], first["kind"], first["admin_code"]) == (
        "110000",
        "province_code",
        110100,
    )
    assert (first["name_en"], first["rows"]) == ("Beijing", 1)


def test_former_code_only_in_its_years() -> None:
    """522400 (毕节地区) is Bijie 520500 in 2009-2010; in 2012 only if asked for."""
    got = codes([522400, 522400, 522200, 520500], [2009, 2012, 2010, 2009])
    assert got.admin_code.tolist()[0] == 520500
    assert got.kind.iloc[0] == "former_code"
    assert pd.isna(got.admin_code.iloc[1])
    assert got.unresolved_rows == (1,)
    assert "2009-2010" in got.unresolved_reasons[0] and "520500" in got.unresolved_reasons[0]
    assert got.admin_code.tolist()[2:] == [520600, 520500]  # Tongren; Bijie's own code
    lenient = codes([522400, 341400], [2012, 2012], former_any_year=True)
    assert lenient.admin_code.tolist()[0] == 520500
    assert lenient.kind.iloc[0] == "former_code"
    assert lenient.unresolved_rows == (1,)  # Chaohu did not exist in 2012, lenient or not


def test_chaohu_until_2010() -> None:
    """巢湖市 resolves in 2010 and is unknown from 2011, as its last_year says."""
    reg = registry().set_index("admin_code")
    assert (reg.loc[341400, "first_year"], reg.loc[341400, "last_year"]) == (2009, 2010)
    got = names(["巢湖市", "巢湖", "巢湖市"], [2010, 2009, 2011])
    assert got.admin_code.tolist()[:2] == [341400, 341400]
    assert got.kind.tolist()[:2] == ["name", "name_short"]
    assert got.unresolved_rows == (2,)
    assert "only in 2009-2010" in got.unresolved_reasons[0]
    assert codes([341400, 341400], [2010, 2011]).unresolved_rows == (1,)


def test_laiwu_before_2019() -> None:
    """莱芜 is Laiwu (371200) up to 2018 and unresolved from 2019 (merged into Jinan)."""
    got = names(["莱芜", "莱芜市", "Laiwu", "莱芜"], [2009, 2018, 2018, 2019])
    assert got.admin_code.tolist()[:3] == [371200] * 3
    assert got.unresolved_rows == (3,)
    assert "2009-2018" in got.unresolved_reasons[0]


def test_sansha_from_2012() -> None:
    """三沙市 (2012) in 2013; not before 2012; Danzhou only from 2015."""
    got = names(["三沙市", "三沙", "儋州市", "儋州"], [2013, 2011, 2015, 2014])
    assert got.admin_code.tolist()[0] == 460300
    assert got.admin_code.tolist()[2] == 460400
    assert got.unresolved_rows == (1, 3)


def test_invisible_and_full_width_characters() -> None:
    """Zero-width characters, full-width letters and digits, odd whitespace are ignored."""
    got = names(
        [
            "\u200b北京\u200d市\ufeff",
            "\u2060上海",
            " 天津\u3000市 ",
            "Ｓｈｅｎｚｈｅｎ",
            "ＸＩ＇ＡＮ",
        ],
        [2015] * 5,
    )
    assert got.complete
    assert got.admin_code.tolist() == [110100, 310100, 120100, 440300, 610100]
    by_code = codes(["１１００００", "\u200b522400", " 440100 "], [2015, 2009, 2015])
    assert by_code.admin_code.tolist() == [110100, 520500, 440100]


def test_english_and_pinyin() -> None:
    """English names and toneless pinyin, any case, with or without apostrophes."""
    values = [
        "Beijing",
        "BEIJING",
        "beijing city",
        "Xi'an",
        "xian",
        "Lu\u2019an",
        "Harbin",
        "haerbin",
        "Hohhot",
        "Huhehaote",
        "Lvliang",
        "Lüliang",
        "Xiangyang",
        "Shigatse",
        "rikaze",
    ]
    expected = [
        110100,
        110100,
        110100,
        610100,
        610100,
        341500,
        230100,
        230100,
        150100,
        150100,
        141100,
        141100,
        420600,
        540200,
        540200,
    ]
    got = names(values, [2020] * len(values))
    assert got.complete, list(zip(got.unresolved_values, got.unresolved_reasons, strict=True))
    assert got.admin_code.tolist() == expected
    assert set(got.kind) == {"name_en"}


def test_ambiguous_english_names_stay_unresolved() -> None:
    """Suzhou is 苏州 or 宿州: left unresolved with both named; the Chinese names resolve."""
    got = names(["Suzhou", "苏州", "宿州市", "taizhou"], [2015] * 4)
    assert got.admin_code.tolist()[1:3] == [320500, 341300]
    assert got.unresolved_rows == (0, 3)
    assert "320500" in got.unresolved_reasons[0] and "341300" in got.unresolved_reasons[0]
    assert got.unresolved_reasons[0].startswith("ambiguous")


def test_former_and_current_names() -> None:
    """Former names only in their years; current names in every year of the unit."""
    got = names(
        ["襄樊", "襄樊市", "襄阳", "毕节地区", "毕节", "恩施州", "延边州", "襄樊"],
        [2009, 2009, 2009, 2010, 2009, 2015, 2015, 2015],
    )
    assert got.admin_code.tolist()[:7] == [420600, 420600, 420600, 520500, 520500, 422800, 222400]
    assert got.kind.tolist()[:7] == [
        "former_name",
        "former_name",
        "name_short",
        "former_name",
        "name_short",
        "variant",
        "variant",
    ]
    assert got.unresolved_rows == (7,)
    assert "former name" in got.unresolved_reasons[0]


def test_unknown_values_keep_their_rows() -> None:
    """Unresolved rows are reported by position with their values; the index is kept."""
    values = pd.Series(["北京", "Atlantis", None, "上海", ""], index=[10, 11, 12, 13, 14])
    got = resolve_names(values, pd.Series([2010] * 5, index=values.index))
    assert got.admin_code.index.tolist() == [10, 11, 12, 13, 14]
    assert got.admin_code.dtype == "Int64"
    assert got.unresolved_rows == (1, 2, 4)
    assert got.unresolved_values[::2] == ("Atlantis", "")
    assert pd.isna(got.unresolved_values[1])  # as the Series holds it (None or NaN)
    assert got.unresolved_reasons[0].startswith("unknown")
    assert not got.complete
    assert got.kind.isna().tolist() == [False, True, True, False, True]
    bad = codes([999999, "abc", 110100.5, np.int64(440100)], [2010] * 4)
    assert bad.unresolved_rows == (0, 1, 2)
    assert bad.admin_code.iloc[3] == 440100


def test_years_outside_the_registry_are_clamped() -> None:
    """Before 2009 reads as 2009, after 2022 as 2022; a missing year resolves nothing."""
    got = names(["莱芜", "三沙", "巢湖", "北京"], [2005, 2023, 2008, 2023])
    assert got.admin_code.tolist() == [371200, 460300, 341400, 110100]
    missing = resolve_codes(pd.Series([110100, 110100]), pd.Series(["2010", None]))
    assert missing.unresolved_rows == (1,)
    with pytest.raises(ValueError, match="differ in length"):
        resolve_codes(pd.Series([110100]), pd.Series([2010, 2011]))


def test_resolution_is_frozen() -> None:
    """A Resolution cannot be changed after the fact."""
    got = codes([110100], [2010])
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.unresolved_rows = (0,)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("北京市", "北京"),
        ("\u200b北京\u200c市\u2060", "北京"),
        ("市", "市"),
        ("巢湖市市", "巢湖市"),
        ("毕节地区", "毕节地区"),
        ("Ｂｅｉｊｉｎｇ", "beijing"),
        ("Beijing City", "beijing"),
        ("Lu'an", "luan"),
        ("Lüliang", "lvliang"),
        ("  Xi an ", "xian"),
    ],
)
def test_normalize_name(text: str, key: str) -> None:
    """Exactly the documented steps: one trailing 市 or city dropped, nothing else."""
    assert normalize_name(text) == key


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (110100, 110100),
        ("110100.0", 110100),
        (110100.0, 110100),
        ("１１０１００", 110100),
        (np.int64(110100), 110100),
        (110100.5, None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        ("11a100", None),
    ],
)
def test_parse_code(value: object, code: int | None) -> None:
    assert parse_code(value) == code


def test_alias_table_is_consistent() -> None:
    """Every alias names a registry unit within its years; no key names two units in the
    same year (outside the ambiguous rows); every unit has its code as an alias."""
    table = aliases()
    reg = registry().set_index("admin_code")
    assert list(table.columns) == ["alias", "kind", "admin_code", "first_year", "last_year"]
    assert set(table["kind"]) <= {*KIND_ORDER, AMBIGUOUS}
    assert set(table["admin_code"]) == set(reg.index)
    spans = reg.loc[table["admin_code"], ["first_year", "last_year"]].to_numpy()
    assert (table["first_year"].to_numpy() >= spans[:, 0]).all()
    assert (table["last_year"].to_numpy() <= spans[:, 1]).all()
    assert (table["first_year"] <= table["last_year"]).all()
    own = table[table["kind"] == "code"]
    assert (own["alias"].astype(int) == own["admin_code"]).all()
    assert not table.duplicated(["alias", "admin_code", "first_year"]).any()
    usable = table[table["kind"] != AMBIGUOUS]
    is_code = usable["kind"].isin(CODE_KINDS)
    keys = np.where(
        is_code, "code:" + usable["alias"], "name:" + usable["alias"].map(normalize_name)
    )
    seen: dict[tuple[str, int], int] = {}
    for key, code, first, last in zip(
        keys, usable["admin_code"], usable["first_year"], usable["last_year"], strict=True
    ):
        for year in range(first, last + 1):
            assert seen.setdefault((key, year), code) == code, (key, year)
    assert set(table.loc[table["kind"] == AMBIGUOUS, "alias"]) == {
        "suzhou",
        "taizhou",
        "fuzhou",
        "yichun",
        "yulin",
    }


def test_all_sample_keeps_the_always_prefecture_units() -> None:
    """[sample] cities = "all" still means the 335 units prefecture-level every year."""
    every = study_cities(SampleConfig("all", (), False, ()))
    assert len(every) == 335
    assert not {341400, 371200, 460300, 460400} & set(every["admin_code"])
    assert len(study_cities(SampleConfig("registry", (), False, ()))) == 266
