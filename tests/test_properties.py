"""Hard inputs, property-based: malformed panels thrown at the loader and the pipeline end in
either a correct result (exit 0, finite baseline estimate) or exit status 2 with one line
`error: ...`; never a traceback, and a previous output is never damaged."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.cli import main
from analysis.config import DEFAULT_PANEL, load_config

# Guizhou 2015 (Guiyang, Zunyi), second batch 2016 (Beijing, Zhengzhou, Hohhot, Shenyang), never.
CITIES = [
    520100,
    520300,
    110100,
    410100,
    150100,
    210100,
    130100,
    210200,
    320100,
    330100,
    430100,
    610100,
]
NUMERIC = ["gdp", "rd_intensity", "unemployment_rate", "population", "invention_patents"]
SENTINEL = "a previous good result\n"


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    raw = pd.read_csv(DEFAULT_PANEL, dtype=str, keep_default_na=False)
    return raw[raw["city_code"].astype(int).isin(CITIES)].reset_index(drop=True)


def _mutations() -> st.SearchStrategy[list[tuple[str, int, int]]]:
    kinds = st.sampled_from(
        [
            "shuffle",
            "drop_rows",
            "duplicate",
            "string_cell",
            "all_missing",
            "one_treated",
            "no_never_treated",
            "constant",
            "huge",
            "negative",
            "blank_cell",
            "chinese_header",
        ]
    )
    return st.lists(
        st.tuples(kinds, st.integers(0, 10_000), st.integers(0, 10_000)), min_size=1, max_size=3
    )


def _apply(data: pd.DataFrame, kind: str, a: int, b: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """One mutation; returns the data and column renames the configuration must map."""
    d = data.copy()
    n = len(d)
    col = NUMERIC[a % len(NUMERIC)]
    if kind == "shuffle":
        return d.sample(frac=1.0, random_state=a).reset_index(drop=True), {}
    if kind == "drop_rows":
        return d.drop(index=d.index[: 1 + a % max(1, n // 3)]).reset_index(drop=True), {}
    if kind == "duplicate":
        return pd.concat([d, d.iloc[[a % n]]], ignore_index=True), {}
    if kind == "string_cell":
        d.loc[d.index[a % n], col] = "abc"
    elif kind == "all_missing":
        d[col] = ""
    elif kind == "blank_cell":
        d.loc[d.index[a % n], col] = ""
    elif kind == "one_treated":
        d = d[~d["city_code"].astype(int).isin([520300, 410100, 150100, 210100, 110100])]
    elif kind == "no_never_treated":
        d = d[d["city_code"].astype(int).isin(CITIES[:6])]
    elif kind == "constant":
        d[col] = "1.5"
    elif kind == "huge":
        d.loc[d.index[a % n], col] = f"1e{200 + b % 108}"
    elif kind == "negative":
        d.loc[d.index[a % n], col] = "-5"
    elif kind == "chinese_header":
        return d.rename(columns={col: "ＧＤＰ（亿元）"}), {col: "ＧＤＰ（亿元）"}
    return d.reset_index(drop=True), {}


def _config(renames: dict[str, str], path: Path) -> Path:
    lines = []
    comps = {"rd_intensity", "unemployment_rate"}
    inputs = {k: v for k, v in renames.items() if k not in comps}
    if inputs:  # [inputs] replaces the default table: list every input
        lines.append("[inputs]")
        lines += [f'{k} = "{inputs.get(k, v)}"' for k, v in load_config().inputs.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutations=_mutations(), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_malformed_panels(
    base: pd.DataFrame,
    mutations: list[tuple[str, int, int]],
    encoding: str,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    data, renames = base, {}
    for kind, a, b in mutations:
        if kind == "chinese_header" and renames:
            continue
        data, new = _apply(data, kind, a, b)
        renames.update(new)
    if "rd_intensity" in renames or "unemployment_rate" in renames:
        renames = {}
        data = base
    path = folder / "panel.csv"
    path.write_bytes(data.to_csv(index=False).encode(encoding))
    out = folder / "out"
    out.mkdir()
    (out / "estimates.csv").write_text(SENTINEL)
    args = [
        "--quiet",
        "run",
        "--data",
        str(path),
        "--out",
        str(out),
        "--only",
        "baseline,event_study",
    ]
    if renames:
        args += ["--config", str(_config(renames, folder / "c.toml"))]
    code = main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code in (0, 2), err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert (out / "estimates.csv").read_text() == SENTINEL
    else:
        est = pd.read_csv(out / "estimates.csv")
        row = est[(est["model"] == "baseline_twfe") & (est["term"] == "treat_post")]
        assert len(row) == 1 and math.isfinite(float(row["estimate"].iloc[0]))
    assert not [p for p in folder.iterdir() if p.name.startswith(".out.tmp")]
