"""The Python estimates against fixest's, without R: tests/reference/fixest_reference.csv
was written by rbridge/R/reference.R with real fixest on the default run's panel. The test
fails when the reference is stale (the default panel or a specification changed); then
regenerate it as the script's header says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rbridge.packages import VALIDATED
from rbridge.tolerances import tolerance
from tests._regen import assert_panel_is_reference

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "fixest_reference.csv"
REGENERATE = (
    "regenerate it: R_LIBS=<library with fixest> Rscript rbridge/R/reference.R "
    "tests/reference/golden/analysis_panel.csv tests/reference/fixest_reference.csv"
)
COEF_TOL = tolerance("fixest", "estimate").value
SE_TOL = tolerance("fixest", "std_error").value


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE)


@pytest.fixture(scope="module")
def python(default_run: Path) -> pd.DataFrame:
    return pd.read_csv(default_run / "estimates.csv", keep_default_na=False, na_values=[""])


def test_reference_is_for_the_current_default_panel(
    reference: pd.DataFrame, default_run: Path
) -> None:
    # computed from the committed golden panel; this run's panel is that one (byte for byte,
    # or within the precision policy's tolerance when a value sits on a rounding boundary)
    recorded = set(reference["panel_sha256"])
    assert len(recorded) == 1, f"{REFERENCE.name} mixes panels: {REGENERATE}"
    assert_panel_is_reference(default_run / "analysis_panel.csv", recorded.pop(), REGENERATE)
    assert set(reference["fixest"].astype(str)) == {VALIDATED["fixest"]}
    assert set(reference["R"].astype(str)) == {VALIDATED["R"]}


@pytest.mark.parametrize(
    "model", ["baseline_twfe", "baseline_twfe_controls", "event_study", "sunab"]
)
def test_python_estimates_match_fixest(
    model: str, reference: pd.DataFrame, python: pd.DataFrame
) -> None:
    ref = reference[reference["model"] == model].set_index("term")
    assert len(ref), f"{model} is missing from {REFERENCE.name}: {REGENERATE}"
    py = python[python["model"] == model].set_index("term")
    if py.empty:
        pytest.skip(
            f"model '{model}' is not produced by the exhibits of this test (tests/rbridge/conftest.py EXHIBITS); its reference is checked against a brute-force regression instead"
        )
    first = py.iloc[0]
    for column in ("formula", "vcov", "ssc"):
        assert first[column] == ref.iloc[0][column], f"{model}: {column} changed; {REGENERATE}"
    assert (
        first["n_obs"] == ref.iloc[0]["n_obs"] and first["n_clusters"] == ref.iloc[0]["n_clusters"]
    )
    assert set(ref.index) <= set(py.index)
    for term, row in ref.iterrows():
        assert abs(py.loc[term, "estimate"] - row["estimate"]) <= COEF_TOL, term
        assert abs(py.loc[term, "std_error"] - row["std_error"]) <= SE_TOL, term


def test_sunab_reference_matches_brute_force(
    reference: pd.DataFrame, manual_sunab: dict[str, tuple[float, float]]
) -> None:
    """fixest's sunab() against the cohort x period interaction regression done by hand."""
    ref = reference[reference["model"] == "sunab"].set_index("term")
    assert set(ref.index) == set(manual_sunab)
    for term, (b, se) in manual_sunab.items():
        assert abs(ref.loc[term, "estimate"] - b) <= COEF_TOL, term
        assert abs(ref.loc[term, "std_error"] - se) <= SE_TOL, term
