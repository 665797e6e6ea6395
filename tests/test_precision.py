"""The precision policy (analysis/precision.py) and verify's comparator (analysis/verify/compare.py):
rounding and canonical JSON, tolerance kinds from the structured columns, and planted
differences that must be reported (file, row, column, both values, tolerance; exit 3) next
to machine-level noise that must not be."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.cli import main
from analysis.precision import (
    KIND_BY_ESTIMATOR,
    SIGNIFICANT_DIGITS,
    TOLERANCES,
    canonical_json,
    estimate_kind,
    round_float,
    round_frame,
    same_number,
    write_csv,
)
from analysis.verify.compare import compare_runs
from tests._regen import GOLDEN

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
normal = finite.filter(lambda x: abs(x) > 1e-290)  # subnormals have fewer than 10 digits


def test_rounding_keeps_ten_significant_digits() -> None:
    assert SIGNIFICANT_DIGITS == 10
    assert round_float(0.029240048961864884) == 0.02924004896
    assert round_float(0.029240048961864877) == 0.02924004896  # the two CPUs of issue 10
    assert round_float(123456789012.5) == 123456789000.0
    assert math.isnan(round_float(math.nan)) and round_float(-math.inf) == -math.inf


@given(finite)
def test_rounding_is_idempotent_and_written_text_reads_back(x: float) -> None:
    r = round_float(x)
    assert round_float(r) == r
    assert float(f"{r:.10g}") == r


@given(normal)
def test_one_ulp_moves_the_written_value_by_at_most_one_unit_of_the_last_digit(x: float) -> None:
    """Machine noise of an ulp changes the text only at a rounding boundary, and then by one
    unit of the 10th digit, which the tightest non-count tolerance accepts."""
    y = float(np.nextafter(x, math.inf))
    a, b = round_float(x), round_float(y)
    if a != b:
        assert abs(a - b) <= 1.0000001 * 10 ** (math.floor(math.log10(max(abs(a), abs(b)))) - 9)
        assert same_number(a, b, "closed_form")


def test_canonical_json_sorted_rounded_utf8() -> None:
    a = canonical_json({"b": [0.1 + 0.2, 1, True, None], "a": {"城市": 1 / 3}})
    b = canonical_json({"a": {"城市": 1 / 3}, "b": [0.30000000000000004, 1, True, None]})
    assert a == b
    assert a.endswith("}\n") and "城市" in a
    assert json.loads(a) == {"a": {"城市": 0.3333333333}, "b": [0.3, 1, True, None]}
    assert a.index('"a"') < a.index('"b"')


def test_round_frame_is_what_write_csv_writes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200) * 1e3, "k": np.arange(200)})
    frame.loc[3, "x"] = np.nan
    rounded = round_frame(frame)
    write_csv(frame, tmp_path / "f.csv")
    back = pd.read_csv(tmp_path / "f.csv")
    assert back["x"].equals(rounded["x"]) and back["k"].equals(frame["k"])
    write_csv(rounded, tmp_path / "g.csv")
    assert (tmp_path / "f.csv").read_bytes() == (tmp_path / "g.csv").read_bytes()


@pytest.mark.parametrize(
    ("columns", "kind"),
    [
        (("twfe", "pyfixest", "att", "CRV1:city_code"), "closed_form"),
        (("dml_plr:stack", "doubleml", "att", "analytical"), "learner"),
        (("dml_did:lasso", "doubleml", "att_by_event_time", "x"), "learner"),
        (("callaway_santanna", "diff-diff", "att", "analytical"), "iterative"),
        (("honest_did", "diff-diff", "sensitivity", "CRV1"), "optimizer"),
        (("randomization_inference", "x", "randomization_test", "x"), "resampling"),
        (("twfe", "pyfixest", "att", "bootstrap:cluster=city_code,B=99"), "resampling"),
        (("a_new_estimator", "x", "att", "x"), "iterative"),
    ],
)
def test_kind_comes_from_structured_columns(columns: tuple[str, ...], kind: str) -> None:
    assert estimate_kind(*columns) == kind


def test_every_kind_has_a_reason_and_tolerances_grow_with_the_noise() -> None:
    assert set(KIND_BY_ESTIMATOR.values()) <= set(TOLERANCES)
    assert all(len(t.reason) > 40 for t in TOLERANCES.values())
    order = ["count", "closed_form", "iterative", "learner", "optimizer"]
    assert [TOLERANCES[k].rtol for k in order] == sorted(TOLERANCES[k].rtol for k in order)
    # one unit of the 10th significant digit is always within the closed-form tolerance
    assert TOLERANCES["closed_form"].rtol >= 10.0 ** (1 - SIGNIFICANT_DIGITS)


# ---- planted differences against noise, on copies of the committed golden run -------------


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the golden run with a manifest each, as `verify --against` reads them."""
    sidecar = json.loads((GOLDEN / "golden.json").read_text(encoding="utf-8"))
    out = []
    for name in ("a", "b"):
        folder = tmp_path / name
        shutil.copytree(GOLDEN, folder, ignore=shutil.ignore_patterns("*.json", "*.toml"))
        manifest = {"exhibits": sidecar["exhibits"], "machine": None}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        out.append(folder)
    return out[0], out[1]


def edit_estimates(folder: Path, model: str, column: str, factor: float, row: int = 0) -> str:
    path = folder / "estimates.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = frame.index[frame["model"] == model][row]
    frame.loc[i, column] = f"{float(frame.loc[i, column]) * factor:.10g}"
    frame.to_csv(path, index=False, lineterminator="\n")
    return str(frame.loc[i, "term"])


