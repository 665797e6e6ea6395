"""Committed generated files against their regeneration, under the precision policy
(analysis/precision.py): identical, or, when a value sits on a rounding boundary of the
10th significant digit on this machine, equal within the policy's tolerance, which is
reported as a warning naming the largest difference. Anything else fails, naming the file,
row, column, both values and the tolerance."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from types import ModuleType

from analysis.verify.compare import compare_file

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "reference" / "golden"
GOLDEN_PANEL = GOLDEN / "analysis_panel.csv"


class WithinTolerance(UserWarning):
    """A regenerated file is not byte-identical but equal within the policy's tolerance."""


def assert_regenerates(committed: Path, regenerated: Path, kind: str = "closed_form") -> str:
    """'identical' or 'within tolerance' (warned); fails on a difference."""
    report = compare_file(committed, regenerated, kind)
    assert report.status != "different", f"{committed}: {report.line()}"
    if report.status == "within tolerance":
        warnings.warn(f"{committed}: {report.line()}", WithinTolerance, stacklevel=2)
    return report.status


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_panel_is_reference(panel_csv: Path, recorded_sha: str, regenerate: str) -> None:
    """R reference values record the sha256 of the analysis panel they were computed from,
    the committed golden panel. panel_csv (written here) must be that panel: byte for byte,
    or within the policy's tolerance of the golden panel whose sha256 was recorded."""
    if sha256(panel_csv) == recorded_sha:
        return
    golden_sha = json.loads((GOLDEN / "golden.json").read_text(encoding="utf-8"))["sha256"]
    assert sha256(GOLDEN_PANEL) == golden_sha["analysis_panel.csv"], (
        "tests/reference/golden/analysis_panel.csv is not the file golden.json records"
    )
    assert recorded_sha == golden_sha["analysis_panel.csv"], (
        f"the reference was computed from another analysis panel: {regenerate}"
    )
    assert_regenerates(GOLDEN_PANEL, panel_csv)


def tool(name: str) -> ModuleType:
    """A script of tools/ as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


# OpenBLAS kernels to switch to (OPENBLAS_CORETYPE), each with the instruction set it needs.
KERNELS = (("Sandybridge", "avx"), ("Nehalem", "sse4_2"), ("Prescott", "sse3"))


def other_numerical_path() -> tuple[dict[str, str], str]:
    """Environment variables that put a process on another numerical path than this one
    (another OpenBLAS kernel, numpy without its dispatched SIMD loops), and a description;
    an empty dict and the reason where none is available."""
    import platform

    import numpy  # noqa: F401  (loads OpenBLAS, so that threadpoolctl sees it)
    from threadpoolctl import threadpool_info

    if platform.machine() not in ("x86_64", "AMD64"):
        return {}, f"OpenBLAS core types are x86-64 kernels; this is {platform.machine()}"
    flags = set()
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split()) | {"sse3"}
            break
    current = {
        str(p.get("architecture")).lower() for p in threadpool_info() if p.get("user_api") == "blas"
    }
    kernel = next((k for k, need in KERNELS if need in flags and k.lower() not in current), None)
    if kernel is None:
        return {}, f"no OpenBLAS kernel other than {current} among {KERNELS} runs on this CPU"
    env = {"OPENBLAS_CORETYPE": kernel}
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    found = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    if found:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(found)
    return env, " ".join(f"{k}={v}" for k, v in env.items())
