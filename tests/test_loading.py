"""Loading: every supported format, a BOM, Chinese column names and city names give the same
analysis panel as the default CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.config import DEFAULT_PANEL, Config, load_config
from analysis.pipeline import prepare

RENAME = {
    "city_name": "城市",
    "year": "年份",
    "gdp": "地区生产总值",
    "rd_intensity": "研发投入强度",
}
NUMERIC = None  # the default panel's numeric columns, read once


@pytest.fixture(scope="module")
def numeric_raw() -> pd.DataFrame:
    return pd.read_csv(DEFAULT_PANEL)


@pytest.mark.parametrize("fmt", ["csv_bom", "xlsx", "dta", "parquet"])
def test_formats_give_the_same_panel(
    fmt: str, numeric_raw: pd.DataFrame, default_panel: pd.DataFrame, cfg: Config, tmp_path: Path
) -> None:
    data = numeric_raw.drop(columns=["city_name"])
    path = tmp_path / f"panel.{fmt.split('_')[0]}"
    if fmt == "csv_bom":
        path.write_bytes(b"\xef\xbb\xbf" + DEFAULT_PANEL.read_bytes())
    elif fmt == "xlsx":
        data.iloc[:600].to_excel(path, index=False)
    elif fmt == "dta":
        data.to_stata(path, write_index=False)
    else:
        data.to_parquet(path, index=False)
    panel, _ = prepare(path, cfg)
    if fmt == "xlsx":  # a subset (Excel writing is slow); compare the same cities
        expected, _ = prepare(_subset_csv(numeric_raw.iloc[:600], tmp_path), cfg)
    else:
        expected = default_panel
    pd.testing.assert_frame_equal(panel, expected, check_exact=False, rtol=1e-12)


def _subset_csv(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / "subset.csv"
    frame.to_csv(path, index=False)
    return path


def test_chinese_columns_and_city_names(
    numeric_raw: pd.DataFrame, default_panel: pd.DataFrame, tmp_path: Path
) -> None:
    data = numeric_raw.drop(columns=["city_code"]).rename(columns=RENAME)
    path = tmp_path / "中文.csv"
    data.to_csv(path, index=False, encoding="utf-8")
    cfg_path = tmp_path / "c.toml"
    cfg_path.write_text(
        '[panel]\ncity_key = "name"\n[columns]\ncity = "城市"\nyear = "年份"\n[inputs]\n'
        + "".join(f'{r} = "{RENAME.get(c, c)}"\n' for r, c in load_config().inputs.items())
        + "[components]\n"
        + "".join(
            f'{c.role} = {{ column = "{RENAME.get(c.column, c.column)}", direction = "{c.direction}", dimension = "{c.dimension}" }}\n'
            for c in load_config().components
        ),
        encoding="utf-8",
    )
    panel, _ = prepare(path, load_config(cfg_path))
    pd.testing.assert_frame_equal(panel, default_panel, check_exact=False, rtol=1e-12)


def test_unbalanced_and_shuffled_rows(
    numeric_raw: pd.DataFrame, cfg: Config, tmp_path: Path
) -> None:
    data = numeric_raw.sample(frac=1.0, random_state=3).iloc[:-50]
    path = tmp_path / "shuffled.csv"
    data.to_csv(path, index=False)
    panel, _ = prepare(path, cfg)
    assert len(panel) == len(numeric_raw) - 50
    assert panel[["city_code", "year"]].equals(
        panel[["city_code", "year"]].sort_values(["city_code", "year"])
    )