def statuses(a: Path, b: Path) -> dict[str, str]:
    exhibits = json.loads((a / "manifest.json").read_text(encoding="utf-8"))["exhibits"]
    return {r.file: r.status for r in compare_runs(a, b, exhibits, suffixes=(".csv",))}


def test_same_files_are_identical(runs: tuple[Path, Path], capsys) -> None:  # type: ignore[no-untyped-def]
    a, b = runs
    assert set(statuses(a, b).values()) == {"identical"}
    assert main(["--quiet", "verify", str(a), "--against", str(b)]) == 0
    assert "none different" in capsys.readouterr().out


def test_noise_in_the_last_digits_is_equal_within_tolerance(runs: tuple[Path, Path]) -> None:
    """Every non-integer number of estimates.csv and the panel moved by a relative 3e-10
    (more than the machine noise measured, less than the closed-form tolerance; integer
    columns such as rel_time are counts, which noise cannot move)."""
    a, b = runs
    for name in ("estimates.csv", "analysis_panel.csv"):
        frame = pd.read_csv(b / name, keep_default_na=False, na_values=[""])
        for c in frame.columns:
            values = frame[c]
            if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 != 0).any():
                frame[c] = frame[c] * (1 + 3e-10)
        write_csv(frame, b / name)
    found = statuses(a, b)
    assert found["estimates.csv"] == found["analysis_panel.csv"] == "within tolerance"


def test_a_changed_table_coefficient_is_different_with_exit_3(
    runs: tuple[Path, Path],
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    a, b = runs
    table = b / "tables" / "table2_baseline.csv"
    rows = table.read_text(encoding="utf-8").splitlines()
    cell = rows[1].split(",")[1]
    changed = f"{float(cell.rstrip('*')) + 0.01:.4f}" + "*" * (len(cell) - len(cell.rstrip("*")))
    rows[1] = rows[1].replace(cell, changed, 1)
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert statuses(a, b)["tables/table2_baseline.csv"] == "different"
    capsys.readouterr()
    assert main(["--quiet", "verify", str(a), "--against", str(b)]) == 3
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("error: verify")
    assert "tables/table2_baseline.csv (exhibit baseline)" in err
    assert "row 1 (term='Pilot zone x post'), column (1)" in err
    # Table 2 also shows the wild bootstrap's p-values and intervals: it takes their kind
    assert f"{cell} vs {changed}" in err and "resampling tolerance 1e-06" in err
    assert "DIFFERENT" in captured.out


def test_a_changed_estimate_is_different_naming_row_and_column(runs: tuple[Path, Path]) -> None:
    a, b = runs
    term = edit_estimates(b, "baseline_twfe", "estimate", 1 + 1e-6)
    exhibits = json.loads((a / "manifest.json").read_text(encoding="utf-8"))["exhibits"]
    report = {r.file: r for r in compare_runs(a, b, exhibits, suffixes=(".csv",))}
    bad = report["estimates.csv"]
    assert bad.status == "different"
    assert f"model=baseline_twfe, term={term}), column estimate" in bad.differences[0].where


def test_learner_noise_passes_where_closed_form_would_not(runs: tuple[Path, Path]) -> None:
    """The same relative change (1e-6) is noise for a DML estimate, a difference for TWFE."""
    a, b = runs
    edit_estimates(b, "dml_plr", "estimate", 1 + 1e-6)
    assert statuses(a, b)["estimates.csv"] == "within tolerance"
    edit_estimates(b, "baseline_twfe", "std_error", 1 + 1e-6)
    assert statuses(a, b)["estimates.csv"] == "different"


def test_counts_are_exact(runs: tuple[Path, Path]) -> None:
    a, b = runs
    path = b / "estimates.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[frame["model"] == "dml_plr", "n_obs"] = "3723"
    frame.to_csv(path, index=False, lineterminator="\n")
    assert statuses(a, b)["estimates.csv"] == "different"


def test_a_missing_table_is_different(runs: tuple[Path, Path]) -> None:
    a, b = runs
    (b / "tables" / "table6_placebo.csv").unlink()
    assert statuses(a, b)["tables/table6_placebo.csv"] == "different"


def test_table_cells_allow_one_unit_of_the_last_shown_decimal(runs: tuple[Path, Path]) -> None:
    """A closed-form value within tolerance may round to the neighbouring 4th decimal; two
    units away it cannot."""
    a, b = runs
    table = b / "tables" / "table2_baseline.csv"
    text = table.read_text(encoding="utf-8")
    rows = text.splitlines()
    cell = rows[2].split(",")[1]  # a standard error "(0.0047)"
    value = float(cell.strip("()"))
    for step, expected in ((1, "within tolerance"), (2, "different")):
        rows[2] = rows[2].replace(cell, f"({value + step * 1e-4:.4f})", 1)
        table.write_text("\n".join(rows) + "\n", encoding="utf-8")
        assert statuses(a, b)["tables/table2_baseline.csv"] == expected
        rows = text.splitlines()


def test_readme_tolerance_table_is_the_code_table() -> None:
    from analysis.precision import markdown_table
    from tests._regen import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- tolerances:start -->\n")[1].split("<!-- tolerances:end -->")[0]
    assert block == markdown_table(), "paste analysis.precision.markdown_table() into README"
