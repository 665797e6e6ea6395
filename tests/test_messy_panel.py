"""The messy-panel generator (tests/messy_panel.py): deterministic for a seed, clean where it
says so, and planting exactly the anomalies and key quirks it lists (SIMULATED DATA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import load_config
from analysis.prepare.loading import read_table
from analysis.prepare.treatment import pilot_cohorts
from analysis.prepare.units import resolve_codes, resolve_names
from tests import messy_panel as mp


@pytest.fixture(scope="module")
def panel() -> mp.MessyPanel:
    return mp.messy_panel(5)


def _numbers(panel: mp.MessyPanel, column: str) -> pd.Series:
    return pd.to_numeric(panel.table[column].replace("", np.nan))


def test_same_seed_same_panel_other_seed_other_panel(panel: mp.MessyPanel) -> None:
    again = mp.messy_panel(5)
    assert again.table.equals(panel.table)
    assert again.anomalies == panel.anomalies and again.quirks == panel.quirks
    assert again.config_text == panel.config_text
    other = mp.messy_panel(6)
    assert not other.table.equals(panel.table)
    assert other.anomalies != panel.anomalies


def test_shape_as_users_hold_it(panel: mp.MessyPanel) -> None:
    clean = panel.clean
    assert clean["admin_code"].nunique() == mp.N_UNITS
    assert (int(clean["year"].min()), int(clean["year"].max())) == (2007, 2023)
    assert panel.table.shape[1] == 26 and panel.table.columns[1] == "城市代码"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in c) for c in panel.table.columns)
    assert not panel.table.duplicated(["城市代码", "年份"]).any()
    study = load_config()
    reg = pd.read_csv(mp.REGISTRY_FILE)
    sample = set(reg.loc[reg["in_study_sample"] == 1, "admin_code"])
    assert sample <= set(clean["admin_code"])  # every study city, and others beside
    for code, (first, last) in mp.PARTIAL.items():
        years = clean.loc[clean["admin_code"] == code, "year"]
        assert (int(years.min()), int(years.max())) == (first, last)
    assert study.panel.first_year == 2009  # the extra years are outside the study window
    pilot = mp.messy_panel(5, treatment="pilot_zones")
    assert mp.COHORT not in pilot.table.columns and 'source = "pilot_zones"' in pilot.config_text


def test_clean_values_follow_the_process(panel: mp.MessyPanel) -> None:
    """Sectors add up to GDP up to rounding, the two GDP columns agree, levels grow smoothly
    and no two units share a value in a year: the planted anomalies are the only ones."""
    c = panel.clean
    parts = c[list(mp.VA)].sum(axis=1)
    assert (parts - c[mp.GDP_YI]).abs().max() < 0.05
    # Rounding, and a last digit bumped where two units would share a value.
    assert (c[mp.GDP_WAN] / 1e4 - c[mp.GDP_YI]).abs().max() < 0.02
    columns = list(mp.DECIMALS)
    growth = c.sort_values(["admin_code", "year"]).groupby("admin_code")[columns].pct_change()
    assert growth.abs().max().max() < 0.3  # every column, rates included
    assert (c[columns] > 0).all().all()
    for column in mp.DECIMALS:
        assert not c.duplicated(["year", column]).any(), column


def test_plants_exactly_what_it_lists(panel: mp.MessyPanel) -> None:
    planted = panel.anomaly_cells()
    assert sorted(set(planted["kind"])) == sorted(
        [
            "missing_late_years",
            "missing_province_year",
            "outlier_x4",
            "repeated_value",
            "row_shift",
            "scale_break",
        ]
    )
    c = panel.clean.set_index(["admin_code", "year"])
    keys = list(zip(panel.clean["admin_code"], panel.clean["year"], strict=True))
    for column in mp.DECIMALS:
        messy = pd.Series(_numbers(panel, column).to_numpy(), index=pd.MultiIndex.from_tuples(keys))
        clean = c[column]
        differs = ~np.isclose(messy, clean, rtol=0, atol=1e-9) & ~(messy.isna() & clean.isna())
        here = planted[planted["column"] == column]
        expected = set(zip(here["unit"], here["year"], strict=True))
        for a in panel.anomalies:  # the unit whose value the others repeat keeps it
            if a.kind == "repeated_value" and a.column == column:
                expected.discard(a.cells[0])
        assert set(differs[differs].index) == expected, column
    for a in panel.anomalies:
        got = [float(_numbers(panel, a.column)[keys.index(cell)]) for cell in a.cells]
        old = [float(c.loc[cell, a.column]) for cell in a.cells]
        if a.kind == "outlier_x4":
            assert got[0] == pytest.approx(4 * old[0], abs=2)
        elif a.kind == "scale_break":
            assert np.allclose(got, np.array(old) / 1e4, atol=0.006)
            assert min(y for _, y in a.cells) == 2016 and len(a.units) == 3
        elif a.kind == "row_shift":
            (unit,) = a.units
            assert np.isnan(got[0]) and got[1:] == old[:-1]
        elif a.kind.startswith("missing"):
            assert all(np.isnan(g) for g in got)
        elif a.kind == "repeated_value":
            assert got == [old[0]] * 3 and len(set(old)) == 3
    late = next(a for a in panel.anomalies if a.kind == "missing_late_years")
    assert late.years == (2020, 2021, 2022, 2023) and len(late.units) > 290
    province = next(a for a in panel.anomalies if a.kind == "missing_province_year")
    assert len(province.years) == 1 and len(province.units) >= 5
    for a in panel.anomalies:  # inside the study window, so an audit of the panel sees them
        assert any(2009 <= y <= 2022 for y in a.years)


def test_keys_as_compiled_panels_write_them(panel: mp.MessyPanel) -> None:
    t, clean = panel.table, panel.clean
    kinds = {q.kind for q in panel.quirks}
    assert kinds == {
        "extra_years",
        "partial_unit",
        "province_code",
        "former_code",
        "fullwidth_code",
        "zero_width_name",
        "fullwidth_name",
        "short_name",
    }
    for q in panel.quirks:
        if not q.written:
            continue
        rows = (clean["admin_code"] == q.unit) & clean["year"].isin(q.years)
        column = (
            "城市代码" if q.written.strip("０１２３４５６７８９0123456789") == "" else "城市名称"
        )
        assert set(t.loc[rows, column]) == {q.written}, q
    assert set(t.loc[clean["admin_code"] == 110100, "城市代码"]) == {"110000"}
    assert any("\u200b" in name for name in t["城市名称"])
    # Every key resolves to the unit it stands for, by code and by name.
    codes = resolve_codes(t["城市代码"], t["年份"])
    names = resolve_names(t["城市名称"], t["年份"])
    for res in (codes, names):
        assert res.complete
        assert (res.admin_code.astype(int).to_numpy() == clean["admin_code"].to_numpy()).all()


def test_treatment_column_is_the_pilot_zones(panel: mp.MessyPanel) -> None:
    cohorts = pilot_cohorts(load_config().treatment)
    want = panel.clean["admin_code"].map(cohorts).fillna(0).astype(int)
    got = pd.to_numeric(panel.table[mp.COHORT].replace("", "0")).astype(int)
    assert (got.to_numpy() == want.to_numpy()).all() and got.gt(0).sum() > 100


def test_config_text_maps_existing_columns_and_loads(panel: mp.MessyPanel, tmp_path: Path) -> None:
    path = tmp_path / "messy.toml"
    path.write_text(panel.config_text, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.columns == {"city": "城市代码", "year": "年份"}
    assert {c.column for c in cfg.components} <= set(panel.table.columns)
    assert cfg.treatment.cohort_column == mp.COHORT
    assert set(panel.roles.values()) <= set(panel.table.columns)
    assert not set(panel.roles.values()) & (set(panel.alternatives) | set(panel.unmappable))
    csv = panel.write_csv(tmp_path / "messy.csv")
    assert read_table(csv).astype(str).equals(panel.table.astype(str))
