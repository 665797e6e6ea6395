"""Bad input: exit status 2, one line `error: ...` naming file, column, row and value, no
traceback, and a previous good output left as it was."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from tests.conftest import REPO

Mutation = Callable[[pd.DataFrame], pd.DataFrame]


def _set(row: int, column: str, value: str) -> Mutation:
    def f(d: pd.DataFrame) -> pd.DataFrame:
        d = d.copy()
        d.loc[row, column] = value
        return d

    return f


CASES: dict[str, tuple[Mutation, list[str]]] = {
    "misspelled column": (
        lambda d: d.rename(columns={"rd_intensity": "rd_intensty"}),
        ["column 'rd_intensity' (rd_intensity) not found", "did you mean 'rd_intensty'?"],
    ),
    "duplicate city-year": (
        lambda d: pd.concat([d, d.iloc[[5]]], ignore_index=True),
        ["duplicate unit-year 110100-2014", "rows 7 and 3726"],
    ),
    "non-numeric cell": (
        _set(10, "gdp", "n/a!"),
        ["column 'gdp' (gdp), row 12: value 'n/a!' is not a number"],
    ),
    # Rows of other years or of unknown units are dropped and listed; only an empty result
    # is an error.
    "no year inside the panel": (
        lambda d: d.assign(year="2031"),
        ["no row has a year in 2009-2022 ([panel] first_year, last_year); the file has 2031"],
    ),
    "no known city": (
        lambda d: d.assign(city_code="999999"),
        ["column 'city_code' (city): no value names a prefecture-level code", "'999999'"],
    ),
    "empty sample": (
        lambda d: d[d["city_code"] == "110100"].assign(city_code="540100"),
        ["no unit-year left after the sample filters"],
    ),
    "constant component": (
        lambda d: d.assign(rd_intensity="0.02"),
        ["column 'rd_intensity' (rd_intensity) is constant"],
    ),
    "all-missing column": (lambda d: d.assign(fdi=""), ["column 'fdi' (fdi) has no values"]),
    "negative level": (
        _set(3, "population", "-12"),
        [
            "column 'population' (population) has value -12 for city 110100 in 2012; it must be positive"
        ],
    ),
    "overflowing value": (
        _set(3, "gdp", "1e305"),
        ["variable 'ln_gdp_pc' is not finite for city 110100 in 2012"],
    ),
}


@pytest.fixture()
def good_output(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "estimates.csv").write_text("a previous good result\n")
    return out


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_data(
    case: str,
    raw_default: pd.DataFrame,
    tmp_path: Path,
    good_output: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    mutate, expected = CASES[case]
    bad = tmp_path / "bad.csv"
    mutate(raw_default).to_csv(bad, index=False)
    code, err = _run(["run", "--data", str(bad), "--out", str(good_output)], capsys)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: {bad}")
    for text in expected:
        assert text in last
    assert "Traceback" not in err
    assert (good_output / "estimates.csv").read_text() == "a previous good result\n"
    assert not [p for p in good_output.parent.iterdir() if p.name.startswith(".out.tmp")]


def test_indicator_switching_off(
    raw_default: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = raw_default.assign(
        pilot=(raw_default["year"].astype(int) >= 2016).astype(int).astype(str)
    )
    data.loc[(data["city_code"] == "110100") & (data["year"] == "2020"), "pilot"] = "0"
    (tmp_path / "d.csv").write_text(data.to_csv(index=False), encoding="utf-8")
    (tmp_path / "c.toml").write_text('[treatment]\nsource = "indicator"\ncohort_column = "pilot"\n')
    code, err = _run(
        [
            "run",
            "--data",
            str(tmp_path / "d.csv"),
            "--config",
            str(tmp_path / "c.toml"),
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 2
    assert "column 'pilot' switches treatment off for city 110100 in 2020" in err


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[panle]\nfirst_year = 2009\n", "unknown table [panle] (did you mean 'panel'?)"),
        (
            "[inference]\nk_fixef = 'nested'\n",
            "k_fixef = 'nested' is not allowed; allowed: 'nonnested', 'full', 'none'",
        ),
        (
            "[inference]\nclustr = 'city_code'\n",
            "unknown key 'clustr' in [inference] (did you mean 'cluster'?)",
        ),
        ("[treatment]\nguizhou_year = '2015'\n", "guizhou_year = '2015' must be of type int"),
        (
            "[model]\nevent_window = [0, 5]\n",
            "event_window [0, 5] must be [low, high] around reference_period -1",
        ),
    ],
)
def test_bad_config(
    toml: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    code, err = _run(["run", "--config", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert (
        err.strip().splitlines()[-1]
        == f"error: {path}: " + err.strip().splitlines()[-1].split(f"{path}: ", 1)[1]
    )
    assert expected in err


def test_unknown_file_type_and_encoding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    txt = tmp_path / "panel.txt"
    txt.write_text("x")
    code, err = _run(["run", "--data", str(txt), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "unknown file type '.txt'; allowed: '.csv', '.xlsx'" in err
    latin = tmp_path / "panel.csv"
    latin.write_bytes("城市,year\n".encode("gbk"))
    code, err = _run(["run", "--data", str(latin), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "not UTF-8 text" in err


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    """The command as a user runs it: exit 2, exactly one line on stderr."""
    bad = tmp_path / "bad.csv"
    bad.write_text("city_code,year\n110100,2010\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "--quiet",
            "run",
            "--data",
            str(bad),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert "not found" in proc.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["bench", "--study"], "--study and --sizes go with --scale"),
        (["bench", "--scale", "--sizes", "4000"], "--sizes goes with --study"),
        (["bench", "--scale", "--study", "--sizes", "4000,ten"], "--sizes: 'ten'"),
        (["bench", "--workers", "2"], "--workers goes with --dask"),
        (["bench", "--dask", "--scale"], "--dask and --scale are separate"),
        (["bench", "--dask", "--workers", "1"], "--workers 1: must be 2 or more"),
    ],
)
def test_bench_options_are_one_line_errors(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
