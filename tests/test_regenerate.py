"""Every committed generated file regenerates within the precision policy, on any machine:
`make test` (what .ci/run runs on a fresh clone) fails otherwise.

GENERATED says, for each committed generated file, what makes it and which test regenerates
and compares it. The R reference values cannot be regenerated without R packages CI lacks;
for them the check is that the input they record (the sha256 of the golden analysis panel,
or of honest_input.json) is still the committed one, and the golden panel and honest input
are themselves regenerated and compared. The city registry is rebuilt only where its
source, the crosswalk outside the repository, is present; elsewhere that test is skipped
with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import DEFAULT_PANEL, load_config
from analysis.pipeline import prepare
from analysis.precision import write_csv
from tests._regen import (
    GOLDEN,
    GOLDEN_PANEL,
    REPO,
    assert_regenerates,
    other_numerical_path,
    sha256,
)

REFERENCE = REPO / "tests" / "reference"
GENERATED = {
    "data/simulated_panel.csv": (
        "python -m analysis simulate --seed 20240527 --out data/simulated_panel.csv",
        "tests/test_determinism.py::test_default_panel_regenerates_byte_identically",
    ),
    "data/simulated_panel.truth.json": (
        "the same command",
        "tests/test_determinism.py::test_default_panel_regenerates_byte_identically",
    ),
    "tests/reference/honest_input.json": (
        "python tools/honest_input.py",
        "tests/test_honest_rm.py::test_input_is_the_current_event_study",
    ),
    "tests/reference/golden/": (
        'python tools/golden.py --reason "..."',
        "tests/test_golden.py::test_golden_run_reproduces",
    ),
    "data/cities.csv": (
        "python tools/build_registry.py (needs the crosswalk, outside the repository)",
        "tests/test_registry.py::test_rebuild_is_byte_identical",
    ),
    "data/city_aliases.csv": (
        "the same command",
        "tests/test_registry.py::test_rebuild_is_byte_identical",
    ),
    "tests/reference/fixest_reference.csv": (
        "rbridge/R/reference.R on the golden panel (needs R with fixest)",
        "tests/test_regenerate.py::test_r_references_are_for_the_committed_golden_panel",
    ),
    "tests/reference/did_reference.csv": (
        "tools/r_reference_did.R on the golden panel (needs R with did)",
        "tests/test_regenerate.py::test_r_references_are_for_the_committed_golden_panel",
    ),
    "tests/reference/drdid_reference.csv": (
        "rbridge/R/drdid_reference.R on the panels of tests/_drdid_panel.py (needs R with did "
        "and DRDID; tests/test_drdid.py::test_live_r writes them and runs it)",
        "tests/test_drdid.py::test_committed_r_reference",
    ),
    "tests/reference/honest_reference.csv": (
        "rbridge/R/honest_reference.R on honest_input.json (needs R with HonestDiD)",
        "tests/test_honest_rm.py::test_reference_is_for_the_committed_input",
    ),
    "tests/reference/honest_reference.json": (
        "the same command (its sidecar: versions, the input's sha256)",
        "tests/test_honest_rm.py::test_reference_is_for_the_committed_input",
    ),
    "tests/reference/parity_reference.csv": (
        "rbridge/R/parity_reference.R on the default run's replicate.R (needs R with fixest, "
        "did, did2s, didimputation, bacondecomp, HonestDiD, DoubleML)",
        "tests/rbridge/test_rbridge_parity_reference.py::test_reference_is_for_the_current_default_panel",
    ),
    "tests/reference/parity_reference.json": (
        "the same command (its sidecar: versions, the panel's sha256, the specifications)",
        "tests/rbridge/test_rbridge_parity_reference.py::test_specifications_unchanged",
    ),
    "tests/reference/wild_reference.csv": (
        "rbridge/R/wild_reference.R on the default run's analysis_panel.csv (needs R with "
        "fixest and fwildclusterboot)",
        "tests/test_wild_bootstrap.py::test_parity_with_fwildclusterboot_enumerated",
    ),
    "tests/reference/wild_reference.json": (
        "the same command (its sidecar: versions, the call, the panel's sha256)",
        "tests/test_wild_bootstrap.py::test_parity_with_fwildclusterboot_enumerated",
    ),
}
# Committed inputs and documentation, not generated.
SOURCES = {
    "data/study.toml",
    "data/pilot_zones.csv",
    "data/CITIES.md",
    "data/synonyms.toml",
    "tests/reference/golden/config.toml",
}


def test_every_committed_data_file_is_accounted_for() -> None:
    """A new generated file must say how it is regenerated and checked (here, in
    GENERATED), and the test named for each must exist."""
    found = {
        str(p.relative_to(REPO))
        for folder in (REPO / "data", REFERENCE)
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    covered = {f for f in found if any(f == g or f.startswith(g) for g in GENERATED)}
    assert found - covered - SOURCES == set(), "not in GENERATED or SOURCES"
    for what, (_, test) in GENERATED.items():
        path, name = test.split("::")
        assert f"def {name}(" in (REPO / path).read_text(encoding="utf-8"), (what, test)
        assert (REPO / what).exists(), what


def test_golden_files_are_the_recorded_ones() -> None:
    recorded = json.loads((GOLDEN / "golden.json").read_text(encoding="utf-8"))["sha256"]
    assert {rel: sha256(GOLDEN / rel) for rel in recorded} == recorded
    committed = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.csv")}
    assert committed == set(recorded)


def test_r_references_are_for_the_committed_golden_panel() -> None:
    """fixest's and did's reference values were computed from the committed golden panel
    (which test_golden.py regenerates and compares); no R is needed to check that."""
    golden = sha256(GOLDEN_PANEL)
    for name in ("fixest_reference.csv", "did_reference.csv"):
        recorded = set(pd.read_csv(REFERENCE / name)["panel_sha256"])
        assert recorded == {golden}, (
            f"tests/reference/{name} was computed from another panel; regenerate it from "
            "tests/reference/golden/analysis_panel.csv (see the R script's header)"
        )


def _nudged_raw_panel(tmp_path: Path) -> Path:
    """The default raw panel with every float moved by one ulp, written at full precision."""
    raw = pd.read_csv(DEFAULT_PANEL, dtype={"city_code": str})
    for c in raw.columns:
        if pd.api.types.is_float_dtype(raw[c]):
            raw[c] = np.nextafter(raw[c].to_numpy(), np.inf)
    path = tmp_path / "nudged.csv"
    raw.to_csv(path, index=False, lineterminator="\n")
    truth = DEFAULT_PANEL.with_suffix(".truth.json")
    path.with_suffix(".truth.json").write_bytes(truth.read_bytes())
    return path


def test_one_ulp_in_the_raw_data_leaves_the_written_panel(tmp_path: Path) -> None:
    """The analysis panel built from raw data moved by one ulp is written as the golden
    panel: byte for byte, or within tolerance (reported)."""
    panel, _ = prepare(_nudged_raw_panel(tmp_path), load_config())
    write_csv(panel, tmp_path / "analysis_panel.csv")
    assert_regenerates(GOLDEN_PANEL, tmp_path / "analysis_panel.csv")


SIMULATE = """
import json, sys
from analysis.simulation.dgp import DGP, simulate, write_simulation
from analysis.config import load_config
seed = load_config().seed
write_simulation(sys.argv[1], seed)
print(json.dumps(simulate(DGP(seed=seed))[1], sort_keys=True))  # full precision
"""


@pytest.mark.slow
def test_simulation_under_another_numerical_path(tmp_path: Path) -> None:
    """Under another OpenBLAS kernel and without numpy's SIMD loops, the truth's full-
    precision values differ in their last bits, yet the written panel and truth are the
    committed ones (the byte-identity tests hold on another machine)."""
    env, what = other_numerical_path()
    if not env:
        pytest.skip(what)
    raw = {}
    for name, extra in (("here", {}), ("other", env)):
        out = tmp_path / name / "p.csv"
        out.parent.mkdir()
        raw[name] = subprocess.run(
            [sys.executable, "-c", SIMULATE, str(out)],
            cwd=REPO,
            env={**os.environ, **extra},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.read_bytes() == DEFAULT_PANEL.read_bytes(), name
        assert_regenerates(DEFAULT_PANEL.with_suffix(".truth.json"), out.with_suffix(".truth.json"))
    if raw["here"] == raw["other"]:
        pytest.skip(f"{what} gave the same bits as this machine's path: nothing was shown")
