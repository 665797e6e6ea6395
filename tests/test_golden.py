"""The golden run (tests/reference/golden/, made by `python tools/golden.py --reason ...`):
the fast configuration of every exhibit is re-run, here and under another numerical path,
and compared with verify's comparator. Every file must be identical or equal within the
precision policy's tolerance (reported as a warning); a difference names file, row, column,
both values and the tolerance. When an estimate is meant to change, regenerate the golden
run with the reason; never to make this test pass without one."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.precision import KIND_BY_ENGINE, KIND_BY_ESTIMAND, KIND_BY_ESTIMATOR
from analysis.verify.compare import FileReport, compare_runs
from tests._regen import GOLDEN, WithinTolerance, other_numerical_path, tool

REGENERATE = 'if the change is intended: python tools/golden.py --reason "..."'


@pytest.fixture(scope="module")
def sidecar() -> dict[str, Any]:
    return dict(json.loads((GOLDEN / "golden.json").read_text(encoding="utf-8")))


def check(reports: list[FileReport], where: str) -> dict[str, str]:
    different = [r.line() for r in reports if r.status == "different"]
    assert not different, f"{where}: " + "\n".join(different) + f"\n{REGENERATE}"
    for r in reports:
        if r.status == "within tolerance":
            warnings.warn(f"{where}: {r.line()}", WithinTolerance, stacklevel=2)
    return {r.file: r.status for r in reports}


def test_sidecar_records_reason_commit_and_history(sidecar: dict[str, Any]) -> None:
    assert len(sidecar["reason"]) >= 10 and sidecar["history"][-1]["reason"] == sidecar["reason"]
    assert re.fullmatch(r"[0-9a-f]{40}", sidecar["commit"])
    assert all(e["reason"] and e["commit"] and e["machine"] for e in sidecar["history"])
    names = {t for ex in sidecar["exhibits"] for t in ex["tables"]}
    committed = {p.stem for p in (GOLDEN / "tables").glob("*.csv")}
    # beside the exhibits' tables, the run's own: the truth comparison and the variables
    assert committed == names | {"truth_comparison", "variables"}, (
        "golden tables and exhibits disagree"
    )


def test_every_estimator_has_a_stated_tolerance_kind() -> None:
    """No estimator of the study falls back to the default kind: each is in the table of
    analysis/precision.py (or its engine or estimand decides)."""
    rows = pd.read_csv(GOLDEN / "estimates.csv", keep_default_na=False)
    unlisted = {
        r.estimator
        for r in rows.itertuples()
        if r.engine not in KIND_BY_ENGINE
        and r.estimand not in KIND_BY_ESTIMAND
        and str(r.estimator).split(":")[0] not in KIND_BY_ESTIMATOR
    }
    assert not unlisted, f"add these estimators to KIND_BY_ESTIMATOR: {sorted(unlisted)}"


@pytest.mark.slow
@pytest.mark.xdist_group("fast_run")
def test_golden_run_reproduces(fast_run: Path, sidecar: dict[str, Any]) -> None:
    """The session's run of the fast configuration (tests/conftest.py `fast_run`)."""
    found = check(compare_runs(GOLDEN, fast_run, sidecar["exhibits"], suffixes=(".csv",)), "re-run")
    assert {"estimates.csv", "analysis_panel.csv"} <= set(found) and len(found) >= 20


@pytest.mark.slow
def test_golden_run_under_another_numerical_path(tmp_path: Path, sidecar: dict[str, Any]) -> None:
    """Another OpenBLAS kernel and numpy without its dispatched SIMD loops (the differences a
    reviewer's CPU brings): still identical or equal within tolerance, never different."""
    env, what = other_numerical_path()
    if not env:
        pytest.skip(what)
    out = tool("golden").run_fast(tmp_path / "run", env)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    used = {p["architecture"] for p in manifest["machine"]["thread_pools"] if p["architecture"]}
    if env["OPENBLAS_CORETYPE"] not in used:
        pytest.skip(f"{what} was not honoured here (kernels used: {sorted(used)})")
    check(compare_runs(GOLDEN, out, sidecar["exhibits"], suffixes=(".csv",)), what)
